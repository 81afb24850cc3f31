"""Feedback votes: who voted cannot be recovered from the votes file, questions are not kept
forever, a vote is a vote however often it is clicked (one per user on each answer message,
before and after a restart), files of earlier layouts are upgraded in place, and a damaged file
is one line."""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from index.config import Settings
from index.errors import FeedbackError
from index.feedback import FeedbackStore
from index.records import VoteCounts

REPO = Path(__file__).resolve().parent.parent
ALICE, BOB = 111111111111111111, 222222222222222222
# The Discord ids of two answer messages.
ANSWER, OTHER_ANSWER = 1300000000000000001, 1300000000000000002


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None, index_dir=tmp_path / "index", feedback_key_file=tmp_path / "key" / "k"
    )


def vote(
    store: FeedbackStore,
    user: int,
    helpful: bool,
    question: str = "who is Lety?",
    message: int = ANSWER,
) -> VoteCounts:
    return store.record(
        message_id=message, user_id=user, helpful=helpful, question=question,
        answer="Lety Pérez crouches.", citation_ids=["85a1c30ac803-381-493"],
    )  # fmt: skip


def test_the_hash_key_is_kept_apart_and_both_files_are_private(settings: Settings) -> None:
    store = FeedbackStore.for_settings(settings)
    vote(store, ALICE, True)
    key = settings.feedback_key_file.read_text("utf-8").strip()
    assert settings.feedback_key_file.stat().st_mode & 0o777 == 0o600
    assert store.path.stat().st_mode & 0o777 == 0o600
    assert not settings.feedback_key_file.is_relative_to(settings.index_dir)
    data = store.path.read_bytes()
    assert key.encode() not in data and str(ALICE).encode() not in data
    with sqlite3.connect(store.path) as db:
        assert [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")] == [
            "feedback"
        ]
    (entry,) = store.entries()
    assert entry.user_hash == hmac.new(key.encode(), b"%d" % ALICE, hashlib.sha256).hexdigest()
    # Without the key, a list of candidate ids matches nothing.
    candidates = [ALICE, BOB, *range(100)]
    assert entry.user_hash not in {hashlib.sha256(b"%d" % c).hexdigest() for c in candidates}


def test_a_world_readable_old_file_is_made_private(settings: Settings) -> None:
    store = FeedbackStore.for_settings(settings)
    vote(store, ALICE, True)
    store.path.chmod(0o644)
    vote(store, BOB, True)
    assert store.path.stat().st_mode & 0o777 == 0o600


def test_repeated_clicks_by_one_user_on_one_answer_are_one_vote_the_latest(
    settings: Settings,
) -> None:
    store = FeedbackStore.for_settings(settings)
    for helpful in (True, False, True, False):
        vote(store, ALICE, helpful)
    vote(store, BOB, True)
    vote(store, ALICE, True, question="another question", message=OTHER_ANSWER)
    entries = store.entries()
    assert len(entries) == 3
    assert [e.helpful for e in entries if e.question == "who is Lety?"] == [False, True]


def test_an_answer_is_its_message_and_its_counts_are_the_stored_votes(
    settings: Settings,
) -> None:
    """The issue's case: votes were told apart by the answer's question and text, which the
    bot no longer knows after a restart (it reads the message instead), so a member who had
    voted was counted again; and the counts shown were the message's own, edited per vote."""
    store = FeedbackStore.for_settings(settings)
    assert vote(store, ALICE, True) == VoteCounts(helpful=1, unhelpful=0)
    after_restart = store.record(
        message_id=ANSWER, user_id=ALICE, helpful=True, question="",
        answer="> Lety Pérez crouches. [1]", citation_ids=["85a1c30ac803-381-493"],
    )  # fmt: skip
    assert after_restart == VoteCounts(helpful=1, unhelpful=0), "Alice counted once"
    assert vote(store, BOB, False) == VoteCounts(helpful=1, unhelpful=1)
    assert vote(store, ALICE, False) == VoteCounts(helpful=0, unhelpful=2), "her latest"
    assert vote(store, ALICE, True, message=OTHER_ANSWER) == VoteCounts(helpful=1, unhelpful=0)
    assert [(e.question, e.helpful) for e in store.entries()] == [
        ("who is Lety?", False),
        ("who is Lety?", False),
        ("who is Lety?", True),
    ]


