"""The HTTP API: the pages' JSON twins, each exactly the command line's `--json` object, and
their OpenAPI description (`/api/openapi.json`, from the YAML after `---` in each endpoint's
docstring). Errors are `{"error": message}` with the status code (`bot.web.errors`)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.schemas import SchemaGenerator

from bot.web.queries import MOST_SOURCE_CONTEXT, SOURCE_CONTEXT, Queries, number

_FILTERS = {
    "since": "Only articles published on or after this date (YYYY-MM-DD, YYYY-MM or YYYY).",
    "until": "Only articles published on or before this date (YYYY-MM-DD, YYYY-MM or YYYY).",
    "outlet": "Only articles from outlets whose name contains this, ignoring case.",
}
_ERROR = {
    "description": "An error",
    "content": {
        "application/json": {
            "schema": {"type": "object", "properties": {"error": {"type": "string"}}}
        }
    },
}
OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "citebot",
        "version": "1",
        "description": "Answers about news articles as verbatim quotes with citations.",
    },
    "components": {
        "parameters": {
            "q": {
                "name": "q",
                "in": "query",
                "required": True,
                "schema": {"type": "string"},
                "description": "The question (at most CITEBOT_MAX_QUESTION_CHARS characters).",
            },
            **{
                name: {
                    "name": name,
                    "in": "query",
                    "schema": {"type": "string"},
                    "description": text,
                }
                for name, text in _FILTERS.items()
            },
        },
        "responses": {"error": _ERROR},
    },
}


class Api:
    """The JSON endpoints, each answering a GET."""

    def __init__(self, queries: Queries) -> None:
        self.queries = queries
        self._schemas = SchemaGenerator(OPENAPI)

    def routes(self) -> list[Route]:
        """The endpoints' routes."""
        return [
            Route("/api/ask", self.ask),
            Route("/api/search", self.search),
            Route("/api/source/{id}", self.source),
            Route("/api/articles", self.articles),
            Route("/api/openapi.json", self.openapi, include_in_schema=False),
        ]

    async def ask(self, request: Request) -> JSONResponse:
        """The answer to a question: exactly `citebot ask --json`'s object.
        ---
        summary: Answer a question with verbatim quotes and numbered citations
        description: The object is documented in docs/answers.md (citebot ask --json).
        parameters:
          - $ref: "#/components/parameters/q"
          - $ref: "#/components/parameters/since"
          - $ref: "#/components/parameters/until"
          - $ref: "#/components/parameters/outlet"
        responses:
          "200": {description: "The answer, or an abstention with the closest articles"}
          "400": {$ref: "#/components/responses/error"}
          "429": {$ref: "#/components/responses/error"}
        """
        return JSONResponse((await self.queries.ask(request)).as_json())

    async def search(self, request: Request) -> JSONResponse:
        """The best passages for a query: exactly `citebot search --json`'s list.
        ---
        summary: Rank passages for a query
        parameters:
          - $ref: "#/components/parameters/q"
          - {name: k, in: query, schema: {type: integer, minimum: 1, maximum: 100, default: 10}}
          - $ref: "#/components/parameters/since"
          - $ref: "#/components/parameters/until"
          - $ref: "#/components/parameters/outlet"
        responses:
          "200": {description: "The passages, best first, with their citation ids"}
          "400": {$ref: "#/components/responses/error"}
          "429": {$ref: "#/components/responses/error"}
        """
        results = await self.queries.search(request)
        return JSONResponse([result.as_json() for result in results])

    async def source(self, request: Request) -> JSONResponse:
        """The span a citation id names, in its article: exactly `citebot source --json`'s
        object.
        ---
        summary: Look up a citation id
        parameters:
          - {name: id, in: path, required: true, schema: {type: string}}
          - {name: context, in: query, schema: {type: integer, minimum: 0, maximum: 50,
             default: 1}, description: "Paragraphs on each side of the cited span"}
        responses:
          "200": {description: "The span, its paragraphs and the whole article text"}
          "404": {$ref: "#/components/responses/error"}
        """
        context = number(request, "context", SOURCE_CONTEXT, 0, MOST_SOURCE_CONTEXT)
        view = await self.queries.source(request.path_params["id"], context)
        return JSONResponse(view.as_json())

    async def articles(self, request: Request) -> JSONResponse:
        """One page of the indexed articles, newest first.
        ---
        summary: List the articles by date and outlet
        parameters:
          - $ref: "#/components/parameters/since"
          - $ref: "#/components/parameters/until"
          - $ref: "#/components/parameters/outlet"
          - {name: page, in: query, schema: {type: integer, minimum: 1, default: 1}}
        responses:
          "200": {description: "total, page, pages, and the page's articles"}
          "400": {$ref: "#/components/responses/error"}
        """
        return JSONResponse((await self.queries.listing(request)).as_json())

    async def openapi(self, request: Request) -> JSONResponse:
        """The API's OpenAPI description."""
        return JSONResponse(self._schemas.get_schema(routes=request.app.routes))
