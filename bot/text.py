"""Plain text that every adapter shows: shortened labels, safe links and the index's stats.

No Discord here, so the command line and the web pages can use it without importing
discord.py.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from index.records import IndexStats

UNKNOWN = "unknown"
# Said before the quotes when a "who is X?" name belongs to several people.
SEVERAL_PEOPLE = "Several people in the articles have this name:"
# Outlets listed by `citebot stats` and `/stats`, the most frequent first.
OUTLETS_SHOWN = 10
# Longer links are not shown (Discord refuses embed urls past about this length).
URL_LIMIT = 2048
# A plain web address: Discord refuses other schemes in embeds, and "<", ">" or a space would
# end the `<url>` it is shown in, letting the rest be read as markdown; a web page links no
# other scheme either (`javascript:`, `data:`).
_WEB_LINK = re.compile(r"https?://[^\s<>\x00-\x1f\x7f]+", re.IGNORECASE)
# A quote a link opens a page at (`at_quote`): whole up to this many words, else its first
# and last words (enough to find it, short enough for a message).
FRAGMENT_WHOLE_WORDS = 8
FRAGMENT_START_WORDS = 6
FRAGMENT_END_WORDS = 3


def shorten(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in "…" when cut (never used on
    quotes, which are shown whole or not at all)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def one_line(text: str, limit: int) -> str:
    """`text` on one line (whitespace runs become one space), shortened to `limit`."""
    return shorten(" ".join(text.split()), limit)


def web_link(url: str | None) -> str | None:
    """`url` when it is a plain http(s) address that is safe to show and link; else None."""
    if not url or len(url) > URL_LIMIT or not _WEB_LINK.fullmatch(url):
        return None
    try:
        return url if urlsplit(url).hostname else None
    except ValueError:  # a malformed host, such as "http://[::1"
        return None


def at_quote(link: str, quote: str) -> str:
    """`link` to a page, opening it at `quote` where the browser can (a text fragment,
    `#:~:text=`, which Chromium-based browsers and Safari highlight): a short quote whole, a
    longer one by its first words and its last. The browser finds them in the page as it
    shows it; where it cannot, the page opens at its top."""
    words = quote.split()
    if len(words) <= FRAGMENT_WHOLE_WORDS:
        terms = [words]
    else:
        terms = [words[:FRAGMENT_START_WORDS], words[-FRAGMENT_END_WORDS:]]
    directive = ":~:text=" + ",".join(_fragment_term(" ".join(term)) for term in terms)
    return link + directive if "#" in link else f"{link}#{directive}"


def _fragment_term(text: str) -> str:
    """`text` percent-encoded for a text fragment: everything but letters, digits and
    `_.~`, "-", "," and "&" included (the spec's reserved characters). A character UTF-8
    cannot carry (a lone surrogate) becomes "?", which a page never matches: the link then
    opens at the top."""
    return quote(text, safe="", errors="replace").replace("-", "%2D")


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
