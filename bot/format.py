"""Discord replies built from engine results, always within Discord's limits.

Quotes are never cut: when a reply would be too long, whole quotes and sources are dropped.
Markdown and mentions in article text are escaped, and every reply is sent with
`allowed_mentions=NONE`, so nothing quoted can ping anyone or break out of its formatting.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import discord

from index.answer import ABSTAIN_MESSAGE, Answer, Citation
from index.engine import SearchResult, SourceView
from index.reader import StoredArticle
from index.stats import IndexStats

CONTENT_LIMIT = 2000
EMBED_TITLE_LIMIT = 256
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_FIELD_LIMIT = 1024
EMBED_TOTAL_LIMIT = 6000
EMBEDS_PER_MESSAGE = 10
TITLE_SHOWN = 120
# Outlet, date and author are cut to this (three such fields keep an embed under 6,000).
METADATA_SHOWN = 200
NONE = discord.AllowedMentions.none()

HELP = (
    "**citebot** answers questions about the indexed news articles by quoting them.\n"
    "• Mention me with a question, reply to one of my answers to follow up, or DM me.\n"
    "• `/ask question` (add `private: True` to see the answer alone).\n"
    "• `/search query` lists the best passages; `/source id` shows a cited passage in context.\n"
    "• `/article title` shows an article; `/stats` shows what is indexed.\n"
    "Every quote is verbatim; the number after it leads to its source."
)


# <@id>, <@!id>, <@&role>, <#channel>: a zero-width space after "<" keeps them as plain text.
_MENTION_SYNTAX = re.compile(r"<(?=[@#])")


def safe(text: str) -> str:
    """Article or user text made inert: no markdown, no mentions of anyone or anything."""
    text = _MENTION_SYNTAX.sub("<\u200b", discord.utils.escape_mentions(text))
    return discord.utils.escape_markdown(text)


def shorten(text: str, limit: int) -> str:
    """A title or label cut to `limit` characters (never used on quotes)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def source_line(citation: Citation) -> str:
    """`[n] Title — outlet · date · ¶3 · id · <url>` for one citation."""
    details = [f"¶{citation.paragraph}", f"`{citation.id}`"]
    if citation.published:
        details.insert(0, citation.published[:10])
    if citation.source:
        details.insert(0, safe(citation.source))
    line = (
        f"**[{citation.n}]** {safe(shorten(citation.title, TITLE_SHOWN))} — {' · '.join(details)}"
    )
    if citation.url:
        line += f" · <{citation.url}>"
    return line


def format_answer(answer: Answer) -> str:
    """The quotes with [n] markers, then their sources, in at most 2,000 characters."""
    if answer.abstained:
        return format_abstention(answer)
    notice = f"*{answer.notice}*\n" if answer.notice else ""
    by_number = {citation.n: citation for citation in answer.citations}
    quotes: list[str] = []
    sources: list[str] = []
    for part in answer.answer:
        quote = f"> {safe(part.text)} " + "".join(f"[{n}]" for n in part.citations)
        lines = [source_line(by_number[n]) for n in part.citations]
        candidate = _compose(notice, [*quotes, quote], [*sources, *lines])
        if len(candidate) <= CONTENT_LIMIT:
            quotes.append(quote)
            sources.extend(lines)
    if not quotes:
        first = answer.citations[0]
        return shorten(
            f"{notice}The best passage is too long to quote here; see `/source id:{first.id}`"
            f" ({safe(shorten(first.title, TITLE_SHOWN))}).",
            CONTENT_LIMIT,
        )
    return _compose(notice, quotes, sources)


def _compose(notice: str, quotes: Sequence[str], sources: Sequence[str]) -> str:
    return notice + "\n".join(quotes) + "\n\n**Sources**\n" + "\n".join(sources)


def format_abstention(answer: Answer) -> str:
    """A short, friendly 'not found', with the closest article titles."""
    text = ABSTAIN_MESSAGE
    if answer.closest_titles:
        titles = "; ".join(f"*{safe(shorten(t, TITLE_SHOWN))}*" for t in answer.closest_titles)
        text += f" The closest articles I have: {titles}."
    return shorten(text, CONTENT_LIMIT)


