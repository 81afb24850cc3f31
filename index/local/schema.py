"""The tables of a generation's SQLite file (`passages.sqlite`), and how records become their
rows and rows records: the one module that creates tables in it, and that knows the order of
their columns.

- articles: one row per article, its cleaned text, paragraph spans (JSON) and metadata,
  indexed by the day it was published (the newest article by a day is one lookup);
- passages: one row per passage (id = passage id = FAISS row), its offsets, sentence spans
  (JSON) and the row of its first sentence vector;
- passages_fts: FTS5 over each passage's body and its article's title, contentless;
- word_passages: each word of `passages_fts`, the number of passages holding it, and where
  its run starts in the postings (`index.local.postings`).

The SQL that writes rows is `index.local.writer`'s and `index.local.postings`'s; the SQL that
reads them is `index.local.reader`'s.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from index.records import Passage, SourceArticle, StoredArticle, StoredPassage

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
CREATE INDEX articles_by_day ON articles(substr(published, 1, 10));
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

# The ids of the articles a build copies from the previous generation (`temp.kept`).
KEPT_TABLE = "CREATE TEMP TABLE kept (id TEXT PRIMARY KEY)"
# FTS5's index as a build reads it to write the postings: each word with the number of
# passages and of occurrences (`temp.vocabulary`), and each occurrence (`temp.occurrences`).
VOCABULARY_TABLES = (
    "CREATE VIRTUAL TABLE temp.vocabulary USING fts5vocab(main, passages_fts, 'row')",
    "CREATE VIRTUAL TABLE temp.occurrences USING fts5vocab(main, passages_fts, 'instance')",
)

# The columns a reader selects, in the order `stored_article` and `stored_passage` take them.
ARTICLE_COLUMNS = (
    "id, key, title, text, paragraphs, url, published, source, author, metadata, content_hash"
)
PASSAGE_COLUMNS = (
    "id, article_id, ordinal, start, end, paragraph_first, paragraph_last, sentences, tokens,"
    " sentence_row"
)


def article_row(
    article: SourceArticle, key: str, text: str, paragraphs: Iterable[tuple[int, int]]
) -> tuple[Any, ...]:
    """An `articles` row, every column in the table's order."""
    return (
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
    )


def passage_row(
    passage: Passage, *, passage_id: int, article_id: str, sentence_row: int
) -> tuple[Any, ...]:
    """A `passages` row, every column in the table's order."""
    return (
        passage_id,
        article_id,
        passage.ordinal,
        passage.start,
        passage.end,
        passage.paragraph_first,
        passage.paragraph_last,
        json.dumps([list(s) for s in passage.sentences]),
        passage.tokens,
        sentence_row,
    )


def stored_article(row: tuple[Any, ...]) -> StoredArticle:
    """An `articles` row (in `ARTICLE_COLUMNS` order) as a record."""
    id_, key, title, text, paragraphs, url, published, source, author, metadata, hash_ = row
    meta = json.loads(metadata)
    return StoredArticle(
        id_, key, title, text, _spans(paragraphs), url, published, source, author, meta, hash_
    )


def stored_passage(row: tuple[Any, ...]) -> StoredPassage:
    """A `passages` row (in `PASSAGE_COLUMNS` order) as a record."""
    id_, article_id, ordinal, start, end, first, last, sentences, tokens, sentence_row = row
    spans = _spans(sentences)
    return StoredPassage(
        ordinal, start, end, first, last, spans, tokens, id_, article_id, sentence_row
    )


def _spans(stored: str) -> tuple[tuple[int, int], ...]:
    """Spans stored as a JSON list of [start, end] pairs."""
    return tuple((start, end) for start, end in json.loads(stored))
