"""The period a question asks about, and answers that prefer articles from it."""

from __future__ import annotations

from datetime import date

import pytest

from index.engine import Engine
from index.period import Period, asked_period, published_day
from tests.conftest import fake_engine_over

ASKED_ON = date(2022, 10, 14)


@pytest.mark.parametrize(
    ("question", "period"),
    [
        ("Which band announced this week it will tour?", ("2022-10-07", "2022-10-14")),
        ("What did the president say yesterday?", ("2022-10-12", "2022-10-14")),
        ("Who won the race last week?", ("2022-09-30", "2022-10-14")),
        ("What happened this month in Ukraine?", ("2022-09-13", "2022-10-14")),
        ("Which team won this year?", ("2022-01-01", "2022-10-14")),
        ("Which team won last year?", ("2021-01-01", "2021-12-31")),
        ("Who won the World Cup in 2018?", ("2018-01-01", "2018-12-31")),
        ("What are the latest flood warnings?", ("2022-09-13", "2022-10-14")),
        ("Which reptile was recently caught in Florida?", ("2022-09-13", "2022-10-14")),
        ("Where was the photo taken?", None),
        ("What changed between 2018 and 2022?", None),
    ],
)
def test_the_period_a_question_names(question: str, period: tuple[str, str] | None) -> None:
    expected = Period(*map(date.fromisoformat, period)) if period else None
    assert asked_period(question, ASKED_ON) == expected


def test_without_the_day_asked_only_a_year_names_a_period() -> None:
    for question in ["Which band announced this week it will tour?", "What is the latest?"]:
        assert asked_period(question, None) is None
    year = Period(date(2018, 1, 1), date(2018, 12, 31))
    assert asked_period("Who won in 2018?", None) == year


@pytest.mark.parametrize(
    ("published", "day"),
    [("2022-10-11", date(2022, 10, 11)), ("2022-10-11T23:59:00+02:00", date(2022, 10, 11)),
     ("2022-13-40", None), ("Oct 11, 2022", None), (None, None), ("", None)],
)  # fmt: skip
def test_published_days(published: str | None, day: date | None) -> None:
    assert published_day(published) == day


ARTICLES = [
    {
        "id": "similar",
        "title": "Flood warnings",
        "published": "2019-05-01",
        "text": "Flood warnings were issued for the river valley.",
    },
    {
        "id": "new",
        "title": "Weather",
        "published": "2022-10-12",
        "text": "Warnings of floods went out for the valley after heavy rain.",
    },
    {
        "id": "2021",
        "title": "Weather",
        "published": "2021-03-02",
        "text": "Warnings of floods went out for the valley after days of rain.",
    },
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    # Every sentence is good enough to quote: the fake embedder's cosines are not meaningful.
    return fake_engine_over(ARTICLES, tmp_path_factory.mktemp("period"), min_score=0.0)


@pytest.mark.parametrize(
    ("question", "asked_on", "first"),
    [
        ("Where were flood warnings issued this week?", ASKED_ON, "new"),
        ("Where were flood warnings issued in 2021?", ASKED_ON, "2021"),
        ("Where were the latest flood warnings issued?", ASKED_ON, "new"),
    ],
)
def test_answers_prefer_articles_of_the_period(
    engine: Engine, question: str, asked_on: date | None, first: str
) -> None:
    ranked = engine.rank_sentences(question, asked_on=asked_on)
    assert ranked.passages[0].article_id == first
    assert ranked.sentences[0].candidate.article_id == first


@pytest.mark.parametrize("asked_on", [None, date(2030, 1, 1)])
def test_a_period_without_articles_changes_nothing(engine: Engine, asked_on: date | None) -> None:
    question = "Where were flood warnings issued this week?"
    order = [p.article_id for p in engine.rank_sentences(question).passages]
    assert [p.article_id for p in engine.rank_sentences(question, asked_on=asked_on).passages] == (
        order
    )
    assert order[0] == "similar"
