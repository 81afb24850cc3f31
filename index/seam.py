"""Which store an index lives in: the one place that reads `CITEBOT_STORE`.

`local` (the default) is an index directory (`index.local`); `milvus` is a Milvus Lite file
or a Milvus server (`index.milvus`). Each is imported only when chosen, inside the function
that opens it: this module imports neither store at its top, and `index.interfaces` holds
the protocols both implement.
"""

from __future__ import annotations

from index.config import Settings
from index.interfaces import IndexSource, IndexTarget, LiveIndex


def live_index(settings: Settings) -> LiveIndex:
    """Where the live generation of the configured index is found."""
    if settings.store == "milvus":
        from index.milvus.reader import MilvusIndex

        return MilvusIndex(settings)
    from index.local.reader import LocalIndex

    return LocalIndex(settings.index_dir)


def open_reader(settings: Settings) -> IndexSource:
    """The live generation of the configured index, opened and checked."""
    return live_index(settings).open()


def build_target(settings: Settings) -> IndexTarget:
    """Where `citebot build` writes the configured index."""
    if settings.store == "milvus":
        from index.milvus.writer import MilvusTarget

        return MilvusTarget(settings)
    from index.local.writer import LocalTarget

    return LocalTarget(settings.index_dir, settings.faiss_index)
