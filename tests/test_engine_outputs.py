"""The engine under threads, model settings, and the documented --json outputs."""

from __future__ import annotations

import bisect
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from index.build import build_index
from index.config import Settings
from index.embed.model import resolve_model
from index.engine import Engine
from index.local.reader import IndexReader
from index.records import ArticleHeading
from index.sources import closest_ids
from tests.support.embedder import FakeEmbedder
from tests.support.paths import SEEDS

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
    [closest] = abstained["closest"]  # the seed's one article, which has no address
    assert (closest["title"], closest["url"]) == (abstained["closest_titles"][0], None)
    nearest = json.loads(runner.invoke(cli, ["source", closest["id"], *index, "--json"]).stdout)
    assert nearest["title"] == closest["title"], "its id opens its nearest passage"
    public = Settings(  # type: ignore[call-arg]
        _env_file=None, index_dir=real_seed_index, public_url="https://citebot.example"
    )
    linked = Engine(public).ask("What is the capital of Australia?").closest
    assert [c.url for c in linked] == [f"https://citebot.example/source/{closest['id']}"]
    text = runner.invoke(cli, ["ask", "What is the capital of Australia?", *index]).stdout
    assert text.splitlines()[0] == "I couldn't find that in the articles."


class ManyKeys:
    """A reader of 100,000 articles that fails on any full scan of them."""

    keys = sorted(f"{n * 2654435761 % 16**12:012x}" for n in range(100_000))

    def keys_around(self, key: str, count: int) -> list[str]:
        at = bisect.bisect_left(self.keys, key)
        return self.keys[max(0, at - count) : at + count]

    def titles(self) -> None:
        raise AssertionError("an unknown id must not compare every article key")

    def article_by_key(self, key: str) -> None:
        return None


def test_an_unknown_citation_id_is_compared_with_a_bounded_number_of_keys() -> None:
    reader = ManyKeys()
    started = time.perf_counter()
    closest_ids(reader, reader.keys[5000][:11] + "z-1-2")  # type: ignore[arg-type]
    assert time.perf_counter() - started < 0.2


def test_a_reload_does_not_hold_back_requests(
    seed_index: Settings, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Engine(seed_index, embedder=fake_embedder)
    engine.stats()
    opening, release = threading.Event(), threading.Event()
    real_open = IndexReader.open

    def slow_open(directory: Path) -> IndexReader:
        opening.set()
        release.wait(10)
        return real_open(directory)

    monkeypatch.setattr(IndexReader, "open", staticmethod(slow_open))
    with ThreadPoolExecutor(2) as pool:
        reloading = pool.submit(engine.reload)
        assert opening.wait(10)
        lookup = pool.submit(lambda: engine.sources.source(engine.search("Lety Pérez", k=1)[0].id))
        try:
            assert lookup.result(timeout=5).title, "served while the reload opens the index"
        finally:
            release.set()
        assert reloading.result(10)


def test_titles_are_read_once_per_generation_for_autocomplete(
    seed_index: Settings, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Engine(seed_index, embedder=fake_embedder)
    reads: list[int] = []
    real_titles = IndexReader.titles

    def counted(reader: IndexReader) -> Iterator[ArticleHeading]:
        reads.append(1)
        return real_titles(reader)

    monkeypatch.setattr(IndexReader, "titles", counted)
    for typed in ("MEXICAN", "méxican nat", "photo of"):
        [(key, title)] = engine.sources.titles_matching(typed, 25)
        assert title.startswith("Photo of Mexican National Guard")
    found = engine.sources.find_article(title.upper())
    assert found is not None and found.key == key
    assert len(reads) == 1
