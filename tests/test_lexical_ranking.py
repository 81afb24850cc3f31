"""Full-text search ranks by BM25 with the title weighed as configured, with or without a
filter on the articles, as SQLite computes it apart from the reader's own query."""

from __future__ import annotations

import json
import sqlite3

import pytest

from index.engine import Engine
from index.local.layout import DATABASE_NAME
from index.local.postings import BM25_WEIGHTS
from index.local.reader import IndexReader
from index.records import ArticleFilter
from tests.support.indexes import fake_engine_over
from tests.support.paths import BBC

ARTICLES = [
    {"id": "title", "title": "Harbour harbour harbour harbour", "text": "Boats and nets.",
     "published": "2022-05-02"},
    {"id": "body", "title": "News", "text": "The harbour harbour reopened today.",
     "published": "2022-06-03"},
    {"id": "once", "title": "Town", "text": "The old harbour was busy with boats and buyers.",
     "published": "2022-06-04"},
    {"id": "both", "title": "Harbour", "text": "A harbour wall fell in the storm last night.",
     "published": "2022-07-05"},
    {"id": "long", "title": "Weather", "text": "Rain fell for days on the town, the fields, the"
     " roads and, for one afternoon, on the harbour.", "published": "2022-07-06"},
]  # fmt: skip


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> IndexReader:
    engine: Engine = fake_engine_over(ARTICLES, tmp_path_factory.mktemp("lexical"))
    source = engine.reader()
    assert isinstance(source, IndexReader)
    return source


def ranked_by_sqlite(reader: IndexReader, since: str | None = None) -> list[int]:
    """Every passage holding "harbour" (of articles published on or after `since`), best
    first by weighted BM25."""
    with sqlite3.connect(f"file:{reader.directory / DATABASE_NAME}?mode=ro", uri=True) as db:
        scored = db.execute(
            "SELECT rowid, bm25(passages_fts, ?, ?) FROM passages_fts"
            " WHERE passages_fts MATCH 'harbour'",
            BM25_WEIGHTS,
        ).fetchall()
        published = dict(
            db.execute("SELECT p.id, a.published FROM passages p JOIN articles a"
                       " ON a.id = p.article_id").fetchall()
        )  # fmt: skip
    return [i for i, _ in sorted(scored, key=lambda row: row[1]) if published[i] >= (since or "")]


@pytest.mark.parametrize("since", [None, "2022-06"])
def test_the_best_k_passages_by_weighted_bm25(reader: IndexReader, since: str | None) -> None:
    expected = ranked_by_sqlite(reader, since)
    article_filter = ArticleFilter.of(since)
    assert len(expected) == (5 if since is None else 4)
    for k in range(1, len(expected) + 1):
        ids, scores = reader.lexical_matches(["harbour"], k, article_filter)
        assert ids.tolist() == expected[:k]
        assert list(scores) == sorted(scores, reverse=True)


def test_a_filter_that_lets_few_through_reads_past_the_first_rows(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # The allowed passages rank last, after more rows than the reader reads at a time.
    articles = [
        {"id": f"old{i}", "title": "Harbour", "text": "The harbour harbour reopened.",
         "published": "2021-01-01"}
        for i in range(300)
    ] + [
        {"id": f"new{i}", "title": "Town", "text": f"Rain fell on {i} roads and the harbour.",
         "published": "2023-01-01"}
        for i in range(3)
    ]  # fmt: skip
    engine = fake_engine_over(articles, tmp_path_factory.mktemp("few"))
    reader = engine.reader()
    assert isinstance(reader, IndexReader)
    expected = ranked_by_sqlite(reader, "2023")
    assert len(expected) == 3
    article_filter = ArticleFilter.of("2023")
    for _ in range(2):  # the second time from the ids the reader keeps
        ids, _ = reader.lexical_matches(["harbour"], 10, article_filter)
        assert ids.tolist() == expected
    assert reader.lexical_matches(["harbour"], 10, ArticleFilter.of("2024"))[0].tolist() == []


def test_many_words_over_real_articles_score_as_sqlite_scores_them(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    lines = BBC.read_text("utf-8").splitlines()[:120]
    articles = [json.loads(line) for line in lines]
    engine = fake_engine_over(articles, tmp_path_factory.mktemp("bbc"))
    reader = engine.reader()
    assert isinstance(reader, IndexReader)
    with sqlite3.connect(f"file:{reader.directory / DATABASE_NAME}?mode=ro", uri=True) as db:
        vocabulary = [
            word
            for (word,) in db.execute(
                "SELECT word FROM word_passages WHERE passages > 1 ORDER BY passages DESC"
            )
        ]
        # Common and rare words, alone and together, some in titles.
        queries = [vocabulary[i : i + size] for i in range(0, 400, 37) for size in (1, 2, 4)]
        for words in queries:
            query = " OR ".join(f'"{word}"' for word in words)
            expected = dict(
                db.execute(
                    "SELECT rowid, -bm25(passages_fts, ?, ?) FROM passages_fts"
                    " WHERE passages_fts MATCH ?",
                    (*BM25_WEIGHTS, query),
                ).fetchall()
            )
            best = sorted(expected.values(), reverse=True)[:10]
            ids, scores = reader.lexical_matches(words, 10, None)
            assert len(set(ids.tolist())) == len(ids) == len(best)
            assert scores == pytest.approx(best, rel=1e-5), words
            # Each passage given is scored as SQLite scores it (ties may come in any order).
            assert [expected[i] for i in ids.tolist()] == pytest.approx(best, rel=1e-5), words
