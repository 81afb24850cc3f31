"""The bot's life as a service: start-up failures as one line, a clean close on SIGTERM or
SIGINT during an answer, shards, and the gateway's reconnect requests and missed heartbeat
ACKs."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import APOLOGY, RESTARTING, CitebotBot
from index.config import Settings
from index.engine import Engine
from tests.support.botkit import (
    LETY,
    BusyEngine,
    button_id,
    citebot,
    connected,
    read_until,
    replying_to,
    run_environment,
    unescape,
)
from tests.support.discord_fake import FakeDiscord
from tests.support.discord_fake.payloads import MESSAGE_CONTENT

pytestmark = pytest.mark.slow

CITEBOT = (sys.executable, "-c", "from bot.cli import main; main()", "run")


async def citebot_run(fake: FakeDiscord, env: dict[str, str]) -> asyncio.subprocess.Process:
    """`citebot run` against `fake`, stderr piped."""
    return await asyncio.create_subprocess_exec(
        *CITEBOT, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


STARTUP_FAILURES = {
    "Discord unreachable": (1, "Error: cannot reach Discord at http://127.0.0.1:"),
    "gateway unreachable": (1, "Error: Discord's gateway accepted no connection within 3 s"),
    "guild sync refused": (2, "Error: Discord refused to sync the slash commands to"
                              " DISCORD_GUILD_ID=123456789012345678 (403 Missing Access)"),
    "close 4014": (2, 'Error: Discord refused the Message Content intent (gateway close code'
                      ' 4014), which answer channels need: enable "Message Content Intent"'),
    "close 4004": (2, "Error: Discord rejected DISCORD_TOKEN; reset it in the developer portal."),
}  # fmt: skip


@pytest.mark.parametrize("failure", STARTUP_FAILURES)
async def test_a_startup_failure_is_one_line_and_an_exit_code(
    seed_settings: Settings, failure: str
) -> None:
    fake = FakeDiscord()
    await fake.start()
    env = run_environment(fake, seed_settings, fake.token)
    if failure == "Discord unreachable":
        env["DISCORD_API_BASE_URL"] = f"http://127.0.0.1:{closed_port()}/api/v10"
    elif failure == "gateway unreachable":  # REST answers, but names a gateway that does not
        fake.gateway.url = f"ws://127.0.0.1:{closed_port()}/gateway"
        env["DISCORD_CONNECT_TIMEOUT_SECONDS"] = "3"
    elif failure == "guild sync refused":
        env["DISCORD_GUILD_ID"] = "123456789012345678"
    elif failure == "close 4014":
        env["DISCORD_ANSWER_CHANNELS"] = fake.channel_id
        fake.gateway.allowed_intents = ~MESSAGE_CONTENT
    else:
        fake.gateway.reject_identify = True
    try:
        process = await citebot_run(fake, env)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    finally:
        await fake.stop()
    code, line = STARTUP_FAILURES[failure]
    assert process.returncode == code, stderr.decode()
    assert stderr.decode().strip().splitlines()[-1].startswith(line), stderr.decode()
    assert b"Traceback" not in stderr


class SlowToLoad:
    """The seed engine, whose loading waits at a gate (as a large index or model would)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.gate = threading.Event()
        self.loaded = threading.Event()

    def warm_up(self) -> None:
        self.gate.wait(30)
        self.engine.warm_up()
        self.loaded.set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)


