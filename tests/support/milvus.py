"""Milvus indexes for tests: settings for an index of its own name, and dropping it."""

from __future__ import annotations

import itertools
from pathlib import Path

from index.config import Settings

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


def drop_milvus_index(settings: Settings) -> None:
    """Drop an index's alias and every collection of its generations."""
    from index.milvus.client import connect

    client = connect(settings)
    if settings.milvus_collection in client.list_aliases()["aliases"]:
        client.drop_alias(settings.milvus_collection)
    for name in client.list_collections():
        if name.startswith(f"{settings.milvus_collection}_"):
            client.drop_collection(name)
