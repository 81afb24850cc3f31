"""What citebot needs of Milvus, checked against a real Milvus server when
`CITEBOT_MILVUS_URI` names one (http://host:19530, with `CITEBOT_MILVUS_TOKEN` if it asks for
one), else against a Milvus Lite file this module starts itself. Never skipped:

    CITEBOT_MILVUS_URI=http://localhost:19530 .venv/bin/pytest tests/test_milvus_contract.py
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from pydantic import SecretStr

from index.build import build_index
from index.config import Settings
from index.embed import Vectors
from index.engine import Engine
from index.errors import IndexBusyError, IndexDamagedError, IndexNotFoundError
from index.milvus.client import KINDS, PASSAGES, collection_name, connect, is_lite
from index.milvus.schema import PART_CHARS
from index.seam import open_reader
from tests.support.embedder import FakeEmbedder
from tests.support.milvus import drop_milvus_index, milvus_settings

FILLER = "Nothing happened in the harbour today. "
LONG_TEXT = (FILLER * (2 * PART_CHARS // len(FILLER))).strip() + (
    " Lety Pérez crossed the river with her son Anthony. " + FILLER * 40
).rstrip()


@pytest.fixture(scope="module")
def milvus_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The server named by CITEBOT_MILVUS_URI, else a Milvus Lite file of this module's."""
    given = os.environ.get("CITEBOT_MILVUS_URI", "")
    if given and not is_lite(given):
        return given
    return str(tmp_path_factory.mktemp("contract") / "milvus.db")


@pytest.fixture
def settings(milvus_uri: str, tmp_path: Path) -> Iterator[Settings]:
    token = os.environ.get("CITEBOT_MILVUS_TOKEN") or None
    settings = milvus_settings(milvus_uri, tmp_path / "index")
    settings = settings.model_copy(update={"milvus_token": SecretStr(token) if token else None})
    yield settings
    drop_milvus_index(settings)


def corpus(root: Path, articles: Sequence[dict[str, str]]) -> Path:
    root.mkdir(exist_ok=True)
    path = root / "articles.jsonl"
    path.write_text("".join(json.dumps(a) + "\n" for a in articles), "utf-8")
    return path


ARTICLES = [
    {"id": "long", "title": "A long day", "text": LONG_TEXT},
    {"id": "apart", "title": "Apart", "text": "Lety waited. Much later Perez arrived by bus."},
    {"id": "other", "title": "Other", "text": "The orchestra played a symphony in Vienna."},
]


def generations(settings: Settings) -> set[str]:
    prefix = f"{settings.milvus_collection}_"
    return {
        name.removeprefix(prefix).rsplit("_", 1)[0]
        for name in connect(settings).list_collections()
        if name.startswith(prefix)
    }


def test_an_article_longer_than_a_varchar_is_stored_in_parts_and_quoted_across_them(
    settings: Settings, tmp_path: Path
) -> None:
    assert len(LONG_TEXT) > 2 * PART_CHARS
    build_index([corpus(tmp_path / "c", ARTICLES)], settings, embedder=FakeEmbedder())
    reader = open_reader(settings)
    article = reader.article("long")
    assert article is not None and article.text == LONG_TEXT
    across = (PART_CHARS - 10, PART_CHARS + 10)
    spans = [("long", *across), ("long", 2 * PART_CHARS - 1, 2 * PART_CHARS + 30), ("gone", 0, 5)]
    assert reader.stored_spans(spans) == [
        LONG_TEXT[across[0] : across[1]],
        LONG_TEXT[2 * PART_CHARS - 1 : 2 * PART_CHARS + 30],
        None,
    ]
    answer = Engine(settings, embedder=FakeEmbedder()).ask("who is Lety Pérez?")
    assert answer.answer and "Lety Pérez crossed the river" in answer.answer[0].text
    assert answer.citations[0].article_id == "long"


