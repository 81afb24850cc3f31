"""Discord replies for hostile text: within Discord's limits, quotes verbatim, nothing live.

Replies are built from synthetic answers and sources with fuzzed text, and from real engine
results over fuzzed corpora. Every reply must fit Discord's limits, every quote must read back
as the stored text once Discord's escapes are undone, every line of a quote must stay inside
its `> ` block, and no mention, masked link or markdown from article text may be live.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import discord
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.format import (
    SOURCE_LINE_SHOWN,
    article_embed,
    format_abstention,
    format_answer,
    format_search,
    passage_embeds,
    safe,
    source_embed,
    source_line,
    stats_embed,
)
from bot.text import SEVERAL_PEOPLE, at_quote
from index.build import build_index
from index.config import Settings
from index.engine import Engine
from index.errors import InputError
from index.records import (
    Answer,
    AnswerPart,
    Citation,
    IndexStats,
    SearchResult,
    SourceParagraph,
    SourceView,
    StoredArticle,
)
from tests.support.embedder import FakeEmbedder

# Discord's limits for one message.
CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FIELDS_LIMIT = 25
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
EMBEDS_LIMIT = 10

# Hostile pieces: markdown that would break out of a quote block, mentions, masked links,
# invisible and right-to-left characters, emoji, NUL, lone surrogates.
HOSTILE = [
    "@everyone",
    "@here",
    "<@123>",
    "<@!123456789012345678>",
    "<@&1>",
    "<#1>",
    "[click](https://evil.example)",
    "[a](https://a.example) and [b](https://b.example)",
    "\n> escaped?",
    "\n# heading",
    "\n## heading",
    "\n-# small",
    "\n- item",
    "\n```py\nprint(1)\n```",
    "`code`",
    "||spoiler||",
    "**bold** __under__ ~~strike~~ *it*",
    ">>> rest of message",
    "\\",
    "\r\nline",
    "https://discord.gg/invite",
    "<https://plain.example>",
    "\u200f\u202e\u200d\u0301",
    "👩\u200d👩\u200d👧",
    "\x00",
    "\ud800",
    "",
    " ",
    "x" * 3000,
]
TEXT = st.one_of(
    st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=20)), max_size=12).map("".join),
    st.text(max_size=200),
)
NONEMPTY_TEXT = TEXT.filter(lambda t: bool(t.strip()))
URLS = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "https://example.com/a_b*c",
            "javascript:alert(1)",
            "https://x.example/> [click](https://evil.example)",
            "http://[::1",
            "ftp://files.example/a",
            "https://" + "a" * 3000 + ".example",
            "",
        ]
    ),
    TEXT,
)
# Discord's autolink: a url is shown as it is, escapes and all.
_DISCORD_URL = re.compile(r"https?://[^\s<]+[^<.,:;\"')\]\s]")
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
# A masked link of a source line: its text (escapes and all), its address in <...>.
_SOURCE_LINK = re.compile(r"\[((?:\\.|[^\]\\])*)\]\(<https?://[^\s<>]+>\)")


def unescape(rendered: str) -> str:
    """What Discord shows for escaped text: backslash escapes undone, zero-width spaces
    invisible, urls as they are."""
    shown: list[str] = []
    position = 0
    for url in _DISCORD_URL.finditer(rendered):
        shown.append(_ESCAPED.sub(r"\1", rendered[position : url.start()]))
        shown.append(url.group())
        position = url.end()
    shown.append(_ESCAPED.sub(r"\1", rendered[position:]))
    return "".join(shown).replace("\u200b", "")


def live_markup(rendered: str) -> list[str]:
    """Markup Discord would act on in escaped text: unescaped markdown characters, masked
    links, mentions. Urls are left out (Discord shows them as they are)."""
    # A url and an escaped character are each shown as they are: one plain character.
    plain = _ESCAPED.sub("\ufffc", _DISCORD_URL.sub("\ufffc", rendered))
    found: list[str] = []
    found += re.findall(r"[*_~`|]", plain)
    found += re.findall(r"\[[^\]]*\]\(", plain)
    found += re.findall(r"<[@#]", plain)
    found += re.findall(r"@(?:everyone|here)", plain)
    found += re.findall(r"(?m)^(?:#{1,3} |-# |>>> |> |\s*[-*] )", plain)
    return found


def assert_fits(content: str | None = None, embeds: Sequence[discord.Embed] = ()) -> None:
    """The message would be accepted by Discord."""
    assert content is None or 0 < len(content) <= CONTENT_LIMIT
    assert content is not None or embeds, "a message needs content or an embed"
    assert len(embeds) <= EMBEDS_LIMIT
    total = 0
    for embed in embeds:
        title = embed.title or ""
        description = embed.description or ""
        footer = embed.footer.text or ""
        assert len(title) <= TITLE_LIMIT and len(description) <= DESCRIPTION_LIMIT
        assert len(footer) <= FOOTER_LIMIT and len(embed.fields) <= FIELDS_LIMIT
        assert title or description or embed.fields, "an embed must show something"
        for field in embed.fields:
            assert field.name and field.name.strip() and len(field.name) <= FIELD_NAME_LIMIT
            assert field.value and field.value.strip() and len(field.value) <= FIELD_VALUE_LIMIT
        if embed.url is not None:
            assert re.fullmatch(r"https?://[^\s<>]+", embed.url), embed.url
        total += len(title) + len(description) + len(footer)
        total += sum(len(f.name or "") + len(f.value or "") for f in embed.fields)
    assert total <= EMBED_TOTAL_LIMIT


def shown_quotes(content: str) -> list[tuple[str, int]]:
    """(quote as Discord shows it, with its markdown escapes, citation number) for each
    quote of an answer reply; asserts that every line of the quotes is inside a `> ` block."""
    body = content.split("\n\n**Sources**\n")[0]
    for preface in ("*Your question was cut", SEVERAL_PEOPLE):
        if body.startswith(preface):
            body = body.split("\n", 1)[1]
    lines = re.split(r"\r\n?|\n", body)
    assert all(line.startswith("> ") for line in lines), f"a line left the quote: {lines!r}"
    unquoted = re.sub(r"(\r\n?|\n)> ", r"\1", body.removeprefix("> "))
    found = re.findall(r"(.*?) \[(\d+)\](?:\n|$)", unquoted, re.DOTALL)
    return [(quote, int(number)) for quote, number in found]


def bold_markers(shown: str) -> tuple[str, list[int], str]:
    """Read a shown quote as Discord does: (the text it shows, the offsets in that text
    where an unescaped `**` stands, the shown quote without those `**`)."""
    text: list[str] = []
    markers: list[int] = []
    kept: list[str] = []
    at = 0
    urls = {url.start(): url.group() for url in _DISCORD_URL.finditer(shown)}
    while at < len(shown):
        if at in urls:  # a web address is shown as it is, asterisks and all
            text.append(urls[at].replace("\u200b", ""))
            kept.append(urls[at])
            at += len(urls[at])
        elif shown[at] == "\u200b":  # shown as nothing: the quotes are compared without it
            kept.append(shown[at])
            at += 1
        elif shown[at] == "\\" and at + 1 < len(shown):
            text.append(shown[at + 1])
            kept.append(shown[at : at + 2])
            at += 2
        elif shown.startswith("**", at):
            # Characters shown so far (a web address is one piece of `text`).
            markers.append(sum(map(len, text)))
            at += 2
        else:
            text.append(shown[at])
            kept.append(shown[at])
            at += 1
    return "".join(text), markers, "".join(kept)


def assert_answer_reply(answer: Answer, content: str) -> None:
    """The reply fits, shows only verbatim quotes in `> ` blocks with nothing live in them
    but the bold of each answering phrase, exactly where the answer puts it."""
    assert_fits(content)
    if answer.abstained:
        assert content.startswith("I couldn't find that")
        return
    if "too long to quote here" in content:
        return
    by_number = {citation.n: citation for citation in answer.citations}
    parts = {part.citations[0]: part for part in answer.answer}
    shown = shown_quotes(content)
    assert shown, "an answer shows at least one quote"
    for quote, number in shown:
        text, markers, without_bold = bold_markers(quote)
        assert not live_markup(without_bold), f"live markup in {quote!r}"
        quote_text = by_number[number].quote
        assert text == quote_text.replace("\u200b", "")
        highlight = parts[number].highlight
        if markers or highlight is None:
            # Bold exactly at the answering phrase (it may be shown plain, never elsewhere).
            visible = [offset - quote_text[:offset].count("\u200b") for offset in highlight or []]
            assert markers == visible
    sources, footer = content.split("\n\n**Sources**\n")[1].rsplit("\n", 1)
    ids = [f"[{n}] `{by_number[n].id}`" for _, n in shown]
    assert footer == "-# /source ids: " + " · ".join(ids), footer
    for line in sources.split("\n"):
        assert re.match(r"\*\*\[\d+\]\*\* ", line), line
        # The line's own links (the title's, the one at the quote), each address in <...>:
        # the only live markup in it.
        plain = _SOURCE_LINK.sub(r"\1", line.split(" ", 1)[1])
        assert not live_markup(plain), f"live markup in {line!r}"


def citation(n: int, quote: str, title: str, source: str | None, url: str | None) -> Citation:
    return Citation(
        n=n,
        id=f"0123456789ab-{n}-{n + len(quote)}",
        article_id=f"article-{n}",
        title=title,
        source=source,
        published="2024-03-05T10:00:00+00:00",
        url=url,
        paragraph=n,
        start=n,
        end=n + len(quote),
        quote=quote,
        score=0.9,
    )


def highlights(draw: st.DrawFn, quotes: list[str]) -> list[list[int] | None]:
    """A highlight for some quotes: a non-empty range without edge spaces, as answers give."""
    chosen: list[list[int] | None] = []
    for quote in quotes:
        start = draw(st.integers(0, len(quote) - 1))
        end = draw(st.integers(start + 1, len(quote)))
        phrase = quote[start:end]
        plain = phrase.strip() == phrase and draw(st.booleans())
        chosen.append([start, end] if plain else None)
    return chosen


@settings(max_examples=150, deadline=None)
@given(
    quotes=st.lists(NONEMPTY_TEXT, min_size=1, max_size=3),
    title=TEXT,
    source=st.one_of(st.none(), TEXT),
    url=URLS,
    notice=st.one_of(st.none(), st.just("Your question was cut to its first 1,000 characters.")),
    data=st.data(),
)
def test_answer_replies_fit_and_quote_verbatim(
    quotes: list[str],
    title: str,
    source: str | None,
    url: str | None,
    notice: str | None,
    data: st.DataObject,
) -> None:
    citations = [citation(n, q, title, source, url) for n, q in enumerate(quotes, start=1)]
    marked = highlights(data.draw, quotes)
    people = data.draw(st.one_of(st.just([]), st.lists(TEXT, min_size=len(quotes))))
    answer = Answer(
        question="q",
        abstained=False,
        answer=[AnswerPart(c.quote, [c.n], h) for c, h in zip(citations, marked, strict=True)],
        citations=citations,
        notice=notice,
        people=people[: len(quotes)],
    )
    assert_answer_reply(answer, format_answer(answer))


@settings(max_examples=60, deadline=None)
@given(titles=st.lists(TEXT, max_size=3), notice=st.none() | TEXT)
def test_abstentions_fit_and_are_inert(titles: list[str], notice: str | None) -> None:
    answer = Answer(question="q", abstained=True, closest_titles=titles, notice=notice)
    content = format_abstention(answer)
    assert_fits(content)
    assert content == format_answer(answer)
    live = live_markup(content)
    # Only the italics around the notice and the titles (a web address ending one takes its
    # closing "*").
    assert set(live) <= {"*"} and len(live) <= 2 * (len(titles) + bool(notice)), live


def test_an_abstention_says_which_period_was_read() -> None:
    notice = "Only articles published 2026-11-20 to 2026-11-29 were read, for “this week”."
    answer = Answer(question="q", abstained=True, notice=notice)
    assert format_abstention(answer) == f"I couldn't find that in the articles. *{notice}*"


def test_a_quote_with_line_breaks_stays_in_its_quote_block() -> None:
    text = "First line.\n# heading\n> quote\nSecond [click](https://evil.example) @everyone"
    answer = Answer(
        question="q",
        abstained=False,
        answer=[AnswerPart(text, [1])],
        citations=[citation(1, text, "T", None, None)],
    )
    content = format_answer(answer)
    body = content.split("\n\n**Sources**")[0]
    assert all(line.startswith("> ") for line in body.split("\n")), body
    assert_answer_reply(answer, content)


def test_every_masked_link_is_inert() -> None:
    text = "[a](https://a.example) then [b](https://b.example) and [c](<https://c.example>)"
    rendered = safe(text)
    assert not live_markup(rendered) and unescape(rendered) == text


def source_view(
    quote: str, paragraphs: list[str], title: str, url: str | None, meta: str | None
) -> SourceView:
    cited = len(paragraphs) // 2
    return SourceView(
        id="0123456789ab-0-10",
        article_id=title or "id",
        title=title,
        source=meta,
        published=meta,
        url=url,
        author=meta,
        start=0,
        end=len(quote),
        quote=quote,
        paragraph=cited + 1,
        paragraphs=[
            SourceParagraph(number=n, start=0, end=len(t), text=t, cited=n == cited + 1)
            for n, t in enumerate(paragraphs, start=1)
        ],
    )


def own_address(_: str, url: str | None) -> str | None:
    """A citation opening its article's own address (CITEBOT_PUBLIC_URL unset)."""
    return url


