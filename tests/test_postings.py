"""The postings a build writes for full-text ranking: each word's passages with its counts in
the body and the title, and each passage's length, read from FTS5's own index."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from index.local import postings
from index.local.layout import DATABASE_NAME
from index.local.reader import IndexReader
from index.words import content_words
from tests.support.indexes import fake_engine_over

ARTICLES = [
    {"id": "a", "title": "Harbour harbour news",
     "text": "The harbour reopened.\n\nBoats came back."},
    {"id": "b", "title": "Town", "text": "Rain, rain and rain on the town_hall roof."},
    {"id": "c", "title": "Boats", "text": "Boats, boats, boats: the harbour is full of boats."},
]  # fmt: skip


def built(root: Path) -> IndexReader:
    root.mkdir(exist_ok=True)
    reader = fake_engine_over(ARTICLES, root).reader()
    assert isinstance(reader, IndexReader)
    return reader


def words_of(reader: IndexReader) -> dict[str, list[tuple[int, int, int]]]:
    """Each word's (passage id, body count, title count), from the postings files."""
    with sqlite3.connect(f"file:{reader.directory / DATABASE_NAME}?mode=ro", uri=True) as db:
        runs = db.execute("SELECT word, first, passages FROM word_passages").fetchall()
    found = reader.postings
    return {
        word: [
            (int(found.passage_ids[i]), int(found.body[i]), int(found.title[i]))
            for i in range(first, first + count)
        ]
        for word, first, count in runs
    }


def test_counts_by_column_and_passage_lengths(tmp_path: Path) -> None:
    reader = built(tmp_path)
    words = words_of(reader)
    passage_of = {passage.article_id: passage.id for passage in reader.all_passages()}
    assert len(passage_of) == reader.manifest.passages  # one passage an article
    a, b, c = passage_of["a"], passage_of["b"], passage_of["c"]
    assert words["harbour"] == sorted([(a, 1, 2), (c, 1, 0)])
    assert words["boats"] == sorted([(a, 1, 0), (c, 4, 1)])
    assert words["rain"] == [(b, 3, 0)]
    # An underscore separates words ("town_hall"), as in the search's splitting of a question.
    assert words["town"] == [(b, 1, 1)] and words["hall"] == [(b, 1, 0)]
    assert content_words("the town_hall roof?") == ["town", "hall", "roof"]
    lengths = reader.postings.passage_words
    # "Harbour harbour news", "The harbour reopened", "Boats came back"
    assert lengths[a] == 3 + 3 + 3
    assert lengths[b] == 9 + 1
    assert reader.postings.average_words == pytest.approx(lengths.mean())


def test_batches_of_any_size_write_the_same_postings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = words_of(built(tmp_path / "whole"))
    monkeypatch.setattr(postings, "_OCCURRENCES_AT_A_TIME", 2)  # "boats" alone is past it
    assert words_of(built(tmp_path / "batched")) == whole


def test_no_words_no_matches(tmp_path: Path) -> None:
    found = built(tmp_path).postings
    ids, scores = found.best([], 5)
    assert ids.tolist() == [] and scores.tolist() == []
    assert found.best([(0, 1)], 5, among=np.zeros(0, dtype=np.int64))[0].tolist() == []
    assert found.best([(0, 2)], 0)[0].tolist() == []
