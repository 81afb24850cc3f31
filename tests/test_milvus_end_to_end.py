"""citebot on the Milvus store with the real model: the command line (build, ask, search,
source, stats) and Discord, over the seed and a few BBC articles in Milvus Lite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli import cli
from index.build import build_index
from index.config import Settings
from index.engine import Engine
from tests.support.botkit import CITATION_ID, LETY, citebot, unescape
from tests.support.milvus import milvus_settings
from tests.support.paths import BBC, SEEDS

pytestmark = pytest.mark.slow

BBC_ARTICLES = 6


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bbc") / "bbc.jsonl"
    lines = BBC.read_text("utf-8").splitlines()[:BBC_ARTICLES]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


@pytest.fixture(scope="module")
def milvus_index(
    milvus_lite: Path, corpus: Path, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """The seed and the BBC slice indexed in Milvus Lite with the real model."""
    settings = milvus_settings(
        milvus_lite, tmp_path_factory.mktemp("milvus-e2e") / "index", discord_cooldown_questions=100
    )
    build_index([SEEDS, corpus], settings)
    return settings


def run(settings: Settings, *args: str) -> Any:
    """Run a citebot command on the Milvus index; its JSON output."""
    env = {
        "CITEBOT_STORE": "milvus",
        "CITEBOT_MILVUS_URI": settings.milvus_uri,
        "CITEBOT_MILVUS_COLLECTION": settings.milvus_collection,
        "CITEBOT_INDEX_DIR": str(settings.index_dir),
    }
    result = CliRunner().invoke(cli, [*args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_command_line_on_milvus_quotes_only_stored_text(
    milvus_index: Settings, corpus: Path
) -> None:
    build = run(milvus_index, "build", str(SEEDS), str(corpus))
    assert build["up_to_date"] and build["articles"] == BBC_ARTICLES + 1
    stats = run(milvus_index, "stats")
    assert stats["articles"] == BBC_ARTICLES + 1 and "Milvus Lite" in stats["index_dir"]
    first_bbc = json.loads(corpus.read_text("utf-8").splitlines()[0])
    quoted = 0
    for question in ("who is Lety Pérez?", f"What happened: {first_bbc['title']}?"):
        answer = run(milvus_index, "ask", question)
        assert not answer["abstained"], question
        for citation in answer["citations"]:
            source = run(milvus_index, "source", citation["id"])
            text = source["article_text"]
            assert citation["quote"] == text[citation["start"] : citation["end"]]
            assert source["quote"] == citation["quote"]
            quoted += 1
        for part in answer["answer"]:
            assert part["text"] in [c["quote"] for c in answer["citations"]]
    assert quoted >= 2
    assert LETY in run(milvus_index, "ask", "who is Lety Pérez?")["answer"][0]["text"]
    found = run(milvus_index, "search", "lety perez", "--k", "3")
    assert found[0]["lexical_rank"] == 1 and "Lety Pérez" in found[0]["text"]


async def test_discord_answers_from_milvus(milvus_index: Settings) -> None:
    engine = Engine(milvus_index)
    engine.warm_up()
    async with citebot(milvus_index, engine) as (fake, _):
        exchange = await fake.send_user_message("who is Lety Pérez?", mention_bot=True)
        reply = await exchange.message(lambda m: m.kind == "channel")
        assert LETY in unescape(reply.content)
        citation = CITATION_ID.search(reply.content)
        assert citation is not None
        source = await (await fake.invoke_slash("source", {"id": citation.group(1)})).message()
        assert "Lety Pérez" in unescape(source.embeds[0]["description"])
        stats = await (await fake.invoke_slash("stats")).message()
        fields = {f["name"]: f["value"] for f in stats.embeds[0]["fields"]}
        assert fields["Articles"] == str(BBC_ARTICLES + 1)


def test_a_lite_file_another_process_has_open_is_one_line(milvus_index: Settings) -> None:
    """Milvus Lite lets one process open a file: this test session has it open."""
    environment = {
        **os.environ,
        "CITEBOT_STORE": "milvus",
        "CITEBOT_MILVUS_URI": milvus_index.milvus_uri,
        "CITEBOT_MILVUS_COLLECTION": milvus_index.milvus_collection,
    }
    result = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "stats"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert "is another process using this Milvus Lite file?" in result.stderr
