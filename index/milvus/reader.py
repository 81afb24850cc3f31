"""The read side of the Milvus store: the one owner of Milvus queries.

`MilvusIndex` follows the index's alias to the live generation; `MilvusReader` reads one
generation's collections (`index.milvus.schema`). Every Milvus error becomes one line:
`IndexNotFoundError` before the first build, `IndexDamagedError` for a generation that cannot
be read as it is.
"""

from __future__ import annotations

import bisect
import collections
import contextlib
import json
import re
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from index.config import Settings
from index.errors import IndexDamagedError, IndexNotFoundError
from index.manifest import Manifest
from index.milvus.client import (
    ARTICLES,
    KINDS,
    MANIFEST_PROPERTY,
    PASSAGES,
    SENTENCES,
    TERMS,
    collection_name,
    connect,
    generation_of,
    is_lite,
    lite_file,
    literal,
    location,
    milvus_errors,
    one_of,
)
from index.milvus.schema import (
    ARTICLE_FIELDS,
    PART_CHARS,
    PASSAGE_FIELDS,
    stored_articles,
    stored_passage,
)
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
from index.words import is_word

if TYPE_CHECKING:
    from pymilvus import MilvusClient

# HNSW search depth (ef) for dense search; at least k.
SEARCH_DEPTH = 256
# Rows one query returns at most (Milvus's limit).
_MAX_ROWS = 16_384
# Article ids named in one filter expression.
_BATCH = 1000
# A phrase search looks at this many times k passages holding all its words.
_PHRASE_CANDIDATES = 4
_FIX = "run `citebot build --full`"


def read_errors(where: str) -> contextlib.AbstractContextManager[None]:
    """Any Milvus error while reading becomes one line naming the index."""
    return milvus_errors(
        lambda reason: IndexDamagedError(
            f"the index in Milvus at {where} cannot be read ({reason}); {_FIX}"
        )
    )