@settings(max_examples=100, deadline=None)
@given(
    quote=NONEMPTY_TEXT,
    context=st.lists(TEXT, max_size=3),
    title=TEXT,
    url=URLS,
    meta=st.one_of(st.none(), TEXT),
    copies=st.integers(1, 12),
)
@example(quote="@everyone", context=[], title="", url=None, meta=" ", copies=1)  # blank outlet
def test_source_and_passage_embeds_fit(
    quote: str, context: list[str], title: str, url: str | None, meta: str | None, copies: int
) -> None:
    view = source_view(quote, [*context, quote * 3, *context], title, url, meta)
    embed = source_embed(view, own_address)
    assert_fits(embeds=[embed])
    assert embed.description
    shown = unescape(embed.description)
    assert view.quote.replace("\u200b", "") in shown or embed.description.endswith("…"), (
        "the cited text is shown, cut only when it cannot fit"
    )
    assert not live_markup(re.sub(r"\*\*¶\d+\*\*", "", embed.description))
    embeds = passage_embeds([view] * copies, own_address)
    assert_fits(embeds=embeds)


@settings(max_examples=60, deadline=None)
@given(title=TEXT, lead=TEXT, url=URLS, meta=st.one_of(st.none(), TEXT))
def test_article_embeds_fit(title: str, lead: str, url: str | None, meta: str | None) -> None:
    text = lead.strip() or "x"
    article = StoredArticle(
        id=title or "id",
        key="0123456789ab",
        title=title or "t",
        text=text,
        paragraphs=((0, len(text)),),
        url=url,
        published=meta,
        source=meta,
        author=meta,
        metadata={},
        content_hash="0" * 64,
    )
    assert_fits(embeds=[article_embed(article)])


