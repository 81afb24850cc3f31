"""The index on disk under careless or hostile use: odd index paths, damaged rows, builds that
overlap, folders left in `generations/`, a first build that fails."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli import cli
from index.build import build_index
from index.config import Settings
from index.engine import Engine
from index.errors import IndexDamagedError, InputError
from index.local.layout import CURRENT_NAME, DATABASE_NAME, IndexLayout
from index.local.reader import IndexReader
from tests.support.embedder import FakeEmbedder
from tests.support.indexes import READ_DAMAGES, damage_index


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    for number in range(40):
        (root / f"article{number:02}.txt").write_text(
            f"Article {number}\n\n"
            + " ".join(f"Harbour number {number} reopened on day {day}." for day in range(30)),
            "utf-8",
        )
    return root


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


@pytest.mark.parametrize("name", ["idx#1", "idx?mode=rw", "idx%41", "i d x&immutable=1"])
def test_an_index_path_with_uri_characters_is_read_and_reused(
    tmp_path: Path, corpus: Path, name: str, fake_model: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = invoke("build", str(corpus), "--index", name)
    assert code == 0, output
    code, output = invoke("search", "harbour", "--index", name, "--json")
    assert code == 0, output
    assert json.loads(output)[0]["article_id"].startswith("article")
    code, output = invoke("build", str(corpus), "--index", name, "--json")
    summary = json.loads(output)
    assert summary["up_to_date"] and summary["embedded"] == 0, "nothing re-embedded"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["corpus", name])


def test_stats_on_an_index_with_a_hash_creates_no_stray_file(
    tmp_path: Path, corpus: Path, fake_model: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert invoke("build", str(corpus), "--index", "a#x")[0] == 0
    code, output = invoke("stats", "--index", "a#x")
    assert code == 0, output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a#x", "corpus"]


def flip_bytes(path: Path, start: int) -> None:
    data = bytearray(path.read_bytes())
    assert len(data) > start + 4096, len(data)
    for offset in range(start, len(data), 512):
        data[offset : offset + 64] = bytes(64)
    path.write_bytes(bytes(data))


def test_build_full_repairs_a_database_whose_rows_are_damaged(
    corpus: Path, settings: Settings
) -> None:
    build_index([corpus], settings, embedder=FakeEmbedder())
    live = IndexLayout(settings.index_dir).current()
    assert live is not None
    flip_bytes(live / DATABASE_NAME, 20_000)
    (corpus / "article00.txt").write_text("Changed\n\nA changed article.", "utf-8")
    try:
        summary = build_index([corpus], settings, embedder=FakeEmbedder())
    except IndexDamagedError as error:
        assert "citebot build --full" in str(error)
    else:
        assert summary.full_rebuild_reason == "the previous index cannot be read"
    summary = build_index([corpus], settings, embedder=FakeEmbedder(), full=True)
    assert summary.articles == 40 and summary.full_rebuild_reason == "--full"
    reader = IndexReader.open(settings.index_dir)
    assert len(reader.article_hashes()) == 40 and len(list(reader.all_passages())) > 40


def test_damaged_rows_in_the_previous_index_rebuild_from_scratch(
    corpus: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_index([corpus], settings, embedder=FakeEmbedder())

    def damaged(self: IndexReader) -> dict[str, str]:
        raise IndexDamagedError("the database is damaged; run `citebot build --full`")

    monkeypatch.setattr(IndexReader, "article_hashes", damaged)
    summary = build_index([corpus], settings, embedder=FakeEmbedder())
    assert summary.full_rebuild_reason == "the previous index cannot be read"
    assert summary.added == 40
    monkeypatch.undo()
    assert len(IndexReader.open(settings.index_dir).article_hashes()) == 40


@pytest.mark.parametrize("column", ["sentences", "paragraphs", "metadata"])
def test_invalid_json_in_a_stored_row_is_a_damaged_index(
    corpus: Path, settings: Settings, fake_model: None, column: str
) -> None:
    build_index([corpus], settings, embedder=FakeEmbedder())
    live = IndexLayout(settings.index_dir).current()
    assert live is not None
    table = "passages" if column == "sentences" else "articles"
    with sqlite3.connect(live / DATABASE_NAME) as db:
        db.execute(f"UPDATE {table} SET {column} = '[[1,'")
    for command in ("search", "ask"):
        code, output = invoke(command, "harbour number 3", "--index", str(settings.index_dir))
        assert code == 1, output
        assert "is damaged; run `citebot build --full`" in output
        assert len(output.strip().splitlines()) == 1


def test_the_lock_is_taken_before_the_previous_generation_is_opened(
    corpus: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_index([corpus], settings, embedder=FakeEmbedder())
    opened_under_lock: list[bool] = []
    real_open = IndexReader.open
    lock = settings.index_dir / "build.lock"

    def spying_open(root: Path) -> IndexReader:
        import fcntl

        with lock.open("a") as probe:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                opened_under_lock.append(True)
            else:
                opened_under_lock.append(False)
        return real_open(root)

    monkeypatch.setattr(IndexReader, "open", spying_open)
    (corpus / "article01.txt").write_text("Changed\n\nA changed article.", "utf-8")
    build_index([corpus], settings, embedder=FakeEmbedder())
    assert opened_under_lock == [True]


def test_overlapping_builds_each_finish_or_are_refused(corpus: Path, settings: Settings) -> None:
    build_index([corpus], settings, embedder=FakeEmbedder())
    outcomes: list[str] = []

    def one_build(number: int) -> None:
        (corpus / f"extra{number}.txt").write_text(f"Extra {number}\n\nMore words.", "utf-8")
        try:
            build_index([corpus], settings, embedder=FakeEmbedder())
            outcomes.append("built")
        except Exception as error:  # any failure is reported by the assertion below
            outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=one_build, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(outcomes) <= {"built", "IndexBusyError"}, outcomes
    assert IndexReader.open(settings.index_dir).manifest.articles >= 40


def test_a_folder_put_in_generations_is_left_alone(corpus: Path, settings: Settings) -> None:
    build_index([corpus], settings, embedder=FakeEmbedder())
    mine = settings.index_dir / "generations" / "my-notes"
    mine.mkdir()
    (mine / "keep.txt").write_text("mine", "utf-8")
    draft_like = settings.index_dir / "generations" / ".tmp-mine"
    draft_like.mkdir()
    for number in range(3):
        (corpus / f"new{number}.txt").write_text(f"New {number}\n\nNew words.", "utf-8")
        build_index([corpus], settings, embedder=FakeEmbedder())
    assert (mine / "keep.txt").read_text("utf-8") == "mine"
    assert draft_like.is_dir()
    generations = [p for p in (settings.index_dir / "generations").iterdir() if p != mine]
    assert len([p for p in generations if not p.name.startswith(".")]) == 2


def test_a_first_build_that_fails_leaves_no_index_directory(
    corpus: Path, settings: Settings
) -> None:
    class Broken(FakeEmbedder):
        def embed(self, texts: object) -> object:  # type: ignore[override]
            raise InputError("the model cannot be loaded")

    with pytest.raises(InputError):
        build_index([corpus], settings, embedder=Broken())
    assert not settings.index_dir.exists()


def one_line_with_rebuild(code: int, output: str) -> None:
    assert code == 1, output
    assert len(output.strip().splitlines()) == 1, output
    assert "run `citebot build" in output


@pytest.mark.parametrize(
    "current", [b"\xff", "gen\u00e9".encode("latin-1"), b"\xff\xfeg\x00e\x00n\x00", b"..", b"a/b"]
)
def test_a_current_file_that_names_no_generation_is_damage_and_a_full_build_repairs_it(
    corpus: Path, settings: Settings, fake_model: None, current: bytes
) -> None:
    build_index([corpus], settings, embedder=FakeEmbedder())
    (settings.index_dir / CURRENT_NAME).write_bytes(current)
    index = str(settings.index_dir)
    for command in (["stats"], ["search", "harbour"], ["ask", "harbour?"]):
        code, output = invoke(*command, "--index", index)
        one_line_with_rebuild(code, output)
        assert "damaged" in output and "--full" in output
    code, output = invoke("build", str(corpus), "--index", index, "--full")
    assert code == 0, output
    assert invoke("stats", "--index", index)[0] == 0


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(current=st.binary(max_size=40))
def test_any_bytes_in_current_are_one_line_and_a_build_goes_on(
    tmp_path_factory: pytest.TempPathFactory, fake_model: None, current: bytes
) -> None:
    root = tmp_path_factory.mktemp("current")
    (root / "corpus").mkdir()
    (root / "corpus" / "a.txt").write_text("Harbour\n\nThe harbour reopened.", "utf-8")
    index = str(root / "index")
    assert invoke("build", str(root / "corpus"), "--index", index)[0] == 0
    (root / "index" / CURRENT_NAME).write_bytes(current)
    code, output = invoke("stats", "--index", index)
    one_line_with_rebuild(code, output)
    code, output = invoke("build", str(root / "corpus"), "--index", index)
    assert code == 0, output
    assert invoke("stats", "--index", index)[0] == 0


@pytest.mark.parametrize(
    "pointer", ["another index", "/etc", "../..", "/dev/zero", "a fifo", "4 MB", "a directory"]
)
def test_current_serves_only_a_generation_of_its_own_index(
    tmp_path: Path, corpus: Path, settings: Settings, fake_model: None, pointer: str
) -> None:
    """CURRENT names one of this index's generations or the index is damaged: it never
    serves another index, reads a system directory, or reads without limit."""
    build_index([corpus], settings, embedder=FakeEmbedder())
    other = Settings(_env_file=None, index_dir=tmp_path / "other" / "index")  # type: ignore[call-arg]
    other_corpus = tmp_path / "other-corpus"
    other_corpus.mkdir()
    (other_corpus / "secret.txt").write_text("Secret\n\nThe harbour secret is here.", "utf-8")
    build_index([other_corpus], other, embedder=FakeEmbedder())
    other_live = IndexLayout(other.index_dir).current()
    assert other_live is not None
    current = settings.index_dir / CURRENT_NAME
    current.unlink()
    if pointer == "another index":
        current.write_text(f"../../other/index/generations/{other_live.name}\n", "utf-8")
    elif pointer == "/dev/zero":
        current.symlink_to("/dev/zero")
    elif pointer == "a fifo":
        os.mkfifo(current)
    elif pointer == "4 MB":
        current.write_bytes(b"2" * 4_000_000)
    elif pointer == "a directory":
        current.mkdir()
    else:
        current.write_text(pointer + "\n", "utf-8")
    index = str(settings.index_dir)
    for command in (["stats"], ["search", "harbour"], ["ask", "harbour?"]):
        code, output = invoke(*command, "--index", index)
        one_line_with_rebuild(code, output)
        assert "secret" not in output.lower()
    if pointer not in ("a directory", "a fifo", "/dev/zero"):
        with pytest.raises(IndexDamagedError, match=f"{CURRENT_NAME} is damaged"):
            IndexLayout(settings.index_dir).current()
    if pointer == "a directory":
        current.rmdir()
    code, output = invoke("build", str(corpus), "--index", index)
    assert code == 0, output
    code, output = invoke("search", "harbour secret", "--index", index, "--json")
    assert code == 0 and "secret" not in {r["article_id"] for r in json.loads(output)}
    assert IndexLayout(other.index_dir).current() == other_live, "the other index untouched"
    assert other_live.is_dir()


ESCAPES = "ix\x1b]0;owned\x07\x1b[2J\x9b31m"


@pytest.mark.parametrize(
    "state", ["no index", "not an index", "a file", "generation missing", "nul in CURRENT"]
)
def test_terminal_escapes_in_an_index_path_are_shown_escaped(
    tmp_path: Path, corpus: Path, state: str, fake_model: None
) -> None:
    root = tmp_path / ESCAPES
    if state == "not an index":
        root.mkdir()
        (root / "notes.txt").write_text("mine", "utf-8")
    elif state == "a file":
        root.write_text("a file", "utf-8")
    elif state != "no index":
        build_index([corpus], Settings(_env_file=None, index_dir=root), embedder=FakeEmbedder())  # type: ignore[call-arg]
        pointer = "20220101T000000-abcdef" if state == "generation missing" else "gen\x00\x1b[2J"
        (root / CURRENT_NAME).write_text(pointer + "\n", "utf-8")
    commands = [["stats"], ["search", "harbour"]]
    if state in ("not an index", "a file"):
        commands.append(["build", str(corpus)])
    for command in commands:
        code, output = invoke(*command, "--index", str(root))
        assert code != 0, output
        if state != "a file":  # (click's own usage error, with its usage lines)
            assert len(output.strip().splitlines()) == 1, output
        assert not any(c in output for c in "\x1b\x07\x9b\x00"), repr(output)
        assert "\\x1b" in output


@pytest.mark.parametrize("damage", READ_DAMAGES)
def test_a_build_never_carries_damaged_values_into_the_next_generation(
    corpus: Path, settings: Settings, damage: str
) -> None:
    build_index([corpus], settings, embedder=FakeEmbedder())
    damage_index(settings.index_dir, damage)
    (corpus / "article00.txt").write_text("Changed\n\nA changed article.", "utf-8")
    try:
        build_index([corpus], settings, embedder=FakeEmbedder())
    except IndexDamagedError as error:
        assert " damaged; run `citebot build --full`" in str(error)
        build_index([corpus], settings, embedder=FakeEmbedder(), full=True)
    engine = Engine(settings, embedder=FakeEmbedder())
    assert engine.search("harbour number 3", k=1)[0].article_id == "article03.txt"
    assert not engine.ask("harbour number 3 reopened on day 4?").abstained
