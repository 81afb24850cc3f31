"""Turning text into normalised vectors: sentence-transformers on torch, or onnxruntime.

Importing sentence-transformers (and torch) takes seconds, so it happens on first use only:
commands that never embed, such as `citebot stats`, never pay for it. The ONNX backends
(`index.onnx_backend`) need torch only once, to export the model.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

import numpy as np
from numpy.typing import NDArray

from index.errors import InputError
from index.model import ModelSpec

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

Vectors = NDArray[np.float32]


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 vectors, one row per text."""

    @property
    def name(self) -> str:
        """The model's canonical name, recorded in the index manifest."""
        ...

    @property
    def backend(self) -> str:
        """How the model runs (torch, onnx, ...), recorded in the index manifest."""
        ...

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        ...

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Vectors for `texts`, shape (len(texts), dimension), each of length 1."""
        ...


class LocalModelEmbedder:
    """What the embedders of a local model directory share: the model, how it runs, the batch
    size, and a lock under which the model loads once, on first use."""

    def __init__(self, spec: ModelSpec, *, backend: str, batch_size: int) -> None:
        self.spec = spec
        self._backend = backend
        self.batch_size = batch_size
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def backend(self) -> str:
        return self._backend


class SentenceTransformerEmbedder(LocalModelEmbedder):
    """A sentence-transformers model, loaded once on first use and safe to share by threads."""

    def __init__(self, spec: ModelSpec, *, backend: str = "torch", batch_size: int = 32) -> None:
        super().__init__(spec, backend=backend, batch_size=batch_size)
        self._model: SentenceTransformer | None = None

    @property
    def dimension(self) -> int:
        model = self._load()
        dimension = getattr(model, "get_embedding_dimension", None) or (
            model.get_sentence_embedding_dimension
        )
        return int(cast(int, dimension()))

    def embed(self, texts: Sequence[str]) -> Vectors:
        model = self._load()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _load(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging

                transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
                model = SentenceTransformer(str(self.spec.path), device="cpu")
                model.max_seq_length = self.spec.max_seq_length
                self._model = model
            return self._model


def load_embedder(spec: ModelSpec, backend: str, *, batch_size: int, cache_dir: Path) -> Embedder:
    """The embedder for `backend` (torch, onnx or onnx-int8); the model loads on first use.

    Raises `InputError` for a backend this version does not know.
    """
    if backend == "torch":
        return SentenceTransformerEmbedder(spec, backend=backend, batch_size=batch_size)
    from index.onnx_backend import ONNX_BACKENDS, OnnxEmbedder

    if backend in ONNX_BACKENDS:
        return OnnxEmbedder(spec, backend=backend, cache_dir=cache_dir, batch_size=batch_size)
    raise InputError(f"unknown embedding backend {backend!r}; use torch, onnx or onnx-int8")