@settings(max_examples=60, deadline=None)
@given(outlets=st.lists(TEXT, max_size=12), model=TEXT, built_at=TEXT)
@example(outlets=[" "], model="", built_at=" ")  # blank outlet and build time
def test_stats_embeds_fit(outlets: list[str], model: str, built_at: str) -> None:
    stats = IndexStats(
        index_dir="/tmp/index",
        generation="g",
        articles=10**9,
        passages=10**10,
        outlets=outlets,
        first_published="2020-01-01",
        last_published="2024-01-01",
        model=model,
        backend="torch",
        dimension=384,
        size_bytes=1,
        built_at=built_at,
    )
    assert_fits(embeds=[stats_embed(stats)])


@settings(max_examples=60, deadline=None)
@given(query=TEXT, titles=st.lists(TEXT, min_size=0, max_size=10), body=TEXT)
@example(query="https://discord.gg/invite\n- item", titles=[], body="")  # a list mark? no: mid-line
def test_search_replies_fit(query: str, titles: list[str], body: str) -> None:
    results = [
        SearchResult(
            rank=rank,
            id=f"0123456789ab-0-{rank}",
            article_id=str(rank),
            title=title,
            paragraph_first=1,
            paragraph_last=2,
            start=0,
            end=len(body),
            text=body,
            score=0.5,
            dense_rank=rank,
            lexical_rank=None,
        )
        for rank, title in enumerate(titles, start=1)
    ]
    content = format_search(query, results)
    assert_fits(content)
    own_markup = r"\*\*\d+\.\*\* | · `[0-9a-f]{12}-\d+-\d+`"
    assert not live_markup(re.sub(own_markup, "", content)), content


