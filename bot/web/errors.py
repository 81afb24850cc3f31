"""Errors, one path each: a page for a person, `{"error": message}` for the API (any path
under /api/), with the status code that says what happened.

citebot's own errors say what to do (`index.errors`): bad input is 400, an unknown or outdated
citation id 404; an index that cannot be read is 503 with a message that names no path (the
log has the detail). Anything unexpected is a 500 that says nothing of it (the server logs
the traceback).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.templating import Jinja2Templates
from starlette.types import ExceptionHandler

from index.errors import CitebotError, InputError, UnknownCitationError

log = logging.getLogger(__name__)

UNAVAILABLE = (
    "The index can't be read right now; its administrator can rebuild it with"
    " `citebot build --full`."
)
UNEXPECTED = "Something went wrong on our side. Please try again in a moment."


class ErrorResponses:
    """The exception handlers of the application."""

    def __init__(self, templates: Jinja2Templates) -> None:
        self.templates = templates

    def handlers(self) -> dict[Any, ExceptionHandler]:
        """The handlers, by the exception class each handles."""
        return {
            HTTPException: self.http_error,
            CitebotError: self.citebot_error,
            Exception: self.unexpected,
        }

    async def http_error(self, request: Request, error: Exception) -> Response:
        """A page not found, too many questions, and the like."""
        assert isinstance(error, HTTPException)
        return self.respond(request, error.status_code, error.detail, error.headers)

    async def citebot_error(self, request: Request, error: Exception) -> Response:
        """citebot's own errors."""
        if isinstance(error, UnknownCitationError):
            return self.respond(request, 404, str(error))
        if isinstance(error, InputError):
            return self.respond(request, 400, str(error))
        log.warning("cannot answer: %s", error)
        return self.respond(request, 503, UNAVAILABLE)

    async def unexpected(self, request: Request, error: Exception) -> Response:
        """Anything else."""
        return self.respond(request, 500, UNEXPECTED)

    def respond(
        self,
        request: Request,
        status: int,
        message: str,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """`message` with `status`: JSON under /api/, a page elsewhere."""
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message}, status, headers)
        return self.templates.TemplateResponse(
            request,
            "error.html",
            {"status": status, "message": message, "query": request.query_params},
            status_code=status,
            headers=headers,
        )
