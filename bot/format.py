"""Discord replies built from engine results, always within Discord's limits.

Quotes are never cut: when a reply would be too long, whole quotes and sources are dropped.
Markdown, mentions and Discord's other markup (timestamps, custom emoji, command and channel
links) in article text are escaped, embed titles included, and every reply is sent with
`allowed_mentions=NONE`, so nothing quoted can ping anyone, come alive or break out of its
formatting. Replies that quote articles are sent with link previews suppressed: a link quoted
from an article shows as a link, never as a preview or an invite card.

An answer's sources open: each title links to its article, and a second link opens the article
at the quoted sentence; the citation ids, for `/source`, are in small print under them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TypeGuard

import discord

from bot.text import SEVERAL_PEOPLE, at_quote, one_line, shorten, stats_rows, web_link
from index.records import (
    ABSTAIN_MESSAGE,
    Answer,
    ArticleFilter,
    Citation,
    IndexStats,
    SearchResult,
    SourceView,
    StoredArticle,
)

CONTENT_LIMIT = 2000
EMBED_TITLE_LIMIT = 256
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_FIELD_LIMIT = 1024
EMBED_TOTAL_LIMIT = 6000
EMBEDS_PER_MESSAGE = 10
TITLE_SHOWN = 120
# A source line with its links longer than this drops the link at the quote, then the
# title's (a long address would crowd the quotes out of the message).
SOURCE_LINE_SHOWN = 600
# Outlet, date and author are cut to this (three such fields keep an embed under 6,000).
METADATA_SHOWN = 200
NONE = discord.AllowedMentions.none()
# Where a citation opens, from its id and its article's own address (None: it has none):
# `Engine.link`, the one place that decides it.
Linker = Callable[[str, str | None], str | None]
# How a public /ask answer shows the question it answers, on its first line.
ASKED = "**Q:**"
ASKED_SHOWN = 300

HELP = (
    "**citebot** answers questions about the indexed news articles by quoting them.\n"
    "• Mention me with a question, reply to one of my answers to follow up, or DM me.\n"
    "• `/ask question` (add `private: True` to see the answer alone).\n"
    "• `/search query` lists the best passages; `/source id` shows a cited passage in context.\n"
    "• `/ask` and `/search` take `since`, `until` (2022-06-01, 2022-06 or 2022) and `outlet`.\n"
    "• `/article title` shows an article; `/stats` shows what is indexed.\n"
    "Every quote is verbatim; the number after it leads to its source, whose title opens"
    " the article."
)


# Discord's angle-bracket forms: mentions (<@id>, <@!id>, <@&role>, <#channel>), timestamps
# (<t:1700000000:R>), custom emoji (<:name:id>, <a:name:id>), command mentions (</name:id>) and
# server-guide links (<id:customize>). A zero-width space after "<" keeps them as plain text.
_MENTION_SYNTAX = re.compile(r"<(?=[@#:/]|[A-Za-z][\w-]*:)")
# Markup in article text, made plain with a backslash (Discord shows a backslashed
# punctuation mark as the mark alone): the characters of bold, italics, strikethrough,
# spoilers, code and masked links anywhere, and a quote, heading or list mark (`>`, `#`, `-`)
# that starts a line. Web addresses are left whole: Discord links everything up to a space
# or "<" and would show a backslash inside one. (discord.utils.escape_markdown leaves the
# second of two masked links on a line live, and escapes inside a web address after one.)
_MARKUP = re.compile(
    r"(?P<url>https?://[^\s<]+[^<.,:;\"')\]\s])"
    r"|(?P<indent>(?<![^\r\n])[ \t]*)(?P<mark>[>#-])"
    r"|[\\*_~|`\[]"
)
# What may be shown in bold: words, spaces and plain punctuation, next to spaces, quotes,
# brackets or sentence punctuation.
_PLAIN_PHRASE = re.compile(r"[\w][\w .,'’&%$€£-]*", re.UNICODE)
_PLAIN_NEIGHBOURS = "\"“”‘’'().,;!?"
_ANY_WEB_ADDRESS = re.compile(r"\w+://\S*|www\.\S*", re.IGNORECASE)
# What Discord takes for a line break: a quote's next line must start with "> " again.
_LINE_BREAK = re.compile(r"\r\n?|\n")
_ESCAPE = re.compile(r"\\(.)")


def safe(text: str) -> str:
    """Article or user text made inert: no markdown, no mentions of anyone or anything."""
    text = _MENTION_SYNTAX.sub("<\u200b", discord.utils.escape_mentions(text))
    return _MARKUP.sub(_escape_markup, text)


def _escape_markup(match: re.Match[str]) -> str:
    if match["url"]:
        return match["url"]
    if match["mark"]:
        return f"{match['indent']}\\{match['mark']}"
    return "\\" + match.group()


def quote_block(text: str, highlight: Sequence[int] | None = None) -> str:
    """`text` made inert and block-quoted: every line of it starts with `> `, so no line of
    it can leave the quote. Its characters are all kept; the `highlight` [start, end), if
    any, is shown in bold (the only live markup in it)."""
    shown = safe(text)
    if highlight and _can_bold(text, *highlight):
        start, end = highlight
        shown = f"{safe(text[:start])}**{safe(text[start:end])}**{safe(text[end:])}"
    return "> " + _LINE_BREAK.sub(lambda line_break: line_break.group() + "> ", shown)


def _can_bold(text: str, start: int, end: int) -> bool:
    """Whether `text[start:end]` can be shown in bold without changing anything else: a
    phrase of words and plain punctuation, standing apart from its neighbours, in no web
    address."""
    if not (0 <= start < end <= len(text)) or not _PLAIN_PHRASE.fullmatch(text[start:end]):
        return False
    outside = text[start - 1 : start] + text[end : end + 1]
    if any(not (c.isspace() or c in _PLAIN_NEIGHBOURS) for c in outside):
        return False
    return not any(
        url.start() <= end and start <= url.end() for url in _ANY_WEB_ADDRESS.finditer(text)
    )


def label(text: str, limit: int) -> str:
    """A title or other metadata on one line, cut to `limit` characters, made inert."""
    return safe(one_line(text, limit))


def inert(text: str, limit: int) -> str:
    """`text` on one line, made inert, in at most `limit` characters (an embed title): cut
    with "…" between two escapes, never inside one."""
    shown = safe(" ".join(text.split()))
    if len(shown) <= limit:
        return shown
    cut = shown[: limit - 1]
    # A backslash that escapes nothing any more would escape the "…".
    if (len(cut) - len(cut.rstrip("\\"))) % 2:
        cut = cut[:-1]
    return cut.rstrip() + "…"


def asked_heading(question: str) -> str:
    """The line a public /ask answer starts with: the question it answers."""
    return f"{ASKED} {label(question, ASKED_SHOWN)}\n"


def asked_in(content: str) -> str | None:
    """The question an answer's first line shows (`asked_heading`), as it was asked; None
    when the answer shows none."""
    first, _, _ = content.partition("\n")
    if not first.startswith(ASKED + " "):
        return None
    shown = first.removeprefix(ASKED + " ")
    return _ESCAPE.sub(r"\1", shown.replace("\u200b", "")).strip() or None


def source_line(citation: Citation) -> str:
    """`[n] [Title](<url>) — outlet · date · ¶3 · [at the quote](<url#:~:text=...>)` for one
    citation: its title opens its article, the last link the article at the quote (neither
    with a preview: the addresses are in <...>); where its address is not known, the title
    alone. Its id is in the answer's footer (`ids_footer`)."""
    details = [f"¶{citation.paragraph}"]
    if citation.published:
        details.insert(0, citation.published[:10])
    if citation.source:
        details.insert(0, label(citation.source, METADATA_SHOWN))
    number, about = f"**[{citation.n}]** ", " — " + " · ".join(details)
    link = web_link(citation.url)
    if link:
        linked = f"[{_in_brackets(citation.title)}](<{link}>){about}"
        for line in (f"{linked} · [at the quote](<{at_quote(link, citation.quote)}>)", linked):
            if len(number + line) <= SOURCE_LINE_SHOWN:
                return number + line
    return number + label(citation.title, TITLE_SHOWN) + about


