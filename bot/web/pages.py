"""The HTML pages: a question box, answers, searches, cited sources and the articles.

Each page with a JSON twin (`bot.web.api`) links to it and is built from the same query
(`bot.web.queries`). The pages work without JavaScript: forms are plain GET forms, and a
source page scrolls to its highlighted span by itself (`autofocus` on the `<mark>`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from bot.web.queries import Queries
from index.records import Span

# A source page shows the whole article: this many paragraphs around the cited span.
EVERY_PARAGRAPH = sys.maxsize


@dataclass(frozen=True, slots=True)
class Run:
    """A stretch of a paragraph's text, `marked` when it is cited; `first` for the first
    marked stretch, which the page scrolls to."""

    text: str
    marked: bool = False
    first: bool = False


@dataclass(frozen=True, slots=True)
class ShownParagraph:
    """A numbered paragraph as its stretches."""

    number: int
    runs: list[Run]


class Pages:
    """The pages, each answering a GET."""

    def __init__(self, queries: Queries, templates: Jinja2Templates) -> None:
        self.queries = queries
        self.templates = templates

    def routes(self) -> list[Route]:
        """The pages' routes (none of them in the API's OpenAPI description)."""
        pages = {
            "/": self.home,
            "/ask": self.ask,
            "/search": self.search,
            "/source/{id}": self.source,
            "/article/{key}": self.article,
            "/articles": self.articles,
        }
        return [Route(path, page, include_in_schema=False) for path, page in pages.items()]

    async def home(self, request: Request) -> Response:
        """The question box, and what the index holds."""
        return self._page(request, "home.html", stats=await self.queries.stats())

    async def ask(self, request: Request) -> Response:
        """The answer: quotes with the answering phrase in bold, numbered sources."""
        answer = await self.queries.ask(request)
        by_number = {citation.n: citation for citation in answer.citations}
        return self._page(request, "ask.html", answer=answer, by_number=by_number)

    async def search(self, request: Request) -> Response:
        """The best passages for a query, ranked."""
        return self._page(request, "search.html", results=await self.queries.search(request))

    async def source(self, request: Request) -> Response:
        """A cited span highlighted in its whole article; 404 for an unknown or outdated id."""
        view = await self.queries.source(request.path_params["id"], EVERY_PARAGRAPH)
        paragraphs = [(p.number, p.start, p.end) for p in view.paragraphs]
        return self._page(
            request,
            "source.html",
            article=view,
            cited=view,
            paragraphs=marked(view.article_text, paragraphs, (view.start, view.end)),
        )

    async def article(self, request: Request) -> Response:
        """A whole article, from the list of articles."""
        article = await self.queries.article(request.path_params["key"])
        paragraphs = [(n, start, end) for n, (start, end) in enumerate(article.paragraphs, 1)]
        return self._page(
            request,
            "source.html",
            article=article,
            cited=None,
            paragraphs=marked(article.text, paragraphs, None),
        )

    async def articles(self, request: Request) -> Response:
        """The articles, newest first, by date and outlet."""
        listing = await self.queries.listing(request)
        return self._page(
            request,
            "articles.html",
            listing=listing,
            newer_url=_with_page(request, listing.page - 1, listing.pages),
            older_url=_with_page(request, listing.page + 1, listing.pages),
        )

    def _page(self, request: Request, name: str, **context: Any) -> Response:
        """The template `name` with `context`, the query it answers (to fill the forms in
        again) and the address of its JSON twin."""
        url = request.url
        twin = f"/api{url.path}" + (f"?{url.query}" if url.query else "")
        return self.templates.TemplateResponse(
            request, name, {"query": request.query_params, "json_url": twin, **context}
        )


def _with_page(request: Request, page: int, pages: int) -> str | None:
    """This page's address (path and query) at page `page`; None past the first or last."""
    if not 1 <= page <= pages:
        return None
    url = request.url.include_query_params(page=page)
    return f"{url.path}?{url.query}"


def marked(
    text: str, paragraphs: Sequence[tuple[int, int, int]], span: Span | None
) -> list[ShownParagraph]:
    """The (number, start, end) `paragraphs` of `text` as stretches, the part of each inside
    `span` marked."""
    shown: list[ShownParagraph] = []
    low, high = span or (0, 0)
    scrolled_to = False
    for number, start, end in paragraphs:
        cut_start, cut_end = max(start, low), min(end, high)
        if cut_start >= cut_end:
            shown.append(ShownParagraph(number, [Run(text[start:end])]))
            continue
        runs = [
            Run(text[start:cut_start]),
            Run(text[cut_start:cut_end], marked=True, first=not scrolled_to),
            Run(text[cut_end:end]),
        ]
        shown.append(ShownParagraph(number, [run for run in runs if run.text]))
        scrolled_to = True
    return shown
