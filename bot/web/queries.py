"""What the pages and the API ask the engine, read from a request the same way for both, so
that a page shows exactly what its JSON twin returns.

Questions and searches take a turn of the client address's rate limit; every engine call runs
in a worker thread, off the event loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request

from bot.web.limits import RateLimit
from index.engine import Engine
from index.errors import InputError
from index.records import (
    Answer,
    ArticleFilter,
    ArticleHeading,
    IndexStats,
    JsonRecord,
    SearchResult,
    SourceView,
    StoredArticle,
)

# Passages a search may ask for, and gives by default (as `citebot search --k`).
SEARCH_RESULTS = 10
MOST_SEARCH_RESULTS = 100
# Paragraphs on each side of a cited span that /api/source gives by default, and at most (as
# `citebot source --context`).
SOURCE_CONTEXT = 1
MOST_SOURCE_CONTEXT = 50
# The query parameters that filter articles, as the command line's options.
FILTERS = ("since", "until", "outlet")
# Articles on one page of /articles.
ARTICLES_PER_PAGE = 50
TOO_MANY = "Too many questions from your address; try again in {} s."


@dataclass(frozen=True, slots=True)
class Listing(JsonRecord):
    """One page of the articles a filter lets through, newest first."""

    total: int
    page: int
    pages: int
    articles: list[ArticleHeading]


class Queries:
    """The engine's answers, searches and lookups for the request that asks for them."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._limit = RateLimit(engine.settings.web_questions_per_minute)

    async def ask(self, request: Request) -> Answer:
        """The answer to the question `q` (within the filters), as `citebot ask` gives it."""
        question, article_filter = self._question(request), filter_of(request)
        self._take_turn(request)
        return await run_in_threadpool(
            self.engine.ask,
            question,
            article_filter=article_filter,
            asked_on=datetime.now(UTC).date(),
        )

    async def search(self, request: Request) -> list[SearchResult]:
        """The `k` best passages for `q` (within the filters), as `citebot search` gives
        them."""
        query, article_filter = self._question(request), filter_of(request)
        k = number(request, "k", SEARCH_RESULTS, 1, MOST_SEARCH_RESULTS)
        self._take_turn(request)
        return await run_in_threadpool(
            self.engine.search, query, k=k, article_filter=article_filter
        )

    async def source(self, identifier: str, context: int) -> SourceView:
        """The span a citation id names with `context` paragraphs each side, as `citebot
        source` gives it; `UnknownCitationError` for an unknown or outdated id."""
        return await run_in_threadpool(self.engine.sources.source, identifier, context=context)

    async def article(self, key: str) -> StoredArticle:
        """The article whose citation ids start with `key`; 404 when there is none."""
        article = await run_in_threadpool(lambda: self.engine.reader().article_by_key(key))
        if article is None:
            raise HTTPException(404, f"No indexed article has the key {key[:40]!r}.")
        return article

    async def listing(self, request: Request) -> Listing:
        """The page `page` of the articles the filters let through, newest first."""
        article_filter = filter_of(request)
        headings = await run_in_threadpool(self.engine.sources.listing, article_filter)
        pages = max(1, math.ceil(len(headings) / ARTICLES_PER_PAGE))
        page = number(request, "page", 1, 1, pages)
        first = (page - 1) * ARTICLES_PER_PAGE
        return Listing(len(headings), page, pages, headings[first : first + ARTICLES_PER_PAGE])

    async def stats(self) -> IndexStats:
        """What the index holds."""
        return await run_in_threadpool(self.engine.stats)

    def _question(self, request: Request) -> str:
        """The question (or search) `q`, at most CITEBOT_MAX_QUESTION_CHARS long."""
        text = request.query_params.get("q", "")
        limit = self.engine.settings.max_question_chars
        if len(text) > limit:
            raise InputError(f"the question is longer than {limit:,} characters; shorten it")
        return text

    def _take_turn(self, request: Request) -> None:
        """Count a question of the client's address; 429 when it has asked too many."""
        address = request.client.host if request.client else ""
        wait = math.ceil(self._limit.retry_after(address))
        if wait:
            raise HTTPException(429, TOO_MANY.format(wait), headers={"Retry-After": str(wait)})


def filter_of(request: Request) -> ArticleFilter | None:
    """The filter `since`, `until` and `outlet` make (as `--since`, `--until`, `--outlet`); a
    field the form sent empty filters nothing."""
    since, until, outlet = (request.query_params.get(name) or None for name in FILTERS)
    return ArticleFilter.of(since, until, outlet)


def number(request: Request, name: str, default: int, least: int, most: int) -> int:
    """The whole number `name` from `least` to `most`; `default` when not given."""
    text = request.query_params.get(name, "")
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = least - 1
    if not least <= value <= most:
        raise InputError(f"{name} must be a whole number from {least} to {most}")
    return value
