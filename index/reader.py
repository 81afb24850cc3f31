"""Read-only access to one generation of the index, safe to share between threads."""

from __future__ import annotations

import bisect
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index.errors import IndexDamagedError, IndexNotFoundError
from index.models import Span
from index.store import (
    DATABASE_NAME,
    FORMAT_VERSION,
    MANIFEST_NAME,
    VECTORS_NAME,
    IndexLayout,
    Manifest,
)

if TYPE_CHECKING:
    import faiss

_ARTICLE_COLUMNS = (
    "id, key, title, text, paragraphs, url, published, source, author, metadata, content_hash"
)
_PASSAGE_COLUMNS = (
    "id, article_id, ordinal, start, end, paragraph_first, paragraph_last, sentences, tokens"
)


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """An article as stored: `text` is the cleaned body every offset refers to."""

    id: str
    key: str
    title: str
    text: str
    paragraphs: tuple[Span, ...]
    url: str | None
    published: str | None
    source: str | None
    author: str | None
    metadata: dict[str, Any]
    content_hash: str

    def paragraph_of(self, offset: int) -> int:
        """The 1-based number of the paragraph holding character `offset`."""
        return max(1, bisect.bisect_right([start for start, _ in self.paragraphs], offset))


@dataclass(frozen=True, slots=True)
class StoredPassage:
    """A passage row: `id` is also its row in the FAISS index."""

    id: int
    article_id: str
    ordinal: int
    start: int
    end: int
    paragraph_first: int
    paragraph_last: int
    sentences: tuple[Span, ...]
    tokens: int


