"""Shared fixtures: a fast deterministic embedder, and indexes built from the shipped seeds."""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest

from index.build import build_index
from index.config import Settings, get_settings
from index.embed import Vectors
from index.engine import Engine
from index.postings import POSTINGS_PASSAGES_NAME
from index.store import MANIFEST_NAME, SENTENCE_VECTORS_NAME, VECTORS_NAME, IndexLayout

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
SHARED = REPO.parent / "shared"
BBC = SHARED / "data" / "bbc_news.jsonl"
XQUAD = SHARED / "data" / "xquad_en_dev.json"
SEED_ARTICLE = SEEDS / "000_ebb75e01f9bd3751.txt"
_WATCHED_LOGGERS = {"index", "bot", "discord", "citebot"}


class FakeEmbedder:
    """Hashes words into a small vector: texts sharing words are near each other. Fast and
    deterministic, for unit tests only; integration tests use the real model."""

    name = "fake-hashing-embedder"
    backend = "fake"
    dimension = 64

    def __init__(self) -> None:
        self.calls: list[int] = []

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(len(texts))
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.casefold()):
                digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
                vectors[row, int.from_bytes(digest, "little") % self.dimension] += 1.0
            vectors[row, 0] += 1e-3
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors

    def embed_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[Vectors, Vectors]:
        """Each text's vector, and each span's as if it were a text of its own."""
        parts = [text[a:b] for text, pairs in zip(texts, spans, strict=True) for a, b in pairs]
        return self.embed(texts), self.embed(parts)


DAMAGES = (
    "truncate vectors",
    "truncate sentence vectors",
    "truncate postings",
    "corrupt database",
    "delete manifest",
    "other model",
    "missing generation",
)


def damage_index(index_dir: Path, damage: str) -> None:
    """Damage the live generation of the index at `index_dir` in one of the `DAMAGES` ways."""
    live = IndexLayout(index_dir).current()
    assert live is not None
    if damage == "truncate vectors":
        path = live / VECTORS_NAME
        path.write_bytes(path.read_bytes()[:40])
    elif damage == "truncate sentence vectors":
        path = live / SENTENCE_VECTORS_NAME
        path.write_bytes(path.read_bytes()[:200])
    elif damage == "truncate postings":
        path = live / POSTINGS_PASSAGES_NAME
        path.write_bytes(path.read_bytes()[:-4])  # the last passage id
    elif damage == "corrupt database":
        (live / "passages.sqlite").write_bytes(b"this is not sqlite" * 100)
    elif damage == "delete manifest":
        (live / MANIFEST_NAME).unlink()
    elif damage == "other model":
        manifest = json.loads((live / MANIFEST_NAME).read_text("utf-8"))
        manifest["dimension"] = 768
        (live / MANIFEST_NAME).write_text(json.dumps(manifest), "utf-8")
    else:
        (index_dir / "CURRENT").write_text("gone-generation\n", "utf-8")


