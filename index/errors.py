"""Errors whose messages are safe to show to users, one line each, saying what to do."""

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


class IndexBusyError(CitebotError):
    """Another build holds the index's lock."""


class IndexWriteError(CitebotError):
    """The index directory cannot be written (permissions, disk full, not a citebot index)."""

    exit_code = 2


class ModelMismatchError(CitebotError):
    """A question would be embedded differently from the index it searches."""