def _in_brackets(title: str) -> str:
    """A title as a masked link shows it: its `label`, and no "]" of it ends the brackets."""
    return label(title, TITLE_SHOWN).replace("]", "\\]")


def ids_footer(citations: Sequence[Citation]) -> str:
    """The citation ids of an answer's sources, in small print under it, for `/source`."""
    return "-# /source ids: " + " · ".join(f"[{c.n}] `{c.id}`" for c in citations)


def format_answer(
    answer: Answer, asked: str | None = None, searched: ArticleFilter | None = None
) -> str:
    """The quotes with [n] markers, their sources, then their ids in small print, in at most
    2,000 characters; after the question `asked`, when given (a public /ask answer shows what
    it answers). `searched`: the filters the question was asked with, which a "not found"
    names."""
    heading = asked_heading(asked) if asked else ""
    if answer.abstained:
        return shorten(heading + format_abstention(answer, searched), CONTENT_LIMIT)
    notice = heading + (f"*{answer.notice}*\n" if answer.notice else "")
    if answer.people:
        named = ", ".join(
            f"{label(person, TITLE_SHOWN)} [{n}]" for n, person in enumerate(answer.people, 1)
        )
        notice += f"{SEVERAL_PEOPLE} {named}.\n"
    by_number = {citation.n: citation for citation in answer.citations}
    quotes: list[str] = []
    cited: list[Citation] = []
    for part in answer.answer:
        quote = f"{quote_block(part.text, part.highlight)} " + "".join(
            f"[{n}]" for n in part.citations
        )
        sources = [by_number[n] for n in part.citations]
        candidate = _compose(notice, [*quotes, quote], [*cited, *sources])
        if len(candidate) <= CONTENT_LIMIT:
            quotes.append(quote)
            cited.extend(sources)
    if not quotes:
        first = answer.citations[0]
        return shorten(
            f"{notice}The best passage is too long to quote here; see `/source id:{first.id}`"
            f" ({label(first.title, TITLE_SHOWN)}).",
            CONTENT_LIMIT,
        )
    return _compose(notice, quotes, cited)


