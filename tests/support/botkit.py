"""Helpers for end-to-end bot tests: the bot on the loopback fake Discord, and matchers."""

from __future__ import annotations

import asyncio
import os
import re
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

from bot.app import CitebotBot
from index.config import Settings
from index.engine import Engine
from index.records import Answer
from tests.support.discord_fake import BotMessage, FakeDiscord, running_bot

LETY = (
    "Guatemalan migrant Lety Pérez crouches in front of the soldier, crying and holding on"
    " to her young son, Anthony."
)
CITATION_ID = re.compile(r"`([0-9a-f]{12}-\d+-\d+)`")


class BusyEngine:
    """The seed engine, whose answers wait at a gate while it is closed (as a slow model
    would keep the worker threads busy); everything else passes through."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Semaphore(0)

    def ask(self, question: str, **options: Any) -> Answer:
        self.started.release()
        self.gate.wait(30)
        return self.engine.ask(question, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)


class Recording:
    """The seed engine, recording the questions it is asked (with their context) and the day
    each is asked on."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.asked: list[str] = []
        self.days: list[date | None] = []

    def warm_up(self) -> None:
        """Nothing to load."""

    def ask(self, question: str, **options: Any) -> Answer:
        self.asked.append(question)
        self.days.append(options.get("asked_on"))
        return self.engine.ask(question, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)


@asynccontextmanager
async def citebot(
    settings: Settings,
    engine: Engine | Any | None = None,
    fake: FakeDiscord | None = None,
    **options: Any,
) -> AsyncIterator[tuple[FakeDiscord, CitebotBot]]:
    """The bot (with discord.py client `options`) logged into a fresh (or the given) fake
    Discord; the fake must end clean."""
    fake = fake or FakeDiscord()
    await fake.start()
    try:
        async with connected(settings, engine, fake, **options) as bot:
            yield fake, bot
            fake.assert_clean()
    finally:
        await fake.stop()


@asynccontextmanager
async def connected(
    settings: Settings, engine: Engine | Any | None, fake: FakeDiscord, **options: Any
) -> AsyncIterator[CitebotBot]:
    """A bot (one process of citebot) logged into the running `fake`, telling it which
    messages it is done with; several may be connected at once."""
    bot = CitebotBot(settings, engine=engine, guild_ready_timeout=0.05, **options)

    async def on_citebot_handled(message_id: int) -> None:
        fake.mark_handled(message_id)

    bot.add_listener(on_citebot_handled)
    async with running_bot(bot, fake, fake.token):
        yield bot


def unescape(text: str) -> str:
    """Reply text as Discord shows it: without the bold around answering phrases and the
    backslashes that escape markdown."""
    return re.sub(r"(?<!\\)\*\*", "", text).replace("\\", "")


def replying_to(message_id: str) -> Callable[[BotMessage], bool]:
    """Matches the bot's reply to one message."""

    def matches(message: BotMessage) -> bool:
        reference = message.message_reference or {}
        return int(reference.get("message_id", 0)) == int(message_id)

    return matches


async def answered(bot: CitebotBot, fake: FakeDiscord, question: str) -> BotMessage:
    """Mention the bot with a question; return its reply once the bot has remembered it
    (a person cannot click or reply faster than that; a test can)."""
    remembered = asyncio.ensure_future(bot.wait_for("citebot_answered", timeout=30))
    reply = await (await fake.send_user_message(question, mention_bot=True)).message(timeout=30)
    assert int(await remembered) == int(reply.id)
    return reply


def button_id(message: BotMessage, action: str) -> str:
    """The custom id of the answer button for `action` (passages, helpful, unhelpful)."""
    return next(
        component["custom_id"]
        for row in message.components
        for component in row["components"]
        if component.get("custom_id", "").startswith(f"citebot:{action}")
    )


def run_environment(fake: FakeDiscord, settings: Settings, token: str) -> dict[str, str]:
    """Environment for `citebot run` against the fake, on the index of `settings`."""
    return {
        **os.environ,
        "DISCORD_TOKEN": token,
        "DISCORD_API_BASE_URL": fake.api_base,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
        "CITEBOT_INDEX_DIR": str(settings.index_dir),
    }


async def read_until(stream: asyncio.StreamReader, marker: bytes, timeout: float) -> bytes:
    """What `stream` gives up to and including the first line holding `marker`."""
    seen = b""
    async with asyncio.timeout(timeout):
        while marker not in seen:
            line = await stream.readline()
            assert line, f"the stream ended before {marker!r}:\n{seen.decode()}"
            seen += line
    return seen
