"""The write side of the Milvus store: a build writes a new generation's collections a batch
of rows at a time, then moves the index's alias to it in one step.

Milvus has no lock a build could hold: before it moves the alias, a build checks that the
alias still names the generation it built on, and otherwise gives up (`IndexBusyError`)
without touching the live index. After the switch, generations other than the new one and
the one before it (readers may still be on it) are dropped, with what killed builds left and
what builds still running have written (they give up with `IndexBusyError` too).
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import json
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from index.config import Settings
from index.errors import IndexBusyError, IndexWriteError
from index.manifest import Manifest
from index.milvus.client import (
    ARTICLES,
    KINDS,
    PASSAGES,
    SENTENCES,
    TERMS,
    collection_name,
    connect,
    location,
    milvus_errors,
)
from index.milvus.reader import MilvusIndex, MilvusReader
from index.milvus.schema import (
    article_row,
    article_rows,
    create_generation,
    passage_row,
    passage_words,
    set_manifest,
    term_rows,
    too_long,
    vector_index_kind,
)
from index.records import EmbeddedArticle, SourceArticle

# Rows per insert call (article parts are up to 128 kB each).
_INSERT_BATCH = {PASSAGES: 500, ARTICLES: 100, SENTENCES: 2000, TERMS: 5000}


def write_errors(where: str) -> contextlib.AbstractContextManager[None]:
    """Any Milvus error while writing becomes one line; the live index is unchanged."""
    return milvus_errors(
        lambda reason: IndexWriteError(
            f"cannot write the index to Milvus at {where}: {reason};"
            " the previous index is unchanged"
        )
    )


class MilvusTarget:
    """Builds write generations of the index `CITEBOT_MILVUS_COLLECTION` into Milvus."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.index = MilvusIndex(settings)
        self.previous: MilvusReader | None = None
        # The live generation when the build began: what its draft will replace.
        self.base: str | None = None

    @property
    def location(self) -> str:
        """The Milvus URI (without credentials) and the index's name."""
        return location(self.settings)

    def check_writable(self) -> None:
        """Milvus can be reached (`StoreUnavailableError` otherwise)."""
        connect(self.settings)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Note the live generation. Milvus has no lock: `MilvusDraft.publish` refuses to
        replace any other generation than this one."""
        self.base = self.index.live()
        yield

    def unstorable(self, article: SourceArticle) -> str | None:
        """Why Milvus cannot hold `article` (a field over a VARCHAR's bytes), or None."""
        return too_long(article)

    def has_index(self) -> bool:
        """True when the alias names a generation."""
        return self.index.live() is not None

    def open_live(self) -> MilvusReader:
        """Open the live generation; drafts copy unchanged articles from it."""
        self.previous = self.index.open()
        return self.previous

    def draft(self, passages: int) -> MilvusDraft:
        """A new generation of `passages` passages, written to Milvus as its rows come."""
        return MilvusDraft(self, vector_index_kind(passages))


class MilvusDraft:
    """A generation written to its own new collections as its rows come, a batch at a time:
    at most one batch of rows per collection waits in memory (and the count of each word,
    for the terms collection, written when the generation is finished)."""

    def __init__(self, target: MilvusTarget, vector_index: str) -> None:
        self.target = target
        # Chosen before the first row: Milvus indexes rows as they come.
        self.vector_index = vector_index
        self.settings = target.settings
        self.where = target.location
        self._name = f"g{datetime.now(UTC):%Y%m%dT%H%M%S%f}_{secrets.token_hex(3)}"
        self.pending: dict[str, list[dict[str, Any]]] = {ARTICLES: [], PASSAGES: [], SENTENCES: []}
        self.words: collections.Counter[str] = collections.Counter()
        self.sentence_count = 0
        self._passage_count = 0
        self._article_parts = 0
        self._created = False

    @property
    def name(self) -> str:
        """The generation's name."""
        return self._name

    @property
    def passage_count(self) -> int:
        """Passages added so far."""
        return self._passage_count

    def copy_unchanged(self, article_ids: list[str]) -> None:
        """Copy unchanged articles' rows and vectors from the live generation, a batch of
        articles at a time, renumbering their passages and sentences."""
        previous = self.target.previous
        if previous is None:
            return
        batch = _INSERT_BATCH[ARTICLES]
        for first in range(0, len(article_ids), batch):
            articles, passages = previous.stored_rows(article_ids[first : first + batch])
            counts = [len(json.loads(row["sentences"])) for row in passages]
            old_sentences = [
                old
                for row, count in zip(passages, counts, strict=True)
                for old in range(row["sentence_row"], row["sentence_row"] + count)
            ]
            vectors = self._copied_vectors(previous, PASSAGES, [int(row["id"]) for row in passages])
            sentence_vectors = self._copied_vectors(previous, SENTENCES, old_sentences)
            self._add_articles(articles, previous.manifest.dimension)
            taken = 0
            for row, vector, count in zip(passages, vectors, counts, strict=True):
                self._add_passage(row, vector, sentence_vectors[taken : taken + count])
                taken += count

    @staticmethod
    def _copied_vectors(previous: MilvusReader, kind: str, ids: list[int]) -> NDArray[np.float32]:
        """The vectors `ids` of the live generation, read a batch at a time."""
        batch = _INSERT_BATCH[kind]
        parts = [previous.vectors(kind, ids[i : i + batch]) for i in range(0, len(ids), batch)]
        return np.vstack(parts) if parts else np.zeros((0, previous.manifest.dimension), np.float32)

    def add_article(self, new: EmbeddedArticle) -> None:
        """Write a newly cleaned and chunked article's rows with their vectors (a batch at a
        time); its passages take the next ids."""
        rows = article_rows(new.article, new.key, new.text, new.paragraphs)
        self._add_articles(rows, new.vectors.shape[1])
        taken = 0
        for passage, vector in zip(new.passages, new.vectors, strict=True):
            row = passage_row(
                passage,
                passage_id=self._passage_count,
                sentence_row=self.sentence_count,
                article=new.article,
                text=new.text,
            )
            count = len(passage.sentences)
            self._add_passage(row, vector, new.sentence_vectors[taken : taken + count])
            taken += count

    def _add_articles(self, rows: list[dict[str, Any]], dimension: int) -> None:
        """Queue article part rows, numbered across the generation."""
        self._create(dimension)
        for row in rows:
            self._queue(ARTICLES, article_row(row, self._article_parts))
            self._article_parts += 1

    def _add_passage(
        self,
        row: dict[str, Any],
        vector: NDArray[np.float32],
        sentence_vectors: NDArray[np.floating[Any]],
    ) -> None:
        """Queue one passage row (new or copied) with its vector, as the next passage, and its
        sentences' vectors as the next sentence rows; count its words."""
        self._queue(
            PASSAGES,
            {
                **row,
                "id": self._passage_count,
                "sentence_row": self.sentence_count,
                "vector": vector.astype(np.float32).tolist(),
            },
        )
        self._passage_count += 1
        self.words.update(passage_words(row))
        for sentence_vector in sentence_vectors:
            self._queue(
                SENTENCES,
                {"id": self.sentence_count, "vector": sentence_vector.astype(np.float32).tolist()},
            )
            self.sentence_count += 1

    def _create(self, dimension: int) -> None:
        """Create the generation's collections before its first rows."""
        if not self._created:
            with self._writing():
                create_generation(
                    connect(self.settings),
                    self.settings.milvus_collection,
                    self.name,
                    dimension,
                    self.vector_index,
                )
            self._created = True

    def _queue(self, kind: str, row: dict[str, Any]) -> None:
        """Add a row to its collection's batch; write the batch once it is full."""
        self.pending[kind].append(row)
        if len(self.pending[kind]) >= _INSERT_BATCH[kind]:
            self._flush(kind)

    def _flush(self, kind: str) -> None:
        """Write the rows waiting for the generation's `kind` collection."""
        self._insert(kind, self.pending[kind])
        self.pending[kind].clear()

    def _insert(self, kind: str, rows: list[dict[str, Any]]) -> None:
        """Write rows into the generation's `kind` collection."""
        if rows:
            name = collection_name(self.settings.milvus_collection, self.name, kind)
            with self._writing():
                connect(self.settings).insert(name, rows)

    def finish(self, manifest: Manifest) -> Manifest:
        """Write the batches left and the words' counts, then put the manifest on the
        passages collection."""
        manifest = replace(
            manifest,
            sentences=self.sentence_count,
            faiss_index=self.vector_index,
            extra={**manifest.extra, "store": "milvus"},
        )
        self._create(manifest.dimension)
        for kind in self.pending:
            self._flush(kind)
        batch = _INSERT_BATCH[TERMS]
        terms = term_rows(self.words)
        while rows := list(itertools.islice(terms, batch)):
            self._insert(TERMS, rows)
        with self._writing():
            set_manifest(
                connect(self.settings),
                self.settings.milvus_collection,
                self.name,
                json.dumps(asdict(manifest), ensure_ascii=False),
            )
        return manifest

    def publish(self) -> str:
        """Move the alias to this generation in one step, unless another build moved it since
        this one began; then drop the generations no reader needs."""
        client = connect(self.settings)
        alias = self.settings.milvus_collection
        previous = self.target.base
        if self._overtaken():
            raise self._busy()
        passages = collection_name(alias, self.name, PASSAGES)
        with write_errors(self.where):
            if previous is None:
                client.create_alias(passages, alias)
            else:
                client.alter_alias(passages, alias)
        self._drop_generations(lambda generation: generation not in {self.name, previous})
        return self.name

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Milvus errors while writing become one line: `IndexBusyError` when another build
        published meanwhile (it drops the collections of builds still running), else
        `IndexWriteError`."""
        try:
            with write_errors(self.where):
                yield
        except IndexWriteError as error:
            if self._overtaken():
                raise self._busy() from error
            raise

    def _overtaken(self) -> bool:
        """True when another build moved the alias since this one began."""
        return self.target.index.live() != self.target.base

    def _busy(self) -> IndexBusyError:
        return IndexBusyError(
            f"another `citebot build` published to Milvus at {self.where} meanwhile; build again"
        )

    def discard(self) -> None:
        """Drop whatever collections of this generation were created."""
        self._drop_generations(lambda generation: generation == self.name)

    def _drop_generations(self, chosen: Callable[[str], bool]) -> None:
        """Drop the collections of the index's generations `chosen` says to, as far as Milvus
        lets it (what is left is dropped after the next build)."""
        from pymilvus import MilvusException

        client = connect(self.settings)
        prefix = re.escape(self.settings.milvus_collection)
        pattern = re.compile(rf"{prefix}_(g\d{{8}}T\d{{12}}_[0-9a-f]{{6}})_({'|'.join(KINDS)})")
        with contextlib.suppress(MilvusException):
            for name in client.list_collections():
                found = pattern.fullmatch(name)
                if found is not None and chosen(found[1]):
                    client.drop_collection(name)
