"""Incremental, atomic builds: reuse what is unchanged, survive being killed."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from bot.cli import cli
from index.build import build_index
from index.config import Settings
from index.engine import Engine
from index.local.layout import IndexLayout
from index.local.reader import IndexReader
from index.manifest import FORMAT_VERSION
from index.records import StoredPassage
from tests.support.corpora import write_files
from tests.support.embedder import FakeEmbedder

ARTICLES = {
    "alpha.txt": "Alpha\n\nThe alpha article is about harbours.\n\nIt has two paragraphs.",
    "beta.md": "# Beta\n\nThe beta article is about bridges and rivers.",
    "gamma.txt": "Gamma\n\nThe gamma article is about mountains.",
}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_files(tmp_path / "corpus", ARTICLES)


def vectors_by_article(settings: Settings) -> dict[str, np.ndarray]:
    """Each article's passage vectors followed by its sentence vectors."""
    reader = IndexReader.open(settings.index_dir)
    passages: dict[str, list[StoredPassage]] = {}
    for passage in reader.all_passages():
        passages.setdefault(passage.article_id, []).append(passage)
    return {
        article: np.vstack(
            [
                reader.vectors.reconstruct_batch(np.array([p.id for p in own])),
                *(
                    reader.sentence_vectors[p.sentence_row : p.sentence_row + len(p.sentences)]
                    for p in own
                ),
            ]
        )
        for article, own in passages.items()
    }


def test_sentence_vectors_are_each_sentence_read_in_its_passage(
    corpus: Path, settings: Settings
) -> None:
    embedder = FakeEmbedder()
    build_index([corpus], settings, embedder=embedder)
    (corpus / "delta.txt").write_text("Delta\n\nDelta is new. It has two sentences.", "utf-8")
    build_index([corpus], settings, embedder=embedder)
    reader = IndexReader.open(settings.index_dir)
    passages = list(reader.all_passages())
    articles = reader.articles([p.article_id for p in passages])
    assert reader.sentence_vectors.shape == (
        sum(len(p.sentences) for p in passages),
        embedder.dimension,
    )
    for passage in passages:
        article = articles[passage.article_id]
        # The fake embeds each span alone: equal vectors mean the spans were the sentences.
        texts = [article.text[s:e] for s, e in passage.sentences]
        stored = reader.sentence_vectors[passage.sentence_row : passage.sentence_row + len(texts)]
        np.testing.assert_allclose(stored, embedder.embed(texts), atol=1e-3)


def generations(settings: Settings) -> list[str]:
    return sorted(p.name for p in (settings.index_dir / "generations").iterdir())


def test_rebuild_reuses_unchanged_and_embeds_only_what_changed(
    corpus: Path, settings: Settings
) -> None:
    embedder = FakeEmbedder()
    first = build_index([corpus], settings, embedder=embedder)
    assert (first.added, first.embedded, first.articles) == (3, first.passages, 3)
    before = vectors_by_article(settings)
    beta_id = Engine(settings, embedder=embedder).search("bridges rivers", k=1)[0].id

    again = build_index([corpus], settings, embedder=embedder)
    assert again.up_to_date and again.embedded == 0 and again.unchanged == 3
    assert len(generations(settings)) == 1, "no new generation when nothing changed"

    (corpus / "alpha.txt").write_text(ARTICLES["alpha.txt"] + "\n\nA third paragraph.", "utf-8")
    embedder.calls.clear()
    changed = build_index([corpus], settings, embedder=embedder)
    alpha = IndexReader.open(settings.index_dir).passages_of("alpha.txt")
    alpha_texts = len(alpha) + sum(len(p.sentences) for p in alpha)
    assert (changed.changed, changed.unchanged, changed.added) == (1, 2, 0)
    assert changed.embedded == len(alpha)
    assert sum(embedder.calls) - 1 == alpha_texts  # -1: model warm-up
    after = vectors_by_article(settings)
    for article in ("beta.md", "gamma.txt"):
        np.testing.assert_array_equal(after[article], before[article])
    engine = Engine(settings, embedder=embedder)
    beta = engine.sources.source(beta_id)
    assert beta.quote.startswith("The beta article"), "ids survive rebuilds"

    (corpus / "gamma.txt").unlink()
    removed = build_index([corpus], settings, embedder=embedder)
    assert (removed.removed, removed.articles, removed.embedded) == (1, 2, 0)
    assert IndexReader.open(settings.index_dir).article("gamma.txt") is None


