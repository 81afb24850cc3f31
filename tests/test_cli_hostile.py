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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli import cli
from index.build import build_index
from index.config import DEFAULT_MODEL, Settings, get_settings
from index.errors import FeedbackError
from index.feedback import FeedbackStore
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


@pytest.mark.parametrize(
    "answers", ["76%", {"76%": 1}, [""], [" "], [["76%"]], [None], [True], True, 76]
)
def test_eval_answers_that_are_not_a_list_of_answers_are_one_line(
    tmp_path: Path, answers: object
) -> None:
    """A string is not a list of one-character answers (answer@1 1.000), and an empty answer
    is not found in every passage: either is refused, naming the line."""
    path = tmp_path / "questions.jsonl"
    lines = [{"question": "who?", "answers": ["Lety"]}, {"question": "what?", "answers": answers}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), "utf-8")
    result = CliRunner().invoke(cli, ["eval", str(path), "--index", str(tmp_path / "ix")])
    assert result.exit_code == 2
    line = one_line_error(result.output)
    assert line.startswith(f"Error: {path}:2: ") and "'answers' must be a list" in line


def test_eval_answers_that_are_numbers_are_taken_as_text(tmp_path: Path) -> None:
    from index.evaluate import load_questions_jsonl

    path = tmp_path / "questions.jsonl"
    path.write_text(json.dumps({"question": "how many?", "answers": [76, "76%"]}) + "\n", "utf-8")
    assert load_questions_jsonl(path)[0].answers == ("76", "76%")


@pytest.mark.parametrize(
    ("encoding", "bom"), [("latin-1", ""), ("utf-16", ""), ("utf-16-le", "\ufeff"), ("cp1252", "")]
)
def test_an_env_file_that_is_not_utf8_is_one_line_saying_how_to_save_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encoding: str, bom: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_bytes(
        (bom + f"DISCORD_TOKEN={TOKEN}\nCITEBOT_INDEX_DIR=café-index\n").encode(encoding)
    )
    result = CliRunner().invoke(cli, ["stats"])
    assert result.exit_code == 2
    line = one_line_error(result.output)
    assert line.startswith("Error: .env is not UTF-8 text") and "save it as UTF-8" in line
    assert TOKEN[:20] not in result.output


def test_an_env_file_with_a_utf8_byte_order_mark_keeps_its_first_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("\ufeffCITEBOT_INDEX_DIR=café-index\n", "utf-8")
    result = CliRunner().invoke(cli, ["stats"])
    assert "no index at café-index" in one_line_error(result.output)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(content=st.binary(max_size=60).map(lambda raw: b"CITEBOT_INDEX_DIR=x" + raw))
def test_any_bytes_in_env_are_settings_or_one_line(
    tmp_path_factory: pytest.TempPathFactory, content: bytes
) -> None:
    home = tmp_path_factory.mktemp("env")
    (home / ".env").write_bytes(content)
    previous = Path.cwd()
    os.chdir(home)
    try:
        get_settings.cache_clear()
        result = CliRunner().invoke(cli, ["stats"])
    finally:
        os.chdir(previous)
        get_settings.cache_clear()
    assert result.exit_code in (1, 2)
    one_line_error(result.output)


