"""Files written whole or not at all, and paths shown as safe text.

A file is filled under a temporary name beside its target, flushed to disk, renamed into
place and its directory flushed too: after a crash or power loss a reader finds the old file
or the new one, never half of one. The temporary names start with `.NAME.` and end in `.tmp`,
so whoever owns a directory can remove what a killed writer left.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside `path` for the caller to write; when the block ends without
    an error the file is flushed to disk and renamed to `path`, else it is removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        yield temporary
        fsync_file(temporary)
        temporary.replace(path)
        fsync_dir(path.parent)
    finally:
        temporary.unlink(missing_ok=True)


def path_text(path: Path | str) -> str:
    """A path as text that is safe to store and to show: bytes that are not UTF-8 as `\\xNN`,
    and characters a terminal would act on or hide (controls, escapes, invisible format
    characters) as Python escapes."""
    text = os.fsencode(path).decode("utf-8", "backslashreplace")
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def read_small_file(path: Path, limit: int) -> bytes | None:
    """The bytes of the regular file at `path`, or None when it is something else (a
    directory, a FIFO, a device such as /dev/zero) or longer than `limit` bytes: read without
    waiting on a FIFO and never past `limit`. `OSError` when it cannot be opened."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return None
        chunks: list[bytes] = []
        size = 0
        while size <= limit and (chunk := os.read(descriptor, limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(descriptor)
    return b"".join(chunks) if size <= limit else None


def write_text_atomically(path: Path, content: str) -> None:
    """Replace `path` with `content` (UTF-8) in one step."""
    with atomic_path(path) as temporary:
        temporary.write_text(content, "utf-8")


def fsync_file(path: Path) -> None:
    """Flush a written file to disk."""
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def fsync_dir(path: Path) -> None:
    """Flush a directory's entries (a rename, a new file) to disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