# The layout of feedback.sqlite from the key file until message ids (a23ce38).
ANSWER_KEY_LAYOUT = """
CREATE TABLE feedback (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user_hash TEXT NOT NULL,
    answer_key TEXT NOT NULL,
    helpful INTEGER NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citation_ids TEXT NOT NULL,
    UNIQUE (user_hash, answer_key)
);
"""


def test_a_file_from_before_message_ids_is_upgraded_in_place_and_stays_forgettable(
    settings: Settings,
) -> None:
    """A table created only where there is none would keep the old layout, and no vote could
    be stored. The old votes name no message: they stay listed and deletable by user, and
    count on no answer's buttons. Writers waiting at once (separate stores, as separate
    processes) upgrade it once, the others finding it up to date."""
    key = "ab" * 32
    settings.feedback_key_file.parent.mkdir()
    settings.feedback_key_file.write_text(key + "\n", "utf-8")
    path = settings.index_dir / "feedback.sqlite"
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as db:
        db.executescript(ANSWER_KEY_LAYOUT)
        now = datetime.now(UTC).replace(microsecond=0).isoformat()
        for user, helpful, answer in ((ALICE, 1, "a1"), (BOB, 0, "a1"), (ALICE, 1, "a2")):
            user_hash = hmac.new(key.encode(), b"%d" % user, hashlib.sha256).hexdigest()
            db.execute(
                "INSERT INTO feedback (at, user_hash, answer_key, helpful, question, answer,"
                " citation_ids) VALUES (?, ?, ?, ?, 'q', ?, 'c')",
                (now, user_hash, f"key of {answer}", helpful, answer),
            )
    db.close()
    writers = [FeedbackStore.for_settings(settings) for _ in range(4)]
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writing: the writers queue behind it
    with ThreadPoolExecutor(len(writers)) as pool:
        queued = [pool.submit(vote, store, 1000 + n, True) for n, store in enumerate(writers)]
        time.sleep(0.3)
        holder.rollback()
        holder.close()
        counted = [each.result() for each in queued]
    assert sorted(c.helpful for c in counted) == [1, 2, 3, 4], "the legacy votes count nowhere"
    assert vote(writers[0], ALICE, False) == VoteCounts(helpful=4, unhelpful=1)
    assert path.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        columns = [r[1] for r in db.execute("PRAGMA table_info(feedback)")]
    db.close()
    assert tables == ["feedback"] and "message_id" in columns and "answer_key" not in columns
    assert sorted((e.question, e.helpful) for e in writers[0].entries())[:3] == [
        ("q", False),
        ("q", True),
        ("q", True),
    ], "the old votes are kept"
    assert len(writers[0].entries()) == 8
    assert writers[0].forget_user(ALICE) == 3
    assert writers[0].forget_user(BOB) == 1


def test_votes_past_the_retention_period_are_deleted(settings: Settings) -> None:
    store = FeedbackStore.for_settings(settings.model_copy(update={"feedback_retention_days": 30}))
    vote(store, ALICE, True, question="an old question")
    old = (datetime.now(UTC) - timedelta(days=31)).replace(microsecond=0).isoformat()
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE feedback SET at = ?", (old,))
    assert store.entries() == [], "never listed"
    vote(store, BOB, True)
    assert b"an old question" not in store.path.read_bytes(), "deleted at the next write"
    assert [e.question for e in store.entries()] == ["who is Lety?"]