def test_setting_changes_and_full_rebuild_everything_and_say_why(
    corpus: Path, settings: Settings
) -> None:
    build_index([corpus], settings, embedder=FakeEmbedder())
    rechunked = build_index(
        [corpus], settings.model_copy(update={"chunk_tokens": 100}), embedder=FakeEmbedder()
    )
    assert rechunked.full_rebuild_reason is not None
    assert "chunker changed" in rechunked.full_rebuild_reason
    assert rechunked.embedded == rechunked.passages
    forced = build_index(
        [corpus],
        settings.model_copy(update={"chunk_tokens": 100}),
        full=True,
        embedder=FakeEmbedder(),
    )
    assert forced.full_rebuild_reason == "--full" and forced.embedded == forced.passages


def test_dry_run_reports_and_writes_nothing(corpus: Path, settings: Settings) -> None:
    preview = build_index([corpus], settings, dry_run=True, embedder=FakeEmbedder())
    assert preview.added == 3 and preview.embedded == preview.passages > 0
    assert not settings.index_dir.exists()
    build_index([corpus], settings, embedder=FakeEmbedder())
    before = generations(settings)
    (corpus / "delta.txt").write_text("Delta\n\nNew.", "utf-8")
    preview = build_index([corpus], settings, dry_run=True, embedder=FakeEmbedder())
    assert preview.added == 1 and generations(settings) == before


KILLABLE_BUILD = textwrap.dedent(
    """
    import sys, threading
    from pathlib import Path
    from index.build import build_index
    from index.config import Settings
    from tests.support.embedder import FakeEmbedder

    class StuckEmbedder(FakeEmbedder):
        def embed(self, texts):
            print("embedding", flush=True)
            threading.Event().wait()  # until killed

    settings = Settings(_env_file=None, index_dir=Path(sys.argv[2]))
    build_index([Path(sys.argv[1])], settings, embedder=StuckEmbedder())
    """
)


