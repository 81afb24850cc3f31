"""What every embedder is (`Embedder`) and what those of a local model share."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from index.embed.model import ModelSpec

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
