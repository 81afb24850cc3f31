"""Turning text into normalised vectors, and where the model comes from.

    base.py    `Embedder`: what every embedder is; what those of a local model share
    model.py   where the model lives (packaged, a directory or a hub name), its tokenizer
    sbert.py   the model on torch, through sentence-transformers
    onnx.py    the model on onnxruntime, fp32 or int8, exported once from the model

`load_embedder` picks one by backend name. Nothing is imported or loaded before it is
needed: commands that never embed, such as `citebot stats`, never pay for torch, and the ONNX
backends need torch only once, to export the model.
"""

from __future__ import annotations

from pathlib import Path

from index.config import BACKENDS
from index.embed.base import Embedder, Vectors
from index.embed.model import ModelSpec
from index.errors import InputError

__all__ = ["Embedder", "Vectors", "load_embedder"]


def load_embedder(
    spec: ModelSpec, backend: str, *, batch_size: int, cache_dir: Path, threads: int | None = None
) -> Embedder:
    """The embedder for `backend` (torch, onnx or onnx-int8); the model loads on first use.
    On the ONNX backends one call uses up to `threads` threads (None: one a core); torch's
    threads are set for the whole process by torch itself.

    Raises `InputError` for a backend this version does not know.
    """
    if backend == "torch":
        from index.embed.sbert import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(spec, backend=backend, batch_size=batch_size)
    if backend in BACKENDS:
        from index.embed.onnx import OnnxEmbedder

        return OnnxEmbedder(
            spec, backend=backend, cache_dir=cache_dir, batch_size=batch_size, threads=threads
        )
    raise InputError(f"unknown embedding backend {backend!r}; use {', '.join(BACKENDS)}")
