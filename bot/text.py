"""Plain text that both adapters show: shortened labels and the index's stats.

No Discord here, so the command line can use it without importing discord.py.
"""

from __future__ import annotations

from index.records import IndexStats

UNKNOWN = "unknown"
# Said before the quotes when a "who is X?" name belongs to several people.
SEVERAL_PEOPLE = "Several people in the articles have this name:"
# Outlets listed by `citebot stats` and `/stats`, the most frequent first.
OUTLETS_SHOWN = 10


def shorten(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in "…" when cut (never used on
    quotes, which are shown whole or not at all)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def one_line(text: str, limit: int) -> str:
    """`text` on one line (whitespace runs become one space), shortened to `limit`."""
    return shorten(" ".join(text.split()), limit)


def stats_rows(stats: IndexStats) -> list[tuple[str, str]]:
    """(label, value) rows describing what the index holds, for any display."""
    dates = (
        f"{stats.first_published} to {stats.last_published}" if stats.first_published else UNKNOWN
    )
    outlets = [outlet for outlet in stats.outlets[:OUTLETS_SHOWN] if outlet.strip()]
    return [
        ("Articles", f"{stats.articles:,}"),
        ("Passages", f"{stats.passages:,}"),
        ("Outlets", ", ".join(outlets) or UNKNOWN),
        ("Published", dates),
        ("Model", f"{stats.model} ({stats.backend}, {stats.dimension} dimensions)"),
        ("Size on disk", f"{stats.size_bytes / 1e6:,.1f} MB"),
        ("Built at", stats.built_at if stats.built_at.strip() else UNKNOWN),
    ]
