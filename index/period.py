"""The period a question asks about ("this week", "yesterday", "in 2022", "the latest",
"on Tuesday").

A question is answered from what had been published when it was asked: with the day asked
known, articles dated later (by more than a day, for time zones) are not read. News
questions are about a time. Words relative to when the question is asked ("this week",
"today", "latest", "recently") count back from that day, and only when that day is known
(the bot and the CLI give today's; `citebot eval` a question's "asked_on"). A period on the
calendar is a filter: "who won this week?" is answered from this week's articles or not at
all, never from an older article about another week's winner. A year ("in 2022") and "the
latest" are preferences: articles of that year, or of the last month, go first among those
found relevant, since later articles tell of a year too, and "the latest" an index holds may
be older. So is a day of the week ("fined Tuesday"): the last such day by the day asked, and
the articles from it on first, as older ones cannot tell of it. A question about a year is
not answered by a sentence of an older article about other years (`of_another_year`).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from index.records import ArticleFilter, Period, published_day

_YEAR = re.compile(r"\b(19\d\d|20\d\d)\b")
# A year or a span of years ("2024-25", "2009–2011").
_YEAR_SPAN = re.compile(r"\b(?P<first>(?:19|20)\d\d)(?:[-–/](?P<last>(?:19|20)?\d\d))?\b")
# A span of more years than this is not one season or term: it names its ends ("1990-2020").
_SPAN_YEARS = 4
# Calendar words relative to the day asked, and how many days back they reach.
_DAYS_BACK = (
    (re.compile(r"\b(today|tonight|yesterday)\b", re.IGNORECASE), 2),
    (re.compile(r"\b(this|past) (week|weekend)\b|\bdays ago\b", re.IGNORECASE), 7),
    (re.compile(r"\blast (week|weekend)\b", re.IGNORECASE), 14),
    (re.compile(r"\b(this|past) month\b|\bweeks ago\b", re.IGNORECASE), 31),
    (re.compile(r"\blast month\b", re.IGNORECASE), 62),
)
_THIS_YEAR = re.compile(r"\bthis year\b", re.IGNORECASE)
_LAST_YEAR = re.compile(r"\blast year\b", re.IGNORECASE)
# Words that ask for the newest there is rather than a time on the calendar: a preference
# for the last month, so that an index of older articles still answers "the latest".
_RECENT = re.compile(r"\b(latest|newest|recent|recently|lately)\b", re.IGNORECASE)
_RECENT_DAYS = 31
# A day of the week named alone ("fined Tuesday", "on Sunday's Oscars"; not "next Monday",
# "Mondays"): the last such day by the day asked, a preference for articles from that day on,
# since articles before it cannot tell what happened on it.
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY = re.compile(rf"\b(?<!next )(?<!coming )({'|'.join(_WEEKDAYS)})\b(?!s\b)", re.IGNORECASE)
# Calendar periods reach this many days further back than they say: a quiz on Friday asks
# about "this week" from Monday's articles, dated in their own time zones.
SLACK_DAYS = 2
# An article dated this many days after the question was asked may be of the same day in its
# own time zone; later ones had not been published when it was asked.
LATE_DAYS = 1


def asked_period(question: str, asked_on: date | None) -> Period | None:
    """The period `question` is about, if it names one: words relative to the day asked
    count only when `asked_on` is known."""
    if asked_on is not None:
        relative = _relative_period(question, asked_on)
        if relative is not None:
            return relative
    years = set(_YEAR.findall(question))
    if len(years) == 1:
        words = years.pop()
        year = int(words)
        return Period(date(year, 1, 1), date(year, 12, 31), words, strict=False)
    return None


def years_named(text: str) -> set[int]:
    """The years `text` names, a short span counting for each of its years ("the 2024-25
    season": 2024 and 2025; "1966-67"), a long one for its ends ("1990-2020")."""
    years: set[int] = set()
    for match in _YEAR_SPAN.finditer(text):
        first = int(match["first"])
        last = match["last"]
        if last is None:
            years.add(first)
            continue
        end = int(last) if len(last) == 4 else first // 100 * 100 + int(last)
        years.update(range(first, end + 1) if 0 < end - first <= _SPAN_YEARS else (first, end))
    return years


def asked_year(question: str, asked_on: date | None) -> int | None:
    """The one year `question` asks about, when it names one and no span ("the 2024-25
    season"), and that year has begun by the day asked (a question about a year to come is
    answered by the articles that announce it)."""
    years = years_named(question)
    if len(years) != 1:
        return None
    year = years.pop()
    return year if asked_on is None or year <= asked_on.year else None


def of_another_year(year: int, published: str | None, sentence: str, title: str) -> bool:
    """Whether a sentence is another year's news for a question about `year`: its article
    was published before that year, and the sentence names other years and not that one
    ("Sidney Crosby ... won the Stanley Cup in 2009, 2016 and 2017", a 2022 article, for "who
    won the Stanley Cup in 2025?"), or, naming none, its article's title does ("Tony Awards
    2022: Winners ..." for the 2024 Tonys). An article of that year or later may tell of
    earlier years ("Dominion filed its lawsuit in 2021", about the "2020 election")."""
    day = published_day(published)
    if day is None or day.year >= year:
        return False
    named = years_named(sentence) or years_named(title)
    return bool(named) and year not in named


def _relative_period(question: str, asked_on: date) -> Period | None:
    """The period of "this week", "yesterday", "last year", "the latest" and the like,
    from `asked_on`."""
    for pattern, days in _DAYS_BACK:
        if found := pattern.search(question):
            since = _days_before(asked_on, days + SLACK_DAYS)
            return Period(since, asked_on, found.group(), strict=True)
    if found := _THIS_YEAR.search(question):
        return Period(date(asked_on.year, 1, 1), asked_on, found.group(), strict=True)
    if (found := _LAST_YEAR.search(question)) and asked_on.year > date.min.year:
        # (Asked in year 1, there is no last year on the calendar: no period.)
        last = asked_on.year - 1
        return Period(date(last, 1, 1), date(last, 12, 31), found.group(), strict=True)
    if found := _WEEKDAY.search(question):
        back = (asked_on.weekday() - _WEEKDAYS.index(found.group(1).lower())) % 7
        return Period(_days_before(asked_on, back), asked_on, found.group(), strict=False)
    if found := _RECENT.search(question):
        since = _days_before(asked_on, _RECENT_DAYS)
        return Period(since, asked_on, found.group(), strict=False)
    return None


def _days_before(day: date, days: int) -> date:
    """The day `days` before `day`, or the calendar's first day if that is later."""
    return day - timedelta(days=min(days, (day - date.min).days))


def within(
    article_filter: ArticleFilter | None, period: Period, *, undated: bool = True
) -> ArticleFilter:
    """`article_filter` narrowed to the articles published in `period`, and to those of
    unknown date too with `undated` (unless `article_filter` chose dates)."""
    return _narrowed(
        article_filter, period.since.isoformat(), period.until.isoformat(), undated=undated
    )


def published_by(article_filter: ArticleFilter | None, asked_on: date) -> ArticleFilter:
    """`article_filter` narrowed to the articles published by `asked_on` (or the day after,
    in their own time zone) and those of unknown date (unless `article_filter` chose dates):
    a question is answered from what had been published when it was asked."""
    return _narrowed(article_filter, None, published_until(asked_on).isoformat())


def published_until(asked_on: date) -> date:
    """The last day an article read for a question asked on `asked_on` may be dated: the day
    after, which may be the same day in the article's own time zone."""
    return asked_on + timedelta(days=min(LATE_DAYS, (date.max - asked_on).days))


def _narrowed(
    article_filter: ArticleFilter | None, since: str | None, until: str, *, undated: bool = True
) -> ArticleFilter:
    """`article_filter` narrowed to the ISO days `since` (None: from the first) to `until`,
    with the articles of unknown date where `undated` and `article_filter` let them through."""
    if article_filter is None:
        return ArticleFilter(since, until, undated=undated)
    # Partial dates ("2022-06") mean all of their month or year: the later start is the
    # greater string, and the earlier end the smaller once each reads as its last day ("~"
    # sorts after every digit and "-").
    return ArticleFilter(
        max(filter(None, (since, article_filter.since)), default=None),
        min(until, article_filter.until or until, key=lambda end: end + "~"),
        article_filter.outlet,
        # Dates a person chose leave undated articles out, as they always do; those of the
        # day asked and of a period do not.
        undated=undated
        and (article_filter.undated or not (article_filter.since or article_filter.until)),
    )
