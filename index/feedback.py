"""Feedback on answers (👍 / 👎), kept beside the index in `feedback.sqlite`.

Stored: the question, the answer text, the citation ids, whether it helped, the time, and a
salted SHA-256 hash of the user id (never the id). The salt is random per index directory, so
hashes cannot be matched across installations. `citebot feedback --forget-user ID` deletes a
user's rows; deleting `feedback.sqlite` deletes everything.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from index.records import FeedbackEntry
from index.store import utc_now

FEEDBACK_NAME = "feedback.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS salt (value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user_hash TEXT NOT NULL,
    helpful INTEGER NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citation_ids TEXT NOT NULL
);
"""


class FeedbackStore:
    """Reads and writes `feedback.sqlite` in an index directory; safe to share by threads."""

    def __init__(self, index_dir: Path) -> None:
        self.path = index_dir / FEEDBACK_NAME
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection for one transaction, under the store's lock: committed when the block
        succeeds, rolled back when it fails, closed either way."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, contextlib.closing(sqlite3.connect(self.path)) as connection:
            with connection:
                connection.executescript(_SCHEMA)
                if connection.execute("SELECT count(*) FROM salt").fetchone()[0] == 0:
                    connection.execute("INSERT INTO salt VALUES (?)", (secrets.token_hex(16),))
            with connection:
                yield connection

    def user_hash(self, user_id: int) -> str:
        """The salted hash stored in place of a user id."""
        with self._connect() as db:
            (salt,) = db.execute("SELECT value FROM salt").fetchone()
        return hashlib.sha256(f"{salt}:{user_id}".encode()).hexdigest()

    def record(
        self, *, user_id: int, helpful: bool, question: str, answer: str, citation_ids: list[str]
    ) -> None:
        """Store one vote."""
        user_hash = self.user_hash(user_id)
        with self._connect() as db:
            db.execute(
                "INSERT INTO feedback (at, user_hash, helpful, question, answer, citation_ids)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (utc_now(), user_hash, int(helpful), question, answer, " ".join(citation_ids)),
            )

    def entries(self) -> list[FeedbackEntry]:
        """Every vote, oldest first."""
        if not self.path.exists():
            return []
        with self._connect() as db:
            rows = db.execute(
                "SELECT id, at, user_hash, helpful, question, answer, citation_ids"
                " FROM feedback ORDER BY id"
            ).fetchall()
        return [FeedbackEntry(r[0], r[1], r[2], bool(r[3]), r[4], r[5], r[6].split()) for r in rows]

    def forget_user(self, user_id: int) -> int:
        """Delete a user's votes; return how many there were."""
        if not self.path.exists():
            return 0
        user_hash = self.user_hash(user_id)
        with self._connect() as db:
            return db.execute("DELETE FROM feedback WHERE user_hash = ?", (user_hash,)).rowcount
