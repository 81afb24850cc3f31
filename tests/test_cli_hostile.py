"""The command line under careless or hostile settings and files: a token in the wrong
variable, a plain-text Discord URL, Discord out of reach, a cache directory that is a file,
an evaluation file of the wrong shape. One line each, never a traceback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from index.build import build_index
from index.config import DEFAULT_MODEL, Settings
from tests.support.embedder import FakeEmbedder

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789ABCD"


def one_line_error(result_output: str) -> str:
    lines = result_output.strip().splitlines()
    assert len(lines) == 1, result_output
    assert "Traceback" not in result_output
    return lines[0]


@pytest.mark.parametrize(
    "variable",
    [
        "DISCORD_GUILD_ID",
        "DISCORD_ANSWER_CHANNELS",
        "DISCORD_COOLDOWN_SECONDS",
        "CITEBOT_FAISS_INDEX",
    ],
)
def test_a_token_in_the_wrong_variable_is_never_echoed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, TOKEN)
    result = CliRunner().invoke(cli, ["stats", "--index", str(tmp_path / "ix")])
    assert result.exit_code == 2
    assert one_line_error(result.output).startswith(f"Error: {variable} is not valid")
    assert TOKEN not in result.output and TOKEN[:20] not in result.output


@pytest.mark.parametrize(
    ("variable", "value", "accepted"),
    [
        ("DISCORD_API_BASE_URL", "http://discord.example.com/api/v10", False),
        ("DISCORD_API_BASE_URL", "ftp://discord.com/api", False),
        ("DISCORD_API_BASE_URL", "discord.com/api", False),
        ("DISCORD_API_BASE_URL", "https://proxy.example.com/api/v10", True),
        ("DISCORD_API_BASE_URL", "http://127.0.0.1:8080/api/v10", True),
        ("DISCORD_API_BASE_URL", "http://localhost:8080/api/v10", True),
        ("DISCORD_API_BASE_URL", "http://[::1]:8080/api/v10", True),
        ("DISCORD_API_BASE_URL", "http://127.0.0.1.evil.com/api", False),
        ("DISCORD_GATEWAY_URL", "ws://gateway.example.com/", False),
        ("DISCORD_GATEWAY_URL", "ws://127.0.0.1:9000/", True),
        ("DISCORD_GATEWAY_URL", "wss://gateway.discord.gg/", True),
    ],
)
def test_discord_urls_are_encrypted_unless_they_are_this_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, accepted: bool
) -> None:
    monkeypatch.setenv(variable, value)
    result = CliRunner().invoke(cli, ["stats", "--index", str(tmp_path / "ix")])
    if accepted:
        assert "run `citebot build` first" in result.output
    else:
        assert result.exit_code == 2
        line = one_line_error(result.output)
        assert line.startswith(f"Error: {variable} is not valid") and "://" in line


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_run_with_discord_unreachable_is_one_line(tmp_path: Path) -> None:
    port = closed_port()
    env = {
        **os.environ,
        "DISCORD_TOKEN": TOKEN,
        "DISCORD_API_BASE_URL": f"http://127.0.0.1:{port}/api/v10",
        "DISCORD_GATEWAY_URL": f"ws://127.0.0.1:{port}/",
        "CITEBOT_INDEX_DIR": str(tmp_path / "index"),
    }
    completed = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "run"],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert completed.returncode == 1, completed.stderr
    assert "Traceback" not in completed.stderr and TOKEN not in completed.stderr
    last = completed.stderr.strip().splitlines()[-1]
    assert last.startswith(f"Error: cannot reach Discord at http://127.0.0.1:{port}/api/v10")


class OnnxLookalike(FakeEmbedder):
    """Builds an index that says it was embedded by the default model on onnx-int8."""

    name = DEFAULT_MODEL
    backend = "onnx-int8"


def test_a_cache_dir_that_is_a_file_is_named_for_ask_and_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Harbour\n\nThe harbour reopened.", "utf-8")
    index = tmp_path / "index"
    build_index([corpus], Settings(_env_file=None, index_dir=index), embedder=OnnxLookalike())  # type: ignore[call-arg]
    cache = tmp_path / "cache-file"
    cache.write_text("not a directory", "utf-8")
    monkeypatch.setenv("CITEBOT_CACHE_DIR", str(cache))
    asked = CliRunner().invoke(cli, ["ask", "harbour?", "--index", str(index)])
    assert asked.exit_code == 2
    assert "point CITEBOT_CACHE_DIR at a writable directory" in one_line_error(asked.output)
    fresh = tmp_path / "fresh-index"
    built = CliRunner().invoke(cli, ["build", str(corpus), "--index", str(fresh)])
    assert built.exit_code == 2
    line = one_line_error(built.output)
    assert "CITEBOT_CACHE_DIR" in line and "cannot write the index" not in line
    assert not fresh.exists(), "no half-made index directory"


@pytest.mark.parametrize(
    "content",
    [
        {"data": 5},
        {"data": [5]},
        {"data": [{"title": "T", "paragraphs": 3}]},
        {"data": [{"title": "T", "paragraphs": [{"context": "c", "qas": [7]}]}]},
        {"data": []},
        [1, 2],
    ],
)
def test_eval_on_a_file_of_the_wrong_shape_is_one_line(tmp_path: Path, content: object) -> None:
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(content), "utf-8")
    result = CliRunner().invoke(cli, ["eval", str(path), "--index", str(tmp_path / "ix")])
    assert result.exit_code == 2
    assert one_line_error(result.output) == f"Error: {path} is not a SQuAD-format JSON file"