async def test_the_bot_connects_while_the_index_and_model_load(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    engine = SlowToLoad(seed_engine)
    async with citebot(seed_settings, engine) as (fake, bot):
        assert bot.is_ready() and not engine.loaded.is_set()
        engine.gate.set()
        reply = await (
            await fake.send_user_message("who is Lety Pérez?", mention_bot=True)
        ).message()
        assert LETY in unescape(reply.content)
        assert engine.loaded.is_set()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_a_stop_signal_during_an_answer_finishes_it_and_closes_cleanly(
    seed_settings: Settings, signum: signal.Signals
) -> None:
    fake = FakeDiscord()
    await fake.start()
    # The answer is kept in flight: Discord holds its message until the stop has begun.
    sending = fake.hold(r"POST /channels/\d+/messages")
    process = await citebot_run(fake, run_environment(fake, seed_settings, fake.token))
    assert process.stderr is not None
    try:
        await read_until(process.stderr, b" ready as ", timeout=60)
        asked = await fake.send_user_message("who is Lety Pérez?", mention_bot=True)
        await fake.wait_until(lambda: any(r.path.endswith("/messages") for r in fake.requests))
        process.send_signal(signum)
        await read_until(process.stderr, b"stopping", timeout=10)
        sending.set()
        reply = await asked.message(timeout=10)
        assert LETY in unescape(reply.content), "the answer in flight was finished"
        _, rest = await asyncio.wait_for(process.communicate(), timeout=10)
    finally:
        if process.returncode is None:
            process.kill()
        await fake.stop()
    assert process.returncode == 0, rest.decode()
    assert fake.gateway.closes == [1000], "the gateway session was closed, not dropped"
    assert b"Traceback" not in rest and b"ERROR" not in rest


async def test_an_answer_that_cannot_finish_in_time_gets_an_apology(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    busy = BusyEngine(seed_engine)
    busy.gate.clear()
    async with citebot(seed_settings, busy) as (fake, bot):
        mention = await fake.send_user_message("who is Lety Pérez?", mention_bot=True)
        command = await fake.invoke_slash("ask", {"question": "who is Anthony?"})
        for _ in range(2):
            await asyncio.to_thread(busy.started.acquire)
        await bot.shut_down(grace=0.05)
        busy.gate.set()
        assert (await mention.message(replying_to(mention.id))).content == RESTARTING
        apology = await command.message(lambda m: m.interaction_id == command.id)
        assert apology.content == RESTARTING
        assert bot.is_closed()


async def test_questions_after_a_stop_is_asked_for_are_told_to_wait(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    async with citebot(seed_settings, seed_engine) as (fake, bot):
        bot.stopping = True
        mention = await fake.send_user_message("who is Lety Pérez?", mention_bot=True)
        assert (await mention.message()).content == RESTARTING
        command = await fake.invoke_slash("ask", {"question": "who is Anthony?"})
        refused = await command.message()
        assert refused.content == RESTARTING and refused.ephemeral


async def no_wait(bot: CitebotBot, shard_id: int | None, *, initial: bool = False) -> None:
    """In place of discord.py's 5 s pause between two shards' IDENTIFYs."""


@pytest.mark.parametrize("shard_count", [None, 3])
async def test_shards_as_discord_recommends_or_as_set(
    seed_settings: Settings,
    seed_engine: Engine,
    shard_count: int | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(CitebotBot, "before_identify_hook", no_wait)
    fake = FakeDiscord()
    fake.recommended_shards = 2
    settings = seed_settings.model_copy(update={"discord_shard_count": shard_count})
    async with citebot(settings, seed_engine, fake) as (_, bot):
        expected = shard_count or 2
        assert fake.gateway.shards == list(range(expected)) and bot.shard_count == expected
        asked_for = [r for r in fake.requests if r.path == "/gateway/bot"]
        assert len(asked_for) == (0 if shard_count else 1)
        in_guild = await fake.send_user_message("who is Lety Pérez?", mention_bot=True)
        in_dm = await fake.send_user_message("who is Lety Pérez?", dm=True)
        assert LETY in unescape((await in_guild.message(replying_to(in_guild.id))).content)
        assert LETY in unescape((await in_dm.message(replying_to(in_dm.id))).content)


def on_shards(settings: Settings, count: int, *ids: int) -> Settings:
    """`settings` for one of several processes: `count` shards in all, `ids` its own."""
    return settings.model_copy(update={"discord_shard_count": count, "discord_shard_ids": [*ids]})


def command_requests(fake: FakeDiscord) -> list[str]:
    """The requests that read or replaced a set of slash commands."""
    return [f"{r.method} {r.path}" for r in fake.requests if r.path.endswith("/commands")]


async def test_two_processes_split_the_shards_and_each_question_is_answered_once(
    seed_settings: Settings, seed_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's case: each process connected every shard, so every question was answered
    once per process. With DISCORD_SHARD_IDS each connects its own; the one holding shard 0
    (which also gets the DMs) syncs the slash commands, the others leave them alone."""
    monkeypatch.setattr(CitebotBot, "before_identify_hook", no_wait)
    fake = FakeDiscord()
    ours = (int(fake.guild_id) >> 22) % 2  # the shard the server's events go to
    await fake.start()
    try:
        async with connected(on_shards(seed_settings, 2, 1), seed_engine, fake):
            assert command_requests(fake) == [], "a process without shard 0 syncs nothing"
            async with connected(on_shards(seed_settings, 2, 0), seed_engine, fake):
                assert command_requests(fake), "the process holding shard 0 syncs"
                assert fake.gateway.shards == [0, 1]
                in_guild = await fake.send_user_message("who is Lety Pérez?", mention_bot=True)
                in_dm = await fake.send_user_message("who is Lety Pérez?", dm=True)
                command = await fake.invoke_slash("ask", {"question": "who is Lety Pérez?"})
                for asked in (in_guild, in_dm):
                    reply = await asked.message(replying_to(asked.id), timeout=30)
                    assert LETY in unescape(reply.content)
                    await fake.until_handled(asked)
                answer = await command.message(lambda m: m.interaction_id == command.id)
                assert LETY in unescape(answer.content)
                delivered = [
                    fake.gateway.deliveries("MESSAGE_CREATE", in_guild.id),
                    fake.gateway.deliveries("MESSAGE_CREATE", in_dm.id),
                    fake.gateway.deliveries("INTERACTION_CREATE", command.id),
                ]
                assert delivered == [[ours], [0], [ours]], "each to one process"
                assert len(fake.messages) == 3
        fake.assert_clean()
    finally:
        await fake.stop()


async def test_an_interaction_another_process_acknowledged_is_not_an_error(
    seed_settings: Settings,
    seed_engine: Engine,
    logged: Callable[[str, str], asyncio.Event],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Two processes on one shard (their DISCORD_SHARD_IDS overlap, or an old process still
    runs beside its replacement) both receive each interaction: Discord takes the first
    answer and refuses the other with 40060, which is no error: nothing is logged as one, and
    no one is told that something went wrong."""
    caplog.set_level(logging.INFO, logger="bot.app")
    fake = FakeDiscord()
    await fake.start()
    try:
        async with (
            connected(seed_settings, seed_engine, fake),
            connected(seed_settings, seed_engine, fake),
        ):
            refused = logged("bot.app", "acknowledged by another process")
            command = await fake.invoke_slash("ask", {"question": "who is Lety Pérez?"})
            answer = await command.message(lambda m: LETY in unescape(m.content), timeout=30)
            await asyncio.wait_for(refused.wait(), timeout=30)
            refused = logged("bot.app", "acknowledged by another process")
            click = await fake.click_button(answer.id, button_id(answer, "helpful"))
            await asyncio.wait_for(refused.wait(), timeout=30)
            await click.message(lambda m: m.interaction_id == click.id, timeout=30)
            assert fake.gateway.deliveries("INTERACTION_CREATE", click.id) == [0, 0]
            assert not any(APOLOGY in m.content for m in fake.messages)
            second = [v for v in fake.violations if "second initial response" in v]
            assert len(second) == 2 == len(fake.violations), fake.violations
            fake.violations.clear()  # the one refusal of each interaction was the point
        fake.assert_clean()
    finally:
        await fake.stop()


async def test_a_reconnect_request_resumes_without_losing_a_question(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    async with citebot(seed_settings, seed_engine) as (fake, bot):
        resumed = asyncio.ensure_future(bot.wait_for("resumed", timeout=30))
        await fake.request_reconnect()
        asked = await fake.send_user_message("who is Lety Pérez?", mention_bot=True)
        await resumed
        assert LETY in unescape((await asked.message(timeout=30)).content)
        assert (fake.identify_count, fake.resume_count) == (1, 1)


async def test_missed_heartbeat_acks_reconnect_and_resume(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    fake = FakeDiscord(heartbeat_interval_ms=200)
    options: dict[str, Any] = {"heartbeat_timeout": 1.0}
    async with citebot(seed_settings, seed_engine, fake, **options) as (_, bot):
        resumed = asyncio.ensure_future(bot.wait_for("resumed", timeout=30))
        fake.gateway.acknowledge = False
        await resumed
        fake.gateway.acknowledge = True
        asked = await fake.send_user_message("who is Lety Pérez?", mention_bot=True)
        assert LETY in unescape((await asked.message(timeout=30)).content)
        assert fake.resume_count >= 1 and 4000 in fake.gateway.closes


@pytest.fixture
def logged() -> Iterator[Callable[[str, str], asyncio.Event]]:
    """`logged(logger, text)`: an event set once `logger` logs a record containing `text`."""
    watches: list[tuple[logging.Logger, logging.Handler]] = []

    def watch(logger: str, text: str) -> asyncio.Event:
        seen = asyncio.Event()
        handler = logging.Handler()
        handler.emit = lambda record: seen.set() if text in record.getMessage() else None  # type: ignore[method-assign]
        watches.append((logging.getLogger(logger), handler))
        watches[-1][0].addHandler(handler)
        return seen

    yield watch
    for logger, handler in watches:
        logger.removeHandler(handler)


async def test_an_answer_past_the_interaction_token_is_logged_not_raised(
    seed_settings: Settings, seed_engine: Engine, logged: Callable[[str, str], asyncio.Event]
) -> None:
    fake = FakeDiscord()
    fake.token_lifetime = 0.0
    expired = logged("bot.app", "expired before its answer")
    async with citebot(seed_settings, seed_engine, fake):
        exchange = await fake.invoke_slash("ask", {"question": "who is Lety Pérez?"})
        assert (await exchange.response())["type"] == 5
        await asyncio.wait_for(expired.wait(), timeout=30)
        assert [r.status for r in fake.requests if r.path.startswith("/webhooks/")] == [401]


def command_puts(fake: FakeDiscord) -> list[str]:
    """The paths of the requests that replaced a set of slash commands."""
    return [r.path for r in fake.requests if r.method == "PUT" and r.path.endswith("/commands")]


async def test_commands_are_synced_only_when_they_changed(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    fake = FakeDiscord()
    for _ in range(2):
        async with citebot(seed_settings, seed_engine, fake):
            pass
    assert len(command_puts(fake)) == 1, "the second start found them unchanged"
    [search] = [command for command in fake.commands[None] if command["name"] == "search"]
    search["options"][1]["max_value"] = 20  # changed since (an older version of the bot)
    async with citebot(seed_settings, seed_engine, fake):
        assert len(command_puts(fake)) == 2
    assert {c["name"] for c in fake.commands[None]} >= {"ask", "search", "reload"}


async def test_one_scope_of_commands_at_a_time(
    seed_settings: Settings, seed_engine: Engine, tmp_path: Path
) -> None:
    """Global commands, then a development server's (the global set removed, or that server
    would list each twice), then global again (that server's set removed)."""
    fake = FakeDiscord()
    settings = seed_settings.model_copy(update={"cache_dir": tmp_path})
    in_guild = settings.model_copy(update={"discord_guild_id": int(fake.guild_id)})
    names = {"ask", "search", "source", "article", "stats", "reload", "help"}
    async with citebot(settings, seed_engine, fake):
        assert {c["name"] for c in fake.commands[None]} == names
    async with citebot(in_guild, seed_engine, fake):
        assert {c["name"] for c in fake.commands[fake.guild_id]} == names
        assert fake.commands[None] == []
    async with citebot(settings, seed_engine, fake):
        assert {c["name"] for c in fake.commands[None]} == names
        assert fake.commands[fake.guild_id] == []


@pytest.mark.allow_error_logs
async def test_a_failed_command_sync_is_logged_and_the_bot_starts_anyway(
    seed_settings: Settings, seed_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeDiscord()
    fake.fail_next(r"PUT /applications/\d+/commands", status=400)
    async with citebot(seed_settings, seed_engine, fake):
        asked = await fake.send_user_message("who is Lety Pérez?", mention_bot=True)
        assert LETY in unescape((await asked.message(timeout=30)).content)
    assert "could not sync the slash commands" in caplog.text
