"""The read side of the local store: one generation of the index, opened read-only and
shared by threads.

`IndexReader` is the only owner of read SQL: articles and passages by id, full-text search,
word frequencies, stored spans for verification, and the stats of what is stored (the tables
and their columns are `index.local.schema`'s). `LocalIndex` finds the live generation and
opens it, in the shape the seam of `index.interfaces` asks for.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from index.database import connect
from index.errors import IndexDamagedError, IndexNotFoundError
from index.files import path_text
from index.local.layout import (
    DATABASE_NAME,
    MANIFEST_NAME,
    SENTENCE_VECTORS_NAME,
    VECTORS_NAME,
    IndexLayout,
)
from index.local.postings import BM25_WEIGHTS, Postings, is_among
from index.local.schema import ARTICLE_COLUMNS, PASSAGE_COLUMNS, stored_article, stored_passage
from index.lru import LeastRecentlyUsed
from index.manifest import Manifest
from index.records import (
    ArticleFilter,
    ArticleHeading,
    IndexStats,
    Matches,
    StoredArticle,
    StoredPassage,
    no_matches,
    published_day,
)

if TYPE_CHECKING:
    import faiss

T = TypeVar("T")

# Filters whose passage ids a reader keeps: the questions of one period share one filter, and
# the dense and the full-text search of a question both need its ids (8 MB per filter at a
# million passages, at worst).
FILTERS_KEPT = 4
# Rows read at a time from a ranked full-text query while keeping those a filter allows.
_ROWS_AT_A_TIME = 256
# Unit vectors' cosines and values lie in [-1, 1]; float16 rounding moves them by about 1e-3.
# Anything further out (or NaN) was never written by a build: the file is damaged.
_UNIT_LIMIT = 1.01


class LocalIndex:
    """The live generation of the index directory `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._layout = IndexLayout(root)

    def live(self) -> str | None:
        """The name CURRENT gives, or None before the first build."""
        current = self._layout.current()
        return current.name if current is not None else None

    def open(self) -> IndexReader:
        """Open the live generation, checking it is whole."""
        return IndexReader.open(self.root)


class IndexReader:
    """One immutable generation: its manifest, SQLite database, FAISS passage vectors, and
    memory-mapped sentence vectors and full-text postings."""

    def __init__(
        self,
        directory: Path,
        manifest: Manifest,
        vectors: faiss.Index,
        sentence_vectors: NDArray[np.float16],
        postings: Postings,
    ) -> None:
        self.directory = directory
        self.manifest = manifest
        self.vectors = vectors
        self.sentence_vectors = sentence_vectors
        self.postings = postings
        self._local = threading.local()
        self._allowed: LeastRecentlyUsed[ArticleFilter, NDArray[np.int64]] = LeastRecentlyUsed(
            FILTERS_KEPT
        )

    @classmethod
    def open(cls, root: Path) -> IndexReader:
        """Open the live generation of the index at `root`, checking it is whole."""
        layout = IndexLayout(root)
        directory = layout.current()
        if directory is None:
            if root.is_dir() and any(root.iterdir()) and not layout.is_citebot_index():
                raise IndexNotFoundError(
                    f"{path_text(root)} is not a citebot index; run `citebot build`"
                )
            raise IndexNotFoundError(f"no index at {path_text(root)}; run `citebot build` first")
        return cls.open_generation(directory)

    @classmethod
    def open_generation(cls, directory: Path) -> IndexReader:
        """Open one generation directory, raising `IndexDamagedError` if any part is wrong."""
        fix = "run `citebot build --full`"
        shown = path_text(directory)
        if not directory.is_dir():
            raise IndexDamagedError(f"the index generation {shown} is missing; {fix}")
        manifest = Manifest.read(directory / MANIFEST_NAME)
        manifest.require_format(f"at {shown}", fix)

        import faiss

        # One question at a time: FAISS's own threads would only fight the model for the cores.
        faiss.omp_set_num_threads(1)
        try:
            vectors = faiss.read_index(str(directory / VECTORS_NAME), faiss.IO_FLAG_MMAP_IFC)
        except RuntimeError as error:
            raise IndexDamagedError(f"the vector file in {shown} is damaged; {fix}") from error
        search_depth = manifest.extra.get("search_depth")
        if search_depth and hasattr(vectors, "hnsw"):
            vectors.hnsw.efSearch = int(search_depth)
        try:
            sentence_vectors = np.load(directory / SENTENCE_VECTORS_NAME, mmap_mode="r")
        except (OSError, ValueError) as error:
            raise IndexDamagedError(
                f"the sentence vectors in {shown} are missing or damaged; {fix}"
            ) from error
        if sentence_vectors.shape != (manifest.sentences, manifest.dimension):
            raise IndexDamagedError(
                f"the sentence vectors in {shown} do not match the manifest; {fix}"
            )
        try:
            postings = Postings.open(directory)
        except (OSError, ValueError) as error:
            raise IndexDamagedError(
                f"the full-text postings in {shown} are missing or damaged; {fix}"
            ) from error
        if len(postings.passage_words) != manifest.passages:
            raise IndexDamagedError(
                f"the full-text postings in {shown} do not match the manifest; {fix}"
            )
        reader = cls(directory, manifest, vectors, sentence_vectors, postings)
        try:
            (passages,) = reader._db.execute("SELECT count(*) FROM passages").fetchone()
            (articles,) = reader._db.execute("SELECT count(*) FROM articles").fetchone()
        except sqlite3.DatabaseError as error:
            raise IndexDamagedError(f"the database in {shown} is damaged; {fix}") from error
        counts = (articles, passages, vectors.ntotal, vectors.d)
        expected = (manifest.articles, manifest.passages, manifest.passages, manifest.dimension)
        if counts != expected:
            raise IndexDamagedError(
                f"the index in {shown} does not match its manifest"
                f" (articles, passages, vectors, dimension: {counts} vs {expected}); {fix}"
            )
        return reader

    @property
    def _db(self) -> sqlite3.Connection:
        """This thread's read-only connection (SQLite connections are not shared by threads)."""
        connection: sqlite3.Connection | None = getattr(self._local, "db", None)
        if connection is None:
            try:
                connection = connect(
                    self.directory / DATABASE_NAME, "ro", immutable=True, check_same_thread=False
                )
            except sqlite3.Error as error:
                raise IndexDamagedError(
                    f"the database in {path_text(self.directory)} cannot be opened;"
                    " run `citebot build --full`"
                ) from error
            # SQLite's own lower() changes only A-Z: outlets compare as Python (and Milvus) do.
            connection.create_function(_LOWER, 1, _lower, deterministic=True)
            self._local.db = connection
        return connection

    def _rows(
        self,
        sql: str,
        parameters: Sequence[Any] = (),
        *,
        among: NDArray[np.int64] | None = None,
        limit: int = 0,
    ) -> list[tuple[Any, ...]]:
        """Run a read-only query on this thread's connection: all its rows, or with `among`
        (sorted ids) the first `limit` rows whose first column is one of them."""
        try:
            cursor = self._db.execute(sql, parameters)
            if among is None:
                return cursor.fetchall()
            kept: list[tuple[Any, ...]] = []
            while len(kept) < limit and (chunk := cursor.fetchmany(_ROWS_AT_A_TIME)):
                ids = np.fromiter((row[0] for row in chunk), dtype=np.int64, count=len(chunk))
                inside = is_among(ids, among)
                kept.extend(row for row, allowed in zip(chunk, inside, strict=True) if allowed)
            return kept[:limit]
        except sqlite3.DatabaseError as error:
            if isinstance(error, sqlite3.OperationalError) and "fts5" in str(error):
                raise
            raise self._damaged() from error

    @property
    def generation(self) -> str:
        """The generation's name: its directory's."""
        return self.directory.name

    @property
    def bm25_comparable(self) -> bool:
        """FTS5's BM25 values are comparable across passages: weighted fusion may use them."""
        return True

    def _records(
        self, convert: Callable[[tuple[Any, ...]], T], sql: str, parameters: Sequence[Any] = ()
    ) -> list[T]:
        """Run a read-only query and `convert` each row to a record; a row that cannot be
        converted (its JSON columns damaged) means a damaged index."""
        rows = self._rows(sql, parameters)
        try:
            return [convert(row) for row in rows]
        except (ValueError, TypeError) as error:
            raise self._damaged() from error

    def _damaged(self) -> IndexDamagedError:
        return IndexDamagedError(
            f"the database in {path_text(self.directory)} is damaged; run `citebot build --full`"
        )

    def article_hashes(self) -> dict[str, str]:
        """Content hash of every stored article, by article id."""
        return dict(self._rows("SELECT id, content_hash FROM articles"))

    def passage_counts(self) -> dict[str, int]:
        """Number of passages of every stored article, by article id."""
        return dict(self._rows("SELECT article_id, count(*) FROM passages GROUP BY article_id"))

    def article(self, article_id: str) -> StoredArticle | None:
        """One article by id."""
        found = self._records(
            stored_article, f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE id = ?", (article_id,)
        )
        return found[0] if found else None

    def article_by_key(self, key: str) -> StoredArticle | None:
        """One article by the key its citation ids start with."""
        found = self._records(
            stored_article, f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE key = ?", (key,)
        )
        return found[0] if found else None

    def articles(self, article_ids: Sequence[str]) -> dict[str, StoredArticle]:
        """Several articles by id."""
        marks = ",".join("?" * len(article_ids))
        found = self._records(
            stored_article,
            f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE id IN ({marks})",
            article_ids,
        )
        return {article.id: article for article in found}

    def passages(self, passage_ids: Sequence[int]) -> dict[int, StoredPassage]:
        """Several passages by id."""
        marks = ",".join("?" * len(passage_ids))
        found = self._records(
            stored_passage,
            f"SELECT {PASSAGE_COLUMNS} FROM passages WHERE id IN ({marks})",
            [int(i) for i in passage_ids],
        )
        return {passage.id: passage for passage in found}

    def passages_of(self, article_id: str) -> list[StoredPassage]:
        """An article's passages in order."""
        return self._records(
            stored_passage,
            f"SELECT {PASSAGE_COLUMNS} FROM passages WHERE article_id = ? ORDER BY ordinal",
            (article_id,),
        )

    def all_passages(self) -> Iterator[StoredPassage]:
        """Every passage, in id order (the order of the vectors)."""
        yield from self._records(
            stored_passage, f"SELECT {PASSAGE_COLUMNS} FROM passages ORDER BY id"
        )

    def keys_around(self, key: str, count: int) -> list[str]:
        """Up to `count` article keys on each side of `key` in sorted order (an index seek)."""
        after = self._rows(
            "SELECT key FROM articles WHERE key >= ? ORDER BY key LIMIT ?", (key, count)
        )
        before = self._rows(
            "SELECT key FROM articles WHERE key < ? ORDER BY key DESC LIMIT ?", (key, count)
        )
        return [row[0] for row in before[::-1] + after]

    def titles(self) -> Iterator[ArticleHeading]:
        """The id, key, title, date and outlet of every article, by title."""
        query = "SELECT id, key, title, published, source FROM articles ORDER BY title"
        for row in self._rows(query):
            yield ArticleHeading(*row)

    def size_on_disk(self) -> int:
        """Bytes used by this generation's files."""
        return sum(p.stat().st_size for p in self.directory.iterdir() if p.is_file())

    def article_texts(self) -> Iterator[str]:
        """The stored text of every article."""
        for (text,) in self._rows("SELECT text FROM articles"):
            yield text

    def cosines(self, passage_ids: Sequence[int], query_vector: NDArray[np.float32]) -> list[float]:
        """The cosine of `query_vector` and each passage's vector."""
        if not passage_ids:
            return []
        vectors = self.vectors.reconstruct_batch(np.asarray(passage_ids, dtype=np.int64))
        cosines = self._checked(vectors @ query_vector, "vector file", "is")
        return [float(cosine) for cosine in cosines]

    def sentence_cosines(
        self, rows: NDArray[np.int64], query_vector: NDArray[np.float32]
    ) -> NDArray[np.float32]:
        """The cosine of `query_vector` and each sentence vector at `rows`."""
        cosines: NDArray[np.float32] = self.sentence_vectors[rows].astype(np.float32) @ query_vector
        return self._checked(cosines, "sentence vectors", "are")

    def dense_matches(
        self, query_vector: NDArray[np.float32], k: int, article_filter: ArticleFilter | None
    ) -> Matches:
        """The `k` passages nearest `query_vector` by cosine (inner product of unit vectors),
        among those of the articles `article_filter` lets through."""
        if self.vectors.ntotal == 0:
            return no_matches()
        query = query_vector.reshape(1, -1)
        allowed = self._admitted(article_filter)
        if allowed is None:
            scores, ids = self.vectors.search(query, min(k, self.vectors.ntotal))
        else:
            if not len(allowed):
                return no_matches()
            scores, ids = self._search_among(query, min(k, len(allowed)), allowed)
        keep = ids[0] >= 0
        found = scores[0][keep].astype(np.float32)
        return ids[0][keep].astype(np.int64), self._checked(found, "vector file", "is")

    def _checked(self, cosines: NDArray[np.float32], what: str, verb: str) -> NDArray[np.float32]:
        """`cosines`, unless one is not a cosine of unit vectors (NaN, or far beyond 1): then
        the `what` they were computed from is damaged."""
        if not within_unit(cosines):
            raise IndexDamagedError(
                f"the {what} in {self.directory} {verb} damaged; run `citebot build --full`"
            )
        return cosines

    def _search_among(
        self, query: NDArray[np.float32], k: int, passage_ids: NDArray[np.int64]
    ) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        """FAISS search that considers only `passage_ids` (the selector lives as long as the
        search that uses it)."""
        import faiss

        selector = faiss.IDSelectorBatch(passage_ids)
        if hasattr(self.vectors, "hnsw"):
            parameters = faiss.SearchParametersHNSW(  # type: ignore[attr-defined]
                sel=selector, efSearch=self.vectors.hnsw.efSearch
            )
        else:
            parameters = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
        scores, ids = self.vectors.search(query, k, params=parameters)
        return scores, ids

    def lexical_matches(
        self, words: Sequence[str], k: int, article_filter: ArticleFilter | None
    ) -> Matches:
        """The `k` best passages by BM25 holding any of `words`, scored in numpy from the
        postings (`index.local.postings`: FTS5's formula and weights, the title weighing less),
        among the passages of the articles `article_filter` lets through; best first."""
        allowed = self._admitted(article_filter)
        if not words or (allowed is not None and not len(allowed)):
            return no_matches()
        marks = ", ".join("?" * len(words))
        runs = self._rows(
            f"SELECT first, passages FROM word_passages WHERE word IN ({marks})", words
        )
        damaged = IndexDamagedError(
            f"the full-text postings in {self.directory} are damaged; run `citebot build --full`"
        )
        try:
            ids, scores = self.postings.best(runs, k, allowed)
        except IndexError as error:  # a passage id beyond the last passage
            raise damaged from error
        if len(ids) and not (
            ids.min() >= 0 and ids.max() < self.manifest.passages and np.isfinite(scores).all()
        ):
            raise damaged
        return ids, scores

    def phrase_matches(
        self, words: Sequence[str], k: int, article_filter: ArticleFilter | None
    ) -> Matches:
        """The `k` best passages by BM25 holding `words` in a row, as one FTS5 phrase (FTS5
        scores it: a phrase needs the words' positions), among the passages of the articles
        `article_filter` lets through; the title weighs less than the body; best first."""
        phrase = '"' + " ".join(words) + '"'
        # Ordered by the bm25() expression: the same order as FTS5's `rank` told to use these
        # weights, in about two thirds of the time (news_dev's questions, 28,696 passages).
        matched = (
            "SELECT rowid, bm25(passages_fts, ?, ?) AS score FROM passages_fts"
            " WHERE passages_fts MATCH ?"
        )
        allowed = self._admitted(article_filter)
        if allowed is None:
            rows = self._rows(f"{matched} ORDER BY score LIMIT ?", (*BM25_WEIGHTS, phrase, k))
        else:
            # Scored once, best first, and read until `k` allowed ones are found: with the
            # filter inside its query, FTS5 would look up every passage the filter lets
            # through in the full-text index, one at a time.
            if not len(allowed):
                return no_matches()
            rows = self._rows(
                f"{matched} ORDER BY score", (*BM25_WEIGHTS, phrase), among=allowed, limit=k
            )
        # FTS5's BM25 is lower for better matches.
        return (
            np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows)),
            -np.fromiter((row[1] for row in rows), dtype=np.float32, count=len(rows)),
        )

    def _admitted(self, article_filter: ArticleFilter | None) -> NDArray[np.int64] | None:
        """The ids of the passages `article_filter` lets through, sorted; None when there is
        no filter or it lets every passage through (as a question's day asked mostly does),
        so that the search goes unfiltered, at its own speed."""
        if article_filter is None:
            return None
        allowed = self._passage_ids_where(article_filter)
        return None if len(allowed) == self.manifest.passages else allowed

    def _passage_ids_where(self, article_filter: ArticleFilter) -> NDArray[np.int64]:
        """The ids of the passages of the articles `article_filter` lets through, sorted;
        kept for the `FILTERS_KEPT` filters used last."""
        allowed = self._allowed.get(article_filter)
        if allowed is not None:
            return allowed
        condition, parameters = _filter_condition(article_filter)
        rows = self._rows(
            # The filter is on articles: read them first, then their passages by the index.
            "SELECT p.id FROM articles a CROSS JOIN passages p ON p.article_id = a.id"
            f" WHERE {condition} ORDER BY p.id",
            parameters,
        )
        allowed = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        allowed.flags.writeable = False  # shared by the threads that ask with this filter
        self._allowed.put(article_filter, allowed)
        return allowed

    def document_frequencies(self, words: Sequence[str]) -> dict[str, int]:
        """How many passages hold each of `words` (folded, as the full-text index keeps
        them), as counted when the generation was built: one query for all of them."""
        if not words:
            return {}
        marks = ", ".join("?" * len(words))
        found = {
            str(word): int(count)
            for word, count in self._rows(
                f"SELECT word, passages FROM word_passages WHERE word IN ({marks})", words
            )
        }
        return {word: found.get(word, 0) for word in words}

    def stored_spans(self, spans: Sequence[tuple[str, int, int]]) -> list[str | None]:
        """The stored text of each (article id, start, end), cut by SQLite, not by Python:
        an independent reading of the store to check quotes against."""
        result: list[str | None] = []
        for article_id, start, end in spans:
            rows = self._rows(
                "SELECT substr(text, ? + 1, ? - ?) FROM articles WHERE id = ?",
                (start, end, start, article_id),
            )
            result.append(rows[0][0] if rows else None)
        return result

    def newest_published(self, by: date) -> date | None:
        """The day of the newest article published by `by` (articles without a full date
        left out), or None when there is none."""
        ((day,),) = self._rows(
            "SELECT max(substr(published, 1, 10)) FROM articles"
            " WHERE length(published) >= 10 AND substr(published, 1, 10) <= ?",
            (by.isoformat(),),
        )
        return published_day(day)

    def stats(self, index_dir: Path) -> IndexStats:
        """What this generation holds: counts, outlets, dates, model, size, build time; the
        index directory as text safe to show."""
        manifest = self.manifest
        outlets = [
            row[0]
            for row in self._rows(
                "SELECT source FROM articles WHERE source IS NOT NULL"
                " GROUP BY source ORDER BY count(*) DESC, source"
            )
        ]
        first, last = self._rows(
            "SELECT min(substr(published, 1, 10)), max(substr(published, 1, 10)) FROM articles"
        )[0]
        return IndexStats(
            index_dir=path_text(index_dir),
            generation=manifest.generation,
            articles=manifest.articles,
            passages=manifest.passages,
            outlets=outlets,
            first_published=first,
            last_published=last,
            model=manifest.model,
            backend=manifest.backend,
            dimension=manifest.dimension,
            size_bytes=self.size_on_disk(),
            built_at=manifest.built_at,
        )


_LOWER = "citebot_lower"


def _lower(text: str | None) -> str | None:
    """Lower case in every script (SQL's `citebot_lower`)."""
    return text.lower() if isinstance(text, str) else None


def within_unit(values: NDArray[np.floating[Any]]) -> bool:
    """True when every one of `values` could be a cosine, or a value, of unit vectors as a
    build writes them: none is NaN or far beyond [-1, 1]."""
    return bool(np.all(np.abs(values) <= _UNIT_LIMIT))


def _filter_condition(article_filter: ArticleFilter) -> tuple[str, list[str | int]]:
    """An SQL condition on the articles table `a` with its parameters."""
    dates: list[str] = []
    parameters: list[str | int] = []
    if article_filter.since:
        dates.append("a.published >= ?")
        parameters.append(article_filter.since)
    if article_filter.until:
        dates.append("substr(a.published, 1, ?) <= ?")
        parameters += [len(article_filter.until), article_filter.until]
    dated = " AND ".join(dates) or "1"
    if dates and article_filter.undated:
        dated = f"(a.published IS NULL OR ({dated}))"
    conditions = [dated]
    if article_filter.outlet:
        conditions.append(f"instr({_LOWER}(a.source), ?) > 0")
        parameters.append(article_filter.outlet.lower())
    return " AND ".join(conditions), parameters
