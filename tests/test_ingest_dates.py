"""Publication dates as news sources write them, read into one form (ISO 8601), so that date
filters and periods compare them; what is not a date is reported and left out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.ingest import load_corpus


def corpus_published(tmp_path: Path, published: str) -> tuple[str | None, list[str]]:
    """The `published` one JSONL article with this value is read as, and the problems said."""
    file = tmp_path / "articles.jsonl"
    record = {"title": "Harbour", "text": "The harbour reopened.", "published": published}
    file.write_text(json.dumps(record) + "\n", "utf-8")
    corpus = load_corpus([file], max_chars=10_000)
    (article,) = corpus.articles.values()
    return article.published, corpus.problems


@pytest.mark.parametrize(
    ("published", "read_as"),
    [
        ("2022-06-12", "2022-06-12"),
        ("2022/06/12", "2022-06-12"),
        ("2022.6.1", "2022-06-01"),
        (" 2022/6/1 ", "2022-06-01"),
        ("2022-06-12T10:00:00Z", "2022-06-12T10:00:00+00:00"),
        ("Sun, 12 Jun 2022 10:00:00 GMT", "2022-06-12T10:00:00+00:00"),
        ("Sun, 12 Jun 2022 10:00:00 -0400", "2022-06-12T10:00:00-04:00"),
    ],
)
def test_dates_as_news_sites_write_them_are_read(
    tmp_path: Path, published: str, read_as: str
) -> None:
    assert corpus_published(tmp_path, published) == (read_as, [])


@pytest.mark.parametrize(
    "published", ["12/06/2022", "2022/13/01", "2022/02/30", "June 12", "Sun, 99 Jun 2022", "soon"]
)
def test_what_is_not_a_date_is_left_out_with_a_warning(tmp_path: Path, published: str) -> None:
    read_as, problems = corpus_published(tmp_path, published)
    assert read_as is None
    assert len(problems) == 1 and "'published' is not a date (use YYYY-MM-DD)" in problems[0]


@pytest.mark.parametrize(
    ("published", "read_as"),
    [
        ("Sun, 12 Jun 0001 00:00:00 GMT", "0001-06-12T00:00:00+00:00"),
        ("Tue, 12 Jun 0099 10:00:00 GMT", "0099-06-12T10:00:00+00:00"),
        ("12 Jun 0022 10:00:00 +0000", "0022-06-12T10:00:00+00:00"),
        ("Sun, 12 Jun 22 10:00:00 GMT", "2022-06-12T10:00:00+00:00"),  # two digits: RFC 2822
        ("Sat, 12 Jun 1999 10:00:00 GMT", "1999-06-12T10:00:00+00:00"),
    ],
)
def test_an_rss_date_keeps_the_year_it_writes_in_full(
    tmp_path: Path, published: str, read_as: str
) -> None:
    """The e-mail date parser reads years under 100 as 19xx or 20xx, even written "0001"."""
    assert corpus_published(tmp_path, published) == (read_as, [])
