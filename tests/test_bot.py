"""The bot end to end: the real discord.py client against the loopback fake Discord, answering
from a real index with the real model."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.app import CitebotBot
from index.build import build_index
from index.config import Settings
from index.engine import Engine
from tests.conftest import SEEDS
from tests.discord_fake import DEFAULT_PERMISSIONS, BotMessage, FakeDiscord, running_bot

pytestmark = pytest.mark.slow

LETY = (
    "Guatemalan migrant Lety Pérez crouches in front of the soldier, crying and holding on"
    " to her young son, Anthony."
)
MANAGE_GUILD = 1 << 5
CITATION_ID = re.compile(r"`([0-9a-f]{12}-\d+-\d+)`")


@pytest.fixture(scope="module")
def seed_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("bot")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, index_dir=root / "index", discord_cooldown_questions=100
    )
    build_index([SEEDS], settings)
    return settings


@pytest.fixture(scope="module")
def seed_engine(seed_settings: Settings) -> Engine:
    engine = Engine(seed_settings)
    engine.warm_up()
    return engine


@asynccontextmanager
async def citebot(
    settings: Settings, engine: Engine | None = None
) -> AsyncIterator[tuple[FakeDiscord, CitebotBot]]:
    fake = FakeDiscord()
    await fake.start()
    try:
        bot = CitebotBot(settings, engine=engine, guild_ready_timeout=0.05)
        async with running_bot(bot, fake):
            yield fake, bot
            fake.assert_clean()
    finally:
        await fake.stop()


def unescape(text: str) -> str:
    return text.replace("\\", "")


def replying_to(message_id: str) -> Callable[[BotMessage], bool]:
    """Matches the bot's reply to one message."""

    def matches(message: BotMessage) -> bool:
        reference = message.message_reference or {}
        return int(reference.get("message_id", 0)) == int(message_id)

    return matches


