"""Indexes for tests: an engine over a few articles with the fake embedder, and ways to damage
a built index."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.build import build_index
from index.config import Settings
from index.engine import Engine
from index.local.layout import MANIFEST_NAME, SENTENCE_VECTORS_NAME, VECTORS_NAME, IndexLayout
from index.local.postings import POSTINGS_PASSAGES_NAME
from tests.support.embedder import FakeEmbedder


def fake_engine_over(articles: Sequence[dict[str, str]], root: Path, **setting: object) -> Engine:
    """An engine over `articles` (JSONL records), indexed in `root` with the fake embedder,
    with any `setting` given."""
    corpus = root / "articles.jsonl"
    corpus.write_text("\n".join(json.dumps(article) for article in articles), "utf-8")
    settings = Settings(_env_file=None, index_dir=root / "index", **setting)  # type: ignore[call-arg]
    embedder = FakeEmbedder()
    build_index([corpus], settings, embedder=embedder)
    return Engine(settings, embedder=embedder)


DAMAGES = (
    "truncate vectors",
    "truncate sentence vectors",
    "truncate postings",
    "corrupt database",
    "delete manifest",
    "other model",
    "missing generation",
    "manifest extra a list",
)
# Damage found only when the damaged part is read (a question, not `stats`): files whose
# header is whole and whose values are not what a build writes. Opening the index reads none
# of the values, as a large index's would take long to read.
READ_DAMAGES = (
    "overwrite vectors",
    "overwrite sentence vectors",
    "postings out of range",
)


def damage_index(index_dir: Path, damage: str) -> None:
    """Damage the live generation of the index at `index_dir` in one of the `DAMAGES` or
    `READ_DAMAGES` ways."""
    live = IndexLayout(index_dir).current()
    assert live is not None
    manifest = json.loads((live / MANIFEST_NAME).read_text("utf-8"))
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
    elif damage in ("other model", "manifest extra a list"):
        if damage == "other model":
            manifest["dimension"] = 768
        else:
            manifest["extra"] = [manifest["extra"]]
        (live / MANIFEST_NAME).write_text(json.dumps(manifest), "utf-8")
    elif damage == "overwrite vectors":
        # A flat FAISS file ends with the vectors: each float becomes about 3.5e9.
        path = live / VECTORS_NAME
        data = path.read_bytes()
        size = manifest["passages"] * manifest["dimension"] * 4
        path.write_bytes(data[:-size] + b"\x4f" * size)
    elif damage == "overwrite sentence vectors":
        vectors = np.load(live / SENTENCE_VECTORS_NAME, mmap_mode="r+")
        vectors[:] = np.nan
        vectors.flush()
    elif damage == "postings out of range":
        postings = np.load(live / POSTINGS_PASSAGES_NAME, mmap_mode="r+")
        postings[:] = np.iinfo(postings.dtype).max
        postings.flush()
    else:
        (index_dir / "CURRENT").write_text("gone-generation\n", "utf-8")
