"""The model on onnxruntime, in fp32 or dynamically quantised to int8, without torch.

The ONNX file is exported once from the local model directory (with torch, offline, about two
seconds) and cached under `CITEBOT_CACHE_DIR`; later processes load it with onnxruntime alone.
Questions and passages are tokenised with the model's own `tokenizers` tokenizer, pooled by the
attention-masked mean of the token vectors and L2-normalised, as sentence-transformers does:
the fp32 vectors equal torch's, the int8 ones have a cosine of about 0.99 with them.

Every cached file is written to a temporary name and renamed into place, so a killed export
never leaves half a file; a cached file onnxruntime cannot load is exported again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from tokenizers import Encoding, Tokenizer

from index.config import BACKENDS, needs_home
from index.embed.base import LocalModelEmbedder, TokenRun, Vectors
from index.embed.model import ModelSpec
from index.errors import InputError
from index.files import atomic_path

if TYPE_CHECKING:
    import onnxruntime

log = logging.getLogger(__name__)

# Bump when the exported graph changes, so older cached files are not reused.
EXPORT_VERSION = 1
ONNX_BACKENDS = tuple(b for b in BACKENDS if b.startswith("onnx"))
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class OnnxEmbedder(LocalModelEmbedder):
    """The model on onnxruntime (`onnx`: fp32, `onnx-int8`: dynamic int8), safe for threads."""

    def __init__(
        self,
        spec: ModelSpec,
        *,
        backend: str,
        cache_dir: Path,
        batch_size: int = 32,
        threads: int | None = None,
    ) -> None:
        if backend not in ONNX_BACKENDS:
            raise InputError(f"unknown ONNX backend {backend!r}; use one of {ONNX_BACKENDS}")
        _check_mean_pooling(spec)
        super().__init__(spec, backend=backend, batch_size=batch_size)
        self.cache_dir = cache_dir
        self.threads = threads
        self._session: onnxruntime.InferenceSession | None = None
        self._tokenizer: Tokenizer | None = None

    @property
    def dimension(self) -> int:
        return _dimension(self._load()[0])

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        whole, _ = self.embed_spans(texts, [()] * len(texts))
        return whole

    def token_runs(self, texts: Sequence[str]) -> list[TokenRun]:
        tokens, mask, encodings = self._run(texts)
        runs = []
        for row, encoding in enumerate(encodings):
            length = int(mask[row].sum())
            runs.append(
                TokenRun(
                    vectors=tokens[row, :length],
                    offsets=np.array(encoding.offsets[:length], dtype=np.int64).reshape(-1, 2),
                    special=np.array(encoding.special_tokens_mask[:length], dtype=bool),
                )
            )
        return runs

    def _run(
        self, texts: Sequence[str]
    ) -> tuple[NDArray[np.float32], NDArray[np.int64], list[Encoding]]:
        """One batch through the model: token vectors, attention mask, and the encodings."""
        session, tokenizer = self._load()
        wanted = {i.name for i in session.get_inputs()}
        encodings = tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        (tokens,) = session.run(None, {k: v for k, v in feed.items() if k in wanted})
        return np.asarray(tokens, dtype=np.float32), mask, encodings

    def _load(self) -> tuple[onnxruntime.InferenceSession, Tokenizer]:
        with self._lock:
            if self._session is None or self._tokenizer is None:
                self._tokenizer = _padded_tokenizer(self.spec)
                self._session = load_session(self.spec, self._backend, self.cache_dir, self.threads)
            return self._session, self._tokenizer


def _dimension(session: onnxruntime.InferenceSession) -> int:
    """The length of the vectors the model's session gives."""
    return int(session.get_outputs()[0].shape[-1])


def _padded_tokenizer(spec: ModelSpec) -> Tokenizer:
    """The model's tokenizer, padding each batch to its longest text and cutting at the
    model's limit (its tokenizer.json fixes both at 128, which sentence-transformers
    overrides)."""
    tokenizer = Tokenizer.from_file(str(spec.path / "tokenizer.json"))
    padding = tokenizer.padding or {}
    tokenizer.enable_padding(
        pad_id=int(padding.get("pad_id", 0)), pad_token=str(padding.get("pad_token", "[PAD]"))
    )
    tokenizer.enable_truncation(spec.max_seq_length)
    return tokenizer


def _check_mean_pooling(spec: ModelSpec) -> None:
    """Refuse models that do not pool by the mean of their token vectors."""
    modules_file = spec.path / "modules.json"
    modules = json.loads(modules_file.read_text("utf-8")) if modules_file.is_file() else []
    pooling = [m for m in modules if str(m.get("type", "")).endswith("Pooling")]
    config_file = spec.path / pooling[0]["path"] / "config.json" if pooling else None
    config = json.loads(config_file.read_text("utf-8")) if config_file else {}
    if not config.get("pooling_mode_mean_tokens"):
        raise InputError(
            f"the ONNX backends support mean-pooling models only, and {spec.name} is not one;"
            " set CITEBOT_BACKEND=torch"
        )


def cached_model_path(spec: ModelSpec, backend: str, cache_dir: Path) -> Path:
    """Where the exported model for `backend` lives: one directory per model version."""
    weights = sorted(
        (p.name, p.stat().st_size, p.stat().st_mtime_ns)
        for p in spec.path.iterdir()
        if p.suffix in {".safetensors", ".bin", ".json"}
    )
    fingerprint = hashlib.sha256(
        json.dumps([EXPORT_VERSION, spec.name, str(spec.path), weights]).encode()
    ).hexdigest()[:16]
    slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in spec.name)[-60:]
    file_name = "model-int8.onnx" if backend == "onnx-int8" else "model.onnx"
    return cache_dir / "onnx" / f"{slug}-{fingerprint}" / file_name


