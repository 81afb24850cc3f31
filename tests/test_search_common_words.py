"""Each word's passage count, kept by the build, and full-text search without common words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from index import search
from index.build import build_index
from index.config import Settings
from index.local.reader import IndexReader
from index.search import kept_words
from index.words import query_words
from tests.support.corpora import write_files
from tests.support.embedder import FakeEmbedder

HARBOUR = {
    "north.txt": "North harbour\n\nThe harbour bridge opened. A lighthouse stands by the harbour.",
    "south.txt": "South harbour\n\nFerries leave the harbour at dawn.\n\nGulls follow them out.",
    "east.txt": "East harbour\n\nThe harbour master retired after forty years.",
}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_files(tmp_path / "corpus", HARBOUR)


def counted_by_hand(reader: IndexReader) -> dict[str, int]:
    """Each word's number of passages, counted from the passages' text and titles."""
    passages = list(reader.all_passages())
    articles = reader.articles(sorted({p.article_id for p in passages}))
    counts: dict[str, int] = {}
    for passage in passages:
        article = articles[passage.article_id]
        text = f"{article.text[passage.start : passage.end]} {article.title}"
        for word in set(re.findall(r"\w+", text.casefold())):
            counts[word] = counts.get(word, 0) + 1
    return counts


def test_each_word_counts_its_passages_after_every_build(corpus: Path, settings: Settings) -> None:
    build_index([corpus], settings, embedder=FakeEmbedder())
    (corpus / "west.txt").write_text("West harbour\n\nA lighthouse again.", "utf-8")
    build_index([corpus], settings, embedder=FakeEmbedder())  # incremental: three copied
    reader = IndexReader.open(settings.index_dir)
    expected = counted_by_hand(reader)
    assert reader.document_frequencies([*expected, "absent"]) == {**expected, "absent": 0}
    assert expected["lighthouse"] == 2 and expected["harbour"] == reader.manifest.passages


def test_common_words_are_left_out_of_full_text_search(
    corpus: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_index([corpus], settings, embedder=FakeEmbedder())
    reader = IndexReader.open(settings.index_dir)
    # A small index keeps every word: the floor is above its size.
    assert kept_words(reader, query_words("harbour lighthouse?")) == ["harbour", "lighthouse"]
    monkeypatch.setattr(search, "COMMON_WORD_FLOOR", 0)
    monkeypatch.setattr(search, "COMMON_WORD_SHARE", 0.5)  # "harbour" is in every passage
    assert kept_words(reader, query_words("harbour lighthouse?")) == ["lighthouse"]
    # When every word is common, the rarest is searched for.
    assert kept_words(reader, query_words("the harbour")) == ["harbour"]
    hits = search.lexical_search(reader, query_words("harbour lighthouse"), k=5)
    assert len(hits.ids) == 1


def test_full_text_search_reads_a_bounded_number_of_passages(
    corpus: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_index([corpus], settings, embedder=FakeEmbedder())
    reader = IndexReader.open(settings.index_dir)
    frequencies = reader.document_frequencies(["lighthouse", "ferries", "harbour"])
    assert frequencies["lighthouse"] == frequencies["ferries"] == 1
    monkeypatch.setattr(search, "PASSAGES_READ_BUDGET", 2)
    # The rarest words first, in the question's order, until their passages exceed the budget.
    assert kept_words(reader, query_words("harbour ferries lighthouse")) == [
        "ferries",
        "lighthouse",
    ]
    monkeypatch.setattr(search, "PASSAGES_READ_BUDGET", 0)
    assert kept_words(reader, query_words("harbour lighthouse")) == ["lighthouse"]