class IndexReader:
    """One immutable generation: its manifest, SQLite database and FAISS vectors."""

    def __init__(self, directory: Path, manifest: Manifest, vectors: faiss.Index) -> None:
        self.directory = directory
        self.manifest = manifest
        self.vectors = vectors
        self._local = threading.local()

    @classmethod
    def open(cls, root: Path) -> IndexReader:
        """Open the live generation of the index at `root`, checking it is whole."""
        layout = IndexLayout(root)
        directory = layout.current()
        if directory is None:
            if root.is_dir() and any(root.iterdir()) and not layout.is_citebot_index():
                raise IndexNotFoundError(f"{root} is not a citebot index; run `citebot build`")
            raise IndexNotFoundError(f"no index at {root}; run `citebot build` first")
        return cls.open_generation(directory)

    @classmethod
    def open_generation(cls, directory: Path) -> IndexReader:
        """Open one generation directory, raising `IndexDamagedError` if any part is wrong."""
        fix = "run `citebot build --full`"
        if not directory.is_dir():
            raise IndexDamagedError(f"the index generation {directory} is missing; {fix}")
        manifest = Manifest.read(directory / MANIFEST_NAME)
        if manifest.format != FORMAT_VERSION:
            raise IndexDamagedError(
                f"the index at {directory} has format {manifest.format}, this citebot reads"
                f" format {FORMAT_VERSION}; {fix}"
            )
        import faiss

        # One question at a time: FAISS's own threads would only fight the model for the cores.
        faiss.omp_set_num_threads(1)
        try:
            vectors = faiss.read_index(str(directory / VECTORS_NAME), faiss.IO_FLAG_MMAP_IFC)
        except RuntimeError as error:
            raise IndexDamagedError(f"the vector file in {directory} is damaged; {fix}") from error
        search_depth = manifest.extra.get("search_depth")
        if search_depth and hasattr(vectors, "hnsw"):
            vectors.hnsw.efSearch = int(search_depth)
        reader = cls(directory, manifest, vectors)
        try:
            (passages,) = reader._db.execute("SELECT count(*) FROM passages").fetchone()
            (articles,) = reader._db.execute("SELECT count(*) FROM articles").fetchone()
        except sqlite3.DatabaseError as error:
            raise IndexDamagedError(f"the database in {directory} is damaged; {fix}") from error
        counts = (articles, passages, vectors.ntotal, vectors.d)
        expected = (manifest.articles, manifest.passages, manifest.passages, manifest.dimension)
        if counts != expected:
            raise IndexDamagedError(
                f"the index in {directory} does not match its manifest"
                f" (articles, passages, vectors, dimension: {counts} vs {expected}); {fix}"
            )
        return reader

    @property
    def _db(self) -> sqlite3.Connection:
        """This thread's read-only connection (SQLite connections are not shared by threads)."""
        connection: sqlite3.Connection | None = getattr(self._local, "db", None)
        if connection is None:
            uri = f"file:{self.directory / DATABASE_NAME}?mode=ro&immutable=1"
            try:
                connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
            except sqlite3.Error as error:
                raise IndexDamagedError(
                    f"the database in {self.directory} cannot be opened; run `citebot build --full`"
                ) from error
            self._local.db = connection
        return connection

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read-only query on this thread's connection."""
        try:
            return self._db.execute(sql, parameters).fetchall()
        except sqlite3.DatabaseError as error:
            if isinstance(error, sqlite3.OperationalError) and "fts5" in str(error):
                raise
            raise IndexDamagedError(
                f"the database in {self.directory} is damaged; run `citebot build --full`"
            ) from error

    def article_hashes(self) -> dict[str, str]:
        """Content hash of every stored article, by article id."""
        return dict(self.query("SELECT id, content_hash FROM articles"))

    def passage_counts(self) -> dict[str, int]:
        """Number of passages of every stored article, by article id."""
        return dict(self.query("SELECT article_id, count(*) FROM passages GROUP BY article_id"))

    def article(self, article_id: str) -> StoredArticle | None:
        """One article by id."""
        rows = self.query(f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id = ?", (article_id,))
        return _article(rows[0]) if rows else None

    def article_by_key(self, key: str) -> StoredArticle | None:
        """One article by the key its citation ids start with."""
        rows = self.query(f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE key = ?", (key,))
        return _article(rows[0]) if rows else None

    def articles(self, article_ids: Sequence[str]) -> dict[str, StoredArticle]:
        """Several articles by id."""
        marks = ",".join("?" * len(article_ids))
        rows = self.query(
            f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id IN ({marks})", article_ids
        )
        return {row[0]: _article(row) for row in rows}

    def passages(self, passage_ids: Sequence[int]) -> dict[int, StoredPassage]:
        """Several passages by id."""
        marks = ",".join("?" * len(passage_ids))
        rows = self.query(
            f"SELECT {_PASSAGE_COLUMNS} FROM passages WHERE id IN ({marks})",
            [int(i) for i in passage_ids],
        )
        return {row[0]: _passage(row) for row in rows}

    def passages_of(self, article_id: str) -> list[StoredPassage]:
        """An article's passages in order."""
        rows = self.query(
            f"SELECT {_PASSAGE_COLUMNS} FROM passages WHERE article_id = ? ORDER BY ordinal",
            (article_id,),
        )
        return [_passage(row) for row in rows]

    def titles(self) -> Iterator[tuple[str, str, str]]:
        """(article id, key, title) for every article."""
        for row in self.query("SELECT id, key, title FROM articles ORDER BY title"):
            yield row[0], row[1], row[2]

    def size_on_disk(self) -> int:
        """Bytes used by this generation's files."""
        return sum(p.stat().st_size for p in self.directory.iterdir() if p.is_file())


def _article(row: tuple[Any, ...]) -> StoredArticle:
    return StoredArticle(
        id=row[0],
        key=row[1],
        title=row[2],
        text=row[3],
        paragraphs=tuple((s, e) for s, e in json.loads(row[4])),
        url=row[5],
        published=row[6],
        source=row[7],
        author=row[8],
        metadata=json.loads(row[9]),
        content_hash=row[10],
    )


def _passage(row: tuple[Any, ...]) -> StoredPassage:
    return StoredPassage(
        id=row[0],
        article_id=row[1],
        ordinal=row[2],
        start=row[3],
        end=row[4],
        paragraph_first=row[5],
        paragraph_last=row[6],
        sentences=tuple((s, e) for s, e in json.loads(row[7])),
        tokens=row[8],
    )