def load_session(
    spec: ModelSpec, backend: str, cache_dir: Path, threads: int | None = None
) -> onnxruntime.InferenceSession:
    """An onnxruntime session for the model, exporting it to the cache first if it is not
    there or cannot be loaded; one run uses up to `threads` threads (None: one a core).

    The first session also writes the graph it optimised (fused attention, layer norms and
    GELUs) beside the export, and later processes load that one: optimising the graph is
    about half the time a session takes to open. Only the optimisations that hold on any
    CPU are saved; the ones for this CPU are made again at every load, as they cost little.
    """
    if needs_home(cache_dir):
        raise InputError(
            f"there is no home directory for the model cache {cache_dir}; set CITEBOT_CACHE_DIR"
            " to a writable directory"
        )
    try:
        import onnxruntime
        from onnxruntime.capi.onnxruntime_pybind11_state import (
            Fail,
            InvalidGraph,
            InvalidProtobuf,
            NoSuchFile,
        )
    except ImportError as error:
        raise InputError(
            "the ONNX backends need onnxruntime; run `pip install onnxruntime onnx`"
            " or set CITEBOT_BACKEND=torch"
        ) from error
    unloadable = (Fail, InvalidGraph, InvalidProtobuf, NoSuchFile)
    exported = cached_model_path(spec, backend, cache_dir)
    optimised = optimised_model_path(exported)

    def session(path: Path, optimise_into: Path | None = None) -> onnxruntime.InferenceSession:
        options = onnxruntime.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3
        if optimise_into is not None:
            options.graph_optimization_level = (
                onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
            )
            options.optimized_model_filepath = str(optimise_into)
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def loadable(path: Path) -> bool:
        """True when the cached export at `path` is there and onnxruntime can load it (the
        int8 model is quantised from it: a damaged one would fail every time)."""
        if not path.is_file():
            return False
        try:
            session(path)
        except unloadable as error:
            log.warning(
                "the cached model %s cannot be loaded (%s); exporting it again", path, error
            )
            return False
        return True

    def optimise() -> onnxruntime.InferenceSession:
        with atomic_path(optimised) as temporary:
            return session(exported, optimise_into=temporary)

    for path, redo in ((optimised, "optimising"), (exported, "exporting")):
        if not path.is_file():
            continue
        try:
            return session(path) if path == optimised else optimise()
        except unloadable as error:
            log.warning("the cached model %s cannot be loaded (%s); %s it again", path, error, redo)
    try:
        if backend == "onnx-int8":
            fp32 = cached_model_path(spec, "onnx", cache_dir)
            if not loadable(fp32):
                with atomic_path(fp32) as temporary:
                    _export(spec, temporary)
            with atomic_path(exported) as temporary:
                _quantize(fp32, temporary)
        else:
            with atomic_path(exported) as temporary:
                _export(spec, temporary)
        return optimise()
    except OSError as error:
        raise InputError(
            f"cannot cache the exported model in {cache_dir} ({error.strerror or error});"
            " point CITEBOT_CACHE_DIR at a writable directory"
        ) from error


def optimised_model_path(exported: Path) -> Path:
    """Where the optimised graph of the exported model `exported` is cached."""
    return exported.with_name(f"{exported.stem}-optimised.onnx")


def _export(spec: ModelSpec, target: Path) -> None:
    """Export the transformer (token vectors out) to ONNX."""
    log.info("exporting %s to ONNX at %s (once)", spec.name, target.parent)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    model = AutoModel.from_pretrained(str(spec.path))
    export_transformer(
        model, "last_hidden_state", target, ("token_vectors", {0: "batch", 1: "tokens"})
    )


def export_transformer(
    model: Any, output: str, target: Path, named: tuple[str, dict[int, str]]
) -> None:
    """Export a transformers model taking token ids, attention mask and token types (each
    with dynamic batch and length) and giving its `output`, under the name and with the
    dynamic axes `named` gives, with torch's TorchScript exporter."""
    output_name, output_axes = named
    import torch

    model.eval()

    class Output(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor,
        ) -> torch.Tensor:
            result = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return getattr(result, output)  # type: ignore[no-any-return]

    example = torch.ones((2, 8), dtype=torch.long)
    with torch.no_grad(), warnings.catch_warnings():
        # The tracer warns that shape checks become constants, and that an index operator
        # assumes non-negative indices; the axes stay dynamic and the indices positive, and
        # the tests compare vectors of texts of many lengths with torch's.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # type: ignore[attr-defined]
        warnings.filterwarnings("ignore", "Exporting aten::index", UserWarning)
        # The TorchScript exporter is deprecated in favour of torch.export's, which needs
        # onnxscript; this one exports the model offline with what is installed.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            Output(),
            (example, example, torch.zeros_like(example)),
            str(target),
            input_names=list(_INPUTS),
            output_names=[output_name],
            dynamic_axes={
                **{name: {0: "batch", 1: "tokens"} for name in _INPUTS},
                output_name: output_axes,
            },
            opset_version=17,
            dynamo=False,
        )


def _quantize(fp32: Path, target: Path) -> None:
    """Dynamic int8 quantisation of the fp32 model, weights per channel."""
    log.info("quantising %s to int8 (once)", fp32)
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The quantiser advises pre-processing through the root logger; it suits image models,
    # and the tests measure this model's vectors and answers as it is quantised here.
    logging.disable(logging.WARNING)
    try:
        quantize_dynamic(fp32, target, per_channel=True, weight_type=QuantType.QInt8)
    finally:
        logging.disable(logging.NOTSET)
