"""Integration with the real model: the seed plus a slice of BBC, rebuilt incrementally,
and a saved HTML news page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.build import build_index
from index.config import Settings
from index.engine import Engine
from index.local.reader import IndexReader
from tests.support.paths import BBC, SEEDS

pytestmark = pytest.mark.slow

DATA = Path(__file__).resolve().parent / "data"
LETY = "Guatemalan migrant Lety Pérez crouches in front of the soldier"


def test_seed_and_bbc_slice_rebuild_incrementally(tmp_path: Path) -> None:
    lines = BBC.read_text("utf-8").splitlines()[:80]
    bbc = tmp_path / "bbc.jsonl"
    bbc.write_text("\n".join(lines) + "\n", "utf-8")
    settings = Settings(_env_file=None, index_dir=tmp_path / "index")  # type: ignore[call-arg]

    first = build_index([SEEDS, bbc], settings)
    assert first.articles == 81 and first.embedded == first.passages > 200

    unchanged = build_index([SEEDS, bbc], settings)
    assert unchanged.up_to_date and unchanged.embedded == 0

    record = json.loads(lines[5])
    record["text"] += "\n\nA correction was added to this article on Friday."
    bbc.write_text("\n".join([*lines[:5], json.dumps(record), *lines[6:79]]) + "\n", "utf-8")
    changed = build_index([SEEDS, bbc], settings)
    reader = IndexReader.open(settings.index_dir)
    assert (changed.changed, changed.removed, changed.unchanged) == (1, 1, 79)
    assert changed.embedded == len(reader.passages_of(record["id"]))
    assert reader.article(json.loads(lines[79])["id"]) is None

    answer = Engine(settings).ask("who is Lety Pérez?")
    assert answer.answer[0].text.startswith(LETY)
    correction = Engine(settings).ask("When was the correction added?")
    assert not correction.abstained and correction.citations[0].article_id == record["id"]


def test_saved_html_page_is_indexed_with_its_metadata(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, index_dir=tmp_path / "index")  # type: ignore[call-arg]
    summary = build_index([DATA / "saved_news_page.html"], settings)
    assert summary.articles == 1
    answer = Engine(settings).ask("What did Ana Silva say?")
    assert not answer.abstained
    citation = answer.citations[0]
    assert citation.quote == "Mayor Ana Silva said the town had never seen water so high."
    assert (citation.title, citation.source) == ("Storm hits coast", "Example News")
    assert citation.url == "https://news.example.com/2024/storm-hits-coast/"
    assert citation.published is not None and citation.published.startswith("2024-03-05")
    assert citation.paragraph == 2
    article = Engine(settings).reader().article(citation.article_id)
    assert article is not None and not article.text.startswith("Storm hits coast")
    assert "Subscribe" not in article.text and "Home | World" not in article.text
