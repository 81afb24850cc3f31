"""The local store behind the seam of `index.interfaces`: an index directory on one disk.

`index.store` knows the layout and writes it, `index.reader` reads it; this module only
offers them to the engine and the build in the shape the seam asks for.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from index.config import IndexKind
from index.errors import IndexDamagedError
from index.files import path_text
from index.interfaces import check_vectors
from index.reader import IndexReader
from index.records import Passage, SourceArticle
from index.store import (
    DATABASE_NAME,
    GenerationWriter,
    IndexLayout,
    Manifest,
    translate_write_errors,
)


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

    def has_index(self) -> bool:
        """True when CURRENT names a generation."""
        return self.layout.current() is not None

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
            self.vectors.append(
                np.asarray(previous.vectors.reconstruct_batch(rows.passages), dtype=np.float32)
            )
            self.sentence_vectors.append(np.asarray(previous.sentence_vectors[rows.sentences]))

    def add_article(
        self,
        article: SourceArticle,
        *,
        key: str,
        text: str,
        paragraphs: Iterable[tuple[int, int]],
        passages: Sequence[Passage],
        vectors: NDArray[np.float32],
        sentence_vectors: NDArray[np.floating[Any]],
    ) -> None:
        """Store a newly cleaned and chunked article; keep its vectors for `finish`."""
        check_vectors(passages, vectors, sentence_vectors)
        with translate_write_errors(self.target.layout.root):
            self.writer.add_article(
                article, key=key, text=text, paragraphs=paragraphs, passages=passages
            )
        self.vectors.append(np.asarray(vectors, dtype=np.float32))
        self.sentence_vectors.append(np.asarray(sentence_vectors, dtype=np.float16))

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
