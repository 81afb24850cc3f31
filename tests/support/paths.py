"""Where things are: the repository, the shipped seeds, and the data sets in `../shared`."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "seeds"
SHARED = REPO.parent / "shared"
BBC = SHARED / "data" / "bbc_news.jsonl"
XQUAD = SHARED / "data" / "xquad_en_dev.json"
SEED_ARTICLE = SEEDS / "000_ebb75e01f9bd3751.txt"
