"""Every error citebot raises on purpose: one line each, safe to show, saying what to do.

Each carries the exit code the command line uses: 2 for bad usage or input, 1 otherwise.
"""

from __future__ import annotations


class CitebotError(Exception):
    """Base class: the message is one line meant for the user; `exit_code` is for the CLI."""

    exit_code = 1


class InputError(CitebotError):
    """Bad usage or bad input (a path, a file, a question): exit code 2."""

    exit_code = 2


class IndexNotFoundError(CitebotError):
    """There is no index at the configured location yet."""


class IndexDamagedError(CitebotError):
    """The index on disk cannot be read as it is; a full rebuild fixes it."""


class IndexFormatError(IndexDamagedError):
    """The index was written in a format this citebot does not read (`found`); a build
    rebuilds it."""

    def __init__(self, message: str, found: int) -> None:
        super().__init__(message)
        self.found = found


class IndexBusyError(CitebotError):
    """Another build holds the index's lock."""


class IndexWriteError(CitebotError):
    """The index directory cannot be written (permissions, disk full, not a citebot index)."""

    exit_code = 2


class FeedbackError(CitebotError):
    """The feedback file, or its key file, cannot be read or written."""


class ModelMismatchError(CitebotError):
    """A question would be embedded differently from the index it searches."""


class UnknownCitationError(InputError):
    """A citation id that names no span of any indexed article."""

    def __init__(self, message: str, closest_ids: list[str]) -> None:
        hint = f"; closest valid ids: {', '.join(closest_ids)}" if closest_ids else ""
        super().__init__(message + hint)


class StoreUnavailableError(CitebotError):
    """The configured store (a Milvus server or Milvus Lite file) cannot be reached."""
