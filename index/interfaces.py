"""The seam between citebot and where an index is stored.

`IndexSource` is everything the engine, search, answers and evaluation read from one
generation; `LiveIndex` finds the live generation and opens it; `IndexTarget` and
`GenerationDraft` are what a build writes through. The local store (`index.local`: SQLite,
FTS5, FAISS) and the Milvus store (`index.milvus`) implement them; `index.seam` picks one
from the settings. Nothing above this seam knows which store it reads, and this module
imports neither.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import date
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from index.manifest import Manifest
from index.records import (
    ArticleFilter,
    ArticleHeading,
    EmbeddedArticle,
    IndexStats,
    Matches,
    SourceArticle,
    StoredArticle,
    StoredPassage,
)


class IndexSource(Protocol):
    """One immutable generation of an index, read by many threads."""

    @property
    def manifest(self) -> Manifest:
        """What the generation holds and how it was built."""

    @property
    def generation(self) -> str:
        """The generation's name, as `LiveIndex.live` gives it."""

    @property
    def bm25_comparable(self) -> bool:
        """True when lexical scores are BM25 values comparable across passages, so that
        fusion may weigh them; False when only their order means something."""

    def article_hashes(self) -> dict[str, str]:
        """Content hash of every stored article, by article id."""

    def passage_counts(self) -> dict[str, int]:
        """Number of passages of every stored article, by article id."""

    def article(self, article_id: str) -> StoredArticle | None:
        """One article by id."""

    def article_by_key(self, key: str) -> StoredArticle | None:
        """One article by the key its citation ids start with."""

    def articles(self, article_ids: Sequence[str]) -> dict[str, StoredArticle]:
        """Several articles by id."""

    def passages(self, passage_ids: Sequence[int]) -> dict[int, StoredPassage]:
        """Several passages by id."""

    def passages_of(self, article_id: str) -> list[StoredPassage]:
        """An article's passages in order."""

    def all_passages(self) -> Iterator[StoredPassage]:
        """Every passage, in id order."""

    def keys_around(self, key: str, count: int) -> list[str]:
        """Up to `count` article keys on each side of `key` in sorted order."""

    def titles(self) -> Iterator[ArticleHeading]:
        """The id, key, title, date and outlet of every article, by title."""

    def article_texts(self) -> Iterator[str]:
        """The stored text of every article."""

    def cosines(self, passage_ids: Sequence[int], query_vector: NDArray[np.float32]) -> list[float]:
        """The cosine of `query_vector` and each passage's vector."""

    def sentence_cosines(
        self, rows: NDArray[np.int64], query_vector: NDArray[np.float32]
    ) -> NDArray[np.float32]:
        """The cosine of `query_vector` and each sentence vector at `rows`."""

    def dense_matches(
        self, query_vector: NDArray[np.float32], k: int, article_filter: ArticleFilter | None
    ) -> Matches:
        """The `k` passages nearest `query_vector` (cosine), among those of the articles
        `article_filter` lets through."""

    def lexical_matches(
        self, words: Sequence[str], k: int, article_filter: ArticleFilter | None
    ) -> Matches:
        """The `k` best passages by BM25 holding any of `words` (folded, as plain words)."""

    def phrase_matches(
        self, words: Sequence[str], k: int, article_filter: ArticleFilter | None
    ) -> Matches:
        """The `k` best passages by BM25 holding `words` (folded) in a row."""

    def document_frequencies(self, words: Sequence[str]) -> dict[str, int]:
        """How many passages hold each of `words` (folded)."""

    def stored_spans(self, spans: Sequence[tuple[str, int, int]]) -> list[str | None]:
        """The stored text of each (article id, start, end), cut by the store itself: an
        independent reading to check quotes against."""

    def newest_published(self, by: date) -> date | None:
        """The day of the newest article published by `by` (articles without a full date
        left out), or None when there is none."""

    def stats(self, index_dir: Path) -> IndexStats:
        """What the generation holds: counts, outlets, dates, model, size, build time."""


class LiveIndex(Protocol):
    """Where the live generation of an index is found."""

    def live(self) -> str | None:
        """The live generation's name, or None when nothing has been built."""

    def open(self) -> IndexSource:
        """Open the live generation, checking it is whole."""


class GenerationDraft(Protocol):
    """A generation being written; invisible to readers until published."""

    @property
    def name(self) -> str:
        """The name the generation will have once published."""

    @property
    def passage_count(self) -> int:
        """Passages written so far; the next passage takes this id."""

    def copy_unchanged(self, article_ids: list[str]) -> None:
        """Copy unchanged articles, their passages and the passages' vectors from the live
        generation; the passages take the next ids."""

    def add_article(self, new: EmbeddedArticle) -> None:
        """Store a newly cleaned, chunked and embedded article with its passages' vectors and
        their sentences' vectors; its passages take the next ids."""

    def finish(self, manifest: Manifest) -> Manifest:
        """Write what is left, and the manifest; return the manifest as stored."""

    def publish(self) -> str:
        """Make the draft the live generation in one atomic step; return its name."""

    def discard(self) -> None:
        """Remove the unfinished draft."""


class IndexTarget(Protocol):
    """Where a build writes generations."""

    @property
    def location(self) -> str:
        """Where the index is, as text safe to show."""

    def check_writable(self) -> None:
        """Refuse a location that cannot hold an index, with one line saying why."""

    def locked(self) -> AbstractContextManager[None]:
        """Hold the right to build; `IndexBusyError` when another build has it."""

    def unstorable(self, article: SourceArticle) -> str | None:
        """Why this store cannot hold `article` (a field over its limits), or None."""

    def has_index(self) -> bool:
        """True when a generation has been published."""

    def open_live(self) -> IndexSource:
        """Open the live generation to build on; drafts copy unchanged articles from it."""

    def draft(self, passages: int) -> GenerationDraft:
        """A new, empty generation that will hold `passages` passages (call under `locked`)."""
