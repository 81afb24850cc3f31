"""The `age` signal: how much older an article is than the news of the day a question is
asked, counted from the newest article the index holds by then, so that an index of older
articles is not read as stale."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from index.answer import article_age
from index.build import build_index
from index.config import Settings
from index.engine import Engine
from tests.support.corpora import write_corpus
from tests.support.embedder import FakeEmbedder

DAY = date(2022, 10, 14)


def test_age_is_zero_when_nothing_says_an_article_is_old() -> None:
    assert article_age(None, DAY) == 0.0
    assert article_age("2022-10", DAY) == 0.0, "a partial date is no day"
    assert article_age("2012-10-14", None) == 0.0
    assert article_age("2022-10-14", DAY) == 0.0
    assert article_age("2022-10-15T03:00:00Z", DAY) == 0.0, "dated after the news day"


def test_age_grows_with_the_days_and_is_full_at_ten_years() -> None:
    ages = [
        article_age(published, DAY)
        for published in ("2022-10-13", "2022-10-07", "2022-07-14", "2021-10-14", "2012-10-14")
    ]
    assert ages == sorted(ages) and len(set(ages)) == len(ages)
    assert 0.0 < ages[0] < 0.1 and ages[-1] == 1.0
    assert article_age("1990-01-01T10:00:00Z", DAY) == 1.0


def test_age_counts_from_the_newest_article_by_the_day_asked(
    tmp_path: Path, settings: Settings
) -> None:
    articles = [
        {
            "id": f"pier-{year}",
            "title": f"Pier news {year}",
            "text": f"The harbour of Vigo opened a new pier in {year}.",
            "published": f"{year}-05-02",
        }
        for year in (2012, 2022, 2024)
    ]
    embedder = FakeEmbedder()
    build_index([write_corpus(tmp_path / "c", articles)], settings, embedder=embedder)
    engine = Engine(settings.model_copy(update={"reranker": False}), embedder=embedder)

    def ages(asked_on: date | None) -> dict[str, float]:
        ranked = engine.rank_sentences("when did Vigo open a pier?", asked_on=asked_on)
        return {s.candidate.article_id: s.signals["age"] for s in ranked.sentences}

    asked_in_2022 = ages(date(2022, 5, 3))
    assert set(asked_in_2022) == {"pier-2012", "pier-2022"}, "2024's was not yet published"
    assert asked_in_2022["pier-2022"] == 0.0 < asked_in_2022["pier-2012"]
    # Asked years after the newest article, that article is still the day's news.
    asked_in_2030 = ages(date(2030, 1, 1))
    assert asked_in_2030["pier-2024"] == 0.0 < asked_in_2030["pier-2022"]
    assert asked_in_2030["pier-2022"] < asked_in_2030["pier-2012"]
    assert set(ages(None).values()) == {0.0}, "the day unknown, no article is old"
