"""A stand-in for the answer reranker, for tests of what the engine does with its judgement."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray


class Judge:
    """A stand-in reranker: a candidate answers when its sentence holds one of `words` (logit
    4), is doubtful when it holds one of `unsure` (-1), else does not (-4); records what it
    read."""

    def __init__(self, *words: str, unsure: Sequence[str] = ()) -> None:
        self.words = words
        self.unsure = unsure
        self.read: list[tuple[str, list[str]]] = []

    def logits(self, question: str, candidates: Sequence[str]) -> NDArray[np.float32]:
        self.read.append((question, list(candidates)))
        return np.array(
            [self._logit(candidate.split(" | ")[0]) for candidate in candidates], dtype=np.float32
        )

    def _logit(self, sentence: str) -> float:
        if any(word in sentence for word in self.words):
            return 4.0
        return -1.0 if any(word in sentence for word in self.unsure) else -4.0
