"""The web application: the pages, their JSON twins and the stylesheet, over one engine,
with the security headers on every response and errors as pages or JSON."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from bot.web.api import Api
from bot.web.errors import ErrorResponses
from bot.web.headers import SecurityHeaders
from bot.web.pages import Pages
from bot.web.queries import Queries
from bot.web.templates import page_templates
from index.engine import Engine


def create_app(engine: Engine) -> ASGIApp:
    """The pages and the API over `engine`, read-only (`citebot serve` runs it).

    The security headers wrap the whole application: Starlette answers an unexpected error
    (500) outside the middleware given to it, so only from out here do they reach that
    answer too.
    """
    templates = page_templates(engine.settings.max_question_chars)
    queries = Queries(engine)
    static = StaticFiles(packages=[("bot.web", "static")])
    application = Starlette(
        routes=[
            *Pages(queries, templates).routes(),
            *Api(queries).routes(),
            Mount("/static", app=static, name="static"),
        ],
        exception_handlers=ErrorResponses(templates).handlers(),
    )
    return SecurityHeaders(application)
