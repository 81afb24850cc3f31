"""Sources a Discord user can open: each source's title links to its article (with no
preview), a second link opens the article at the quoted sentence (a text fragment), and the
citation ids wait in the footer for /source; with CITEBOT_PUBLIC_URL, every link opens the
source's page. Votes show on the answer itself, counted from the stored votes on its message.
"Not found" says what was searched and offers the closest articles as buttons that open them."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from index.build import build_index
from index.config import Settings
from index.engine import Engine
from tests.support.botkit import answered, button_id, citebot, unescape
from tests.support.discord_fake import BotMessage, FakeDiscord
from tests.support.indexes import fake_engine_over

pytestmark = pytest.mark.slow

BRIDGE_URL = "https://news.example/2024/harbour-bridge"
BUILT = "The bridge, built by Smith & Sons over four years, has a cycle path and a four-lane deck."
NEWS = [
    {
        "id": "bridge",
        "title": "Harbour bridge opens [video]",
        "url": BRIDGE_URL,
        "published": "2024-05-01",
        "source": "The Courier",
        "text": (
            "The new harbour bridge opened to traffic on Saturday.\n\n"
            f"{BUILT}\n\n"
            "Mayor Ana Ruiz cut the ribbon in front of about two thousand people."
        ),
    },
    {
        "id": "library",
        "title": "Central library reopens",
        "published": "2023-02-10",
        "source": "City Weekly",
        "text": (
            "The central library reopened on Monday after a roof repair.\n\n"
            "Librarian Tomás Vidal said the reading room would stay open until nine at night."
        ),
    },
]
# A source line: "**[n]** " then its title, linked or not.
SOURCE_LINE = re.compile(r"^\*\*\[(\d+)\]\*\* (.*)$", re.MULTILINE)
FOOTER = re.compile(r"^-# /source ids: (.*)$", re.MULTILINE)
FRAGMENT = "#:~:text="
PUBLIC_URL = "https://citebot.example.org/news"


@pytest.fixture(scope="module")
def news(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Engine]]:
    """Two articles, one with its address, indexed with the real model."""
    root = tmp_path_factory.mktemp("news")
    corpus = root / "news.jsonl"
    corpus.write_text("\n".join(json.dumps(article) for article in NEWS), "utf-8")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, index_dir=root / "index", discord_cooldown_questions=100
    )
    build_index([corpus], settings)
    engine = Engine(settings)
    engine.warm_up()
    yield settings, engine


def sources(reply: BotMessage) -> dict[int, str]:
    """The source lines of an answer, by citation number."""
    return {int(n): line for n, line in SOURCE_LINE.findall(reply.content)}


def buttons(message: BotMessage) -> list[dict[str, object]]:
    """Every button under a message."""
    return [component for row in message.components for component in row["components"]]


async def test_a_source_opens_its_article_and_the_quote_and_its_id_waits_below(
    news: tuple[Settings, Engine],
) -> None:
    settings, engine = news
    async with citebot(settings, engine) as (fake, bot):
        reply = await answered(bot, fake, "who built the bridge?")
        assert BUILT in unescape(reply.content)
        [line] = sources(reply).values()
        title = r"Harbour bridge opens \[video\]"
        assert line.startswith(f"[{title}](<{BRIDGE_URL}>) — The Courier · 2024-05-01 · ¶2")
        at_quote = re.search(r"\[at the quote\]\(<([^>]+)>\)$", line)
        assert at_quote is not None, line
        address, fragment = at_quote[1].split(FRAGMENT)
        assert address == BRIDGE_URL
        # The spec's reserved characters in a term are percent-encoded; terms are separated
        # by "," (the start of the quote, then its end).
        assert not set("&- ") & set(fragment), fragment
        terms = [unquote(term) for term in fragment.split(",")]
        assert BUILT.startswith(terms[0]) and BUILT.endswith(terms[-1]) and len(terms) == 2
        assert "," in terms[0] and "&" in terms[0] and "-" in terms[-1], "encoded, not dropped"
        assert len(terms[0].split()) <= 8 and len(terms[-1].split()) <= 4, "kept short"
        assert reply.previews == [], "no preview of the article"
        [footer] = FOOTER.findall(reply.content)
        [citation] = re.findall(r"`([0-9a-f]{12}-\d+-\d+)`", footer)
        assert citation not in line, "the id is out of the way"
        shown = await (await fake.invoke_slash("source", {"id": citation})).message()
        assert shown.embeds and shown.embeds[0]["url"] == BRIDGE_URL

        plain = await answered(bot, fake, "until when is the reading room open?")
        [line] = sources(plain).values()
        assert line.startswith("Central library reopens — City Weekly · 2023-02-10 · ¶")
        assert "](" not in line and FOOTER.search(plain.content)


async def test_with_a_public_url_every_source_shown_opens_its_page(tmp_path: Path) -> None:
    """The issue's case: with CITEBOT_PUBLIC_URL set, an answer's sources opened their pages,
    but "Show passages" and /source still opened the article's own address (or nothing)."""
    engine = fake_engine_over(NEWS, tmp_path, public_url=PUBLIC_URL, discord_cooldown_questions=100)
    async with citebot(engine.settings, engine) as (fake, bot):
        for question in ("who built the bridge?", "until when is the reading room open?"):
            reply = await answered(bot, fake, question)
            [footer] = FOOTER.findall(reply.content)
            [citation] = re.findall(r"`([0-9a-f]{12}-\d+-\d+)`", footer)
            page = f"{PUBLIC_URL}/source/{citation}"
            [line] = sources(reply).values()
            assert f"](<{page}>)" in line, "the answer links the page"
            passages = await (
                await fake.click_button(reply.id, button_id(reply, "passages"))
            ).message(lambda m: bool(m.embeds))
            assert [embed["url"] for embed in passages.embeds] == [page], question
            shown = await (await fake.invoke_slash("source", {"id": citation})).message()
            assert shown.embeds[0]["url"] == page, question


