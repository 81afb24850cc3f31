"""The shipped int8 reranker's weights back in fp32, to train on from it.

A session's work folder does not outlive it; the repository does. `train.reranker --start
index/rerank/weights` goes on from the model citebot ships, its int8 weights dequantised:
what `train.export` quantised, each weight (q - zero point) x scale, per channel where it
was quantised so. The result differs from the fp32 model that was exported by the
quantisation's rounding alone (`python -m train.dequantise` measures how much on TrecQA
DEV, against the fp32 logits shipped beside the model).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

QUANTISED = "_quantized"
# What the exporter names the wrapped classifier (`index.embed.onnx.export_transformer`).
PREFIX = "model."


def dequantised_state(model_file: Path) -> dict[str, torch.Tensor]:
    """The classifier's parameters, named as in transformers' BertForSequenceClassification,
    from an int8 ONNX file that `train.export` wrote."""
    graph = onnx.load(str(model_file)).graph
    arrays = {tensor.name: numpy_helper.to_array(tensor) for tensor in graph.initializer}
    state: dict[str, np.ndarray] = {
        name.removeprefix(PREFIX): array
        for name, array in arrays.items()
        if name.startswith(PREFIX) and not _is_quantisation_part(name)
    }
    for node in graph.node:
        weights = [name for name in node.input if name.endswith(QUANTISED) and name in arrays]
        if not weights:
            continue
        (weight,) = weights
        base = weight.removesuffix(QUANTISED)
        values = (
            arrays[weight].astype(np.float32) - arrays[base + "_zero_point"].astype(np.float32)
        ) * arrays[base + "_scale"]
        if node.op_type == "Gather":
            # An embedding table, quantised whole, under its parameter's name.
            state[base.removeprefix(PREFIX)] = values
        else:
            # A linear layer's weight as MatMul reads it ([in, out]); the layer is the node's
            # scope: "/model/bert/encoder/layer.0/attention/self/query/MatMul_quant".
            scope = node.name.removeprefix("/" + PREFIX.rstrip(".") + "/").rsplit("/", 1)[0]
            state[scope.replace("/", ".") + ".weight"] = values.T
    return {name: torch.tensor(array, dtype=torch.float32) for name, array in state.items()}


def _is_quantisation_part(name: str) -> bool:
    return name.endswith((QUANTISED, "_scale", "_zero_point"))


def load_into(model: torch.nn.Module, model_file: Path) -> None:
    """Set every parameter of `model` from the int8 file; an error names any it lacks."""
    state = dequantised_state(model_file)
    wanted = dict(model.named_parameters())
    missing = sorted(set(wanted) - set(state))
    unknown = sorted(set(state) - set(wanted))
    if missing or unknown:
        raise ValueError(f"{model_file}: lacks {missing[:3]}, has unknown {unknown[:3]}")
    with torch.no_grad():
        for name, parameter in wanted.items():
            parameter.copy_(state[name].reshape(parameter.shape))


def main() -> None:
    """Compare the dequantised model's logits on TrecQA DEV with the shipped fp32 ones."""
    # Imported here: train.reranker imports this module to load a start.
    from train.export import REFERENCE_FILE, TRECQA_DEV
    from train.pairs import trecqa_pairs
    from train.reranker import load_model, ranking_figures, scores

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--model", type=Path, default=Path("index/rerank/weights"))
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    args = parser.parse_args()
    tokenizer, model = load_model(6, args.model)
    pairs = trecqa_pairs(args.shared / TRECQA_DEV)
    logits = scores(model, tokenizer, pairs)
    reference = np.array(json.loads((args.model / REFERENCE_FILE).read_text())["logits"])
    difference = np.abs(logits - reference)
    print(
        json.dumps(
            {
                "pairs": len(pairs),
                "mean |dequantised - fp32|": float(difference.mean()),
                "largest": float(difference.max()),
                "pearson": float(np.corrcoef(logits, reference)[0, 1]),
                "dequantised": ranking_figures(pairs, logits),
                "fp32": ranking_figures(pairs, reference.astype(np.float32)),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
