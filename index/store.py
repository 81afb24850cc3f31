"""The index on disk: a directory of immutable generations and a pointer to the current one.

    INDEX_DIR/
      citebot-index.json      marker: this directory is a citebot index (format version)
      CURRENT                 name of the live generation, replaced atomically
      build.lock              held by the one build that may run at a time
      generations/NAME/       manifest.json, passages.sqlite (articles, passages, FTS5 and
                              each word's passage count),
                              vectors.faiss (row i is passage id i), sentences.npy (one
                              float16 row per sentence of each passage, from its sentence_row),
                              postings-*.npy and passage-words.npy (`index.postings`)

A build writes a new generation under `generations/.tmp-NAME`, renames it into place, then
replaces CURRENT in one `os.replace`. A reader therefore sees the old index or the new one,
never half of one; a build that dies leaves only a `.tmp-*` directory, removed by the next.

This module is the write side, and the one place that knows the layout; `index.reader` is
the read side.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import secrets
import shutil
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from index.config import IndexKind
from index.database import connect, sqlite_uri
from index.errors import IndexBusyError, IndexDamagedError, IndexFormatError, IndexWriteError
from index.files import fsync_dir, fsync_file, path_text, write_text_atomically
from index.postings import write_postings
from index.records import Passage, SourceArticle
from index.vectors import build_vector_index

FORMAT_VERSION = 4
MARKER_NAME = "citebot-index.json"
CURRENT_NAME = "CURRENT"
LOCK_NAME = "build.lock"
GENERATIONS_NAME = "generations"
MANIFEST_NAME = "manifest.json"
DATABASE_NAME = "passages.sqlite"
VECTORS_NAME = "vectors.faiss"
SENTENCE_VECTORS_NAME = "sentences.npy"
DRAFT_PREFIX = ".tmp-"
# A generation's name: when its build began (UTC) and a random suffix. Only directories so
# named are ever removed from `generations/`; anything else put there is left alone.
# (Names of builds begun in the same second sort by the microsecond; older names lack it.)
_GENERATION_NAME = re.compile(r"\d{8}T\d{6}(?:\d{6})?-[0-9a-f]{6}")
_GENERATIONS_KEPT = 2

SCHEMA = """
CREATE TABLE articles (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    paragraphs TEXT NOT NULL,
    url TEXT,
    published TEXT,
    source TEXT,
    author TEXT,
    metadata TEXT NOT NULL,
    origin TEXT NOT NULL,
    content_hash TEXT NOT NULL
);
CREATE TABLE passages (
    id INTEGER PRIMARY KEY,
    article_id TEXT NOT NULL REFERENCES articles(id),
    ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    paragraph_first INTEGER NOT NULL,
    paragraph_last INTEGER NOT NULL,
    sentences TEXT NOT NULL,
    tokens INTEGER NOT NULL,
    sentence_row INTEGER NOT NULL
);
CREATE INDEX passages_by_article ON passages(article_id, ordinal);
CREATE VIRTUAL TABLE passages_fts USING fts5(
    body, title, content='', tokenize='unicode61 remove_diacritics 2'
);
CREATE TABLE word_passages (
    word TEXT PRIMARY KEY,
    passages INTEGER NOT NULL,
    first INTEGER NOT NULL
) WITHOUT ROWID;
"""


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a generation holds and how it was made; a reader checks it before trusting it."""

    format: int
    generation: str
    model: str
    backend: str
    dimension: int
    chunker: dict[str, Any]
    articles: int
    passages: int
    built_at: str
    sentences: int = 0
    faiss_index: str = "Flat"
    extra: dict[str, Any] = field(default_factory=dict)

    def signature(self) -> dict[str, Any]:
        """The settings that decide whether old vectors and passages can be reused."""
        return {
            "format": self.format,
            "model": self.model,
            "backend": self.backend,
            "chunker": self.chunker,
        }

    def require_format(self, where: str, fix: str) -> None:
        """Raise `IndexFormatError` unless this generation (the index `where`) has the format
        this citebot reads."""
        if self.format != FORMAT_VERSION:
            raise IndexFormatError(
                f"the index {where} has format {self.format}, this citebot reads format"
                f" {FORMAT_VERSION}; {fix}",
                found=self.format,
            )

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """Load a manifest; `IndexDamagedError` when it is missing or malformed."""
        try:
            data = json.loads(path.read_text("utf-8"))
            return cls(**data)
        except (OSError, ValueError, TypeError) as error:
            raise IndexDamagedError(
                f"the index manifest {path} cannot be read; run `citebot build --full`"
            ) from error