# Articles carrying hostile text, indexed for real and answered through the engine.
ARTICLE_WORDS = st.sampled_from(
    [
        "harbour",
        "bridge",
        "@everyone",
        "<@&1>",
        "<#1>",
        "[click](https://evil.example)",
        "||spoiler||",
        "```",
        "#",
        ">",
        "**bold**",
        "\u200f",
        "\u202e",
        "e\u0301",
        "👩\u200d👩\u200d👧",
        "Mr.",
        "1.5",
    ]
)
ARTICLE_BODIES = st.lists(
    st.lists(ARTICLE_WORDS, min_size=1, max_size=10).map(lambda w: " ".join(w) + "."),
    min_size=1,
    max_size=6,
).map("\n\n".join)


def corpus_engine(root: Path, bodies: Iterable[str]) -> Engine:
    for number, body in enumerate(bodies):
        (root / f"{number}.md").write_text(f"# @everyone [t](https://e.x) {number}\n\n{body}")
    settings_ = Settings(_env_file=None, index_dir=root / "index", min_score=0.0)  # type: ignore[call-arg]
    build_index([root], settings_, embedder=FakeEmbedder())
    return Engine(settings_, embedder=FakeEmbedder())


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(bodies=st.lists(ARTICLE_BODIES, min_size=1, max_size=3), question=ARTICLE_WORDS)
def test_replies_to_real_answers_over_hostile_articles(
    tmp_path_factory: pytest.TempPathFactory, bodies: list[str], question: str
) -> None:
    engine = corpus_engine(tmp_path_factory.mktemp("corpus"), bodies)
    for asked in (question, "harbour bridge", "@everyone click"):
        try:
            answer = engine.ask(asked)
        except InputError:
            continue
        assert_answer_reply(answer, format_answer(answer))
        views = [engine.sources.source(c.id, context=2) for c in answer.citations]
        for view in views:
            assert_fits(embeds=[source_embed(view, engine.link)])
        assert_fits(embeds=passage_embeds(views, engine.link)) if views else None
        assert_fits(format_search(asked, engine.search(asked, k=10)))
    assert_fits(embeds=[stats_embed(engine.stats())])


