"""The collections of one generation in Milvus, and how records become their rows.

- passages: one row per passage (id = passage id), its offsets and sentence spans, its folded
  words (title and text, the input of the BM25 function that fills `bm25`), the article's
  date and outlet (for filters) and its vector;
- articles: one row per part of an article (rows numbered from 0 across the generation):
  its text cut into parts that fit a VARCHAR (`PART_CHARS`), its other fields as JSON cut the
  same way;
- sentences: one row per sentence vector (id = the passage's sentence_row + n);
- terms: one row per word of the passages (id = the folded word), with the number of passages
  holding it: the words' weights in an answer, counted at build time (Milvus Lite counts
  `TEXT_MATCH` by scanning every passage).

Milvus Lite offers only the standard tokenizer and ignores accent folding, so citebot folds
the words itself (`index.search.fold`) before they are stored and before they are searched.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from index.milvus.client import (
    ARTICLES,
    MANIFEST_PROPERTY,
    PASSAGES,
    SENTENCES,
    TERMS,
    collection_name,
)
from index.records import Passage, SourceArticle, StoredArticle, StoredPassage
from index.vector_policy import FLAT_LIMIT, HNSW_CONSTRUCTION_DEPTH, HNSW_NEIGHBOURS
from index.words import WORD, fold

if TYPE_CHECKING:
    from pymilvus import CollectionSchema, MilvusClient
    from pymilvus.milvus_client.index import IndexParams

# Characters per VARCHAR part: at most 4 bytes each in UTF-8, within Milvus's 65,535 bytes.
PART_CHARS = 16_000
_VARCHAR_BYTES = 65_535
# Milvus wants a vector field in every collection; the articles' and terms' are never searched.
_UNUSED_DIMENSION = 2
# Longest word counted in the terms collection, in characters (4 bytes each at most).
TERM_CHARS = 256
PASSAGE_FIELDS = [
    "id",
    "article_id",
    "ordinal",
    "start",
    "end",
    "paragraph_first",
    "paragraph_last",
    "sentences",
    "tokens",
    "sentence_row",
]
ARTICLE_FIELDS = ["article_id", "part", "key", "title", "published", "source", "content_hash"]


def vector_index_kind(passages: int) -> str:
    """Exact search while it is fast enough (as in the local store), else HNSW."""
    return "FLAT" if passages <= FLAT_LIMIT else "HNSW"


def create_generation(
    client: MilvusClient, prefix: str, generation: str, dimension: int, vector_index: str
) -> None:
    """Create the collections of a generation with their indexes, ready for rows (Milvus
    indexes rows as they come); the passages' vectors get `vector_index`."""
    from pymilvus import DataType, Function, FunctionType

    text = {"datatype": DataType.VARCHAR, "max_length": _VARCHAR_BYTES}
    optional = {**text, "nullable": True}

    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("article_id", **text)
    for name in ("ordinal", "start", "end", "paragraph_first", "paragraph_last", "tokens"):
        schema.add_field(name, DataType.INT64)
    schema.add_field("sentence_row", DataType.INT64)
    schema.add_field("sentences", **text)
    schema.add_field(
        "words",
        **text,
        enable_analyzer=True,
        enable_match=True,
        analyzer_params={"tokenizer": "standard", "filter": ["lowercase"]},
    )
    schema.add_field("published", **optional)
    schema.add_field("outlet", **optional)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    schema.add_field("bm25", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(
        Function(
            name="bm25",
            function_type=FunctionType.BM25,
            input_field_names=["words"],
            output_field_names=["bm25"],
        )
    )
    indexes = client.prepare_index_params()
    parameters = (
        {"M": HNSW_NEIGHBOURS, "efConstruction": HNSW_CONSTRUCTION_DEPTH}
        if vector_index == "HNSW"
        else {}
    )
    indexes.add_index("vector", index_type=vector_index, metric_type="IP", params=parameters)
    indexes.add_index("bm25", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    _create(client, collection_name(prefix, generation, PASSAGES), schema, indexes)

    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("article_id", **text)
    schema.add_field("part", DataType.INT64)
    schema.add_field("key", DataType.VARCHAR, max_length=64)
    for name in ("title", "content_hash", "text", "record"):
        schema.add_field(name, **text)
    schema.add_field("published", **optional)
    schema.add_field("source", **optional)
    schema.add_field("unused", DataType.FLOAT_VECTOR, dim=_UNUSED_DIMENSION)
    indexes = client.prepare_index_params()
    indexes.add_index("unused", index_type="FLAT", metric_type="IP")
    _create(client, collection_name(prefix, generation, ARTICLES), schema, indexes)

    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    indexes = client.prepare_index_params()
    indexes.add_index("vector", index_type="FLAT", metric_type="IP")
    _create(client, collection_name(prefix, generation, SENTENCES), schema, indexes)

    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=4 * TERM_CHARS)
    schema.add_field("passages", DataType.INT64)
    schema.add_field("unused", DataType.FLOAT_VECTOR, dim=_UNUSED_DIMENSION)
    indexes = client.prepare_index_params()
    indexes.add_index("unused", index_type="FLAT", metric_type="IP")
    _create(client, collection_name(prefix, generation, TERMS), schema, indexes)


def _create(
    client: MilvusClient, name: str, schema: CollectionSchema, indexes: IndexParams
) -> None:
    client.create_collection(name, schema=schema, consistency_level="Strong")
    # Indexes of an empty collection need no waiting for (pymilvus would poll, 0.5 s a time).
    client.create_index(name, indexes, sync=False)
    client.load_collection(name)


def set_manifest(client: MilvusClient, prefix: str, generation: str, manifest: str) -> None:
    """Put the manifest (JSON) on the generation's passages collection."""
    name = collection_name(prefix, generation, PASSAGES)
    client.alter_collection_properties(name, properties={MANIFEST_PROPERTY: manifest})


def too_long(article: SourceArticle) -> str | None:
    """Why `article` cannot be stored: a field kept whole in a VARCHAR (id, title, outlet,
    date) over its 65,535 bytes; None when it can."""
    source = article.source or ""
    for name, value in (
        ("id", article.id),
        ("title", article.title),
        ("source", max(source, source.lower(), key=len)),
        ("published", article.published or ""),
    ):
        size = len(value.encode("utf-8", "surrogatepass"))
        if size > _VARCHAR_BYTES:
            return f"'{name}' is {size:,} bytes, over the {_VARCHAR_BYTES:,} Milvus stores, skipped"
    return None


def _parts(text: str) -> list[str]:
    return [text[i : i + PART_CHARS] for i in range(0, len(text), PART_CHARS)] or [""]


def article_rows(
    article: SourceArticle, key: str, text: str, paragraphs: Iterable[tuple[int, int]]
) -> list[dict[str, Any]]:
    """The rows of one article: its text and its other fields (JSON) cut into parts."""
    record = json.dumps(
        {
            "paragraphs": [list(p) for p in paragraphs],
            "url": article.url,
            "author": article.author,
            "metadata": article.metadata,
            "origin": article.origin,
        },
        ensure_ascii=False,
        default=str,
    )
    texts, records = _parts(text), _parts(record)
    return [
        {
            "article_id": article.id,
            "part": part,
            "key": key,
            "title": article.title if part == 0 else "",
            "content_hash": article.content_hash,
            "published": article.published,
            "source": article.source,
            "text": texts[part] if part < len(texts) else "",
            "record": records[part] if part < len(records) else "",
        }
        for part in range(max(len(texts), len(records)))
    ]


def article_row(row: dict[str, Any], number: int) -> dict[str, Any]:
    """An article part row (new, or read from another generation) numbered for insertion."""
    return {**row, "id": number, "unused": [0.0] * _UNUSED_DIMENSION}


def passage_words(row: dict[str, Any]) -> set[str]:
    """The words of a passage row that the terms collection counts."""
    return {word for word in WORD.findall(row["words"]) if len(word) <= TERM_CHARS}


def term_rows(counts: collections.Counter[str]) -> Iterator[dict[str, Any]]:
    """One row per word: how many passages hold it."""
    for word, count in counts.items():
        yield {"id": word, "passages": count, "unused": [0.0] * _UNUSED_DIMENSION}


def stored_articles(rows: Iterable[dict[str, Any]]) -> Iterator[StoredArticle]:
    """Articles put back together from their rows (in any order)."""
    by_article: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_article.setdefault(row["article_id"], []).append(row)
    for parts in by_article.values():
        parts.sort(key=lambda row: row["part"])
        head = parts[0]
        record = json.loads("".join(row["record"] for row in parts))
        yield StoredArticle(
            head["article_id"],
            head["key"],
            head["title"],
            "".join(row["text"] for row in parts),
            tuple((start, end) for start, end in record["paragraphs"]),
            record["url"],
            head["published"],
            head["source"],
            record["author"],
            record["metadata"],
            head["content_hash"],
        )


def passage_row(
    passage: Passage | StoredPassage,
    *,
    passage_id: int,
    sentence_row: int,
    article: SourceArticle | StoredArticle,
    text: str,
) -> dict[str, Any]:
    """The row of one passage (its vector is added when the generation is finished)."""
    body = text[passage.start : passage.end]
    return {
        "id": passage_id,
        "article_id": article.id,
        "ordinal": passage.ordinal,
        "start": passage.start,
        "end": passage.end,
        "paragraph_first": passage.paragraph_first,
        "paragraph_last": passage.paragraph_last,
        "sentences": json.dumps([list(s) for s in passage.sentences]),
        "tokens": passage.tokens,
        "sentence_row": sentence_row,
        "words": f"{fold(article.title)}\n{fold(body)}"[:PART_CHARS],
        "published": article.published,
        "outlet": article.source.lower() if article.source else None,
    }


def stored_passage(row: dict[str, Any]) -> StoredPassage:
    """A passage row as a record."""
    return StoredPassage(
        row["ordinal"],
        row["start"],
        row["end"],
        row["paragraph_first"],
        row["paragraph_last"],
        tuple((start, end) for start, end in json.loads(row["sentences"])),
        row["tokens"],
        row["id"],
        row["article_id"],
        row["sentence_row"],
    )
