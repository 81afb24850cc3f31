"""Article corpora written to disk: a directory of text files, or a JSONL file of records."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

# Three small articles (one without a date or source) that the store tests build from.
ARTICLES: list[dict[str, str | None]] = [
    {
        "id": "harbour",
        "title": "Harbour news",
        "text": "The harbour of Vigo opened a new pier.\n\nFishermen cheered the pier.",
        "published": "2020-01-15",
        "source": "www.cnn.com",
    },
    {
        "id": "bridge",
        "title": "Bridge news",
        "text": "Engineers in Porto repaired the old bridge over the river.",
        "published": "2021-06-01",
        "source": "BBC",
    },
    {
        "id": "mountain",
        "title": "Mountain news",
        "text": "Climbers reached the summit of Aneto after a long night.",
        "published": None,
        "source": None,
    },
]


def write_files(directory: Path, files: Mapping[str, str]) -> Path:
    """`directory`, made, holding each named file with its text (an article corpus)."""
    directory.mkdir()
    for name, text in files.items():
        (directory / name).write_text(text, "utf-8")
    return directory


def write_corpus(root: Path, articles: list[dict[str, str | None]]) -> Path:
    """`root/articles.jsonl` (`root` made if need be), holding `articles` as JSONL records."""
    root.mkdir(exist_ok=True)
    path = root / "articles.jsonl"
    path.write_text("".join(json.dumps(a) + "\n" for a in articles), "utf-8")
    return path
