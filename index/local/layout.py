"""The index on disk: a directory of immutable generations and a pointer to the current one.

    INDEX_DIR/
      citebot-index.json      marker: this directory is a citebot index (format version)
      CURRENT                 name of the live generation, replaced atomically
      build.lock              held by the one build that may run at a time
      generations/NAME/       manifest.json, passages.sqlite (articles, passages, FTS5 and
                              each word's passage count: `index.local.schema`),
                              vectors.faiss (row i is passage id i), sentences.npy (one
                              float16 row per sentence of each passage, from its sentence_row),
                              postings-*.npy and passage-words.npy (`index.local.postings`)

A build writes a new generation under `generations/.tmp-NAME`, renames it into place, then
replaces CURRENT in one `os.replace`. A reader therefore sees the old index or the new one,
never half of one; a build that dies leaves only a `.tmp-*` directory, removed by the next.

This module is the one place that knows the layout; `index.local.writer` fills a generation
and `index.local.reader` reads one.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import secrets
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from index.errors import IndexBusyError, IndexDamagedError, IndexWriteError
from index.files import (
    fsync_dir,
    fsync_file,
    path_text,
    read_small_file,
    write_text_atomically,
)
from index.manifest import FORMAT_VERSION

MARKER_NAME = "citebot-index.json"
CURRENT_NAME = "CURRENT"
LOCK_NAME = "build.lock"
GENERATIONS_NAME = "generations"
MANIFEST_NAME = "manifest.json"
DATABASE_NAME = "passages.sqlite"
VECTORS_NAME = "vectors.faiss"
SENTENCE_VECTORS_NAME = "sentences.npy"
DRAFT_PREFIX = ".tmp-"
# A generation's name: when its build began (UTC) and a random suffix. Only directories so
# named are ever removed from `generations/`; anything else put there is left alone.
# (Names of builds begun in the same second sort by the microsecond; older names lack it.)
_GENERATION_NAME = re.compile(r"\d{8}T\d{6}(?:\d{6})?-[0-9a-f]{6}")
_GENERATIONS_KEPT = 2
# CURRENT holds one generation's name and a newline: what is longer is not read.
_CURRENT_LIMIT = 1024


class IndexLayout:
    """Paths and lifecycle of one index directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.generations = root / GENERATIONS_NAME

    def current(self) -> Path | None:
        """The live generation's directory, or None when nothing has been built here;
        `IndexDamagedError` when CURRENT cannot be read or names no directory in
        `generations/` (not UTF-8, a path, `..`, anything but a generation's name), or is no
        small regular file (a directory, a FIFO, a link to /dev/zero: never read without
        limit)."""
        pointer = self.root / CURRENT_NAME
        fix = "run `citebot build --full`"
        try:
            raw = read_small_file(pointer, _CURRENT_LIMIT)
            name = raw.decode("utf-8").strip() if raw is not None else None
        except FileNotFoundError:
            return None
        except OSError as error:
            raise IndexDamagedError(
                f"cannot read {path_text(pointer)}: {error.strerror}; {fix}"
            ) from error
        except UnicodeDecodeError as error:
            raise IndexDamagedError(
                f"{path_text(pointer)} is damaged (not UTF-8 text); {fix}"
            ) from error
        if name is None:
            raise IndexDamagedError(
                f"{path_text(pointer)} is damaged (not a small file naming a generation); {fix}"
            )
        if name and not _GENERATION_NAME.fullmatch(name):
            raise IndexDamagedError(
                f"{path_text(pointer)} is damaged (it names no generation); {fix}"
            )
        return self.generations / name if name else None

    def is_citebot_index(self) -> bool:
        """True when the directory carries citebot's marker."""
        return (self.root / MARKER_NAME).is_file()

    def check_writable(self) -> None:
        """Refuse a path that is a file, a foreign directory, not writable, or not UTF-8."""
        try:
            str(self.root.absolute()).encode("utf-8")
        except UnicodeEncodeError as error:
            raise IndexWriteError(
                f"{path_text(self.root)}: an index path must be UTF-8 text (FAISS opens no"
                " other); choose another --index directory"
            ) from error
        if self.root.exists() and not self.root.is_dir():
            raise IndexWriteError(f"{path_text(self.root)} is a file, not an index directory")
        if self.root.is_dir() and any(self.root.iterdir()) and not self.is_citebot_index():
            raise IndexWriteError(
                f"{path_text(self.root)} holds something that is not a citebot index;"
                " choose another --index directory"
            )
        existing = next(p for p in (self.root, *self.root.parents) if p.exists())
        if not os.access(existing, os.W_OK | os.X_OK):
            raise IndexWriteError(
                f"{path_text(existing)} is not writable; choose another --index directory"
            )

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the build lock; `IndexBusyError` when another build has it.

        A first build that fails leaves no index directory behind.
        """
        self.check_writable()
        first = not self.root.exists()
        with translate_write_errors(self.root):
            self.generations.mkdir(parents=True, exist_ok=True)
            if not self.is_citebot_index():
                write_text_atomically(
                    self.root / MARKER_NAME, json.dumps({"format": FORMAT_VERSION}) + "\n"
                )
            handle = (self.root / LOCK_NAME).open("a")
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as error:
                raise IndexBusyError(
                    f"another `citebot build` is writing {path_text(self.root)};"
                    " wait for it to finish"
                ) from error
            self._remove_drafts()
            yield
        except BaseException:
            if first and self.current() is None:
                shutil.rmtree(self.root, ignore_errors=True)
            raise
        finally:
            handle.close()

    def draft(self) -> Path:
        """A new, empty directory for a generation being written (call under `locked`)."""
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{secrets.token_hex(3)}"
        path = self.generations / f"{DRAFT_PREFIX}{name}"
        with translate_write_errors(self.root):
            path.mkdir()
        return path

    @staticmethod
    def generation_name(draft: Path) -> str:
        """The name a draft generation will have once published."""
        return draft.name.removeprefix(DRAFT_PREFIX)

    def publish(self, draft: Path) -> Path:
        """Make a finished draft the live generation in one atomic step."""
        final = self.generations / self.generation_name(draft)
        with translate_write_errors(self.root):
            for file in draft.iterdir():
                fsync_file(file)
            draft.rename(final)
            fsync_dir(self.generations)
            write_text_atomically(self.root / CURRENT_NAME, final.name + "\n")
        self._remove_old_generations(final)
        return final

    def discard(self, draft: Path) -> None:
        """Remove an unfinished draft."""
        shutil.rmtree(draft, ignore_errors=True)

    def _remove_drafts(self) -> None:
        """Remove what a killed build left: draft generations, half-written pointers, and
        old generations it published but was killed before removing."""
        for path in self.generations.glob(f"{DRAFT_PREFIX}*"):
            if _GENERATION_NAME.fullmatch(self.generation_name(path)):
                shutil.rmtree(path, ignore_errors=True)
        for path in self.root.glob(f".{CURRENT_NAME}.*"):
            path.unlink(missing_ok=True)
        try:
            live = self.current()
        except IndexDamagedError:
            return  # the build says so when it opens the live generation
        if live is not None and live.is_dir():
            self._remove_old_generations(live)

    def _remove_old_generations(self, live: Path) -> None:
        """Keep the live generation and the one before it (a reader may still be on it)."""
        finished = sorted(
            (p for p in self.generations.iterdir() if _GENERATION_NAME.fullmatch(p.name)),
            key=lambda p: p.name,
        )
        keep = {live, *finished[-_GENERATIONS_KEPT:]}
        for path in finished:
            if path not in keep:
                shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def translate_write_errors(root: Path) -> Iterator[None]:
    """Turn disk-full, read-only and permission errors into one clear message."""
    try:
        yield
    except sqlite3.OperationalError as error:
        raise IndexWriteError(
            f"cannot write the index at {path_text(root)}: {error}; the previous index is unchanged"
        ) from error
    except OSError as error:
        reason = {
            errno.ENOSPC: "the disk is full",
            errno.EROFS: "the file system is read-only",
            errno.EACCES: "permission denied",
            errno.EPERM: "permission denied",
        }.get(error.errno or 0, error.strerror or str(error))
        raise IndexWriteError(
            f"cannot write the index at {path_text(root)}: {reason};"
            " the previous index is unchanged"
        ) from error