async def test_votes_show_on_the_answer(news: tuple[Settings, Engine]) -> None:
    """The issue's case: a vote only got a private thank-you; the answer never showed it."""
    settings, engine = news
    async with citebot(settings, engine) as (fake, bot):
        answer = await answered(bot, fake, "who built the bridge?")

        async def vote(action: str, user: str) -> dict[str, str | None]:
            click = await fake.click_button(answer.id, button_id(answer, action), user=user)
            edited = await click.message(lambda m: m.kind == "original_edit")
            thanks = await click.message(lambda m: m.ephemeral and m.interaction_id == click.id)
            assert edited.id == answer.id and "Thanks" in thanks.content
            shown = {}
            for button in buttons(edited):
                action_shown = str(button["custom_id"]).split(":")[1]
                shown[action_shown] = button.get("label")
            return shown

        assert await vote("helpful", "bob") == {
            "passages": "Show passages", "helpful": "1", "unhelpful": None
        }  # fmt: skip
        assert (await vote("helpful", "bob"))["helpful"] == "1", "one vote per user"
        changed = await vote("unhelpful", "bob")
        assert (changed["helpful"], changed["unhelpful"]) == (None, "1")
        both = await vote("helpful", "carol")
        assert (both["helpful"], both["unhelpful"]) == ("1", "1")
        assert len(bot.feedback.entries()) == 2
        assert not bot._connection._view_store._synced_message_views, "no view kept"


def vote_labels(components: list[dict[str, Any]]) -> tuple[object, object]:
    """The labels (the counts) of the 👍 and 👎 buttons among an answer's `components`."""
    labels = {
        str(button["custom_id"]).split(":")[1]: button.get("label")
        for row in components
        for button in row["components"]
    }
    return labels["helpful"], labels["unhelpful"]


async def voted(fake: FakeDiscord, answer: BotMessage, action: str, user: str) -> None:
    """`user` clicks the vote button for `action`; return once the answer has shown the vote
    and the user has been thanked."""
    click = await fake.click_button(answer.id, button_id(answer, action), user=user)
    for kind in ("original_edit", "followup"):
        await click.message(lambda m, k=kind: m.kind == k and m.interaction_id == click.id)


async def test_votes_are_counted_from_the_store_once_per_member_across_restarts(
    tmp_path: Path,
) -> None:
    """The issue's cases: after a restart, a member's second click on an answer counted
    again (the bot told answers apart by question and text, and knew no question any more);
    two clicks at once each added one to the count the message showed, and one was lost."""
    engine = fake_engine_over(NEWS, tmp_path, discord_cooldown_questions=100)
    fake = FakeDiscord(users=("alice", "bob", "carol", "dave"))
    async with citebot(engine.settings, engine, fake) as (_, bot):
        answer = await answered(bot, fake, "who built the bridge?")
        await voted(fake, answer, "helpful", "bob")
        assert vote_labels(fake.world.msgs[answer.id]["components"]) == ("1", None)
    async with citebot(engine.settings, engine, fake) as (_, restarted):
        assert restarted.conversations.get(int(answer.id)) is None, "a new process"
        await voted(fake, answer, "helpful", "bob")
        shown = vote_labels(fake.world.msgs[answer.id]["components"])
        assert shown == ("1", None), "Bob still counts once"
        assert len(restarted.feedback.entries()) == 1
        other = await answered(restarted, fake, "until when is the reading room open?")
        await asyncio.gather(
            voted(fake, other, "helpful", "carol"),
            voted(fake, other, "helpful", "dave"),
            voted(fake, other, "unhelpful", "alice"),
        )
        assert vote_labels(fake.world.msgs[other.id]["components"]) == ("2", "1")


async def test_not_found_says_what_was_searched_and_opens_the_closest_articles(
    news: tuple[Settings, Engine],
) -> None:
    settings, engine = news
    async with citebot(settings, engine) as (fake, _):
        asked = await fake.send_user_message(
            "What is the melting point of tungsten?", mention_bot=True
        )
        reply = await asked.message(timeout=30)
        assert reply.content.startswith("I couldn't find that in the articles.")
        assert "I searched every article I have." in reply.content
        offered = buttons(reply)
        links = {button["label"]: button["url"] for button in offered if button["style"] == 5}
        assert links == {"Harbour bridge opens [video]": BRIDGE_URL}
        [library] = [button for button in offered if button.get("label") == NEWS[1]["title"]]
        opened = await (await fake.click_button(reply.id, str(library["custom_id"]))).message()
        assert opened.ephemeral and opened.embeds[0]["title"] == "Central library reopens"

        filtered = await fake.invoke_slash(
            "ask",
            {"question": "What is the melting point of tungsten?", "since": "2024",
             "outlet": "Courier"},
        )  # fmt: skip
        searched = await filtered.message(lambda m: "couldn't find" in m.content, timeout=30)
        assert "I searched only articles published since 2024 from outlets named like" in (
            searched.content
        )
        assert "“Courier”" in searched.content