@pytest.fixture(autouse=True, scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One cache of exported ONNX models and one feedback key for the test session (and the
    processes it starts), not the user's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CITEBOT_CACHE_DIR", str(tmp_path_factory.mktemp("onnx-cache")))
        patch.setenv(
            "CITEBOT_FEEDBACK_KEY_FILE", str(tmp_path_factory.mktemp("config") / "feedback.key")
        )
        yield


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    """Each test reads settings anew (the CLI caches them for the life of a process)."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def fail_on_error_logs(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    """Fail any test during which citebot or discord.py logged an ERROR (such as a quote
    dropped by verification). Tests that provoke errors on purpose are marked
    `allow_error_logs`."""
    yield
    if request.node.get_closest_marker("allow_error_logs"):
        return
    errors = [
        f"{record.name}: {record.getMessage()}"
        for record in caplog.get_records("call")
        if record.levelno >= logging.ERROR and record.name.split(".")[0] in _WATCHED_LOGGERS
    ]
    assert not errors, f"errors were logged: {errors}"


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line builds and answers with the fake embedder instead of the model."""
    for module in ("index.build", "index.engine"):
        monkeypatch.setattr(f"{module}.load_embedder", lambda *_, **__: FakeEmbedder())
    # The engine looks up the model the index names; the fake one is nowhere to be found.
    monkeypatch.setattr("index.engine.resolve_model", lambda name: name)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with the index in a fresh temporary directory and no .env file."""
    return Settings(_env_file=None, index_dir=tmp_path / "index")  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def seed_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The shipped seeds indexed once with the real model (read-only: tests that change an
    index build their own). A generous cooldown: tests ask many questions as one user."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        index_dir=tmp_path_factory.mktemp("seed") / "index",
        discord_cooldown_questions=100,
    )
    build_index([SEEDS], settings)
    return settings


@pytest.fixture(scope="session")
def seed_engine(seed_settings: Settings) -> Engine:
    """An engine over `seed_settings`, warmed up (model loaded), shared by the bot tests."""
    engine = Engine(seed_settings)
    engine.warm_up()
    return engine


@pytest.fixture(scope="session")
def milvus_lite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Milvus Lite file for the test session (one embedded Milvus, started once); each
    test that uses it has indexes of its own names in it (`milvus_settings`)."""
    return tmp_path_factory.mktemp("milvus") / "milvus.db"


_MILVUS_NAMES = itertools.count()


def milvus_settings(uri: Path | str, index_dir: Path, **extra: object) -> Settings:
    """Settings for a new index of its own name in the Milvus at `uri`."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        index_dir=index_dir,
        store="milvus",
        milvus_uri=str(uri),
        milvus_collection=f"test{next(_MILVUS_NAMES)}",
        **extra,
    )


@pytest.fixture(params=["local", "milvus"])
def store_settings(
    request: pytest.FixtureRequest, tmp_path: Path, milvus_lite: Path
) -> Iterator[Settings]:
    """Settings for a new index in each store: a local directory, and Milvus Lite (whose
    collections are dropped afterwards)."""
    if request.param == "local":
        yield Settings(_env_file=None, index_dir=tmp_path / "index")  # type: ignore[call-arg]
        return
    settings = milvus_settings(milvus_lite, tmp_path / "index")
    yield settings
    drop_milvus_index(settings)


def drop_milvus_index(settings: Settings) -> None:
    """Drop an index's alias and every collection of its generations."""
    from index.milvus.client import connect

    client = connect(settings)
    if settings.milvus_collection in client.list_aliases()["aliases"]:
        client.drop_alias(settings.milvus_collection)
    for name in client.list_collections():
        if name.startswith(f"{settings.milvus_collection}_"):
            client.drop_collection(name)


@pytest.fixture
def seed_index(settings: Settings, fake_embedder: FakeEmbedder) -> Settings:
    """The shipped seeds, indexed with the fake embedder."""
    build_index([SEEDS], settings, embedder=fake_embedder)
    return settings


def write_files(directory: Path, files: Mapping[str, str]) -> Path:
    """`directory`, made, holding each named file with its text (an article corpus)."""
    directory.mkdir()
    for name, text in files.items():
        (directory / name).write_text(text, "utf-8")
    return directory


def fake_engine_over(articles: Sequence[dict[str, str]], root: Path, **setting: object) -> Engine:
    """An engine over `articles` (JSONL records), indexed in `root` with the fake embedder,
    with any `setting` given."""
    corpus = root / "articles.jsonl"
    corpus.write_text("\n".join(json.dumps(article) for article in articles), "utf-8")
    settings = Settings(_env_file=None, index_dir=root / "index", **setting)  # type: ignore[call-arg]
    embedder = FakeEmbedder()
    build_index([corpus], settings, embedder=embedder)
    return Engine(settings, embedder=embedder)