def test_words_are_found_without_accents_and_phrases_only_together(
    settings: Settings, tmp_path: Path
) -> None:
    build_index([corpus(tmp_path / "c", ARTICLES)], settings, embedder=FakeEmbedder())
    reader = open_reader(settings)
    owners = {p.id: p.article_id for p in reader.all_passages()}
    ids, _ = reader.lexical_matches(["perez"], 10, None)
    assert {owners[i] for i in ids.tolist()} == {"long", "apart"}
    ids, _ = reader.phrase_matches(["lety", "perez"], 10, None)
    assert {owners[i] for i in ids.tolist()} == {"long"}
    assert reader.document_frequencies(["perez", "symphony", 'perez" OR "x']) == {
        "perez": len(ids) + 1,
        "symphony": 1,
        'perez" OR "x': 0,
    }


def test_dense_search_finds_a_passage_by_its_own_vector(settings: Settings, tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    build_index([corpus(tmp_path / "c", ARTICLES)], settings, embedder=embedder)
    reader = open_reader(settings)
    ids, scores = reader.dense_matches(
        embedder.embed(["Other\nThe orchestra played a symphony in Vienna."])[0], 3, None
    )
    assert reader.passages(ids[:1].tolist())[int(ids[0])].article_id == "other"
    assert scores[0] == pytest.approx(1.0, abs=1e-3) and list(scores) == sorted(
        scores, reverse=True
    )


def test_the_alias_moves_in_one_step_and_old_generations_are_dropped(
    settings: Settings, tmp_path: Path
) -> None:
    embedder = FakeEmbedder()
    root = tmp_path / "c"
    seen = []
    for count in (1, 2, 3):
        build_index([corpus(root, ARTICLES[:count])], settings, embedder=embedder)
        seen.append(open_reader(settings).generation)
    assert len(set(seen)) == 3
    # The live generation and the one before it (a reader may still be on it) remain.
    assert generations(settings) == set(seen[1:])
    described = connect(settings).describe_alias(settings.milvus_collection)
    assert described["collection_name"] == collection_name(
        settings.milvus_collection, seen[-1], PASSAGES
    )


class _RebuildingEmbedder(FakeEmbedder):
    """An embedder that, at its first call, lets another build publish (as another host)."""

    def __init__(self, rebuild: object) -> None:
        super().__init__()
        self.rebuild = rebuild

    def embed(self, texts: Sequence[str]) -> Vectors:
        rebuild, self.rebuild = self.rebuild, None
        if callable(rebuild):
            rebuild()
        return super().embed(texts)


def test_a_build_never_replaces_a_generation_published_while_it_ran(
    settings: Settings, tmp_path: Path
) -> None:
    build_index([corpus(tmp_path / "a", ARTICLES[:1])], settings, embedder=FakeEmbedder())
    other = corpus(tmp_path / "b", ARTICLES[:2])
    embedder = _RebuildingEmbedder(lambda: build_index([other], settings, embedder=FakeEmbedder()))
    with pytest.raises(IndexBusyError, match="build again"):
        build_index([corpus(tmp_path / "c", ARTICLES)], settings, embedder=embedder)
    assert set(open_reader(settings).article_hashes()) == {"long", "apart"}
    assert len(generations(settings)) == 2


def test_missing_index_and_missing_collection_are_one_line(
    settings: Settings, tmp_path: Path
) -> None:
    with pytest.raises(IndexNotFoundError, match=r"no index in Milvus at .*; run `citebot build`"):
        open_reader(settings)
    build_index([corpus(tmp_path / "c", ARTICLES[2:])], settings, embedder=FakeEmbedder())
    generation = open_reader(settings).generation
    for kind in KINDS:
        assert connect(settings).has_collection(
            collection_name(settings.milvus_collection, generation, kind)
        )
    connect(settings).drop_collection(
        collection_name(settings.milvus_collection, generation, "articles")
    )
    with pytest.raises(IndexDamagedError) as raised:
        open_reader(settings)
    assert "\n" not in str(raised.value) and "citebot build --full" in str(raised.value)


def test_the_token_is_never_shown(settings: Settings, tmp_path: Path) -> None:
    build_index([corpus(tmp_path / "c", ARTICLES[2:])], settings, embedder=FakeEmbedder())
    secret = settings.model_copy(update={"milvus_token": SecretStr("s3cret-token")})
    stats = open_reader(secret).stats(settings.index_dir)
    assert "s3cret" not in json.dumps(stats.as_json()) and "s3cret" not in repr(secret)
    assert stats.articles == 1 and np.isfinite(stats.size_bytes)


def test_fields_longer_than_a_varchar_skip_their_article_before_embedding(
    settings: Settings, tmp_path: Path
) -> None:
    """An id, title or outlet over Milvus's 65,535 bytes cannot be stored: the article is
    left out with the reason, before anything is embedded, and the rest are indexed."""
    long_id, long_title, long_outlet = "i" * 70_000, "T" * 66_000, "é" * 33_000  # 66 KB
    articles = [
        {"id": long_id, "title": "Long id", "text": "The harbour reopened."},
        {"id": "title", "title": long_title, "text": "The harbour reopened again."},
        {"id": "outlet", "title": "Outlet", "text": "The pier opened.", "source": long_outlet},
        {"id": "fine", "title": "Fine", "text": "The orchestra played a symphony in Vienna."},
    ]

    embedded: list[str] = []

    class Counting(FakeEmbedder):
        def embed(self, texts: Sequence[str]) -> Vectors:
            embedded.extend(texts)
            return super().embed(texts)

    embedder = Counting()
    summary = build_index([corpus(tmp_path / "c", articles)], settings, embedder=embedder)
    assert summary.articles == 1 and summary.skipped == 3
    assert embedded and all("harbour" not in text and "pier" not in text for text in embedded)
    reasons = sorted(problem.split(": ", 1)[1] for problem in summary.problems)
    assert reasons == [
        "'id' is 70,000 bytes, over the 65,535 Milvus stores, skipped",
        "'source' is 66,000 bytes, over the 65,535 Milvus stores, skipped",
        "'title' is 66,000 bytes, over the 65,535 Milvus stores, skipped",
    ]
    assert set(open_reader(settings).article_hashes()) == {"fine"}


def test_reading_a_milvus_lite_file_that_is_not_there_creates_none(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from bot.cli import cli

    environment = {"CITEBOT_STORE": "milvus", "HOME": str(tmp_path)}
    for uri in ("~/absent.db", str(tmp_path / "absent.db")):
        for command in (["stats"], ["search", "harbour"], ["source", "0123456789ab-0-3"]):
            result = CliRunner().invoke(
                cli, command, env={**environment, "CITEBOT_MILVUS_URI": uri}
            )
            assert result.exit_code == 1, result.output
            (line,) = result.output.strip().splitlines()
            assert "no index in Milvus at" in line and "run `citebot build` first" in line
    assert list(tmp_path.iterdir()) == [], "no Milvus Lite file was made"


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("{tmp}/milvus", "a Milvus Lite file's name must end in .db"),
        ("{tmp}/no-such-folder/milvus.db", "no-such-folder does not exist"),
        ("{tmp}/a-file/milvus.db", "a-file is not a folder"),
        ("unix:{tmp}/no-such.sock", "cannot open Milvus at unix:"),
    ],
)
def test_a_milvus_uri_that_cannot_be_used_says_why(tmp_path: Path, uri: str, says: str) -> None:
    from click.testing import CliRunner

    from bot.cli import cli

    (tmp_path / "a-file").write_text("not a folder", "utf-8")
    uri = uri.format(tmp=tmp_path)
    for command in (["build", str(tmp_path / "a-file")], ["stats"]):
        result = CliRunner().invoke(
            cli, command, env={"CITEBOT_STORE": "milvus", "CITEBOT_MILVUS_URI": uri}
        )
        assert result.exit_code in (1, 2), result.output
        (line,) = result.output.strip().splitlines()
        assert says in line, line
        assert "is another process using" not in line