def test_forget_user_from_the_command_line(settings: Settings) -> None:
    store = FeedbackStore.for_settings(settings)
    vote(store, ALICE, True)
    vote(store, ALICE, False, question="second", message=OTHER_ANSWER)
    vote(store, BOB, False)
    env = {"CITEBOT_FEEDBACK_KEY_FILE": str(settings.feedback_key_file)}
    index = ["--index", str(settings.index_dir)]
    result = CliRunner().invoke(cli, ["feedback", *index, "--forget-user", str(ALICE)], env=env)
    assert result.exit_code == 0 and "Deleted 2 vote(s)" in result.output
    assert [e.helpful for e in store.entries()] == [False]


def test_a_file_from_before_the_key_file_is_upgraded_and_its_voters_still_forgettable(
    settings: Settings,
) -> None:
    salt = "0123456789abcdef0123456789abcdef"
    path = settings.index_dir / "feedback.sqlite"
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as db:
        db.executescript(
            """CREATE TABLE salt (value TEXT NOT NULL);
            CREATE TABLE feedback (id INTEGER PRIMARY KEY, at TEXT NOT NULL,
                user_hash TEXT NOT NULL, helpful INTEGER NOT NULL, question TEXT NOT NULL,
                answer TEXT NOT NULL, citation_ids TEXT NOT NULL);"""
        )
        db.execute("INSERT INTO salt VALUES (?)", (salt,))
        now = datetime.now(UTC).replace(microsecond=0).isoformat()
        for user, helpful in ((ALICE, 1), (ALICE, 0), (BOB, 1)):
            user_hash = hashlib.sha256(f"{salt}:{user}".encode()).hexdigest()
            db.execute(
                "INSERT INTO feedback (at, user_hash, helpful, question, answer, citation_ids)"
                " VALUES (?, ?, ?, 'q', 'a', 'c')",
                (now, user_hash, helpful),
            )
    store = FeedbackStore.for_settings(settings)
    vote(store, BOB, False, question="new")
    assert salt.encode() not in path.read_bytes(), "the salt is erased from the votes file"
    assert settings.feedback_key_file.read_text("utf-8").strip() == salt
    assert sorted((e.question, e.helpful) for e in store.entries()) == [
        ("new", False),
        ("q", False),
        ("q", True),
    ], "Alice's two clicks became her latest vote"
    assert store.forget_user(ALICE) == 1
    assert store.forget_user(BOB) == 2


@pytest.mark.parametrize("damage", ["not sqlite", "truncated"])
def test_a_damaged_feedback_file_is_one_line(settings: Settings, damage: str) -> None:
    store = FeedbackStore.for_settings(settings)
    for user in range(50):
        vote(store, user, True, question=f"question {user} " * 20)
    data = store.path.read_bytes()
    store.path.write_bytes(b"not sqlite at all" * 100 if damage == "not sqlite" else data[:5000])
    env = {"CITEBOT_FEEDBACK_KEY_FILE": str(settings.feedback_key_file)}
    for extra in ([], ["--forget-user", "1"], ["--json"]):
        result = CliRunner().invoke(
            cli, ["feedback", "--index", str(settings.index_dir), *extra], env=env
        )
        assert result.exit_code == 1, result.output
        assert result.output.startswith(f"Error: cannot use the feedback file {store.path}")
        assert len(result.output.strip().splitlines()) == 1
    with pytest.raises(FeedbackError):
        vote(store, ALICE, True)


READ_ONLY = textwrap.dedent(
    """
    import subprocess, sys
    from pathlib import Path
    from click.testing import CliRunner
    from bot.cli import cli
    from index.config import Settings
    from index.feedback import FeedbackStore

    disk = Path(sys.argv[1])
    settings = Settings(_env_file=None, index_dir=disk / "index", feedback_key_file=disk / "k")
    FeedbackStore.for_settings(settings).record(
        message_id=1, user_id=1, helpful=True, question="q", answer="a", citation_ids=["c"]
    )
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    env = {"CITEBOT_FEEDBACK_KEY_FILE": str(disk / "k")}
    index = ["--index", str(disk / "index")]
    for extra in ([], ["--forget-user", "1"]):
        result = CliRunner().invoke(cli, ["feedback", *index, *extra], env=env)
        print(result.exit_code, repr(result.output))
    """
)


