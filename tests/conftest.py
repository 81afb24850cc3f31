"""Fixtures and hooks only: a fast deterministic embedder, and indexes built from the shipped
seeds. The helpers they use, which tests and benchmarks import too, live in `tests.support`."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.build import build_index
from index.config import Settings, get_settings
from index.engine import Engine
from tests.support.embedder import FakeEmbedder
from tests.support.milvus import drop_milvus_index, milvus_settings
from tests.support.paths import SEEDS

_WATCHED_LOGGERS = {"index", "bot", "discord", "citebot"}


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


@pytest.fixture
def seed_index(settings: Settings, fake_embedder: FakeEmbedder) -> Settings:
    """The shipped seeds, indexed with the fake embedder."""
    build_index([SEEDS], settings, embedder=fake_embedder)
    return settings
