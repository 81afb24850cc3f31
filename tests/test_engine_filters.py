"""Date and outlet filters on `ask` and `search`, in the engine and on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from index.build import build_index
from index.config import Settings
from index.engine import Engine
from index.errors import InputError
from index.records import ArticleFilter
from tests.support.embedder import FakeEmbedder

ARTICLES = [
    {
        "id": "june-cnn",
        "title": "Harbour reopens",
        "text": "The harbour reopened in June after the storm. Boats returned at dawn.",
        "published": "2022-06-12",
        "source": "www.cnn.com",
    },
    {
        "id": "july-usa",
        "title": "Harbour closes again",
        "text": "The harbour closed in July for repairs. Boats waited outside.",
        "published": "2022-07-03T10:00:00Z",
        "source": "www.usatoday.com",
    },
    {
        "id": "undated",
        "title": "Harbour history",
        "text": "The harbour was built long ago. Boats have used it for centuries.",
        "source": "www.cnn.com",
    },
]


@pytest.fixture
def engine(tmp_path: Path, settings: Settings) -> Engine:
    corpus = tmp_path / "articles.jsonl"
    corpus.write_text("\n".join(json.dumps(a) for a in ARTICLES), "utf-8")
    embedder = FakeEmbedder()
    build_index([corpus], settings, embedder=embedder)
    return Engine(settings, embedder=embedder)


def articles_found(engine: Engine, article_filter: ArticleFilter | None) -> set[str]:
    return {
        r.article_id for r in engine.search("harbour boats", k=10, article_filter=article_filter)
    }


def test_filters_keep_only_matching_articles_in_search_and_answers(engine: Engine) -> None:
    assert articles_found(engine, None) == {"june-cnn", "july-usa", "undated"}
    assert articles_found(engine, ArticleFilter.of(since="2022-07")) == {"july-usa"}
    assert articles_found(engine, ArticleFilter.of(until="2022-06")) == {"june-cnn"}
    assert articles_found(engine, ArticleFilter.of(until="2022-07-03")) == {"june-cnn", "july-usa"}
    assert articles_found(engine, ArticleFilter.of(outlet="CNN")) == {"june-cnn", "undated"}
    assert articles_found(engine, ArticleFilter.of(since="2022", outlet="cnn")) == {"june-cnn"}
    assert articles_found(engine, ArticleFilter.of(outlet="bbc")) == set()
    for retriever in ("dense", "lexical", "hybrid"):
        answer = engine.ask(
            "When did the harbour reopen?",
            retriever=retriever,
            article_filter=ArticleFilter.of(outlet="usatoday"),
        )
        assert {c.article_id for c in answer.citations} <= {"july-usa"}


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [
        ("2022-13", None, "is not a date"),
        ("June", None, "is not a date"),
        (None, "2022-02-30", "is not a date"),
        ("2022-07", "2022-06", "is after"),
    ],
)
def test_bad_dates_are_one_line_and_exit_2(
    engine: Engine, since: str | None, until: str | None, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        ArticleFilter.of(since, until)
    options = [*(["--since", since] if since else []), *(["--until", until] if until else [])]
    index = str(engine.settings.index_dir)
    result = CliRunner().invoke(cli, ["search", "harbour", "--index", index, *options])
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output


def test_an_empty_filter_is_no_filter() -> None:
    assert ArticleFilter.of(None, None, "  ") is None
    assert ArticleFilter.of("2022", "2022") == ArticleFilter("2022", "2022", None)


@pytest.mark.parametrize(
    ("since", "until", "ascii_since", "ascii_until"),
    [
        ("２０２２", None, "2022", None),  # fullwidth
        ("٢٠٢٢-٠٦", None, "2022-06", None),  # Arabic-Indic
        (None, "२०२२-०६-१२", None, "2022-06-12"),  # Devanagari
        ("۲۰۲۲", "2022-0٦", "2022", "2022-06"),  # Persian, and digits of two scripts
    ],
)
def test_dates_in_other_digits_mean_the_same_dates(
    engine: Engine,
    fake_model: None,
    since: str | None,
    until: str | None,
    ascii_since: str,
    ascii_until: str,
) -> None:
    """`\\d` matches every script's digits: a date written in them is that date, not a
    filter that silently matches nothing."""
    assert ArticleFilter.of(since, until) == ArticleFilter.of(ascii_since, ascii_until)
    expected = articles_found(engine, ArticleFilter.of(ascii_since, ascii_until))
    assert expected and articles_found(engine, ArticleFilter.of(since, until)) == expected
    options = [*(["--since", since] if since else []), *(["--until", until] if until else [])]
    index = str(engine.settings.index_dir)
    result = CliRunner().invoke(cli, ["search", "harbour", "--index", index, *options, "--json"])
    assert result.exit_code == 0, result.output
    assert {r["article_id"] for r in json.loads(result.stdout)} == expected


@pytest.mark.parametrize("date", ["２０２２－０６", "²⁰²²", "2022‐06", "2022-06 "])
def test_other_marks_in_a_date_are_refused(date: str) -> None:
    with pytest.raises(InputError, match="is not a date"):
        ArticleFilter.of(since=date)