def test_the_answering_phrase_is_bold_and_only_it() -> None:
    text = "The Reuters image taken on Monday depicts a soldier."
    answer = Answer(
        question="Which news agency took the picture?",
        abstained=False,
        answer=[AnswerPart(text, [1], [4, 11])],
        citations=[citation(1, text, "Photo", None, None)],
    )
    content = format_answer(answer)
    assert content.startswith("> The **Reuters** image taken on Monday depicts a soldier. [1]")
    assert_answer_reply(answer, content)


def test_several_people_of_one_name_are_listed_before_the_quotes() -> None:
    quotes = ["Carmelo Anthony scored 30 points.", "Anthony Bennett was waived."]
    answer = Answer(
        question="Who is Anthony?",
        abstained=False,
        answer=[AnswerPart(q, [n], None) for n, q in enumerate(quotes, start=1)],
        citations=[citation(n, q, "Sport", None, None) for n, q in enumerate(quotes, start=1)],
        people=["Carmelo Anthony", "@everyone Bennett"],
    )
    content = format_answer(answer)
    first_line = content.splitlines()[0]
    assert first_line.startswith("Several people in the articles have this name:")
    assert "Carmelo Anthony [1]" in first_line and "@everyone" not in content.replace(
        "@\u200beveryone", ""
    )
    assert_answer_reply(answer, content)


@pytest.mark.parametrize(
    ("link", "quote", "opened"),
    [
        ("https://a.example/x", "Short, sharp & to-the-point.",
         "https://a.example/x#:~:text=Short%2C%20sharp%20%26%20to%2Dthe%2Dpoint."),
        ("https://a.example/x#top", "Two words",
         "https://a.example/x#top:~:text=Two%20words"),
        ("https://a.example/x", "One two three four five six seven eight nine ten.",
         "https://a.example/x#:~:text=One%20two%20three%20four%20five%20six,eight%20nine%20ten."),
        ("https://a.example/x", "Broken \ud800 text", "https://a.example/x#:~:text=Broken%20%3F%20text"),
    ],
)  # fmt: skip
def test_a_link_at_the_quote_names_it_briefly_and_encoded(
    link: str, quote: str, opened: str
) -> None:
    """A text fragment: a short quote whole, a long one by its start and its end; "-", ","
    and "&" in them percent-encoded (the spec's separators); after a fragment the page
    already has, `:~:` alone."""
    assert at_quote(link, quote) == opened


def test_a_long_address_gives_up_the_link_at_the_quote_then_the_titles() -> None:
    quote = "One two three four five six seven eight nine ten."
    for size, links in ((20, 2), (300, 1), (700, 0)):
        line = source_line(citation(1, quote, "Title", None, "https://a.example/" + "p" * size))
        assert line.count("](<") == links and len(line) <= SOURCE_LINE_SHOWN, (size, line)
