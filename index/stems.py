"""Word stems (the Snowball English stemmer, by PyStemmer), so that the answer scorer meets a
question's words in a sentence in another form: "sacks" and "sack", "intercepted" and
"interceptions".
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

import Stemmer

from index.search import content_words

# A PyStemmer object is not safe to share between threads: one per thread.
_local = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    stemmer: Stemmer.Stemmer | None = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer


def content_stems(text: str) -> set[str]:
    """The stems of the content words of `text`."""
    return set(_stemmer().stemWords(content_words(text)))


def stem_weights(word_weights: Mapping[str, float]) -> dict[str, float]:
    """`word_weights` by stem; words of one stem weigh as the heaviest of them."""
    stemmer = _stemmer()
    weights: dict[str, float] = {}
    for word, weight in word_weights.items():
        stem = stemmer.stemWord(word)
        weights[stem] = max(weight, weights.get(stem, 0.0))
    return weights
