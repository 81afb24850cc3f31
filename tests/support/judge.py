"""A stand-in for the answer reranker, for tests of what the engine does with its judgement."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray


class Judge:
    """A stand-in reranker: a candidate answers when its sentence holds one of `words`;
    records what it read."""

    def __init__(self, *words: str) -> None:
        self.words = words
        self.read: list[tuple[str, list[str]]] = []

    def logits(self, question: str, candidates: Sequence[str]) -> NDArray[np.float32]:
        self.read.append((question, list(candidates)))
        first = [candidate.split(" | ")[0] for candidate in candidates]
        answers = [any(word in text for word in self.words) for text in first]
        return np.array([4.0 if answer else -4.0 for answer in answers], dtype=np.float32)