def _compose(notice: str, quotes: Sequence[str], cited: Sequence[Citation]) -> str:
    body = "\n".join(quotes)
    sources = "\n".join(source_line(citation) for citation in cited)
    return f"{notice}{body}\n\n**Sources**\n{sources}\n{ids_footer(cited)}"


def format_abstention(answer: Answer, searched: ArticleFilter | None = None) -> str:
    """A short, friendly 'not found': what was searched (the filters `searched`, the period
    the question names, or every article), and, when there are any, that the closest
    articles are offered below it (as buttons: `bot.buttons.answer_view`)."""
    text = ABSTAIN_MESSAGE
    if answer.notice:
        text += f" *{label(answer.notice, CONTENT_LIMIT)}*"
    if searched is not None:
        text += f" I searched only articles {searched_text(searched)}."
    elif not answer.notice:
        text += " I searched every article I have."
    if answer.closest:
        text += " The closest ones I have:"
    return shorten(text, CONTENT_LIMIT)


def searched_text(searched: ArticleFilter) -> str:
    """What a filter lets through, as words: `published 2022-06 to 2022-12 from outlets
    named like “AP”`."""
    since, until = searched.since, searched.until
    if since and until:
        words = [f"published {since} to {until}"]
    elif since or until:
        words = [f"published since {since}" if since else f"published until {until}"]
    else:
        words = []
    if searched.outlet:
        words.append(f"from outlets named like “{label(searched.outlet, METADATA_SHOWN)}”")
    return " ".join(words)


