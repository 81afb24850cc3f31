"""What every embedder is (`Embedder`) and what those of a local model share."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from index.embed.model import ModelSpec
from index.records import Span

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

    def embed_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[Span]]
    ) -> tuple[Vectors, Vectors]:
        """Vectors for `texts` and, from the same run of the model, one for each character
        span of each text, all spans in order: the span as read within its whole text."""
        ...


@dataclass(frozen=True, slots=True)
class TokenRun:
    """The model's token vectors for one text, padding removed, with each token's character
    span in the text and whether it is a special token ([CLS], [SEP])."""

    vectors: NDArray[np.float32]
    offsets: NDArray[np.int64]
    special: NDArray[np.bool_]


class LocalModelEmbedder:
    """What the embedders of a local model directory share: the model, how it runs, the batch
    size, a lock under which the model loads once, on first use, and pooling token vectors."""

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

    def token_runs(self, texts: Sequence[str]) -> list[TokenRun]:
        """The token vectors of each text (one batch: the caller chooses its size)."""
        raise NotImplementedError

    def embed_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[Span]]
    ) -> tuple[Vectors, Vectors]:
        """Each text's vector (the mean of all its token vectors, as `embed` gives it) and,
        from the same run, each span's: the mean of the vectors of the tokens that begin in
        it, which the model computed reading the whole text ("late chunking")."""
        whole: list[Vectors] = []
        parts: list[Vectors] = []
        for first in range(0, len(texts), self.batch_size):
            runs = self.token_runs(texts[first : first + self.batch_size])
            for run, text_spans in zip(runs, spans[first : first + self.batch_size], strict=True):
                everything = run.vectors.mean(axis=0)
                whole.append(everything[None, :])
                parts.append(_pool_spans(run, text_spans, everything))
        dimension = parts[0].shape[1] if parts else 0
        return (
            normalised(np.vstack(whole) if whole else np.zeros((0, dimension), np.float32)),
            normalised(np.vstack(parts) if parts else np.zeros((0, dimension), np.float32)),
        )


def _pool_spans(
    run: TokenRun, spans: Sequence[Span], everything: NDArray[np.float32]
) -> NDArray[np.float32]:
    """The mean token vector of each span; a span no token begins in (cut off by the model's
    length limit) gets the whole text's."""
    pooled = np.empty((len(spans), run.vectors.shape[1]), dtype=np.float32)
    starts = run.offsets[:, 0]
    words = ~run.special
    for row, (start, end) in enumerate(spans):
        chosen = words & (starts >= start) & (starts < end)
        pooled[row] = run.vectors[chosen].mean(axis=0) if chosen.any() else everything
    return pooled


def normalised(vectors: NDArray[np.float32]) -> Vectors:
    """`vectors` scaled to length 1, row by row."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)
