"""The period a question asks about ("this week", "yesterday", "in 2022", "the latest"), so
that answers prefer articles published in it.

News questions are about a time. Words relative to when the question is asked ("this week",
"today", "latest", "recently") count back from that day, and only when that day is known
(the bot and the CLI give today's; `citebot eval` a question's "asked_on"); a year ("in
2022") is that year. A preference, never a filter: articles of the period go first among
those found relevant, and when none is from the period nothing changes (`ask --since/--until`
filter).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_YEAR = re.compile(r"\b(19\d\d|20\d\d)\b")
# Words relative to the day asked, and how many days back they reach.
_DAYS_BACK = (
    (re.compile(r"\b(today|tonight|yesterday)\b", re.IGNORECASE), 2),
    (re.compile(r"\b(this|past) (week|weekend)\b|\bdays ago\b", re.IGNORECASE), 7),
    (re.compile(r"\blast (week|weekend)\b", re.IGNORECASE), 14),
    (
        re.compile(
            r"\b(this|past) month\b|\bweeks ago\b|\b(latest|newest|recent|recently|lately)\b",
            re.IGNORECASE,
        ),
        31,
    ),
    (re.compile(r"\blast month\b", re.IGNORECASE), 62),
)
_THIS_YEAR = re.compile(r"\bthis year\b", re.IGNORECASE)
_LAST_YEAR = re.compile(r"\blast year\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Period:
    """Days `since` to `until`, both included."""

    since: date
    until: date

    def holds(self, published: str | None) -> bool:
        """Whether an article published on `published` (ISO, time allowed) is in the
        period; an unknown or unreadable date is not."""
        day = published_day(published)
        return day is not None and self.since <= day <= self.until


def published_day(published: str | None) -> date | None:
    """The day of an ISO `published` value ("2022-08-08", "2022-08-08T10:00:00Z")."""
    if not published or not _ISO_DATE.match(published):
        return None
    try:
        return date.fromisoformat(published[:10])
    except ValueError:
        return None


def asked_period(question: str, asked_on: date | None) -> Period | None:
    """The period `question` is about, if it names one: words relative to the day asked
    count only when `asked_on` is known."""
    if asked_on is not None:
        relative = _relative_period(question, asked_on)
        if relative is not None:
            return relative
    years = set(_YEAR.findall(question))
    if len(years) == 1:
        year = int(years.pop())
        return Period(date(year, 1, 1), date(year, 12, 31))
    return None


def _relative_period(question: str, asked_on: date) -> Period | None:
    """The period of "this week", "yesterday", "last year" and the like, from `asked_on`."""
    for pattern, days in _DAYS_BACK:
        if pattern.search(question):
            return Period(asked_on - timedelta(days=days), asked_on)
    if _THIS_YEAR.search(question):
        return Period(date(asked_on.year, 1, 1), asked_on)
    if _LAST_YEAR.search(question):
        return Period(date(asked_on.year - 1, 1, 1), date(asked_on.year - 1, 12, 31))
    return None