def passage_embeds(views: Sequence[SourceView], link: Linker) -> list[discord.Embed]:
    """The cited passages in full, one embed each, dropping whole passages past the limits;
    each title opens where `link` says its citation does."""
    embeds: list[discord.Embed] = []
    total = 0
    for view in views[:EMBEDS_PER_MESSAGE]:
        cited = [p for p in view.paragraphs if p.cited]
        body = "\n\n".join(safe(p.text) for p in cited)
        if len(body) > EMBED_DESCRIPTION_LIMIT:
            body = shorten(safe(view.quote), EMBED_DESCRIPTION_LIMIT)
        title = inert(view.title, EMBED_TITLE_LIMIT)
        size = len(body) + len(title) + len(view.id) + 20
        if total + size > EMBED_TOTAL_LIMIT:
            continue
        embed = discord.Embed(title=title, description=body, url=web_link(link(view.id, view.url)))
        embed.set_footer(text=f"{view.id} · ¶{view.paragraph}")
        embeds.append(embed)
        total += size
    return embeds


def format_search(query: str, results: Sequence[SearchResult]) -> str:
    """Ranked passages with their citation ids, within 2,000 characters."""
    if not results:
        return f"No passages found for “{label(query, 100)}”."
    lines: list[str] = []
    for result in results:
        preview = label(result.text, 200)
        line = (
            f"**{result.rank}.** {label(result.title, 90)} ¶{result.paragraph_first}"
            f" · `{result.id}`\n{preview}"
        )
        if len("\n".join([*lines, line])) > CONTENT_LIMIT:
            break
        lines.append(line)
    return "\n".join(lines)


def source_embed(view: SourceView, link: Linker) -> discord.Embed:
    """A cited span with its neighbouring paragraphs and the article's metadata; its title
    opens where `link` says the citation does.

    The cited paragraphs are always shown (the cited span alone, cut, if they cannot fit);
    neighbouring paragraphs are added while they fit.
    """
    embed = discord.Embed(
        title=inert(view.title, EMBED_TITLE_LIMIT), url=web_link(link(view.id, view.url))
    )
    blocks = [
        (
            f"**¶{paragraph.number}** {safe(paragraph.text)}"
            if paragraph.cited
            else f"¶{paragraph.number} {safe(paragraph.text)}",
            paragraph.cited,
        )
        for paragraph in view.paragraphs
    ]
    budget = EMBED_DESCRIPTION_LIMIT - sum(len(block) + 2 for block, cited in blocks if cited)
    if budget < 0:
        embed.description = shorten(safe(view.quote), EMBED_DESCRIPTION_LIMIT)
    else:
        parts: list[str] = []
        for block, cited in blocks:
            if not cited:
                if len(block) + 2 > budget:
                    continue
                budget -= len(block) + 2
            parts.append(block)
        embed.description = "\n\n".join(parts)
    add_metadata_fields(embed, view.source, view.published, view.author)
    embed.set_footer(text=f"{view.id} · article {shorten(view.article_id, 150)}")
    return embed


def known(value: str | None) -> TypeGuard[str]:
    """Whether a metadata value says anything: Discord refuses a blank embed field."""
    return bool(value and value.strip())


def add_metadata_fields(
    embed: discord.Embed, source: str | None, published: str | None, author: str | None
) -> None:
    """Outlet, date and author as inline fields, each when known."""
    for name, value in (("Outlet", source), ("Published", published), ("Author", author)):
        if known(value):
            embed.add_field(name=name, value=shorten(safe(value), METADATA_SHOWN), inline=True)


def article_embed(article: StoredArticle) -> discord.Embed:
    """An article's metadata and lead paragraph."""
    lead = safe(article.paragraph_text(1) if article.paragraphs else "")
    embed = discord.Embed(
        title=inert(article.title, EMBED_TITLE_LIMIT),
        url=web_link(article.url),
        description=shorten(lead, EMBED_DESCRIPTION_LIMIT),
    )
    add_metadata_fields(embed, article.source, article.published, article.author)
    embed.add_field(name="Paragraphs", value=str(len(article.paragraphs)), inline=True)
    embed.set_footer(text=shorten(f"article {article.id}", 200))
    return embed


def stats_embed(stats: IndexStats) -> discord.Embed:
    """What the index holds."""
    embed = discord.Embed(title="citebot index")
    for name, value in stats_rows(stats):
        embed.add_field(
            name=name,
            value=shorten(safe(value), EMBED_FIELD_LIMIT),
            inline=name not in {"Outlets", "Model"},
        )
    return embed