def passage_embeds(views: Sequence[SourceView]) -> list[discord.Embed]:
    """The cited passages in full, one embed each, dropping whole passages past the limits."""
    embeds: list[discord.Embed] = []
    total = 0
    for view in views[:EMBEDS_PER_MESSAGE]:
        cited = [p for p in view.paragraphs if p["cited"]]
        body = "\n\n".join(safe(p["text"]) for p in cited)
        if len(body) > EMBED_DESCRIPTION_LIMIT:
            body = safe(view.quote)
        title = shorten(view.title, EMBED_TITLE_LIMIT)
        size = len(body) + len(title) + len(view.id) + 20
        if len(body) > EMBED_DESCRIPTION_LIMIT or total + size > EMBED_TOTAL_LIMIT:
            continue
        embed = discord.Embed(title=title, description=body, url=view.url or None)
        embed.set_footer(text=f"{view.id} · ¶{view.paragraph}")
        embeds.append(embed)
        total += size
    return embeds


def format_search(query: str, results: Sequence[SearchResult]) -> str:
    """Ranked passages with their citation ids, within 2,000 characters."""
    if not results:
        return f"No passages found for “{safe(shorten(query, 100))}”."
    lines: list[str] = []
    for result in results:
        preview = safe(shorten(" ".join(result.text.split()), 200))
        line = (
            f"**{result.rank}.** {safe(shorten(result.title, 90))} ¶{result.paragraph_first}"
            f" · `{result.id}`\n{preview}"
        )
        if len("\n".join([*lines, line])) > CONTENT_LIMIT:
            break
        lines.append(line)
    return "\n".join(lines)


def source_embed(view: SourceView) -> discord.Embed:
    """A cited span with its neighbouring paragraphs and the article's metadata."""
    embed = discord.Embed(title=shorten(view.title, EMBED_TITLE_LIMIT), url=view.url or None)
    budget = EMBED_DESCRIPTION_LIMIT
    parts: list[str] = []
    for paragraph in view.paragraphs:
        text = safe(paragraph["text"])
        block = (
            f"**¶{paragraph['number']}** {text}"
            if paragraph["cited"]
            else f"¶{paragraph['number']} {text}"
        )
        if len(block) + 2 > budget:
            continue
        parts.append(block)
        budget -= len(block) + 2
    embed.description = "\n\n".join(parts) or safe(shorten(view.quote, EMBED_DESCRIPTION_LIMIT))
    add_metadata_fields(embed, view.source, view.published, view.author)
    embed.set_footer(text=f"{view.id} · article {shorten(view.article_id, 150)}")
    return embed


def add_metadata_fields(
    embed: discord.Embed, source: str | None, published: str | None, author: str | None
) -> None:
    """Outlet, date and author as inline fields, each when known."""
    for name, value in (("Outlet", source), ("Published", published), ("Author", author)):
        if value:
            embed.add_field(name=name, value=shorten(safe(value), METADATA_SHOWN), inline=True)


def article_embed(article: StoredArticle) -> discord.Embed:
    """An article's metadata and lead paragraph."""
    start, end = article.paragraphs[0] if article.paragraphs else (0, 0)
    lead = article.text[start:end]
    embed = discord.Embed(
        title=shorten(article.title, EMBED_TITLE_LIMIT),
        url=article.url or None,
        description=safe(lead) if len(safe(lead)) <= EMBED_DESCRIPTION_LIMIT else None,
    )
    add_metadata_fields(embed, article.source, article.published, article.author)
    embed.add_field(name="Paragraphs", value=str(len(article.paragraphs)), inline=True)
    embed.set_footer(text=shorten(f"article {article.id}", 200))
    return embed


def stats_embed(stats: IndexStats) -> discord.Embed:
    """What the index holds."""
    embed = discord.Embed(title="citebot index")
    dates = (
        f"{stats.first_published} to {stats.last_published}" if stats.first_published else "unknown"
    )
    outlets = ", ".join(stats.outlets[:10]) or "unknown"
    for name, value in (
        ("Articles", f"{stats.articles:,}"),
        ("Passages", f"{stats.passages:,}"),
        ("Outlets", safe(shorten(outlets, EMBED_FIELD_LIMIT))),
        ("Published", dates),
        ("Model", f"{stats.model} ({stats.backend})"),
        ("Built at", stats.built_at),
    ):
        embed.add_field(name=name, value=value, inline=name not in {"Outlets", "Model"})
    return embed