def test_a_read_only_feedback_file_lists_and_refuses_to_forget_in_one_line(
    tmp_path: Path,
) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    script = tmp_path / "scenario.py"
    script.write_text(READ_ONLY, "utf-8")
    completed = subprocess.run(
        [
            "unshare", "--map-root-user", "--mount", "sh", "-c",
            f'mount -t tmpfs -o size=1m tmpfs "{disk}" && exec "$0" "$@"',
            sys.executable, str(script), str(disk),
        ],
        capture_output=True, text=True, cwd=REPO, timeout=120,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"},
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    listed, forgot = completed.stdout.strip().splitlines()
    assert listed.startswith("0 ") and "'q' -> c" in listed
    assert forgot.startswith("1 'Error: cannot use the feedback file")
    assert forgot.count("\\n") == 1


@pytest.mark.parametrize("loss", ["deleted", "replaced", "no HOME"])
def test_forget_user_refuses_when_the_stored_votes_cannot_be_matched(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loss: str
) -> None:
    """Without the key the votes were hashed with, no vote can be matched to a user id: a
    deletion request is refused and explained, never answered with "Deleted 0"."""
    store = FeedbackStore.for_settings(settings)
    vote(store, ALICE, True)
    vote(store, BOB, True)
    key_file = settings.feedback_key_file
    env = {"CITEBOT_FEEDBACK_KEY_FILE": str(key_file)}
    if loss == "deleted":
        key_file.unlink()
    elif loss == "replaced":
        key_file.write_text("0" * 64 + "\n", "utf-8")
    else:  # HOME= with no key file setting: the default key file is another one, or none
        monkeypatch.chdir(tmp_path)
        env = {"CITEBOT_FEEDBACK_KEY_FILE": None, "HOME": "", "XDG_CONFIG_HOME": None}
    index = ["--index", str(settings.index_dir)]
    for _ in range(2):  # and the refusal made no new key that a second try would use
        result = CliRunner().invoke(cli, ["feedback", *index, "--forget-user", str(ALICE)], env=env)
        assert result.exit_code != 0, result.output
        (line,) = result.output.strip().splitlines()
        assert "Deleted" not in result.output and "Traceback" not in result.output
        if loss != "no HOME":  # (which may also be refused for want of a home directory)
            assert line.startswith("Error: cannot delete that user's votes: ") and "key" in line
    assert len(store.entries()) == 2, "the votes are still there"
    if loss == "no HOME":
        return
    if loss == "deleted":
        assert not key_file.exists()
    with pytest.raises(FeedbackError, match="key"):
        vote(store, BOB, False, question="a vote under another key")
    assert len(store.entries()) == 2


def test_forget_user_with_no_votes_yet_needs_no_key(settings: Settings) -> None:
    env = {"CITEBOT_FEEDBACK_KEY_FILE": str(settings.feedback_key_file)}
    result = CliRunner().invoke(
        cli, ["feedback", "--index", str(settings.index_dir), "--forget-user", "1"], env=env
    )
    assert result.exit_code == 0 and "Deleted 0 vote(s)" in result.output
    assert not settings.feedback_key_file.exists()


def test_a_locked_feedback_file_is_busy_not_discarded(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FeedbackStore.for_settings(settings)
    vote(store, ALICE, True)
    monkeypatch.setattr("index.feedback.BUSY_SECONDS", 0.1)
    env = {"CITEBOT_FEEDBACK_KEY_FILE": str(settings.feedback_key_file)}
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        for extra in ([], ["--forget-user", str(ALICE)]):
            result = CliRunner().invoke(
                cli, ["feedback", "--index", str(settings.index_dir), *extra], env=env
            )
            assert result.exit_code == 1, result.output
            (line,) = result.output.strip().splitlines()
            assert "busy" in line and "try again" in line and "move it away" not in line
        with pytest.raises(FeedbackError, match="busy"):
            vote(store, BOB, True)
    finally:
        holder.rollback()
        holder.close()
    assert [e.helpful for e in store.entries()] == [True]
