"""The write side of the Milvus store: a build writes a new generation's collections, then
moves the index's alias to it in one step.

Milvus has no lock a build could hold: before it moves the alias, a build checks that the
alias still names the generation it built on, and otherwise gives up (`IndexBusyError`)
without touching the live index. After the switch, generations other than the new one and
the one before it (readers may still be on it) are dropped, with what killed builds left.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from index.config import Settings
from index.errors import IndexBusyError, IndexWriteError
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
    article_rows,
    create_generation,
    numbered_article_rows,
    passage_row,
    term_rows,
    vector_index_kind,
)
from index.records import Passage, SourceArticle
from index.store import Manifest

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

    def has_index(self) -> bool:
        """True when the alias names a generation."""
        return self.index.live() is not None

    def open_live(self) -> MilvusReader:
        """Open the live generation; drafts copy unchanged articles from it."""
        self.previous = self.index.open()
        return self.previous

    def draft(self) -> MilvusDraft:
        """A new generation, written to Milvus when finished."""
        return MilvusDraft(self)


class MilvusDraft:
    """A generation's rows, gathered in memory, then written to its own new collections."""

    def __init__(self, target: MilvusTarget) -> None:
        self.target = target
        self.settings = target.settings
        self.where = target.location
        self._name = f"g{datetime.now(UTC):%Y%m%dT%H%M%S%f}_{secrets.token_hex(3)}"
        self.rows: dict[str, list[dict[str, Any]]] = {ARTICLES: [], PASSAGES: []}
        self.sentence_count = 0

    @property
    def name(self) -> str:
        """The generation's name."""
        return self._name

    @property
    def passage_count(self) -> int:
        """Passages gathered so far."""
        return len(self.rows[PASSAGES])

    def copy_unchanged(
        self, article_ids: list[str], dimension: int
    ) -> tuple[NDArray[np.float32], NDArray[np.float16]]:
        """Copy unchanged articles' rows from the live generation, renumbering their passages
        and sentences; return their vectors in the new order."""
        previous = self.target.previous
        if previous is None or not article_ids:
            return np.zeros((0, dimension), np.float32), np.zeros((0, dimension), np.float16)
        articles, passages = previous.stored_rows(article_ids)
        self.rows[ARTICLES] += articles
        old_sentences: list[int] = []
        for row in passages:
            count = len(json.loads(row["sentences"]))
            old_sentences += range(row["sentence_row"], row["sentence_row"] + count)
            self.rows[PASSAGES].append(
                {**row, "id": self.passage_count, "sentence_row": self.sentence_count}
            )
            self.sentence_count += count
        return (
            previous.vectors(PASSAGES, [int(row["id"]) for row in passages]),
            previous.vectors(SENTENCES, old_sentences).astype(np.float16),
        )

    def add_article(
        self,
        article: SourceArticle,
        *,
        key: str,
        text: str,
        paragraphs: Iterable[tuple[int, int]],
        passages: Iterable[Passage],
    ) -> None:
        """Gather a newly cleaned and chunked article's rows; its passages take the next ids."""
        self.rows[ARTICLES] += article_rows(article, key, text, paragraphs)
        for passage in passages:
            self.rows[PASSAGES].append(
                passage_row(
                    passage,
                    passage_id=self.passage_count,
                    sentence_row=self.sentence_count,
                    article=article,
                    text=text,
                )
            )
            self.sentence_count += len(passage.sentences)

    def finish(
        self,
        vectors: NDArray[np.float32],
        sentence_vectors: NDArray[np.floating[Any]],
        manifest: Manifest,
    ) -> Manifest:
        """Create the generation's collections (the manifest on the passages one) and write
        every row with its vector."""
        if len(vectors) != self.passage_count:
            raise AssertionError(f"{len(vectors)} vectors for {self.passage_count} passages")
        if len(sentence_vectors) != self.sentence_count:
            raise AssertionError(
                f"{len(sentence_vectors)} sentence vectors for {self.sentence_count} sentences"
            )
        manifest = replace(
            manifest,
            sentences=self.sentence_count,
            faiss_index=vector_index_kind(self.passage_count),
            extra={**manifest.extra, "store": "milvus"},
        )
        client = connect(self.settings)
        prefix = self.settings.milvus_collection
        rows = {
            PASSAGES: [
                {**row, "vector": vector.tolist()}
                for row, vector in zip(self.rows[PASSAGES], vectors, strict=True)
            ],
            ARTICLES: numbered_article_rows(self.rows[ARTICLES]),
            SENTENCES: [
                {"id": row, "vector": vector.astype(np.float32).tolist()}
                for row, vector in enumerate(sentence_vectors)
            ],
            TERMS: term_rows(self.rows[PASSAGES]),
        }
        with write_errors(self.where):
            create_generation(
                client,
                prefix,
                self.name,
                manifest.dimension,
                self.passage_count,
                json.dumps(asdict(manifest), ensure_ascii=False),
            )
            for kind, kind_rows in rows.items():
                name = collection_name(prefix, self.name, kind)
                batch = _INSERT_BATCH[kind]
                for first in range(0, len(kind_rows), batch):
                    client.insert(name, kind_rows[first : first + batch])
        return manifest

    def publish(self) -> str:
        """Move the alias to this generation in one step, unless another build moved it since
        this one began; then drop the generations no reader needs."""
        client = connect(self.settings)
        alias = self.settings.milvus_collection
        previous = self.target.base
        if self.target.index.live() != previous:
            raise IndexBusyError(
                f"another `citebot build` published to Milvus at {self.where} meanwhile;"
                " build again"
            )
        passages = collection_name(alias, self.name, PASSAGES)
        with write_errors(self.where):
            if previous is None:
                client.create_alias(passages, alias)
            else:
                client.alter_alias(passages, alias)
        self._drop_generations(lambda generation: generation not in {self.name, previous})
        return self.name

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