class MilvusIndex:
    """The index named `CITEBOT_MILVUS_COLLECTION` in the configured Milvus."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.alias = settings.milvus_collection
        self.where = location(settings)

    def live(self) -> str | None:
        """The live generation (the one the alias names), or None before the first build
        (or when the Milvus Lite file is not there: it is never made by reading)."""
        file = lite_file(self.settings)
        if file is not None and not file.exists():
            return None
        client = connect(self.settings)
        from pymilvus import MilvusException

        try:
            described = client.describe_alias(self.alias)
        except MilvusException:
            return None
        return generation_of(self.alias, described["collection_name"])

    def open(self) -> MilvusReader:
        """Open the live generation, checking its collections match its manifest."""
        generation = self.live()
        if generation is None:
            raise IndexNotFoundError(
                f"no index in Milvus at {self.where}; run `citebot build` first"
            )
        return MilvusReader.open(self.settings, generation)


class MilvusReader:
    """One generation of the index in Milvus, shared by threads (the client is thread-safe)."""

    def __init__(
        self, settings: Settings, client: MilvusClient, generation: str, manifest: Manifest
    ) -> None:
        self.settings = settings
        self.client = client
        self.where = location(settings)
        self._generation = generation
        self._manifest = manifest
        prefix = settings.milvus_collection
        self.names = {kind: collection_name(prefix, generation, kind) for kind in KINDS}

    @classmethod
    def open(cls, settings: Settings, generation: str) -> MilvusReader:
        """Open one generation, raising `IndexDamagedError` if any part is wrong."""
        client = connect(settings)
        where = location(settings)
        names = {
            kind: collection_name(settings.milvus_collection, generation, kind) for kind in KINDS
        }
        with read_errors(where):
            for kind, name in names.items():
                if not client.has_collection(name):
                    raise IndexDamagedError(
                        f"the {kind} of index generation {generation} are missing from Milvus"
                        f" at {where}; {_FIX}"
                    )
                client.load_collection(name)
            properties = client.describe_collection(names[PASSAGES]).get("properties", {})
        manifest = _manifest(properties.get(MANIFEST_PROPERTY), generation, where)
        reader = cls(settings, client, generation, manifest)
        with read_errors(where):
            counts = (
                reader._count(ARTICLES, "part == 0"),
                reader._count(PASSAGES),
                reader._count(SENTENCES),
            )
        expected = (manifest.articles, manifest.passages, manifest.sentences)
        if counts != expected:
            raise IndexDamagedError(
                f"the index generation {generation} in Milvus at {where} does not match its"
                f" manifest (articles, passages, sentences: {counts} vs {expected}); {_FIX}"
            )
        return reader

    @property
    def manifest(self) -> Manifest:
        """What the generation holds and how it was built."""
        return self._manifest

    @property
    def generation(self) -> str:
        """The generation's name, as the alias gives it."""
        return self._generation

    @property
    def bm25_comparable(self) -> bool:
        """Milvus computes BM25's IDF per segment (and Milvus Lite negates it): only the order
        of lexical hits means something, so hybrid search fuses by rank."""
        return False

    # -- queries: the only calls to Milvus's read API ---------------------------------------

    def _count(self, kind: str, condition: str = "") -> int:
        rows = self.client.query(self.names[kind], filter=condition, output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def _query(self, kind: str, condition: str, fields: list[str]) -> list[dict[str, Any]]:
        """Every row of a collection matching `condition`: in one query when they fit in one,
        else in ranges of the primary key (numbered from 0 in every collection)."""
        name = self.names[kind]
        with read_errors(self.where):
            rows: list[dict[str, Any]] = self.client.query(
                name, filter=condition, output_fields=fields, limit=_MAX_ROWS
            )
            if len(rows) < _MAX_ROWS:
                return rows
            rows = []
            for first in range(0, self._count(kind), _MAX_ROWS):
                in_range = f"id >= {first} and id < {first + _MAX_ROWS}"
                rows += self.client.query(
                    name,
                    filter=f"{in_range} and ({condition})" if condition else in_range,
                    output_fields=fields,
                    limit=_MAX_ROWS,
                )
        return rows

    def _by_ids(
        self, kind: str, ids: Sequence[int], fields: list[str]
    ) -> dict[int, dict[str, Any]]:
        """Rows of a collection by primary key."""
        if not len(ids):
            return {}
        wanted = sorted({int(i) for i in ids})
        with read_errors(self.where):
            rows = self.client.query(
                self.names[kind],
                filter=one_of("id", wanted),
                output_fields=fields,
                limit=len(wanted),
            )
        return {int(row["id"]): row for row in rows}

    def _search(
        self,
        data: list[Any],
        field: str,
        parameters: dict[str, Any],
        k: int,
        condition: str,
        fields: Sequence[str] = ("id",),
    ) -> list[dict[str, Any]]:
        """The hits of one search of the passages, best first, with `fields` (no field at all
        would mean every field, vectors included)."""
        with read_errors(self.where):
            hits = self.client.search(
                self.names[PASSAGES],
                data=data,
                anns_field=field,
                search_params=parameters,
                limit=min(k, _MAX_ROWS),
                filter=condition,
                output_fields=list(fields),
            )
        return list(hits[0])

    # -- articles and passages ----------------------------------------------------------------

    def _articles_where(self, condition: str) -> list[StoredArticle]:
        rows = self._query(ARTICLES, condition, [*ARTICLE_FIELDS, "text", "record"])
        try:
            return list(stored_articles(rows))
        except (ValueError, TypeError, KeyError) as error:
            raise self._damaged() from error

    def _passages_where(self, condition: str) -> list[StoredPassage]:
        return self._passage_records(self._query(PASSAGES, condition, PASSAGE_FIELDS))

    def _passage_records(self, rows: Sequence[dict[str, Any]]) -> list[StoredPassage]:
        try:
            return [stored_passage(row) for row in rows]
        except (ValueError, TypeError, KeyError) as error:
            raise self._damaged() from error

    def _damaged(self) -> IndexDamagedError:
        return IndexDamagedError(
            f"the index generation {self.generation} in Milvus at {self.where} is damaged; {_FIX}"
        )

    def article_hashes(self) -> dict[str, str]:
        """Content hash of every stored article, by article id."""
        rows = self._query(ARTICLES, "part == 0", ["article_id", "content_hash"])
        return {row["article_id"]: row["content_hash"] for row in rows}

    def passage_counts(self) -> dict[str, int]:
        """Number of passages of every stored article, by article id."""
        rows = self._query(PASSAGES, "", ["article_id"])
        return dict(collections.Counter(row["article_id"] for row in rows))

    def article(self, article_id: str) -> StoredArticle | None:
        """One article by id."""
        return self.articles([article_id]).get(article_id)

    def article_by_key(self, key: str) -> StoredArticle | None:
        """One article by the key its citation ids start with."""
        found = self._articles_where(f"key == {literal(key)}")
        return found[0] if found else None

    def articles(self, article_ids: Sequence[str]) -> dict[str, StoredArticle]:
        """Several articles by id."""
        if not article_ids:
            return {}
        found = self._articles_where(one_of("article_id", list(article_ids)))
        return {article.id: article for article in found}

    def passages(self, passage_ids: Sequence[int]) -> dict[int, StoredPassage]:
        """Several passages by id."""
        rows = self._by_ids(PASSAGES, passage_ids, PASSAGE_FIELDS)
        return {passage.id: passage for passage in self._passage_records(list(rows.values()))}

    def passages_of(self, article_id: str) -> list[StoredPassage]:
        """An article's passages in order."""
        found = self._passages_where(f"article_id == {literal(article_id)}")
        return sorted(found, key=lambda passage: passage.ordinal)

    def all_passages(self) -> Iterator[StoredPassage]:
        """Every passage, in id order."""
        yield from sorted(self._passages_where(""), key=lambda passage: passage.id)

    def keys_around(self, key: str, count: int) -> list[str]:
        """Up to `count` article keys on each side of `key` in sorted order (Milvus cannot sort:
        every key is read)."""
        keys = sorted(row["key"] for row in self._query(ARTICLES, "part == 0", ["key"]))
        at = bisect.bisect_left(keys, key)
        return keys[max(0, at - count) : at + count]

    def titles(self) -> Iterator[ArticleHeading]:
        """The id, key, title, date and outlet of every article, by title."""
        fields = ["article_id", "key", "title", "published", "source"]
        for row in sorted(self._query(ARTICLES, "part == 0", fields), key=lambda r: r["title"]):
            yield ArticleHeading(
                row["article_id"], row["key"], row["title"], row["published"], row["source"]
            )

    def article_texts(self) -> Iterator[str]:
        """The stored text of every article."""
        for article in self._articles_where(""):
            yield article.text

    def stored_spans(self, spans: Sequence[tuple[str, int, int]]) -> list[str | None]:
        """The stored text of each (article id, start, end), read from the parts that hold it:
        an independent reading of the store to check quotes against."""
        result: list[str | None] = []
        for article_id, start, end in spans:
            first, last = start // PART_CHARS, max(start, end - 1) // PART_CHARS
            rows = self._query(
                ARTICLES,
                f"article_id == {literal(article_id)} and part >= {first} and part <= {last}",
                ["part", "text"],
            )
            text = "".join(row["text"] for row in sorted(rows, key=lambda row: row["part"]))
            offset = first * PART_CHARS
            result.append(text[start - offset : end - offset] if rows else None)
        return result

    def stored_rows(
        self, article_ids: Sequence[str]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The rows of `article_ids` as stored, for a build to copy: their article parts, and
        their passages in id order (with words, date and outlet, without vectors)."""
        fields = [*PASSAGE_FIELDS, "words", "published", "outlet"]
        articles: list[dict[str, Any]] = []
        passages: list[dict[str, Any]] = []
        for first in range(0, len(article_ids), _BATCH):
            condition = one_of("article_id", list(article_ids[first : first + _BATCH]))
            articles += self._query(ARTICLES, condition, [*ARTICLE_FIELDS, "text", "record"])
            passages += self._query(PASSAGES, condition, fields)
        return articles, sorted(passages, key=lambda row: int(row["id"]))

    # -- vectors and search ---------------------------------------------------------------------

    def cosines(self, passage_ids: Sequence[int], query_vector: NDArray[np.float32]) -> list[float]:
        """The cosine of `query_vector` and each passage's vector."""
        rows = self._by_ids(PASSAGES, passage_ids, ["id", "vector"])
        cosines = self._dot([rows[int(i)]["vector"] for i in passage_ids], query_vector)
        return [float(cosine) for cosine in cosines]

    def sentence_cosines(
        self, rows: NDArray[np.int64], query_vector: NDArray[np.float32]
    ) -> NDArray[np.float32]:
        """The cosine of `query_vector` and each sentence vector at `rows`."""
        found = self._by_ids(SENTENCES, rows.tolist(), ["id", "vector"])
        return self._dot([found[int(row)]["vector"] for row in rows], query_vector)

    def vectors(self, kind: str, ids: Sequence[int]) -> NDArray[np.float32]:
        """The passage or sentence vectors with primary keys `ids`, in that order."""
        found = self._by_ids(kind, ids, ["id", "vector"])
        return np.asarray([found[int(i)]["vector"] for i in ids], dtype=np.float32).reshape(
            len(ids), self.manifest.dimension
        )

    def _dot(self, vectors: list[Any], query_vector: NDArray[np.float32]) -> NDArray[np.float32]:
        matrix = np.asarray(vectors, dtype=np.float32).reshape(-1, self.manifest.dimension)
        cosines: NDArray[np.float32] = matrix @ query_vector
        return cosines

    def dense_matches(
        self, query_vector: NDArray[np.float32], k: int, article_filter: ArticleFilter | None
    ) -> Matches:
        """The `k` passages nearest `query_vector` by inner product (cosine of unit vectors)."""
        parameters: dict[str, Any] = {"metric_type": "IP"}
        if self.manifest.faiss_index == "HNSW":
            parameters["params"] = {"ef": max(k, SEARCH_DEPTH)}
        hits = self._search(
            [query_vector.astype(np.float32).tolist()],
            "vector",
            parameters,
            k,
            filter_condition(article_filter),
        )
        return _matches(hits)

    def lexical_matches(
        self, words: Sequence[str], k: int, article_filter: ArticleFilter | None
    ) -> Matches:
        """The `k` best passages by Milvus's BM25 holding any of `words`; the scores only
        order them (see `bm25_comparable`)."""
        plain = _plain(words)
        if not plain:
            return no_matches()
        hits = self._search(
            [" ".join(plain)], "bm25", {"metric_type": "BM25"}, k, filter_condition(article_filter)
        )
        return _matches(hits, bm25=True)

    def phrase_matches(
        self, words: Sequence[str], k: int, article_filter: ArticleFilter | None
    ) -> Matches:
        """The `k` best passages by BM25 holding `words` in a row: Milvus finds those holding
        every word, citebot keeps those where they stand together."""
        plain = _plain(words)
        if not plain:
            return no_matches()
        conditions = [f"TEXT_MATCH(words, {literal(word)})" for word in plain]
        if article_filter is not None:
            conditions.append(f"({filter_condition(article_filter)})")
        hits = self._search(
            [" ".join(plain)],
            "bm25",
            {"metric_type": "BM25"},
            k * _PHRASE_CANDIDATES,
            " and ".join(conditions),
            ["words"],
        )
        phrase = re.compile(r"(?<!\w)" + r"\W+".join(map(re.escape, plain)) + r"(?!\w)")
        found = [hit for hit in hits if phrase.search(hit["entity"]["words"])]
        return _matches(found[:k], bm25=True)

    def document_frequencies(self, words: Sequence[str]) -> dict[str, int]:
        """How many passages hold each of `words` (folded), as counted when the generation was
        built: one query for all of them."""
        if not words:
            return {}
        with read_errors(self.where):
            rows = self.client.query(
                self.names[TERMS],
                filter=one_of("id", list(words)),
                output_fields=["passages"],
                limit=len(words),
            )
        found = {row["id"]: int(row["passages"]) for row in rows}
        return {word: found.get(word, 0) for word in words}

    # -- what is stored ---------------------------------------------------------------------------

    def newest_published(self, by: date) -> date | None:
        """The day of the newest article published by `by` (articles without a full date
        left out), or None when there is none."""
        # "~" sorts after every character of an ISO 8601 date: that day's times are kept.
        dated = f"part == 0 and published <= {literal(by.isoformat() + '~')}"
        rows = self._query(ARTICLES, dated, ["published"])
        days = (published_day(row["published"]) for row in rows)
        return max((day for day in days if day is not None and day <= by), default=None)

    def stats(self, index_dir: Path) -> IndexStats:
        """What this generation holds; where it is, instead of `index_dir`."""
        rows = self._query(ARTICLES, "part == 0", ["source", "published"])
        outlets = collections.Counter(row["source"] for row in rows if row["source"] is not None)
        dates = [row["published"][:10] for row in rows if row["published"]]
        manifest = self.manifest
        return IndexStats(
            index_dir=self.where,
            generation=manifest.generation,
            articles=manifest.articles,
            passages=manifest.passages,
            outlets=[name for name, _ in sorted(outlets.items(), key=lambda o: (-o[1], o[0]))],
            first_published=min(dates, default=None),
            last_published=max(dates, default=None),
            model=manifest.model,
            backend=manifest.backend,
            dimension=manifest.dimension,
            size_bytes=self._size_on_disk(),
            built_at=manifest.built_at,
        )

    def _size_on_disk(self) -> int:
        """Bytes of a Milvus Lite file (all generations in it); 0 for a server, which does not
        say."""
        uri = self.settings.milvus_uri
        if not is_lite(uri):
            return 0
        path = Path(uri).expanduser()
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        return sum(p.stat().st_size for p in files)


def filter_condition(article_filter: ArticleFilter | None) -> str:
    """A Milvus filter on passages for the articles `article_filter` lets through ("" for
    all). Dates are ISO 8601 text: `until` keeps every date its prefix names."""
    if article_filter is None:
        return ""
    dates: list[str] = []
    if article_filter.since:
        dates.append(f"published >= {literal(article_filter.since)}")
    if article_filter.until:
        # "~" sorts after every character of an ISO 8601 date.
        dates.append(f"published <= {literal(article_filter.until + '~')}")
    dated = " and ".join(dates)
    if dates and article_filter.undated:
        dated = f"(published is null or ({dated}))"
    conditions = [dated] if dated else []
    if article_filter.outlet:
        escaped = re.sub(r"([\\%_])", r"\\\1", article_filter.outlet.lower())
        conditions.append(f"outlet like {literal('%' + escaped + '%')}")
    return " and ".join(conditions)


def _plain(words: Sequence[str]) -> list[str]:
    """The words that are plain words (as `index.search` gives them), nothing Milvus could
    read as syntax."""
    return [word for word in words if is_word(word)]


def _matches(hits: Sequence[dict[str, Any]], *, bm25: bool = False) -> Matches:
    """(ids, scores) of search hits, best first; BM25 distances lose Milvus Lite's sign."""
    scores = (float(hit["distance"]) for hit in hits)
    return (
        np.fromiter((int(hit["id"]) for hit in hits), dtype=np.int64, count=len(hits)),
        np.fromiter(map(abs, scores) if bm25 else scores, dtype=np.float32, count=len(hits)),
    )


def _manifest(stored: str | None, generation: str, where: str) -> Manifest:
    """The manifest stored on a generation's passages collection."""
    try:
        manifest = Manifest.from_json(json.loads(stored or ""))
    except (ValueError, TypeError) as error:
        raise IndexDamagedError(
            f"the manifest of index generation {generation} in Milvus at {where} cannot be read;"
            f" {_FIX}"
        ) from error
    manifest.require_format(f"in Milvus at {where}", _FIX)
    return manifest
