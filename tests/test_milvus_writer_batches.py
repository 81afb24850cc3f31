"""The Milvus writer writes a generation a batch of rows at a time as the build produces them:
when the generation is finished, at most one batch per collection is still waiting in memory,
on a first build and on an incremental one (rows copied from the live generation)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from index.build import build_index
from index.config import Settings
from index.manifest import Manifest
from index.milvus import writer
from index.milvus.client import ARTICLES, KINDS, PASSAGES, SENTENCES, TERMS, connect
from index.seam import open_reader
from tests.support.embedder import FakeEmbedder
from tests.support.milvus import drop_milvus_index, milvus_settings

BATCH = {PASSAGES: 4, ARTICLES: 3, SENTENCES: 5, TERMS: 7}
WORDS = ["harbour", "pier", "bridge", "river", "summit", "night", "storm", "market", "election"]


class _Inserts:
    """Each insert into the index's collections, and how many rows of each kind had been
    inserted when the generation was finished (and how many were waiting then)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self.before_finish: Counter[str] = Counter()
        self.pending_at_finish: dict[str, int] = {}

    def inserted(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for kind, rows in self.calls:
            total[kind] += rows
        return total


@pytest.fixture
def settings(milvus_lite: Path, tmp_path: Path) -> Iterator[Settings]:
    settings = milvus_settings(milvus_lite, tmp_path / "index")
    yield settings
    drop_milvus_index(settings)


@pytest.fixture
def inserts(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> _Inserts:
    """Small batches, and a record of every insert and of what waits when finishing."""
    monkeypatch.setattr(writer, "_INSERT_BATCH", BATCH)
    record = _Inserts()
    client = connect(settings)
    insert = client.insert

    def counted(name: str, rows: list[dict[str, Any]]) -> Any:
        record.calls.append((name.rsplit("_", 1)[1], len(rows)))
        return insert(name, rows)

    finish = writer.MilvusDraft.finish

    def finishing(draft: writer.MilvusDraft, manifest: Manifest) -> Manifest:
        record.before_finish = record.inserted()
        record.pending_at_finish = {kind: len(rows) for kind, rows in draft.pending.items()}
        return finish(draft, manifest)

    monkeypatch.setattr(client, "insert", counted)
    monkeypatch.setattr(writer.MilvusDraft, "finish", finishing)
    return record


def corpus(root: Path, count: int, changed: int | None = None) -> Path:
    """`count` articles of two paragraphs (`changed` gets other words)."""
    root.mkdir(exist_ok=True)
    lines = []
    for number in range(count):
        words = [WORDS[(number + i) % len(WORDS)] for i in range(4)]
        if number == changed:
            words.reverse()
        text = f"The {words[0]} saw a {words[1]} today.\n\nLater the {words[2]} met the {words[3]}."
        lines.append(json.dumps({"id": f"a{number}", "title": f"Story {number}", "text": text}))
    path = root / "articles.jsonl"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def check_batches(inserts: _Inserts, settings: Settings) -> None:
    """Every insert is one batch at most; all rows but the last, partial batch of each kind
    were written before the generation was finished; the index holds them all."""
    assert inserts.calls
    assert all(rows <= BATCH[kind] for kind, rows in inserts.calls)
    reader = open_reader(settings)
    manifest = reader.manifest
    # Each article here is one part (row) of the articles collection.
    totals = {
        ARTICLES: manifest.articles,
        PASSAGES: manifest.passages,
        SENTENCES: manifest.sentences,
    }
    for kind, total in totals.items():
        assert total > 2 * BATCH[kind]
        waiting = inserts.pending_at_finish[kind]
        assert waiting < BATCH[kind]
        assert inserts.before_finish[kind] == total - waiting
        assert inserts.inserted()[kind] == total
    # Words are counted while rows are written, and their rows written when finishing.
    assert inserts.before_finish[TERMS] == 0 and inserts.inserted()[TERMS] > BATCH[TERMS]
    assert set(inserts.inserted()) == set(KINDS)


def test_a_first_build_writes_rows_a_batch_at_a_time(
    settings: Settings, inserts: _Inserts, tmp_path: Path
) -> None:
    build_index([corpus(tmp_path / "c", 20)], settings, embedder=FakeEmbedder())
    check_batches(inserts, settings)
    assert open_reader(settings).manifest.articles == 20


def test_an_incremental_build_copies_rows_a_batch_at_a_time(
    settings: Settings, inserts: _Inserts, tmp_path: Path
) -> None:
    build_index([corpus(tmp_path / "c", 20)], settings, embedder=FakeEmbedder())
    before = {p.article_id: p for p in open_reader(settings).all_passages()}
    inserts.calls.clear()
    embedder = FakeEmbedder()
    summary = build_index([corpus(tmp_path / "c", 20, changed=7)], settings, embedder=embedder)
    assert (summary.unchanged, summary.changed, summary.embedded) == (19, 1, 1)
    check_batches(inserts, settings)
    reader = open_reader(settings)
    after = {p.article_id: p for p in reader.all_passages()}
    assert after.keys() == before.keys()
    # Copied passages keep their text and spans; their vectors still find them.
    for article_id, passage in after.items():
        assert (passage.start, passage.end) == (before[article_id].start, before[article_id].end)
    article = reader.article("a3")
    assert article is not None
    ids, _ = reader.dense_matches(embedder.embed([f"Story 3\n{article.text}"])[0], 1, None)
    assert reader.passages(ids.tolist())[int(ids[0])].article_id == "a3"