@pytest.fixture(params=["unset", "empty"])
def no_home(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """No home directory: HOME unset (or empty) and no passwd entry, as in a container run
    as a user the image does not know; no setting or XDG variable points elsewhere."""
    for variable in ("CITEBOT_CACHE_DIR", "CITEBOT_FEEDBACK_KEY_FILE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    if request.param == "unset":
        monkeypatch.delenv("HOME", raising=False)
    else:
        monkeypatch.setenv("HOME", "")

    def no_entry(uid: int) -> object:
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.setattr("pwd.getpwuid", no_entry)


@pytest.fixture
def homeless_index(tmp_path: Path, no_home: None, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An index of `tmp_path/corpus` (said to be of the default model) in `tmp_path/index`,
    with no home directory and `tmp_path` the working directory."""
    monkeypatch.chdir(tmp_path)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Harbour\n\nThe harbour reopened.", "utf-8")
    index = tmp_path / "index"
    build_index([corpus], Settings(_env_file=None, index_dir=index), embedder=OnnxLookalike())  # type: ignore[call-arg]
    return index


def test_without_a_home_directory_stats_and_feedback_work(
    tmp_path: Path, homeless_index: Path
) -> None:
    index = homeless_index
    for command in (["stats"], ["feedback"], ["feedback", "--forget-user", "1"]):
        result = CliRunner().invoke(cli, [*command, "--index", str(index)])
        assert result.exit_code == 0, result.output
    assert not (tmp_path / "~").exists(), "nothing made under a directory named ~"


def test_without_a_home_directory_what_needs_one_names_the_setting(
    tmp_path: Path, homeless_index: Path
) -> None:
    index, corpus = homeless_index, tmp_path / "corpus"
    asked = CliRunner().invoke(cli, ["ask", "harbour?", "--index", str(index)])
    assert asked.exit_code == 2
    line = one_line_error(asked.output)
    assert "no home directory" in line and "set CITEBOT_CACHE_DIR" in line
    fresh = tmp_path / "fresh"
    built = CliRunner().invoke(cli, ["build", str(corpus), "--index", str(fresh)])
    assert built.exit_code == 2 and "set CITEBOT_CACHE_DIR" in one_line_error(built.output)
    assert not fresh.exists()
    store = FeedbackStore.for_settings(get_settings().model_copy(update={"index_dir": index}))
    with pytest.raises(FeedbackError, match="set CITEBOT_FEEDBACK_KEY_FILE") as raised:
        store.record(
            message_id=1, user_id=1, helpful=True, question="q", answer="a", citation_ids=[]
        )
    assert "\n" not in str(raised.value)
    assert not (tmp_path / "~").exists(), "nothing made under a directory named ~"


@pytest.mark.parametrize("content", [b"\xff\xfe" + "k".encode("utf-16-le") * 64, b"caf\xe9 key\n"])
def test_a_key_file_that_is_not_utf8_is_one_line_and_the_votes_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes
) -> None:
    key_file = tmp_path / "feedback.key"
    monkeypatch.setenv("CITEBOT_FEEDBACK_KEY_FILE", str(key_file))
    settings = Settings(_env_file=None, index_dir=tmp_path / "index")  # type: ignore[call-arg]
    store = FeedbackStore.for_settings(settings)
    store.record(
        message_id=1, user_id=1, helpful=True, question="q", answer="a", citation_ids=["c"]
    )
    key_file.write_bytes(content)
    result = CliRunner().invoke(
        cli, ["feedback", "--index", str(settings.index_dir), "--forget-user", "1"]
    )
    assert result.exit_code == 1
    line = one_line_error(result.output)
    assert f"the feedback key file {key_file} is not UTF-8 text" in line
    assert "restore it from a backup" in line
    with pytest.raises(FeedbackError, match="is not UTF-8 text"):
        store.record(
            message_id=1, user_id=2, helpful=False, question="q", answer="a", citation_ids=["c"]
        )
    assert [entry.user_hash for entry in store.entries()] == [store.entries()[0].user_hash]
    assert key_file.read_bytes() == content, "the key file is left as it is"


def test_many_unsupported_files_are_counted_not_all_named(tmp_path: Path, fake_model: None) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text("Harbour\n\nThe harbour reopened.", "utf-8")
    for number in range(3_000):
        (corpus / f"scan-{number:04}.pdf").write_bytes(b"%PDF")
    result = CliRunner().invoke(cli, ["build", str(corpus), "--index", str(tmp_path / "ix")])
    assert result.exit_code == 0, result.output
    (line,) = [line for line in result.stderr.splitlines() if "unsupported type" in line]
    assert line.startswith("Skipped 3,000 file(s) of unsupported type: ")
    assert "scan-0000.pdf" in line and "scan-2999.pdf" not in line
    assert line.endswith(" and 2,980 more") and len(line) < 2_000


def test_a_dry_run_gives_no_embedding_rate(tmp_path: Path, fake_model: None) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for number in range(5):
        (corpus / f"a{number}.txt").write_text(
            f"Harbour {number}\n\nThe harbour reopened.", "utf-8"
        )
    index = ["--index", str(tmp_path / "ix")]
    result = CliRunner().invoke(cli, ["build", str(corpus), *index, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "to embed" in result.stdout and "passages/s" not in result.stdout
    built = CliRunner().invoke(cli, ["build", str(corpus), *index])
    assert "passages/s" in built.stdout


def test_eval_of_questions_asked_early_in_year_one_is_measured(
    tmp_path: Path, fake_model: None
) -> None:
    corpus = tmp_path / "a.txt"
    corpus.write_text("Harbour\n\nThe harbour reopened this week.", "utf-8")
    index = str(tmp_path / "index")
    assert CliRunner().invoke(cli, ["build", str(corpus), "--index", index]).exit_code == 0
    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        "".join(
            json.dumps({"question": q, "answers": ["reopened"], "asked_on": day}) + "\n"
            for q in ("What reopened this week?", "What reopened last year?", "Latest news?")
            for day in ("0001-01-01", "0001-01-03", "9999-12-31")
        ),
        "utf-8",
    )
    result = CliRunner().invoke(cli, ["eval", str(questions), "--index", index, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["questions"] == 9
