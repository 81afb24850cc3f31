"""The web application: the pages, their JSON twins and the stylesheet, over one engine,
with the security headers on every response and errors as pages or JSON."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from bot.web.api import Api
from bot.web.errors import ErrorResponses
from bot.web.headers import SecurityHeaders
from bot.web.pages import Pages
from bot.web.queries import Queries
from bot.web.templates import page_templates
from index.engine import Engine


def create_app(engine: Engine) -> Starlette:
    """The pages and the API over `engine`, read-only (`citebot serve` runs it)."""
    templates = page_templates(engine.settings.max_question_chars)
    queries = Queries(engine)
    static = StaticFiles(packages=[("bot.web", "static")])
    return Starlette(
        routes=[
            *Pages(queries, templates).routes(),
            *Api(queries).routes(),
            Mount("/static", app=static, name="static"),
        ],
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers=ErrorResponses(templates).handlers(),
    )