def utc_now() -> str:
    """The current time, ISO 8601 in UTC, to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class IndexLayout:
    """Paths and lifecycle of one index directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.generations = root / GENERATIONS_NAME

    def current(self) -> Path | None:
        """The live generation's directory, or None when nothing has been built here."""
        try:
            name = (self.root / CURRENT_NAME).read_text("utf-8").strip()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise IndexDamagedError(
                f"cannot read {self.root / CURRENT_NAME}: {error.strerror}"
            ) from error
        return self.generations / name if name else None

    def is_citebot_index(self) -> bool:
        """True when the directory carries citebot's marker."""
        return (self.root / MARKER_NAME).is_file()

    def check_writable(self) -> None:
        """Refuse a path that is a file, a foreign directory, not writable, or not UTF-8."""
        try:
            str(self.root.absolute()).encode("utf-8")
        except UnicodeEncodeError as error:
            raise IndexWriteError(
                f"{path_text(self.root)}: an index path must be UTF-8 text (FAISS opens no"
                " other); choose another --index directory"
            ) from error
        if self.root.exists() and not self.root.is_dir():
            raise IndexWriteError(f"{self.root} is a file, not an index directory")
        if self.root.is_dir() and any(self.root.iterdir()) and not self.is_citebot_index():
            raise IndexWriteError(
                f"{self.root} holds something that is not a citebot index;"
                " choose another --index directory"
            )
        existing = next(p for p in (self.root, *self.root.parents) if p.exists())
        if not os.access(existing, os.W_OK | os.X_OK):
            raise IndexWriteError(f"{existing} is not writable; choose another --index directory")

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the build lock; `IndexBusyError` when another build has it.

        A first build that fails leaves no index directory behind.
        """
        self.check_writable()
        first = not self.root.exists()
        with translate_write_errors(self.root):
            self.generations.mkdir(parents=True, exist_ok=True)
            if not self.is_citebot_index():
                write_text_atomically(
                    self.root / MARKER_NAME, json.dumps({"format": FORMAT_VERSION}) + "\n"
                )
            handle = (self.root / LOCK_NAME).open("a")
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as error:
                raise IndexBusyError(
                    f"another `citebot build` is writing {self.root}; wait for it to finish"
                ) from error
            self._remove_drafts()
            yield
        except BaseException:
            if first and self.current() is None:
                shutil.rmtree(self.root, ignore_errors=True)
            raise
        finally:
            handle.close()

    def draft(self) -> Path:
        """A new, empty directory for a generation being written (call under `locked`)."""
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{secrets.token_hex(3)}"
        path = self.generations / f"{DRAFT_PREFIX}{name}"
        with translate_write_errors(self.root):
            path.mkdir()
        return path

    @staticmethod
    def generation_name(draft: Path) -> str:
        """The name a draft generation will have once published."""
        return draft.name.removeprefix(DRAFT_PREFIX)

    def publish(self, draft: Path) -> Path:
        """Make a finished draft the live generation in one atomic step."""
        final = self.generations / self.generation_name(draft)
        with translate_write_errors(self.root):
            for file in draft.iterdir():
                fsync_file(file)
            draft.rename(final)
            fsync_dir(self.generations)
            write_text_atomically(self.root / CURRENT_NAME, final.name + "\n")
        self._remove_old_generations(final)
        return final

    def discard(self, draft: Path) -> None:
        """Remove an unfinished draft."""
        shutil.rmtree(draft, ignore_errors=True)

    def _remove_drafts(self) -> None:
        """Remove what a killed build left: draft generations and half-written pointers."""
        for path in self.generations.glob(f"{DRAFT_PREFIX}*"):
            if _GENERATION_NAME.fullmatch(self.generation_name(path)):
                shutil.rmtree(path, ignore_errors=True)
        for path in self.root.glob(f".{CURRENT_NAME}.*"):
            path.unlink(missing_ok=True)

    def _remove_old_generations(self, live: Path) -> None:
        """Keep the live generation and the one before it (a reader may still be on it)."""
        finished = sorted(
            (p for p in self.generations.iterdir() if _GENERATION_NAME.fullmatch(p.name)),
            key=lambda p: p.name,
        )
        keep = {live, *finished[-_GENERATIONS_KEPT:]}
        for path in finished:
            if path not in keep:
                shutil.rmtree(path, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class CopiedRows:
    """Where the vectors of copied passages were in the previous generation, in new order:
    the FAISS rows of the passages and the rows of their sentences."""

    passages: NDArray[np.int64]
    sentences: NDArray[np.int64]


class GenerationWriter:
    """Fills a draft generation: articles and passages into SQLite, passage vectors into
    FAISS, sentence vectors into a float16 array."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.db = connect(directory / DATABASE_NAME, "rwc")
        self.db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + SCHEMA)
        self.passage_count = 0
        self.sentence_count = 0

    def copy_articles(self, old_database: Path, article_ids: Iterable[str]) -> CopiedRows:
        """Copy articles and their passages unchanged; return where their vectors were.

        The old rows say which old vectors to carry over, in the order the new rows were given.
        """
        db = self.db
        db.execute("ATTACH DATABASE ? AS old", (sqlite_uri(old_database, "ro"),))
        db.execute("CREATE TEMP TABLE kept (id TEXT PRIMARY KEY)")
        db.executemany("INSERT INTO kept VALUES (?)", ((i,) for i in article_ids))
        db.execute("INSERT INTO articles SELECT * FROM old.articles WHERE id IN temp.kept")
        old = db.execute(
            """SELECT id, sentence_row, json_array_length(sentences) FROM old.passages
               WHERE article_id IN temp.kept ORDER BY id"""
        ).fetchall()
        db.execute(
            """INSERT INTO passages
               SELECT ? + row_number() OVER (ORDER BY id) - 1, article_id, ordinal, start, end,
                      paragraph_first, paragraph_last, sentences, tokens,
                      ? + coalesce(sum(json_array_length(sentences)) OVER (
                          ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
               FROM old.passages WHERE article_id IN temp.kept ORDER BY id""",
            (self.passage_count, self.sentence_count),
        )
        db.commit()
        db.execute("DROP TABLE temp.kept")
        db.execute("DETACH DATABASE old")
        copied = CopiedRows(
            np.array([row[0] for row in old], dtype=np.int64),
            np.array(
                [row for _, first, count in old for row in range(first, first + count)],
                dtype=np.int64,
            ),
        )
        self.passage_count += len(copied.passages)
        self.sentence_count += len(copied.sentences)
        return copied

    def add_article(
        self,
        article: SourceArticle,
        *,
        key: str,
        text: str,
        paragraphs: Iterable[tuple[int, int]],
        passages: Iterable[Passage],
    ) -> None:
        """Store a newly cleaned and chunked article; its passages take the next ids."""
        self.db.execute(
            "INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                article.id,
                key,
                article.title,
                text,
                json.dumps([list(p) for p in paragraphs]),
                article.url,
                article.published,
                article.source,
                article.author,
                json.dumps(article.metadata, ensure_ascii=False, default=str),
                article.origin,
                article.content_hash,
            ),
        )
        rows = []
        for passage in passages:
            rows.append(
                (
                    self.passage_count,
                    article.id,
                    passage.ordinal,
                    passage.start,
                    passage.end,
                    passage.paragraph_first,
                    passage.paragraph_last,
                    json.dumps([list(s) for s in passage.sentences]),
                    passage.tokens,
                    self.sentence_count,
                )
            )
            self.passage_count += 1
            self.sentence_count += len(passage.sentences)
        self.db.executemany("INSERT INTO passages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def finish(
        self,
        vectors: NDArray[np.float32],
        sentence_vectors: NDArray[np.floating[Any]],
        manifest: Manifest,
        index_kind: IndexKind = "auto",
    ) -> Manifest:
        """Index the passages' words, write the vectors and, last, the manifest (returned,
        with the vector index chosen)."""
        import faiss

        if len(vectors) != self.passage_count:
            raise AssertionError(f"{len(vectors)} vectors for {self.passage_count} passages")
        if len(sentence_vectors) != self.sentence_count:
            raise AssertionError(
                f"{len(sentence_vectors)} sentence vectors for {self.sentence_count} sentences"
            )
        self.db.execute(
            """INSERT INTO passages_fts (rowid, body, title)
               SELECT p.id, substr(a.text, p.start + 1, p.end - p.start), a.title
               FROM passages p JOIN articles a ON a.id = p.article_id"""
        )
        # Each word's passages, counted once here for BM25 in numpy: FTS5 would score every
        # passage a query matches, which takes long for common words in a large index.
        write_postings(self.db, self.directory, self.passage_count)
        self.db.commit()
        self.db.close()
        vectors = vectors.reshape(-1, manifest.dimension)
        built = build_vector_index(vectors, index_kind)
        faiss.write_index(built.index, str(self.directory / VECTORS_NAME))
        np.save(
            self.directory / SENTENCE_VECTORS_NAME,
            np.asarray(sentence_vectors, dtype=np.float16).reshape(-1, manifest.dimension),
        )
        manifest = replace(
            manifest,
            sentences=self.sentence_count,
            faiss_index=built.kind,
            extra={
                **manifest.extra,
                "search_depth": built.search_depth,
                "recall_at_10": round(built.recall_at_10, 4),
            },
        )
        (self.directory / MANIFEST_NAME).write_text(
            json.dumps(asdict(manifest), indent=2, ensure_ascii=False) + "\n", "utf-8"
        )
        return manifest

    def close(self) -> None:
        """Close the database if `finish` was never reached."""
        self.db.close()


@contextlib.contextmanager
def translate_write_errors(root: Path) -> Iterator[None]:
    """Turn disk-full, read-only and permission errors into one clear message."""
    try:
        yield
    except sqlite3.OperationalError as error:
        raise IndexWriteError(
            f"cannot write the index at {root}: {error}; the previous index is unchanged"
        ) from error
    except OSError as error:
        reason = {
            errno.ENOSPC: "the disk is full",
            errno.EROFS: "the file system is read-only",
            errno.EACCES: "permission denied",
            errno.EPERM: "permission denied",
        }.get(error.errno or 0, error.strerror or str(error))
        raise IndexWriteError(
            f"cannot write the index at {root}: {reason}; the previous index is unchanged"
        ) from error
