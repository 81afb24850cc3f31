"""A fast deterministic embedder for unit tests; integration tests use the real model."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from index.embed import Vectors


class FakeEmbedder:
    """Hashes words into a small vector: texts sharing words are near each other. Fast and
    deterministic, for unit tests only; integration tests use the real model."""

    name = "fake-hashing-embedder"
    backend = "fake"
    dimension = 64

    def __init__(self) -> None:
        self.calls: list[int] = []

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(len(texts))
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.casefold()):
                digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
                vectors[row, int.from_bytes(digest, "little") % self.dimension] += 1.0
            vectors[row, 0] += 1e-3
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors

    def embed_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[Vectors, Vectors]:
        """Each text's vector, and each span's as if it were a text of its own."""
        parts = [text[a:b] for text, pairs in zip(texts, spans, strict=True) for a, b in pairs]
        return self.embed(texts), self.embed(parts)
