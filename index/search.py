"""Hybrid retrieval: dense and lexical (BM25) search through the store, fused by score or rank.

The store (`index.interfaces.IndexSource`) receives folded words, never query syntax, so `"`,
`*`, `(`, `:`, `-`, AND, OR, NOT and NEAR in a question are plain text; words are compared
without case and accents, so "lety perez" finds "Lety Pérez". Weighted fusion needs BM25
values comparable across passages; a store whose values are not (Milvus) is fused by rank.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from index.config import Fusion, Retriever
from index.interfaces import IndexSource
from index.records import ArticleFilter

# Passages each retriever proposes before fusion.
CANDIDATES = 50
# Reciprocal rank fusion constant (Cormack et al., 2009).
RRF_K = 60
# Full-text search leaves out a word held by more than this share of the passages (and by
# more than the floor: a small index keeps all its words). Measured in docs/benchmarks.md.
COMMON_WORD_SHARE = 0.1
COMMON_WORD_FLOOR = 1_000
# The most passages the searched words may be in together: what one full-text search reads.
# No question of the evaluation sets comes near it; on 1M passages it bounds the slow tail.
PASSAGES_READ_BUDGET = 20_000


@dataclass(frozen=True, slots=True)
class Hits:
    """Ranked passage ids with their scores, best first."""

    ids: NDArray[np.int64]
    scores: NDArray[np.float32]

    @classmethod
    def empty(cls) -> Hits:
        """No hits."""
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))


def kept_words(reader: IndexSource, words: Sequence[str]) -> list[str]:
    """The searched `words` (`index.words.query_words`) full-text search looks for: less the
    common ones, then the rarest first until they are in `PASSAGES_READ_BUDGET` passages
    together (the rarest is always kept).

    A common word is in more than `COMMON_WORD_SHARE` of the passages and in more than
    `COMMON_WORD_FLOOR`. Common words barely change the ranking, and reading their long lists
    of passages is what makes full-text search slow on a large index."""
    if not words:
        return []
    frequencies = reader.document_frequencies(words)
    common = max(COMMON_WORD_SHARE * reader.manifest.passages, COMMON_WORD_FLOOR)
    rarest_first = sorted(words, key=lambda word: frequencies[word])
    kept, passages = [rarest_first[0]], frequencies[rarest_first[0]]
    for word in rarest_first[1:]:
        passages += frequencies[word]
        if frequencies[word] > common or passages > PASSAGES_READ_BUDGET:
            break
        kept.append(word)
    return [word for word in words if word in kept]


def lexical_search(
    reader: IndexSource,
    words: Sequence[str],
    k: int,
    article_filter: ArticleFilter | None = None,
) -> Hits:
    """BM25 over passage words and titles for any of the searched `words` it keeps
    (`kept_words`); higher scores are better."""
    kept = kept_words(reader, words)
    return Hits(*reader.lexical_matches(kept, k, article_filter)) if kept else Hits.empty()


def phrase_search(
    reader: IndexSource, words: list[str], k: int, article_filter: ArticleFilter | None = None
) -> Hits:
    """BM25 of the passages holding `words` (folded) in a row, as one phrase."""
    return Hits(*reader.phrase_matches(words, k, article_filter)) if words else Hits.empty()


def dense_search(
    reader: IndexSource,
    query_vector: NDArray[np.float32],
    k: int,
    article_filter: ArticleFilter | None = None,
) -> Hits:
    """Cosine similarity over all passages, or over those of the articles `article_filter`
    lets through."""
    return Hits(*reader.dense_matches(query_vector, k, article_filter))


def find_passages(
    reader: IndexSource,
    words: Sequence[str],
    vector: NDArray[np.float32] | None,
    retriever: Retriever,
    k: int,
    fusion: Fusion,
    article_filter: ArticleFilter | None = None,
) -> tuple[Hits, Hits, Hits]:
    """(fused, dense, lexical) hits among the passages `article_filter` lets through, for
    the searched `words` and `vector` of a question (the vector needed unless lexical)."""
    dense = lexical = Hits.empty()
    if retriever != "lexical" and vector is not None:
        dense = dense_search(reader, vector, max(k, CANDIDATES), article_filter)
    if retriever != "dense":
        lexical = lexical_search(reader, words, max(k, CANDIDATES), article_filter)
    if retriever == "hybrid" and fusion == "weighted" and reader.bm25_comparable:
        return fuse_weighted(dense, lexical, k), dense, lexical
    rankings = {"hybrid": [dense, lexical], "dense": [dense], "lexical": [lexical]}
    return fuse(rankings[retriever], k), dense, lexical


def fuse_weighted(dense: Hits, lexical: Hits, k: int, dense_weight: float = 0.5) -> Hits:
    """Score fusion: `dense_weight` x cosine + the rest x BM25 divided by the best BM25."""
    fused: dict[int, float] = {}
    for hits, weight, scale in (
        (dense, dense_weight, 1.0),
        (lexical, 1.0 - dense_weight, float(lexical.scores.max()) if len(lexical.scores) else 1.0),
    ):
        for passage_id, score in zip(hits.ids.tolist(), hits.scores.tolist(), strict=True):
            fused[passage_id] = fused.get(passage_id, 0.0) + weight * score / (scale or 1.0)
    return _top(fused, k)


def fuse(rankings: list[Hits], k: int) -> Hits:
    """Reciprocal rank fusion: each list adds 1 / (RRF_K + rank) to a passage's score."""
    fused: dict[int, float] = {}
    for hits in rankings:
        for rank, passage_id in enumerate(hits.ids.tolist(), start=1):
            fused[passage_id] = fused.get(passage_id, 0.0) + 1.0 / (RRF_K + rank)
    return _top(fused, k)


def _top(fused: dict[int, float], k: int) -> Hits:
    """The k best of a passage-to-score map, best first."""
    if not fused:
        return Hits.empty()
    ids = np.fromiter(fused.keys(), dtype=np.int64, count=len(fused))
    scores = np.fromiter(fused.values(), dtype=np.float32, count=len(fused))
    order = np.argsort(-scores, kind="stable")[:k]
    return Hits(ids[order], scores[order])
