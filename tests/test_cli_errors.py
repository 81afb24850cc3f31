"""Bad input at the command line: one clear line, the right exit code, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from index.build import build_index
from index.config import RETRIEVERS, Settings
from tests.support.embedder import FakeEmbedder
from tests.support.indexes import DAMAGES, READ_DAMAGES, damage_index

BAD_JSONL = '{"title": "Fine", "text": "A fine article."}\n{not json}\n{"title": "No text"}\n'


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """Files for bad-input cases: an empty dir, a foreign dir, a plain file, bad JSONL."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("my own notes", "utf-8")
    (tmp_path / "a-file").write_text("not a directory", "utf-8")
    (tmp_path / "bad.jsonl").write_text(BAD_JSONL, "utf-8")
    (tmp_path / "article.txt").write_text("Title\n\nBody.", "utf-8")
    (tmp_path / "bad-date.jsonl").write_text(
        '{"question": "who won?", "answers": [], "asked_on": "last Tuesday"}\n', "utf-8"
    )
    return tmp_path


@pytest.mark.parametrize(
    ("args", "message", "exit_code"),
    [
        (["build", "{tmp}/missing"], "missing: no such file or directory", 2),
        (["build", "{tmp}/empty", "--index", "{tmp}/ix"], "no articles found", 2),
        (["build", "{tmp}/article.txt", "--index", "{tmp}/a-file"], "is a file", 2),
        (["build", "{tmp}/article.txt", "--index", "{tmp}/foreign"], "not a citebot index", 2),
        (
            ["build", "{tmp}/bad.jsonl", "--strict", "--index", "{tmp}/ix"],
            "bad.jsonl:2: not valid JSON",
            2,
        ),
        (["stats", "--index", "{tmp}/ix"], "run `citebot build` first", 1),
        (["ask", "who?", "--index", "{tmp}/ix"], "run `citebot build` first", 1),
        (["search", "who?", "--index", "{tmp}/ix"], "run `citebot build` first", 1),
        (["source", "abc", "--index", "{tmp}/ix"], "run `citebot build` first", 1),
        (["eval", "{tmp}/missing.json"], "no such file", 2),
        (["eval", "{tmp}/article.txt", "--index", "{tmp}/ix"], "not a SQuAD-format", 2),
        (
            ["eval", "{tmp}/bad-date.jsonl", "--index", "{tmp}/ix"],
            "bad-date.jsonl:1: 'asked_on' must be a date like 2022-10-14",
            2,
        ),
        (["build", "--no-such-option"], "No such option", 2),
        (["search", "x", "--k", "0"], "Invalid value", 2),
    ],
)
def test_bad_input_gets_one_clear_line(
    workspace: Path, args: list[str], message: str, exit_code: int
) -> None:
    result = CliRunner().invoke(cli, [a.format(tmp=workspace) for a in args])
    assert result.exit_code == exit_code, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    assert not (workspace / "ix" / "CURRENT").exists(), "nothing half-written"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "CITEBOT_BACKEND",
            "tensorflow",
            "CITEBOT_BACKEND='tensorflow' is not valid: Input should be",
        ),
        ("CITEBOT_CHUNK_TOKENS", "5", "CITEBOT_CHUNK_TOKENS='5' is not valid"),
        ("DISCORD_GUILD_ID", "my-server", "DISCORD_GUILD_ID is not valid"),
    ],
)
def test_a_bad_setting_is_named_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    monkeypatch.setenv("DISCORD_TOKEN", "a-token")
    for command in ("stats", "run"):
        result = CliRunner().invoke(cli, [command, "--index", str(tmp_path / "ix")])
        assert result.exit_code == 2, result.output
        assert result.output.startswith(f"Error: {message}")
        assert len(result.output.strip().splitlines()) == 1
        assert "Traceback" not in result.output


def test_bad_jsonl_lines_are_reported_with_file_and_line_and_counted(workspace: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "build",
            str(workspace / "bad.jsonl"),
            "--dry-run",
            "--json",
            "--index",
            str(workspace / "ix"),
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["added"] == 1 and summary["skipped"] == 2
    assert any(
        "bad.jsonl:2: not valid JSON" in p and p.endswith("skipped") for p in summary["problems"]
    )
    assert any("bad.jsonl:3: missing 'text', skipped" in p for p in summary["problems"])
    assert not (workspace / "ix").exists(), "--dry-run writes nothing"


@pytest.fixture
def built(tmp_path: Path) -> Settings:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "one.txt").write_text("One\n\nThe first article says one thing.", "utf-8")
    settings = Settings(_env_file=None, index_dir=tmp_path / "index")  # type: ignore[call-arg]
    build_index([corpus], settings, embedder=FakeEmbedder())
    return settings


@pytest.mark.parametrize("damage", DAMAGES)
def test_damaged_index_names_the_fix(built: Settings, damage: str) -> None:
    damage_index(built.index_dir, damage)
    for command in (["stats"], ["ask", "first article"], ["source", "0123456789ab-0-3"]):
        result = CliRunner().invoke(cli, [*command, "--index", str(built.index_dir)])
        assert result.exit_code == 1, result.output
        assert "citebot build --full" in result.output
        assert "Traceback" not in result.output


@pytest.mark.parametrize("damage", READ_DAMAGES)
def test_damage_found_when_read_names_the_fix(
    built: Settings, fake_model: None, damage: str
) -> None:
    damage_index(built.index_dir, damage)
    # Each command and search that reads the damaged part: an answer reads both kinds of
    # vectors whichever search found its passages; `search` reads no sentence vectors.
    asks, searches = {
        "overwrite vectors": (RETRIEVERS, ("hybrid", "dense")),
        "overwrite sentence vectors": (RETRIEVERS, ()),
        "postings out of range": (("hybrid", "lexical"), ("hybrid", "lexical")),
    }[damage]
    for command, retrievers in ((["ask", "first article?"], asks), (["search", "first"], searches)):
        for retriever in retrievers:
            result = CliRunner().invoke(
                cli, [*command, "--retriever", retriever, "--index", str(built.index_dir)]
            )
            assert result.exit_code == 1, (command, retriever, result.output)
            assert len(result.output.strip().splitlines()) == 1, result.output
            assert " damaged; run `citebot build --full`" in result.output, result.output


def test_source_rejects_malformed_and_unknown_ids_with_the_closest_valid_ones(
    built: Settings,
) -> None:
    for identifier, message in [
        ("../../etc/passwd", "is not a citation id"),
        ("%00", "is not a citation id"),
        ("x" * 5_000, "is not a citation id"),
        ("0123456789ab-0-3", "no indexed article has the citation id"),
    ]:
        result = CliRunner().invoke(cli, ["source", identifier, "--index", str(built.index_dir)])
        assert result.exit_code == 2, result.output
        assert message in result.output and "closest valid ids:" in result.output
        assert len(result.output) < 400


def test_console_script_errors_have_no_traceback(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "build", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 2
    assert completed.stderr.strip().splitlines() == [
        f"Error: {tmp_path / 'nope'}: no such file or directory"
    ]