def test_killed_build_leaves_the_previous_index_answering(corpus: Path, settings: Settings) -> None:
    build_index([corpus], settings, embedder=FakeEmbedder())
    live_before = IndexLayout(settings.index_dir).current()
    (corpus / "delta.txt").write_text("Delta\n\nA new article about deltas.", "utf-8")
    process = subprocess.Popen(
        [sys.executable, "-c", KILLABLE_BUILD, str(corpus), str(settings.index_dir)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "embedding"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    drafts = list((settings.index_dir / "generations").glob(".tmp-*"))
    assert drafts, "the killed build had a draft generation"
    assert IndexLayout(settings.index_dir).current() == live_before
    engine = Engine(settings, embedder=FakeEmbedder())
    assert engine.search("harbours", k=1)[0].article_id == "alpha.txt"

    summary = build_index([corpus], settings, embedder=FakeEmbedder())
    assert summary.added == 1 and summary.unchanged == 3
    assert not list((settings.index_dir / "generations").glob(".tmp-*")), "drafts cleaned up"
    assert engine.search("deltas", k=1)[0].article_id == "delta.txt", "engine switched"


BUILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from index.build import build_index
    from index.config import Settings
    from tests.support.embedder import FakeEmbedder

    settings = Settings(_env_file=None, index_dir=Path(sys.argv[2]))
    print("building", flush=True)
    build_index([Path(sys.argv[1])], settings, embedder=FakeEmbedder())
    """
)


def start_build(corpus: Path, settings: Settings) -> tuple[subprocess.Popen[str], float]:
    """A build in a new process, and the time it started building (after its imports)."""
    repo = Path(__file__).resolve().parent.parent
    process = subprocess.Popen(
        [sys.executable, "-c", BUILD, str(corpus), str(settings.index_dir)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "building"
    return process, time.monotonic()


def test_builds_killed_at_random_points_never_break_the_index(
    corpus: Path, settings: Settings
) -> None:
    for number in range(40):
        (corpus / f"filler-{number}.txt").write_text(
            f"Filler {number}\n\n" + f"Sentence {number} about ports and ferries. " * 200,
            "utf-8",
        )
    build_index([corpus], settings, embedder=FakeEmbedder())
    # How long a build of one changed article takes, from its start to its exit.
    (corpus / "alpha.txt").write_text(ARTICLES["alpha.txt"] + "\n\nEdited.", "utf-8")
    process, started = start_build(corpus, settings)
    process.wait(timeout=60)
    duration = time.monotonic() - started
    randomness = random.Random(20261125)
    killed = 0
    for attempt in range(8):
        (corpus / "alpha.txt").write_text(ARTICLES["alpha.txt"] + f"\n\nEdit {attempt}.", "utf-8")
        process, started = start_build(corpus, settings)
        kill_at = started + randomness.uniform(0, duration)
        try:
            process.wait(timeout=max(0.0, kill_at - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            killed += 1
        engine = Engine(settings, embedder=FakeEmbedder())
        assert engine.search("harbours", k=1)[0].article_id == "alpha.txt", f"attempt {attempt}"
        assert engine.reader().manifest.articles == len(ARTICLES) + 40

    assert killed >= 4, f"only {killed} of 8 builds were killed before they finished"
    summary = build_index([corpus], settings, embedder=FakeEmbedder())
    assert summary.passages > 0
    assert not list((settings.index_dir / "generations").glob(".tmp-*")), "no drafts left"
    assert not list(settings.index_dir.glob(".CURRENT.*")), "no half-written pointers left"
    assert len(generations(settings)) <= 2, "old generations do not pile up"


def test_jsonl_ids_urls_metadata_and_duplicates(tmp_path: Path, settings: Settings) -> None:
    records = [
        {"id": 7, "title": "Seven", "text": "Numbered.", "category": "tech"},
        {"title": "Linked", "text": "Has a url.", "url": "HTTPS://Example.com/a/#top",
         "published": "2024-03-05T10:00:00Z", "source": "Example", "author": "Ann"},
        {"title": "Plain", "text": "Neither id nor url."},
        {"id": "7", "title": "Seven again", "text": "Duplicate id."},
    ]  # fmt: skip
    path = tmp_path / "news.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    summary = build_index([path], settings, embedder=FakeEmbedder())
    reader = IndexReader.open(settings.index_dir)
    assert set(reader.article_hashes()) == {
        "7",
        "https://example.com/a",
        "news.jsonl:3",
    }
    linked = reader.article("https://example.com/a")
    assert linked is not None
    assert (linked.source, linked.author, linked.published) == (
        "Example",
        "Ann",
        "2024-03-05T10:00:00+00:00",
    )
    seven = reader.article("7")
    assert seven is not None and seven.title == "Seven" and seven.metadata == {"category": "tech"}
    assert summary.skipped == 1
    assert any("duplicate id '7'" in p and "news.jsonl:1" in p for p in summary.problems)


def test_unsupported_empty_binary_and_non_utf8_files_are_reported(
    tmp_path: Path, settings: Settings
) -> None:
    root = tmp_path / "mixed"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "ok.txt").write_text("Fine\n\nA fine article.", "utf-8")
    (root / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    (root / "empty.txt").write_bytes(b"")
    (root / "binary.txt").write_bytes(b"Title\n\n\x00\x01\x02")
    (root / "latin.txt").write_bytes("Café\n\nUn article sur le café à Zürich.".encode("cp1252"))
    (root / ".hidden.txt").write_text("Hidden\n\nIgnored.", "utf-8")
    summary = build_index([root], settings, embedder=FakeEmbedder())
    assert summary.articles == 2
    assert summary.skipped_files == [str(root / "photo.jpg")]
    assert summary.skipped == 3  # photo, empty, binary
    problems = "\n".join(summary.problems)
    assert "empty.txt: empty file, skipped" in problems
    assert "binary.txt: binary file, skipped" in problems
    assert "latin.txt: not valid UTF-8, read as Windows-1252" in problems
    article = IndexReader.open(settings.index_dir).article("latin.txt")
    assert article is not None and "café à Zürich" in article.text


def test_an_article_over_the_size_limit_is_skipped_without_reading_it_whole(
    tmp_path: Path, settings: Settings
) -> None:
    root = tmp_path / "big"
    root.mkdir()
    (root / "huge.txt").write_text("Huge\n\n" + "word " * 30_000, "utf-8")
    (root / "small.txt").write_text("Small\n\nFits.", "utf-8")
    limited = settings.model_copy(update={"max_article_chars": 10_000})
    summary = build_index([root], limited, embedder=FakeEmbedder())
    assert summary.articles == 1 and summary.skipped == 1
    assert any("huge.txt" in p and "over the article size limit" in p for p in summary.problems)


def test_an_index_of_an_older_format_is_refused_in_one_line_then_rebuilt(
    corpus: Path, settings: Settings
) -> None:
    build_index([corpus], settings, embedder=FakeEmbedder())
    live = IndexLayout(settings.index_dir).current()
    assert live is not None
    manifest = json.loads((live / "manifest.json").read_text("utf-8"))
    (live / "manifest.json").write_text(json.dumps({**manifest, "format": 3}), "utf-8")
    result = CliRunner().invoke(cli, ["ask", "harbours", "--index", str(settings.index_dir)])
    assert result.exit_code == 1
    assert "has format 3, this citebot reads format" in result.output
    assert len(result.output.strip().splitlines()) == 1
    summary = build_index([corpus], settings, embedder=FakeEmbedder())
    assert summary.full_rebuild_reason == f"the index format changed from 3 to {FORMAT_VERSION}"
    assert summary.embedded == summary.passages
    hits = Engine(settings, embedder=FakeEmbedder()).search("harbours", k=1)
    assert hits[0].article_id == "alpha.txt"
