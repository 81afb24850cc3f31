"""The write side of the local store: a build fills a draft generation directory, then
publishes it (`index.local.layout`).

`GenerationWriter` writes a generation's files: articles and passages into SQLite
(`index.local.schema`), their words' postings (`index.local.postings`), the passage vectors
into FAISS (`index.local.vectors`) and the sentence vectors into a float16 array.
`LocalTarget` and `LocalDraft` offer it to the build in the shape the seam of
`index.interfaces` asks for.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from index.config import IndexKind
from index.database import connect, sqlite_uri
from index.errors import IndexDamagedError
from index.files import path_text
from index.local.layout import (
    DATABASE_NAME,
    MANIFEST_NAME,
    SENTENCE_VECTORS_NAME,
    VECTORS_NAME,
    IndexLayout,
    translate_write_errors,
)
from index.local.postings import write_postings
from index.local.reader import IndexReader, within_unit
from index.local.schema import KEPT_TABLE, SCHEMA, article_row, passage_row
from index.local.vectors import build_vector_index, write_vector_index
from index.manifest import Manifest
from index.records import EmbeddedArticle, SourceArticle


class LocalTarget:
    """Builds write generations into the index directory `root`."""

    def __init__(self, root: Path, index_kind: IndexKind) -> None:
        self.layout = IndexLayout(root)
        self.index_kind = index_kind
        self.previous: IndexReader | None = None

    @property
    def location(self) -> str:
        """The index directory, as text safe to show."""
        return path_text(self.layout.root)

    def check_writable(self) -> None:
        """Refuse a file, a foreign directory, a directory not writable or not UTF-8."""
        self.layout.check_writable()

    def locked(self) -> AbstractContextManager[None]:
        """Hold the build lock (`IndexBusyError` when another build has it)."""
        return self.layout.locked()

    def unstorable(self, article: SourceArticle) -> str | None:
        """None: SQLite holds fields of any length."""
        return None

    def has_index(self) -> bool:
        """True when CURRENT names a generation (or is damaged: opening it says so)."""
        try:
            return self.layout.current() is not None
        except IndexDamagedError:
            return True

    def open_live(self) -> IndexReader:
        """Open the live generation; drafts copy unchanged articles from it."""
        self.previous = IndexReader.open(self.layout.root)
        return self.previous

    def draft(self, passages: int) -> LocalDraft:
        """A new draft directory under `generations/` and its writer (the vector index is
        chosen when it is finished, from the vectors themselves, whatever `passages` says)."""
        return LocalDraft(self, self.layout.draft())


class LocalDraft:
    """A draft generation directory being filled by a `GenerationWriter`."""

    def __init__(self, target: LocalTarget, directory: Path) -> None:
        self.target = target
        self.directory = directory
        # Vectors of the passages and of their sentences, in passage order, for `finish`.
        self.vectors: list[NDArray[np.float32]] = []
        self.sentence_vectors: list[NDArray[np.float16]] = []
        try:
            with translate_write_errors(target.layout.root):
                self.writer = GenerationWriter(directory)
        except BaseException:
            target.layout.discard(directory)
            raise

    @property
    def name(self) -> str:
        """The directory name the generation will have once published."""
        return self.target.layout.generation_name(self.directory)

    @property
    def passage_count(self) -> int:
        """Passages written so far."""
        return self.writer.passage_count

    def copy_unchanged(self, article_ids: list[str]) -> None:
        """Copy rows in SQL from the previous database, and keep their vectors from its files
        for `finish`."""
        previous = self.target.previous
        if previous is None or not article_ids:
            return
        try:
            with translate_write_errors(self.target.layout.root):
                rows = self.writer.copy_articles(previous.directory / DATABASE_NAME, article_ids)
        except sqlite3.DatabaseError as error:
            raise IndexDamagedError(
                f"the index at {previous.directory} is damaged; run `citebot build --full`"
            ) from error
        if len(rows.passages):
            vectors = np.asarray(previous.vectors.reconstruct_batch(rows.passages), np.float32)
            sentence_vectors = np.asarray(previous.sentence_vectors[rows.sentences])
            # Values no build writes are damage, not to be carried into the new generation.
            if not (within_unit(vectors) and within_unit(sentence_vectors)):
                raise IndexDamagedError(
                    f"the vectors in {previous.directory} are damaged; run `citebot build --full`"
                )
            self.vectors.append(vectors)
            self.sentence_vectors.append(sentence_vectors)

    def add_article(self, new: EmbeddedArticle) -> None:
        """Store a newly cleaned and chunked article; keep its vectors for `finish`."""
        with translate_write_errors(self.target.layout.root):
            self.writer.add_article(new)
        self.vectors.append(np.asarray(new.vectors, dtype=np.float32))
        self.sentence_vectors.append(np.asarray(new.sentence_vectors, dtype=np.float16))

    def finish(self, manifest: Manifest) -> Manifest:
        """Index the words, write the vectors (all at once: FAISS indexes them together) and
        the manifest."""
        empty = np.zeros((0, manifest.dimension), dtype=np.float32)
        with translate_write_errors(self.target.layout.root):
            return self.writer.finish(
                np.vstack([empty, *self.vectors]),
                np.vstack([empty.astype(np.float16), *self.sentence_vectors]),
                manifest,
                self.target.index_kind,
            )

    def publish(self) -> str:
        """Rename the draft into place and point CURRENT at it."""
        return self.target.layout.publish(self.directory).name

    def discard(self) -> None:
        """Close the database and remove the draft directory."""
        self.writer.close()
        self.target.layout.discard(self.directory)


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
        db.execute(KEPT_TABLE)
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

    def add_article(self, new: EmbeddedArticle) -> None:
        """Store a newly cleaned and chunked article's rows (its vectors are written by
        `finish`); its passages take the next ids."""
        self.db.execute(
            "INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            article_row(new.article, new.key, new.text, new.paragraphs),
        )
        rows = []
        for passage in new.passages:
            rows.append(
                passage_row(
                    passage,
                    passage_id=self.passage_count,
                    article_id=new.article.id,
                    sentence_row=self.sentence_count,
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
        write_vector_index(built.index, self.directory / VECTORS_NAME)
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
