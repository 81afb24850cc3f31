"""Export a trained reranker to the int8 ONNX model citebot ships, and measure what the
quantisation costs.

    python -m train.export [--model ~/.cache/citebot/reranker-train/run/final]
                           [--pairs ~/.cache/citebot/reranker-train] [--out index/rerank/weights]

Writes `reranker-int8.onnx` (dynamic int8, weights per channel, the embedding tables too
unless `--embeddings fp32`; the pooler and classifier stay fp32), `tokenizer.json` and
`fp32-reference-trecqa-dev.json` (the fp32 model's logits on TrecQA DEV, which the tests
compare the int8 model with) into --out, and prints, as JSON, the fp32 and int8 figures on
the validation pairs and TrecQA TEST, their agreement (Pearson of the logits, and the
largest logit difference), the files' sha256 and the time one question's ten candidates
take. The model card (MODEL_CARD.md beside the model) quotes these figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from index.embed.onnx import export_transformer
from index.rerank.model import MODEL_FILE, TOKENIZER_FILE, Reranker
from train.pairs import WORK, Pair, read_pairs, trecqa_pairs
from train.reranker import ranking_figures

REFERENCE_FILE = "fp32-reference-trecqa-dev.json"
TRECQA_DEV = Path("data") / "answer_train" / "trecqa" / "DEV.xml"


def export_fp32(model_dir: Path, target: Path) -> None:
    """The trained classifier as an ONNX graph with dynamic batch and length, logits out."""
    model = AutoModelForSequenceClassification.from_pretrained(str(model_dir))
    export_transformer(model, "logits", target, ("logits", {0: "batch"}))


def quantise(fp32: Path, target: Path, *, embeddings: bool) -> None:
    """Dynamic int8 of the matrix products, weights per channel, and with `embeddings` of
    the embedding tables too (Gather: a quarter of the file's size); the pooler and the
    classifier (Gemm) stay fp32."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        fp32,
        target,
        per_channel=True,
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul", "Gather"] if embeddings else ["MatMul"],
    )


def sha256(path: Path) -> str:
    """The file's SHA-256, hex."""
    digest = hashlib.sha256()
    with path.open("rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def measure(reranker: Reranker, sets: dict[str, list[Pair]]) -> dict[str, Any]:
    """The model's logits (one pair a run, as the engine's batches hold pairs of one
    question) and ranking figures on each set."""
    result: dict[str, Any] = {}
    for name, pairs in sets.items():
        logits = np.concatenate([reranker.logits(p.question, [p.candidate]) for p in pairs])
        result[name] = {"logits": logits, "figures": ranking_figures(pairs, logits)}
    return result


def timing(reranker: Reranker, pairs: list[Pair]) -> float:
    """Median milliseconds for ten candidates of one question."""
    question = pairs[0].question
    candidates = [pair.candidate for pair in pairs[:10]]
    reranker.logits(question, candidates)
    times = []
    for _ in range(20):
        started = time.perf_counter()
        reranker.logits(question, candidates)
        times.append((time.perf_counter() - started) * 1000)
    return float(np.median(times))


def main() -> None:
    """Export, quantise, measure, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=WORK / "run" / "final")
    parser.add_argument("--pairs", type=Path, default=WORK)
    parser.add_argument("--out", type=Path, default=Path("index/rerank/weights"))
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument(
        "--embeddings", choices=("int8", "fp32"), default="int8", help="the embedding tables"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp())
    # The fp32 model under the shipped file name, beside the tokenizer: a Reranker reads it.
    fp32 = work / MODEL_FILE
    export_fp32(args.model, fp32)
    quantise(fp32, args.out / MODEL_FILE, embeddings=args.embeddings == "int8")
    AutoTokenizer.from_pretrained(str(args.model)).backend_tokenizer.save(
        str(args.out / TOKENIZER_FILE)
    )
    (work / TOKENIZER_FILE).symlink_to((args.out / TOKENIZER_FILE).resolve())
    sets = {
        "valid": list(read_pairs(args.pairs / "valid.jsonl")),
        "trecqa test": list(read_pairs(args.pairs / "trecqa_test.jsonl")),
    }
    fp32_model, int8_model = Reranker(work), Reranker(args.out)
    fp32_run, int8_run = measure(fp32_model, sets), measure(int8_model, sets)
    reference = trecqa_pairs(args.shared / TRECQA_DEV)
    logits = measure(fp32_model, {"dev": reference})["dev"]["logits"]
    (args.out / REFERENCE_FILE).write_text(
        json.dumps({"pairs": "TrecQA DEV.xml", "logits": np.round(logits, 5).tolist()}) + "\n"
    )
    report: dict[str, Any] = {"model": str(args.model)}
    for name in sets:
        a, b = fp32_run[name]["logits"], int8_run[name]["logits"]
        report[name] = {
            "fp32": fp32_run[name]["figures"],
            "int8": int8_run[name]["figures"],
            "pearson": float(np.corrcoef(a, b)[0, 1]),
            "largest difference": float(np.abs(a - b).max()),
        }
    report["ms for 10 candidates, 1 thread (int8)"] = timing(int8_model, sets["valid"])
    report["ms for 10 candidates, 1 thread (fp32)"] = timing(fp32_model, sets["valid"])
    shipped = (MODEL_FILE, TOKENIZER_FILE, REFERENCE_FILE)
    report["sha256"] = {name: sha256(args.out / name) for name in shipped}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
