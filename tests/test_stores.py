"""The same index in either store (local directory, Milvus Lite): build, answer, rebuild
incrementally, remove, switch generations under a reader, and fail on damage in one line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from bot.cli import cli
from index.build import build_index
from index.config import Settings
from index.engine import Engine
from index.errors import IndexDamagedError, IndexNotFoundError
from index.interfaces import IndexSource
from index.records import ArticleFilter
from index.seam import open_reader
from tests.support.corpora import ARTICLES, write_corpus
from tests.support.embedder import FakeEmbedder
from tests.support.indexes import damage_index
from tests.support.paths import SEEDS


def quotes_are_stored_text(reader: IndexSource, engine: Engine, question: str) -> int:
    """Ask `question`; check every quote is its article's text at its offsets and what the
    store itself returns for them; return how many quotes there were."""
    answer = engine.ask(question)
    for citation in answer.citations:
        article = reader.article(citation.article_id)
        assert article is not None
        assert citation.quote == article.text[citation.start : citation.end]
        stored = reader.stored_spans([(citation.article_id, citation.start, citation.end)])
        assert stored == [citation.quote]
    return len(answer.citations)


def test_build_then_ask_search_and_source(store_settings: Settings, tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    summary = build_index(
        [SEEDS, write_corpus(tmp_path / "c", ARTICLES)], store_settings, embedder=embedder
    )
    assert (summary.added, summary.articles) == (4, 4)
    engine = Engine(store_settings, embedder=embedder)
    reader = engine.reader()
    assert reader.manifest.passages == summary.passages == len(list(reader.all_passages()))
    assert quotes_are_stored_text(reader, engine, "who is Lety Pérez?") >= 1
    assert quotes_are_stored_text(reader, engine, "which pier opened in the harbour?") >= 1
    found = engine.search("lety perez", k=3)
    assert "Lety Pérez" in found[0].text and found[0].lexical_rank == 1
    source = engine.sources.source(found[0].id)
    assert source.article_text[source.start : source.end] == source.quote
    stats = engine.stats()
    assert (stats.articles, stats.passages) == (4, summary.passages)
    assert stats.outlets == ["BBC", "www.cnn.com"]
    assert (stats.first_published, stats.last_published) == ("2020-01-15", "2021-06-01")


def test_filters_by_date_and_outlet(store_settings: Settings, tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    build_index([write_corpus(tmp_path / "c", ARTICLES)], store_settings, embedder=embedder)
    engine = Engine(store_settings, embedder=embedder)

    def found(article_filter: ArticleFilter) -> set[str]:
        searched = {r.article_id for r in engine.search("news", k=5, article_filter=article_filter)}
        listed = {heading.id for heading in engine.sources.listing(article_filter)}
        assert listed == searched, "the list of articles reads a filter as the store does"
        return searched

    assert [heading.id for heading in engine.sources.listing(None)] == [
        "bridge",
        "harbour",
        "mountain",
    ], "newest first, undated last"
    assert found(ArticleFilter(since="2021")) == {"bridge"}
    assert found(ArticleFilter(until="2020-01")) == {"harbour"}
    assert found(ArticleFilter(outlet="CNN")) == {"harbour"}
    assert found(ArticleFilter(outlet="b%")) == set()
    assert found(ArticleFilter(since="2019", until="2021")) == {"harbour", "bridge"}
    assert found(ArticleFilter(since="2021", undated=True)) == {"bridge", "mountain"}
    assert found(ArticleFilter(until="2020", outlet="cnn", undated=True)) == {"harbour"}
    assert found(ArticleFilter(outlet="BBC", undated=True)) == {"bridge"}


def test_the_newest_article_by_a_day_leaves_later_and_undated_ones_out(
    store_settings: Settings, tmp_path: Path
) -> None:
    embedder = FakeEmbedder()
    build_index([write_corpus(tmp_path / "c", ARTICLES)], store_settings, embedder=embedder)
    reader = Engine(store_settings, embedder=embedder).reader()
    assert reader.newest_published(date(2030, 1, 1)) == date(2021, 6, 1)
    assert reader.newest_published(date(2021, 6, 1)) == date(2021, 6, 1)
    assert reader.newest_published(date(2021, 5, 31)) == date(2020, 1, 15)
    assert reader.newest_published(date(2020, 1, 14)) is None


def test_the_outlet_filter_ignores_case_beyond_ascii_in_either_store(
    store_settings: Settings, tmp_path: Path
) -> None:
    articles = [
        {"id": "paris", "title": "News", "text": "Some news from Paris.", "source": "ÉLYSÉE Times"},
        {"id": "kyiv", "title": "News", "text": "Some news from Kyiv.", "source": "ДЕНЬ"},
        {"id": "other", "title": "News", "text": "Some other news.", "source": "Elysee Daily"},
    ]
    embedder = FakeEmbedder()
    build_index([write_corpus(tmp_path / "c", articles)], store_settings, embedder=embedder)
    engine = Engine(store_settings, embedder=embedder)

    def found(outlet: str) -> set[str]:
        article_filter = ArticleFilter(outlet=outlet)
        return {r.article_id for r in engine.search("news", k=5, article_filter=article_filter)}

    assert found("élysée") == found("ÉLYSÉE") == found("Élysée times") == {"paris"}
    assert found("день") == found("День") == {"kyiv"}
    assert found("elysee") == {"other"}


def test_incremental_rebuild_embeds_only_what_changed_and_drops_removed(
    store_settings: Settings, tmp_path: Path
) -> None:
    embedder = FakeEmbedder()
    corpus = tmp_path / "c"
    build_index([write_corpus(corpus, ARTICLES)], store_settings, embedder=embedder)
    before = open_reader(store_settings)
    kept_passages = before.passages_of("bridge")
    kept_cosines = before.cosines([p.id for p in kept_passages], embedder.embed(["river"])[0])
    changed = [
        {**ARTICLES[0], "text": "The harbour of Vigo closed the pier for repairs."},
        ARTICLES[1],
        {"id": "valley", "title": "Valley news", "text": "A valley flooded in spring."},
    ]
    embedder.calls.clear()
    summary = build_index([write_corpus(corpus, changed)], store_settings, embedder=embedder)
    assert (summary.added, summary.changed, summary.removed, summary.unchanged) == (1, 1, 1, 1)
    # Only the changed and the new article were embedded: 2 passages, 2 sentences.
    assert summary.embedded == 2 and sum(embedder.calls) == 1 + 2 + 2
    after = open_reader(store_settings)
    assert after.generation != before.generation
    assert after.article("mountain") is None and after.passages_of("mountain") == []
    # Word counts follow: the removed article's words are gone, the new one's are counted.
    words = ["aneto", "valley", "news"]
    assert before.document_frequencies(words) == {"aneto": 1, "valley": 0, "news": 3}
    assert after.document_frequencies(words) == {"aneto": 0, "valley": 1, "news": 3}
    assert set(after.article_hashes()) == {"harbour", "bridge", "valley"}
    moved = after.passages_of("bridge")
    assert [(p.start, p.end) for p in moved] == [(p.start, p.end) for p in kept_passages]
    np.testing.assert_allclose(
        after.cosines([p.id for p in moved], embedder.embed(["river"])[0]), kept_cosines, atol=1e-3
    )
    rows = np.array([p.sentence_row for p in moved], dtype=np.int64)
    np.testing.assert_allclose(
        after.sentence_cosines(rows, embedder.embed(["Bridge news\nEngineers"])[0]),
        before.sentence_cosines(
            np.array([p.sentence_row for p in kept_passages], dtype=np.int64),
            embedder.embed(["Bridge news\nEngineers"])[0],
        ),
        atol=1e-2,
    )
    assert build_index([corpus], store_settings, embedder=embedder).up_to_date


def test_a_reader_keeps_its_generation_while_a_rebuild_switches(
    store_settings: Settings, tmp_path: Path
) -> None:
    embedder = FakeEmbedder()
    corpus = tmp_path / "c"
    build_index([write_corpus(corpus, ARTICLES[:2])], store_settings, embedder=embedder)
    engine = Engine(store_settings, embedder=embedder)
    old = engine.reader()
    old_ids = sorted(p.id for p in old.all_passages())
    build_index([write_corpus(corpus, ARTICLES)], store_settings, embedder=embedder)
    # The reader opened before the switch still reads its own generation, whole.
    assert sorted(p.id for p in old.all_passages()) == old_ids
    assert old.article("mountain") is None
    assert quotes_are_stored_text(old, engine, "which pier opened in the harbour?") >= 1
    # The engine sees the new generation at its next request.
    new = engine.reader()
    assert new.generation != old.generation
    assert new.article("mountain") is not None
    assert engine.search("summit of Aneto", k=1)[0].article_id == "mountain"


def test_no_index_yet_is_one_line(store_settings: Settings) -> None:
    with pytest.raises(IndexNotFoundError, match="run `citebot build` first"):
        Engine(store_settings).stats()


def damage(settings: Settings) -> None:
    """Remove part of the live generation: the local sentence vectors, or Milvus's sentence
    collection."""
    if settings.store == "local":
        damage_index(settings.index_dir, "truncate sentence vectors")
        return
    from index.milvus.client import SENTENCES, collection_name, connect

    reader = open_reader(settings)
    connect(settings).drop_collection(
        collection_name(settings.milvus_collection, reader.generation, SENTENCES)
    )


def test_a_damaged_index_is_one_line_and_build_full_repairs_it(
    store_settings: Settings, monkeypatch: pytest.MonkeyPatch, fake_model: None
) -> None:
    embedder = FakeEmbedder()
    build_index([SEEDS], store_settings, embedder=embedder)
    damage(store_settings)
    with pytest.raises(IndexDamagedError, match="citebot build --full"):
        Engine(store_settings, embedder=embedder).ask("who is Lety Pérez?")
    for name, value in {
        "CITEBOT_STORE": store_settings.store,
        "CITEBOT_INDEX_DIR": str(store_settings.index_dir),
        "CITEBOT_MILVUS_URI": store_settings.milvus_uri,
        "CITEBOT_MILVUS_COLLECTION": store_settings.milvus_collection,
    }.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, ["ask", "who is Lety Pérez?"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "citebot build --full" in lines[0], result.stderr
    assert "Traceback" not in result.output
    rebuilt = CliRunner().invoke(cli, ["build", str(SEEDS), "--full"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert quotes_are_stored_text(
        open_reader(store_settings), Engine(store_settings, embedder=embedder), "who is Lety Pérez?"
    )
