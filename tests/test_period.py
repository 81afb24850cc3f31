"""The period a question asks about, and answers that prefer articles from it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.engine import Engine
from index.period import (
    asked_period,
    asked_year,
    of_another_year,
    published_by,
    within,
    years_named,
)
from index.records import ArticleFilter, Period, published_day
from tests.support.indexes import fake_engine_over

ASKED_ON = date(2022, 10, 14)
YEAR_2018 = Period(date(2018, 1, 1), date(2018, 12, 31), "2018", strict=False)


@pytest.mark.parametrize(
    ("question", "period"),
    [
        ("Which band announced this week it will tour?", ("2022-10-05", "2022-10-14", "this week")),
        ("What did the president say yesterday?", ("2022-10-10", "2022-10-14", "yesterday")),
        ("Who won the race last week?", ("2022-09-28", "2022-10-14", "last week")),
        ("What happened this month in Ukraine?", ("2022-09-11", "2022-10-14", "this month")),
        ("Which team won this year?", ("2022-01-01", "2022-10-14", "this year")),
        ("Which team won last year?", ("2021-01-01", "2021-12-31", "last year")),
    ],
)
def test_calendar_periods_from_the_day_asked(question: str, period: tuple[str, str, str]) -> None:
    since, until, words = period
    expected = Period(date.fromisoformat(since), date.fromisoformat(until), words, strict=True)
    assert asked_period(question, ASKED_ON) == expected


@pytest.mark.parametrize(
    ("question", "words"),
    [
        ("What are the latest flood warnings?", "latest"),
        ("Which reptile was recently caught in Florida?", "recently"),
    ],
)
def test_the_latest_is_the_last_month_as_a_preference(question: str, words: str) -> None:
    expected = Period(date(2022, 9, 13), ASKED_ON, words, strict=False)
    assert asked_period(question, ASKED_ON) == expected


@pytest.mark.parametrize(
    ("question", "since", "words"),
    [
        ("How much was Trump fined Tuesday for violating his gag order?", "2022-10-11", "Tuesday"),
        ("Which film won at Sunday’s Oscars?", "2022-10-09", "Sunday"),
        ("Who resigned on Friday?", "2022-10-14", "Friday"),  # ASKED_ON is a Friday
    ],
)
def test_a_day_of_the_week_is_the_last_such_day_as_a_preference(
    question: str, since: str, words: str
) -> None:
    expected = Period(date.fromisoformat(since), ASKED_ON, words, strict=False)
    assert asked_period(question, ASKED_ON) == expected


@pytest.mark.parametrize(
    "question", ["What will the Fed decide next Wednesday?", "Which museums open on Mondays?"]
)
def test_a_coming_or_every_day_of_the_week_is_no_period(question: str) -> None:
    assert asked_period(question, ASKED_ON) is None


@pytest.mark.parametrize(
    ("question", "period"),
    [
        ("Who won the World Cup in 2018?", YEAR_2018),
        ("Where was the photo taken?", None),
        ("What changed between 2018 and 2022?", None),
    ],
)  # fmt: skip
def test_a_year_or_no_period(question: str, period: Period | None) -> None:
    assert asked_period(question, ASKED_ON) == period
    assert asked_period(question, None) == period


def test_without_the_day_asked_relative_words_name_no_period() -> None:
    for question in ["Which band announced this week it will tour?", "What is the latest?"]:
        assert asked_period(question, None) is None


@pytest.mark.parametrize(
    ("chosen", "narrowed"),
    [
        (None, ArticleFilter("2022-10-05", "2022-10-14", undated=True)),
        (ArticleFilter(outlet="cnn"), ArticleFilter("2022-10-05", "2022-10-14", "cnn", True)),
        (ArticleFilter("2022-10-10", "2022-10"), ArticleFilter("2022-10-10", "2022-10-14")),
        (ArticleFilter("2022", "2022-10-12"), ArticleFilter("2022-10-05", "2022-10-12")),
        (ArticleFilter(until="2021"), ArticleFilter("2022-10-05", "2021")),
    ],
)
def test_a_calendar_period_narrows_the_chosen_filter(
    chosen: ArticleFilter | None, narrowed: ArticleFilter
) -> None:
    """Articles of unknown date are not known to be of another time, unless dates were
    chosen (which always leave them out), or the period leaves them out."""
    period = asked_period("Who won this week?", ASKED_ON)
    assert period is not None
    assert within(chosen, period) == narrowed
    assert within(chosen, period, undated=False) == replace(narrowed, undated=False)


@pytest.mark.parametrize(
    ("chosen", "narrowed"),
    [
        (None, ArticleFilter(until="2022-10-15", undated=True)),
        (ArticleFilter(outlet="cnn"), ArticleFilter(None, "2022-10-15", "cnn", True)),
        (ArticleFilter("2022-10-10", "2022-10"), ArticleFilter("2022-10-10", "2022-10-15")),
        (ArticleFilter(until="2021"), ArticleFilter(None, "2021")),
    ],
)
def test_the_day_asked_narrows_the_chosen_filter(
    chosen: ArticleFilter | None, narrowed: ArticleFilter
) -> None:
    """An article dated the day after the question (in its own time zone, the same day) is
    read; chosen dates still leave articles of unknown date out."""
    assert published_by(chosen, ASKED_ON) == narrowed


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


def test_a_calendar_period_answers_from_its_articles_only(engine: Engine) -> None:
    question = "Where were flood warnings issued this week?"
    assert engine.rank_sentences(question).passages[0].article_id == "similar"
    ranked = engine.rank_sentences(question, asked_on=ASKED_ON)
    assert {p.article_id for p in ranked.passages} == {"new"}
    answer = engine.ask(question, asked_on=ASKED_ON)
    assert {c.article_id for c in answer.citations} == {"new"} and answer.notice is None


def test_nothing_of_the_period_is_an_abstention_that_says_why(engine: Engine) -> None:
    answer = engine.ask("Where were flood warnings issued this week?", asked_on=date(2030, 1, 1))
    assert answer.abstained and not answer.citations
    assert answer.notice == (
        "Only articles published 2029-12-23 to 2030-01-01 were read, for “this week”."
    )


@pytest.mark.parametrize(
    ("question", "first"),
    [
        ("Where were flood warnings issued in 2021?", "2021"),
        ("Where were flood warnings issued in 2022?", "new"),
        ("Where were the latest flood warnings issued?", "new"),
        ("Where were flood warnings issued on Wednesday?", "new"),
    ],
)
def test_answers_prefer_articles_of_the_year_the_last_month_or_the_day_named(
    engine: Engine, question: str, first: str
) -> None:
    ranked = engine.rank_sentences(question, asked_on=ASKED_ON)
    assert ranked.passages[0].article_id == first
    assert ranked.sentences[0].candidate.article_id == first
    assert {p.article_id for p in ranked.passages} == {"similar", "new", "2021"}


@pytest.mark.parametrize(
    ("asked_on", "read"),
    [
        (date(2021, 6, 1), {"similar", "2021"}),
        (date(2022, 10, 10), {"similar", "2021"}),
        (date(2022, 10, 11), {"similar", "2021", "new"}),
    ],
)
def test_a_question_is_answered_from_what_was_published_when_it_was_asked(
    engine: Engine, asked_on: date, read: set[str]
) -> None:
    ranked = engine.rank_sentences("Where were flood warnings issued?", asked_on=asked_on)
    assert {p.article_id for p in ranked.passages} == read
    answer = engine.ask("Where were flood warnings issued?", asked_on=asked_on)
    assert {c.article_id for c in answer.citations} <= read and answer.notice is None


def test_the_latest_of_an_older_index_is_still_answered(engine: Engine) -> None:
    answer = engine.ask("Where were the latest flood warnings issued?", asked_on=date(2030, 1, 1))
    assert not answer.abstained and answer.notice is None


def test_a_year_without_articles_changes_nothing(engine: Engine) -> None:
    question = "Where were flood warnings issued?"
    order = [p.article_id for p in engine.rank_sentences(question).passages]
    in_2030 = engine.rank_sentences(f"{question[:-1]} in 2030?", asked_on=ASKED_ON)
    assert [p.article_id for p in in_2030.passages] == order
    assert order[0] == "similar"


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("won in 2009, 2016 and 2017", {2009, 2016, 2017}),
        ("the 2024-25 season", {2024, 2025}),
        ("1966-67: The Packers won", {1966, 1967}),
        ("from 2009–2011", {2009, 2010, 2011}),
        ("between 1990-2020", {1990, 2020}),
        ("in 2023/24", {2023, 2024}),
        ("at 2,000 feet, 20225 votes", set()),
    ],
)
def test_the_years_a_text_names(text: str, years: set[int]) -> None:
    assert years_named(text) == years


@pytest.mark.parametrize(
    ("question", "asked_on", "year"),
    [
        ("Who won the Stanley Cup in 2025?", date(2026, 1, 5), 2025),
        ("Who won the 2025 Super Bowl?", None, 2025),
        ("Who won the 2025 Super Bowl?", date(2025, 2, 10), 2025),
        ("Which state will host the 2026 World Cup final?", date(2024, 2, 8), None),
        ("Which team led in the 2022-23 season?", date(2023, 3, 17), None),
        ("Who won in 2020 and 2024?", date(2025, 1, 1), None),
        ("Who won?", date(2025, 1, 1), None),
    ],
)
def test_the_one_year_a_question_asks_about_has_begun(
    question: str, asked_on: date | None, year: int | None
) -> None:
    assert asked_year(question, asked_on) == year


@pytest.mark.parametrize(
    ("year", "published", "sentence", "title", "another"),
    [
        (2025, "2022-05-02", "Crosby won the Stanley Cup in 2009, 2016 and 2017.", "NHL", True),
        (2024, "2022-06-12", "A Strange Loop won best musical.", "Tony Awards 2022", True),
        (2024, "2025-06-20", "The Panthers won the Cup in 2023.", "NHL", False),  # a later one
        (2020, "2023-04-18", "Dominion filed its lawsuit in 2021.", "Fox settles", False),
        (2025, "2024-02-08", "The 2025 Super Bowl will be in New Orleans.", "NFL 2024", False),
        (2025, "2022-05-02", "The playoffs start Monday.", "NHL playoffs", False),  # no year
        (2025, None, "Crosby won the Stanley Cup in 2009.", "NHL", False),  # of unknown date
    ],
)
def test_another_years_news_is_an_older_article_naming_other_years(
    year: int, published: str | None, sentence: str, title: str, another: bool
) -> None:
    assert of_another_year(year, published, sentence, title) is another


def test_a_question_about_a_year_is_not_answered_by_another_years_news(tmp_path: Path) -> None:
    articles = [
        {
            "id": "old",
            "title": "NHL playoffs",
            "published": "2022-05-02",
            "text": "Sidney Crosby won the Stanley Cup in 2009, 2016 and 2017.",
        }
    ]
    engine = fake_engine_over(articles, tmp_path, min_score=0.0)
    asked_on = date(2026, 1, 5)
    assert engine.ask("Who won the Stanley Cup in 2025?", asked_on=asked_on).abstained
    assert not engine.ask("Who won the Stanley Cup in 2016?", asked_on=asked_on).abstained


UNDATED = {"id": "undated", "title": "Weather", "text": "Flood warnings went out for the valley."}


def test_among_dated_news_an_article_of_unknown_date_is_not_this_weeks(tmp_path: Path) -> None:
    engine = fake_engine_over([*ARTICLES, UNDATED], tmp_path, min_score=0.0)
    question = "Where were flood warnings issued this week?"
    ranked = engine.rank_sentences(question, asked_on=ASKED_ON)
    assert {p.article_id for p in ranked.passages} == {"new"}
    # Asked before any article was dated, the index holds no dated news yet.
    early = engine.rank_sentences(question, asked_on=date(2019, 4, 1))
    assert {p.article_id for p in early.passages} == {"undated"}


def test_an_index_without_dates_answers_for_this_week(tmp_path: Path) -> None:
    engine = fake_engine_over([UNDATED], tmp_path, min_score=0.0)
    answer = engine.ask("Where were flood warnings issued this week?", asked_on=ASKED_ON)
    assert {c.article_id for c in answer.citations} == {"undated"}


@pytest.mark.parametrize(
    ("question", "period"),
    [
        ("Who won this week?", ("0001-01-01", "0001-01-03")),
        ("What happened last month?", ("0001-01-01", "0001-01-03")),
        ("What is the latest news?", ("0001-01-01", "0001-01-03")),
        ("Who won this year?", ("0001-01-01", "0001-01-03")),
    ],
)
def test_a_period_early_in_year_one_starts_on_the_first_day(
    question: str, period: tuple[str, str]
) -> None:
    found = asked_period(question, date(1, 1, 3))
    assert found is not None
    assert (found.since.isoformat(), found.until.isoformat()) == period


def test_last_year_asked_in_year_one_is_no_period_on_the_calendar() -> None:
    assert asked_period("Who won last year?", date(1, 1, 3)) is None


RELATIVE_WORDS = ["today", "this week", "last week", "this month", "last month", "this year",
                  "last year", "latest", "in 2022"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    asked_on=st.one_of(st.dates(), st.dates(max_value=date(1, 3, 1))),
    words=st.sampled_from(RELATIVE_WORDS),
)
def test_any_day_asked_gives_a_period_within_the_calendar(asked_on: date, words: str) -> None:
    period = asked_period(f"Who won {words}?", asked_on)
    if period is not None:
        assert period.since <= period.until
        within(None, period)
    assert published_by(None, asked_on).until >= asked_on.isoformat()
