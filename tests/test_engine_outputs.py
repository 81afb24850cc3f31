"""The engine under threads, model settings, and the documented --json outputs."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from index.build import build_index
from index.config import Settings
from index.embed.model import resolve_model
from index.engine import Engine
from index.reader import IndexReader
from tests.conftest import SEEDS, FakeEmbedder

ASK_KEYS = {"question", "abstained", "answer", "citations", "took_ms"}
CITATION_KEYS = {
    "n", "id", "article_id", "title", "source", "published", "url", "paragraph", "start", "end",
    "quote", "score",
}  # fmt: skip


def test_many_threads_ask_at_once(seed_index: Settings, fake_embedder: FakeEmbedder) -> None:
    engine = Engine(seed_index, embedder=fake_embedder)
    questions = ["who is Lety Pérez", "soldier", "Calderón Twitter", "troops border"] * 40
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(engine.ask, questions))
    expected = {q: engine.ask(q).as_json() for q in set(questions)}
    for question, answer in zip(questions, answers, strict=True):
        got = answer.as_json()
        assert got["answer"] == expected[question]["answer"]


def test_model_given_as_a_local_directory(tmp_path: Path) -> None:
    directory = resolve_model("all-MiniLM-L6-v2").path
    settings = Settings(_env_file=None, index_dir=tmp_path / "index", model=str(directory))  # type: ignore[call-arg]
    build_index([SEEDS], settings)
    assert IndexReader.open(settings.index_dir).manifest.model == str(directory.resolve())
    assert not Engine(settings).ask("who is Lety Pérez").abstained


def test_unknown_model_is_a_clear_input_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["build", str(SEEDS), "--index", str(tmp_path / "ix")],
        env={"CITEBOT_MODEL": "no-such-org/no-such-model"},
    )  # fmt: skip
    assert result.exit_code == 2
    assert "neither a local directory nor reachable" in result.output


@pytest.fixture(scope="module")
def real_seed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    index = tmp_path_factory.mktemp("real") / "index"
    build_index([SEEDS], Settings(_env_file=None, index_dir=index))  # type: ignore[call-arg]
    return index


@pytest.mark.slow
def test_json_outputs_follow_the_documented_schema(real_seed_index: Path) -> None:
    runner = CliRunner()
    index = ["--index", str(real_seed_index)]
    answer = json.loads(runner.invoke(cli, ["ask", "who is Lety Pérez?", *index, "--json"]).stdout)
    assert answer.keys() >= ASK_KEYS and answer["abstained"] is False
    citation = answer["citations"][0]
    assert set(citation) == CITATION_KEYS
    part = answer["answer"][0]
    assert set(part) == {"text", "citations", "highlight"}
    assert (part["text"], part["citations"]) == (citation["quote"], [citation["n"]])
    assert part["highlight"] is None or 0 <= part["highlight"][0] < part["highlight"][1] <= len(
        part["text"]
    )

    source = json.loads(runner.invoke(cli, ["source", citation["id"], *index, "--json"]).stdout)
    assert source["article_text"][citation["start"] : citation["end"]] == citation["quote"]
    assert any(p["cited"] and p["number"] == citation["paragraph"] for p in source["paragraphs"])

    results = json.loads(runner.invoke(cli, ["search", "lety perez", *index, "--json"]).stdout)
    assert results[0]["lexical_rank"] == 1 and "Lety Pérez" in results[0]["text"]
    stats = json.loads(runner.invoke(cli, ["stats", *index, "--json"]).stdout)
    assert {"articles", "passages", "model", "built_at"} <= stats.keys()
    assert stats["articles"] == 1

    abstained = json.loads(
        runner.invoke(cli, ["ask", "What is the capital of Australia?", *index, "--json"]).stdout
    )
    assert abstained["abstained"] is True and abstained["answer"] == []
    assert abstained["closest_titles"]
    text = runner.invoke(cli, ["ask", "What is the capital of Australia?", *index]).stdout
    assert text.splitlines()[0] == "I couldn't find that in the articles."
