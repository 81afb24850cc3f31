"""Feedback on answers (👍 / 👎), kept beside the index in `feedback.sqlite`.

Stored per vote: the answer's Discord message id, its question, its text and citation ids,
whether it helped, the time, and a keyed hash (HMAC-SHA256) of the user id, never the id. The
key lives apart from the data, in `CITEBOT_FEEDBACK_KEY_FILE` (created 0600 with a random key):
whoever holds only `feedback.sqlite` cannot test candidate user ids against the hashes.
`feedback.sqlite` is created 0600 too. An answer is its message: one user's votes on one
message are one vote, the latest, however the bot read the question and text (after a restart
it reads them from the message). The counts an answer shows are the stored votes on its
message. Votes older than `CITEBOT_FEEDBACK_RETENTION_DAYS` are deleted whenever the file is
written, and never listed. `citebot feedback --forget-user ID` deletes a user's votes;
deleting `feedback.sqlite` deletes everything. A fingerprint of the key is kept in the file's
header: while votes are stored, a key file that is missing or holds another key is refused (to
vote and to forget alike) rather than replaced by a new key that would match none of them. A
file another process holds is busy: try again.

Files of earlier layouts are upgraded in place at the first write, in one transaction that
takes the file's write lock before reading its layout (so two processes never both upgrade
it): files from before the key file kept a salt inside the database, which is moved to the key
file (when there is none yet) and erased from the database, so older votes stay deletable by
user; votes from before message ids (one row per click before the key file) become each
user's latest vote on each answer text, on no known message: listed, deletable by user, and
counted on no answer's buttons.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from index.config import Settings, needs_home
from index.database import connect
from index.errors import FeedbackError
from index.manifest import utc_now
from index.records import FeedbackEntry, VoteCounts

FEEDBACK_NAME = "feedback.sqlite"
# How long a write waits for another process's write to the file before saying it is busy.
BUSY_SECONDS = 5.0
_PRIVATE = 0o600
# SQLite's primary result codes for a file another connection has locked.
_SQLITE_BUSY_CODES = {5, 6}
# What the key's fingerprint (kept as the file's user_version) is the HMAC of.
_KEY_CHECK = b"citebot feedback key check"
# message_id is NULL for the votes of files from before message ids (no message is known).
_SCHEMA = """
CREATE TABLE feedback (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user_hash TEXT NOT NULL,
    message_id INTEGER,
    helpful INTEGER NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citation_ids TEXT NOT NULL,
    UNIQUE (message_id, user_hash)
)
"""
_COLUMNS = "id, at, user_hash, helpful, question, answer, citation_ids"


class FeedbackStore:
    """Reads and writes `feedback.sqlite` in an index directory; safe to share by threads.

    Every failure to read or write it (or the key file) is a `FeedbackError`, one line.
    """

    def __init__(self, index_dir: Path, *, key_file: Path, retention_days: int) -> None:
        self.path = index_dir / FEEDBACK_NAME
        self.key_file = key_file
        self.retention = timedelta(days=retention_days)
        self._lock = threading.Lock()

    @classmethod
    def for_settings(cls, settings: Settings) -> FeedbackStore:
        """The store of `settings.index_dir`, with the configured key file and retention."""
        return cls(
            settings.index_dir,
            key_file=settings.feedback_key_file,
            retention_days=settings.feedback_retention_days,
        )

    def record(
        self,
        *,
        message_id: int,
        user_id: int,
        helpful: bool,
        question: str,
        answer: str,
        citation_ids: list[str],
    ) -> VoteCounts:
        """Store one vote on the answer Discord message `message_id`, replacing the user's
        earlier vote on it; the votes on that message now, this one counted."""
        with self._writing() as db:
            key = self._matching_key(db, "cannot store the vote")
            db.execute(
                "INSERT INTO feedback"
                " (at, user_hash, message_id, helpful, question, answer, citation_ids)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (message_id, user_hash) DO UPDATE"
                " SET at = excluded.at, helpful = excluded.helpful",
                (
                    utc_now(),
                    _keyed_hash(key, user_id),
                    message_id,
                    int(helpful),
                    question,
                    answer,
                    " ".join(citation_ids),
                ),
            )
            helpful_votes, unhelpful_votes = db.execute(
                "SELECT count(*) FILTER (WHERE helpful), count(*) FILTER (WHERE NOT helpful)"
                " FROM feedback WHERE message_id = ?",
                (message_id,),
            ).fetchone()
        return VoteCounts(helpful_votes, unhelpful_votes)

    def entries(self) -> list[FeedbackEntry]:
        """Every vote within the retention period, oldest first (the file is only read)."""
        if not self.path.exists():
            return []
        with (
            self._translated(),
            contextlib.closing(connect(self.path, "ro", timeout=BUSY_SECONDS)) as db,
        ):
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM feedback WHERE at >= ? ORDER BY id", (self._cutoff(),)
            ).fetchall()
        return [FeedbackEntry(r[0], r[1], r[2], bool(r[3]), r[4], r[5], r[6].split()) for r in rows]

    def forget_user(self, user_id: int) -> int:
        """Delete a user's votes; return how many there were. A `FeedbackError` when there
        are votes but not the key they were hashed with: none of them could be matched."""
        if not self.path.exists():
            return 0
        with self._writing() as db:
            key = self._matching_key(db, "cannot delete that user's votes")
            hashes = (_keyed_hash(key, user_id), _salted_hash(key.decode(), user_id))
            return db.execute("DELETE FROM feedback WHERE user_hash IN (?, ?)", hashes).rowcount

    def user_hash(self, user_id: int) -> str:
        """The keyed hash stored in place of a user id."""
        with self._translated():
            key = self._key()
        return _keyed_hash(key, user_id)

    def _matching_key(self, db: sqlite3.Connection, doing: str) -> bytes:
        """The key, once it is known to be the one the stored votes were hashed with (its
        fingerprint is kept in the file's header as `user_version`). A key file that is
        missing, or another key, while votes are stored is a `FeedbackError` saying `doing`
        cannot be done: with a new key no stored vote could be matched to its user."""
        self._check_key_file_path()
        stored = int(db.execute("PRAGMA user_version").fetchone()[0])
        votes = db.execute("SELECT EXISTS (SELECT 1 FROM feedback)").fetchone()[0]
        restore = f"restore it, or move {self.path} away to start anew (its votes are lost)"
        if votes and not self.key_file.is_file():
            raise FeedbackError(
                f"{doing}: the feedback key file {self.key_file} is missing, and the stored"
                f" votes can only be matched to users with the key it held: {restore}"
            )
        key = self._key()
        mark = _fingerprint(key)
        if votes and stored not in (0, mark):
            raise FeedbackError(
                f"{doing}: the feedback key file {self.key_file} holds another key than the"
                f" stored votes were hashed with: {restore}"
            )
        if stored != mark:
            db.execute(f"PRAGMA user_version = {mark}")
        return key

    # -- files -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """A connection for one transaction, under the store's lock, on a file only its owner
        can read: committed when the block succeeds, rolled back when it fails, closed either
        way. Votes past the retention period are deleted first."""
        with self._lock, self._translated():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _create_private(self.path)
            with contextlib.closing(connect(self.path, "rw", timeout=BUSY_SECONDS)) as db:
                with db:
                    db.execute("PRAGMA secure_delete = ON")
                    self._upgrade(db)
                    db.execute("DELETE FROM feedback WHERE at < ?", (self._cutoff(),))
                with db:
                    yield db

    def _upgrade(self, db: sqlite3.Connection) -> None:
        """Create the table, or bring a file of an earlier layout up to date, whole or not at
        all: in one transaction that holds the file's write lock before its layout is read, so
        a second process waits and then finds the file up to date."""
        db.execute("BEGIN IMMEDIATE")
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        if "feedback" not in tables:
            db.execute(_SCHEMA)
            return
        if any(row[1] == "message_id" for row in db.execute("PRAGMA table_info(feedback)")):
            return
        if "salt" in tables:
            (salt,) = db.execute("SELECT value FROM salt").fetchone() or ("",)
            if salt and not self.key_file.exists():
                _write_private(self.key_file, salt)
            db.execute("DROP TABLE salt")
        db.execute("ALTER TABLE feedback RENAME TO old_feedback")
        db.execute(_SCHEMA)
        # Before message ids, an answer was its question and text (and before the key file,
        # each click was a row): keep each user's latest vote on each, on no known message.
        db.execute(
            f"INSERT INTO feedback ({_COLUMNS}) SELECT {_COLUMNS} FROM old_feedback"
            " WHERE id IN (SELECT max(id) FROM old_feedback"
            " GROUP BY user_hash, question, answer, citation_ids)"
        )
        db.execute("DROP TABLE old_feedback")

    def _key(self) -> bytes:
        """The hashing key, made (random, in a file only its owner can read) on first use."""
        self._check_key_file_path()
        if not self.key_file.exists():
            with contextlib.suppress(FileExistsError):
                _write_private(self.key_file, secrets.token_hex(32))
        try:
            text = self.key_file.read_text("utf-8").strip()
        except UnicodeDecodeError as error:
            raise FeedbackError(
                f"the feedback key file {self.key_file} is not UTF-8 text (citebot writes 64"
                " hexadecimal digits): restore it from a backup; the stored votes are kept, and"
                " only the key it held matches them to their users"
            ) from error
        if not text:
            raise FeedbackError(f"the feedback key file {self.key_file} is empty")
        return text.encode()

    def _check_key_file_path(self) -> None:
        """A `FeedbackError` for a default key file under a home directory there is none of."""
        if needs_home(self.key_file):
            raise FeedbackError(
                f"there is no home directory for the feedback key file {self.key_file}; set"
                " CITEBOT_FEEDBACK_KEY_FILE to where it is (or is to be) kept"
            )

    def _cutoff(self) -> str:
        return (datetime.now(UTC) - self.retention).replace(microsecond=0).isoformat()

    @contextlib.contextmanager
    def _translated(self) -> Iterator[None]:
        """Any failure to use the feedback files as one line naming them."""
        try:
            yield
        except sqlite3.OperationalError as error:
            if (getattr(error, "sqlite_errorcode", 0) & 0xFF) not in _SQLITE_BUSY_CODES:
                raise self._unusable(error) from error
            raise FeedbackError(
                f"the feedback file {self.path} is busy (another process is using it):"
                " try again in a moment"
            ) from error
        except sqlite3.Error as error:
            raise self._unusable(error) from error
        except OSError as error:
            raise FeedbackError(
                f"cannot use the feedback files ({error.filename}): {error.strerror or error}"
            ) from error

    def _unusable(self, error: sqlite3.Error) -> FeedbackError:
        return FeedbackError(
            f"cannot use the feedback file {self.path}: {error}; move it away to start anew"
        )


def _keyed_hash(key: bytes, user_id: int) -> str:
    """The keyed hash stored in place of a user id."""
    return hmac.new(key, str(user_id).encode(), hashlib.sha256).hexdigest()


def _fingerprint(key: bytes) -> int:
    """A positive 31-bit number that tells keys apart without revealing them."""
    digest = hmac.new(key, _KEY_CHECK, hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF or 1


def _salted_hash(salt: str, user_id: int) -> str:
    """How files from before the key file hashed user ids (the key file holds their salt)."""
    return hashlib.sha256(f"{salt}:{user_id}".encode()).hexdigest()


def _create_private(path: Path) -> None:
    """Create `path` empty, readable by its owner only, unless it exists; tighten an old
    file that others could read."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE))
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            with contextlib.suppress(PermissionError):
                path.chmod(_PRIVATE)


def _write_private(path: Path, text: str) -> None:
    """Write a new file readable by its owner only; `FileExistsError` if there is one."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
