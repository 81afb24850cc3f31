"""What an index holds, for `citebot stats` and the bot's `/stats`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from index.reader import IndexReader


@dataclass(frozen=True, slots=True)
class IndexStats:
    """Counts, outlets, date range, model and build time of the live index."""

    index_dir: str
    generation: str
    articles: int
    passages: int
    outlets: list[str]
    first_published: str | None
    last_published: str | None
    model: str
    backend: str
    dimension: int
    size_bytes: int
    built_at: str

    def as_json(self) -> dict[str, Any]:
        """The stats as a JSON-ready dict."""
        return asdict(self)


def index_stats(reader: IndexReader, index_dir: str) -> IndexStats:
    """Gather the stats of the generation `reader` has open."""
    manifest = reader.manifest
    outlets = [
        row[0]
        for row in reader.query(
            "SELECT source FROM articles WHERE source IS NOT NULL"
            " GROUP BY source ORDER BY count(*) DESC, source"
        )
    ]
    first, last = reader.query(
        "SELECT min(substr(published, 1, 10)), max(substr(published, 1, 10)) FROM articles"
    )[0]
    return IndexStats(
        index_dir=index_dir,
        generation=manifest.generation,
        articles=manifest.articles,
        passages=manifest.passages,
        outlets=outlets,
        first_published=first,
        last_published=last,
        model=manifest.model,
        backend=manifest.backend,
        dimension=manifest.dimension,
        size_bytes=reader.size_on_disk(),
        built_at=manifest.built_at,
    )