async def test_mention_is_answered_with_the_quote_and_its_citation(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    async with citebot(seed_settings, seed_engine) as (fake, _):
        exchange = await fake.send_user_message("who is Lety Pérez?", mention_bot=True)
        reply = await exchange.message(lambda m: m.kind == "channel")
        assert LETY in unescape(reply.content)
        assert "[1]" in reply.content and CITATION_ID.search(reply.content)
        assert int(reply.message_reference["message_id"]) == int(exchange.id)
        assert reply.allowed_mentions == {"parse": [], "replied_user": False}
        assert any(r.path.endswith("/typing") for r in fake.requests)
        labels = [
            c.get("label") or c.get("emoji", {}).get("name")
            for row in reply.components
            for c in row["components"]
        ]
        assert labels == ["Show passages", "👍", "👎"]


async def test_dm_is_answered(seed_settings: Settings, seed_engine: Engine) -> None:
    async with citebot(seed_settings, seed_engine) as (fake, _):
        exchange = await fake.send_user_message("lety perez", dm=True)
        reply = await exchange.message()
        assert LETY in unescape(reply.content)


async def answered(bot: CitebotBot, fake: FakeDiscord, question: str) -> BotMessage:
    """Mention the bot with a question; return its reply once the bot has remembered it
    (a person cannot click or reply faster than that; a test can)."""
    remembered = asyncio.ensure_future(bot.wait_for("citebot_answered", timeout=30))
    reply = await (await fake.send_user_message(question, mention_bot=True)).message(timeout=30)
    assert int(await remembered) == int(reply.id)
    return reply


async def test_reply_to_an_answer_is_a_follow_up(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    async with citebot(seed_settings, seed_engine) as (fake, bot):
        first = await answered(bot, fake, "who is Lety Pérez?")
        follow_up = await fake.send_user_message("and what is her son's name?", reply_to=first.id)
        reply = await follow_up.message()
        assert "Anthony" in reply.content


async def test_unaddressed_messages_are_ignored(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    async with citebot(seed_settings, seed_engine) as (fake, _):
        await fake.send_user_message("who is Lety Pérez?")
        answered = await fake.send_user_message("help", mention_bot=True)
        reply = await answered.message()
        assert "citebot" in reply.content and len(fake.messages) == 1


@pytest.mark.parametrize("private", [False, True])
async def test_ask_command_public_and_private(
    seed_settings: Settings, seed_engine: Engine, private: bool
) -> None:
    async with citebot(seed_settings, seed_engine) as (fake, _):
        exchange = await fake.invoke_slash(
            "ask", {"question": "who is Lety Pérez?", "private": private}
        )
        assert (await exchange.response())["type"] == 5, "deferred within the deadline"
        answer = await exchange.message()
        assert LETY in unescape(answer.content)
        assert answer.ephemeral is private


async def test_search_source_stats_help(seed_settings: Settings, seed_engine: Engine) -> None:
    async with citebot(seed_settings, seed_engine) as (fake, _):
        found = await (await fake.invoke_slash("search", {"query": "lety perez"})).message()
        citation = CITATION_ID.search(found.content)
        assert citation and "Photo of Mexican National Guard" in found.content
        source = await (await fake.invoke_slash("source", {"id": citation.group(1)})).message()
        assert "Lety Pérez" in unescape(source.embeds[0]["description"])
        unknown = await (await fake.invoke_slash("source", {"id": "0123456789ab-1-2"})).message()
        assert "no indexed article has the citation id" in unknown.content and unknown.ephemeral
        stats = await (await fake.invoke_slash("stats")).message()
        fields = {f["name"]: f["value"] for f in stats.embeds[0]["fields"]}
        assert fields["Articles"] == "1"
        help_reply = await (await fake.invoke_slash("help")).message()
        assert "/source" in help_reply.content and help_reply.ephemeral


async def test_article_autocomplete_then_lookup(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    async with citebot(seed_settings, seed_engine) as (fake, _):
        choices = await fake.autocomplete("article", "title", "mexican national")
        assert [c["name"] for c in choices] == [
            "Photo of Mexican National Guard halting crying migrant mother and child goes viral"
        ]
        shown = await (await fake.invoke_slash("article", {"title": choices[0]["value"]})).message()
        assert shown.embeds[0]["title"].startswith("Photo of Mexican National Guard")
        assert "armed Mexican soldier" in shown.embeds[0]["description"]


async def test_reload_only_for_manage_server(seed_settings: Settings, seed_engine: Engine) -> None:
    async with citebot(seed_settings, seed_engine) as (fake, _):
        # A server admin may open the command to everyone; the bot still checks.
        for command in fake.commands[None]:
            if command["name"] == "reload":
                command["default_member_permissions"] = None
        refused = await (await fake.invoke_slash("reload")).message()
        assert "only members with the Manage Server permission" in refused.content
        assert refused.ephemeral
        admin = str(int(DEFAULT_PERMISSIONS) | MANAGE_GUILD)
        done = await (await fake.invoke_slash("reload", permissions=admin)).message()
        assert done.content.startswith("Reloaded the index")


async def test_buttons_show_passages_and_record_feedback(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    async with citebot(seed_settings, seed_engine) as (fake, bot):
        answer = await answered(bot, fake, "who is Lety Pérez?")
        passages = await (await fake.click_button(answer.id, "citebot:passages")).message(
            lambda m: bool(m.embeds)
        )
        assert passages.ephemeral and LETY in unescape(passages.embeds[0]["description"])
        thanks = await (await fake.click_button(answer.id, "citebot:helpful", user="bob")).message()
        assert thanks.ephemeral and "Thanks" in thanks.content
        [entry] = bot.feedback.entries()
        assert entry.helpful and entry.question == "who is Lety Pérez?"
        assert entry.citation_ids and entry.user_hash != str(fake.users["bob"]["id"])


async def test_mentions_in_articles_ping_no_one(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "ping.txt").write_text(
        "Club notice\n\nThe secretary wrote @everyone and <@123> about the **annual** picnic.",
        "utf-8",
    )
    settings = Settings(_env_file=None, index_dir=tmp_path / "index")  # type: ignore[call-arg]
    build_index([corpus], settings)
    async with citebot(settings) as (fake, _):
        reply = await (
            await fake.send_user_message(
                "what did the secretary write about the picnic?", mention_bot=True
            )
        ).message()
        assert "@everyone" not in reply.content and "<@123>" not in reply.content
        assert "@\u200beveryone" in reply.content and "<\u200b@123>" in reply.content
        assert "annual" in reply.content and "**annual**" not in reply.content
        assert reply.allowed_mentions is not None and reply.allowed_mentions["parse"] == []


async def test_twenty_questions_at_once_keep_the_loop_free(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    async with citebot(seed_settings, seed_engine) as (fake, _):
        lags: list[float] = []
        stop = asyncio.Event()

        async def ticker() -> None:
            while not stop.is_set():
                started = time.perf_counter()
                await asyncio.sleep(0.01)
                lags.append(time.perf_counter() - started - 0.01)

        ticking = asyncio.create_task(ticker())
        exchanges = await asyncio.gather(
            *(
                fake.send_user_message(f"who is Lety Pérez? ({n})", mention_bot=True, author=name)
                for n, name in list(enumerate(["alice", "bob", "carol"] * 7))[:20]
            )
        )
        replies: list[BotMessage] = await asyncio.gather(
            *(e.message(replying_to(e.id), timeout=60) for e in exchanges)
        )
        stop.set()
        await ticking
        assert len({r.id for r in replies}) == 20
        assert all(LETY in unescape(r.content) for r in replies)
        assert max(lags) < 0.1, f"event loop blocked for {max(lags):.3f} s"


async def test_citebot_run_answers_a_mention(seed_settings: Settings) -> None:
    fake = FakeDiscord()
    await fake.start()
    env = {
        **os.environ,
        "DISCORD_TOKEN": "test-token",
        "DISCORD_API_BASE_URL": fake.api_base,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
        "CITEBOT_INDEX_DIR": str(seed_settings.index_dir),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from bot.cli import main; main()", "run",
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await fake.wait_until(lambda: fake.identify_count, timeout=60, what="gateway login")
        exchange = await fake.send_user_message("who is Lety Pérez?", mention_bot=True)
        reply = await exchange.message(timeout=30)
        assert LETY in unescape(reply.content)
        fake.assert_clean()
    finally:
        process.terminate()
        _, stderr = await process.communicate()
        await fake.stop()
    assert b"test-token" not in stderr, "the token is never logged"
