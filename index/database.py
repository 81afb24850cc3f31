"""Opening SQLite files by path: the one place that turns a path into an SQLite URI.

A path may hold any character, `#`, `?` and `%` included; in a URI those would end the file
name or start an escape, so the path is percent-encoded. Every connection citebot opens, and
every database it attaches, goes through here.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Literal
from urllib.parse import quote

Mode = Literal["ro", "rw", "rwc"]


def sqlite_uri(path: Path, mode: Mode, *, immutable: bool = False) -> str:
    """The `file:` URI of the database at `path`, opened with `mode` (ro: read-only, rw:
    read-write, rwc: read-write, created if missing); `immutable` for files no one changes."""
    encoded = quote(os.fsencode(path.absolute()), safe="/")
    return f"file:{encoded}?mode={mode}" + ("&immutable=1" if immutable else "")


def connect(
    path: Path,
    mode: Mode,
    *,
    immutable: bool = False,
    check_same_thread: bool = True,
    timeout: float = 5.0,
) -> sqlite3.Connection:
    """A connection to the database at `path` (see `sqlite_uri`), waiting up to `timeout`
    seconds for a lock another connection holds."""
    return sqlite3.connect(
        sqlite_uri(path, mode, immutable=immutable),
        uri=True,
        check_same_thread=check_same_thread,
        timeout=timeout,
    )
