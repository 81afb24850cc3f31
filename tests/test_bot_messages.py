"""Messages as Discord sends them: system notices, replies without their ping under the
intents Discord grants, bounded follow-up context, and missing permissions or deleted questions
answered where possible and logged by the permission's name."""

from __future__ import annotations

import asyncio

import discord
import pytest

from bot.app import APOLOGY
from bot.ask import FOLLOW_UP_CONTEXT_CHARS, UNREAD_REPLY, with_context
from index.config import Settings
from index.engine import Engine
from tests.support.botkit import (
    LETY,
    BusyEngine,
    Recording,
    answered,
    citebot,
    replying_to,
    unescape,
)
from tests.support.discord_fake import FakeDiscord
from tests.support.discord_fake.payloads import (
    CREATE_PUBLIC_THREADS,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    STAGE_CHANNEL,
    VOICE_CHANNEL,
)

pytestmark = pytest.mark.slow

PIN_NOTICE, MEMBER_JOINED, THREAD_CREATED = 6, 7, 18


def answer_channel(settings: Settings, fake: FakeDiscord) -> Settings:
    """`settings` with the fake's channel as an answer channel."""
    return settings.model_copy(update={"discord_answer_channels": [int(fake.channel_id)]})


@pytest.mark.parametrize("answer_channels", [False, True])
async def test_system_messages_are_not_answered(
    seed_settings: Settings, seed_engine: Engine, answer_channels: bool
) -> None:
    fake = FakeDiscord()
    settings = answer_channel(seed_settings, fake) if answer_channels else seed_settings
    async with citebot(settings, seed_engine, fake):
        await fake.send_system_message(PIN_NOTICE)
        await fake.send_system_message(MEMBER_JOINED, author="bob")
        await fake.send_system_message(THREAD_CREATED, "who is Lety Pérez?")
        await fake.send_system_message(PIN_NOTICE, dm=True)
        await fake.send_system_message(THREAD_CREATED, f"<@{fake.bot_id}> who is Lety Pérez?")
        asked = await fake.send_user_message("who is Lety Pérez?", dm=True)
        first = await asked.message()
        assert LETY in unescape(first.content) and first.channel_id == asked.event["channel_id"]
        assert len(fake.messages) == 1, "the notices got nothing"


async def test_a_reply_without_its_ping_is_not_answered_with_the_earlier_question(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    async with citebot(seed_settings, seed_engine) as (fake, bot):
        assert not bot.intents.message_content
        first = await answered(bot, fake, "who is Lety Pérez?")
        silent = await fake.send_user_message("and her son?", reply_to=first.id, reply_ping=False)
        said = await silent.message()
        assert said.content == UNREAD_REPLY and LETY not in unescape(said.content)
        pinged = await fake.send_user_message("what is her son's name?", reply_to=first.id)
        assert "Anthony" in (await pinged.message()).content
        bare = await fake.send_user_message("", reply_to=first.id, mention_bot=True)
        assert (await bare.message()).content.startswith("**citebot** answers questions")


async def test_a_reply_without_its_ping_is_a_follow_up_under_the_message_content_intent(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    settings = seed_settings.model_copy(update={"discord_answer_channels": [1234567890]})
    async with citebot(settings, seed_engine) as (fake, bot):
        assert bot.intents.message_content, "answer channels (elsewhere) ask for it"
        first = await answered(bot, fake, "who is Lety Pérez?")
        silent = await fake.send_user_message(
            "what is her son's name?", reply_to=first.id, reply_ping=False
        )
        assert "Anthony" in (await silent.message()).content


async def test_an_empty_message_in_an_answer_channel_is_ignored(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    fake = FakeDiscord()
    async with citebot(answer_channel(seed_settings, fake), seed_engine, fake) as (_, bot):
        first = await answered(bot, fake, "who is Lety Pérez?")
        await fake.send_user_message("", reply_to=first.id, reply_ping=False)
        asked = await fake.send_user_message("lety perez", mention_bot=True, dm=True)
        assert (await asked.message()).channel_id == asked.event["channel_id"]


async def test_a_question_is_asked_on_the_day_of_its_message(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    """So that "this week" counts back from the day the question was sent."""
    engine = Recording(seed_engine)
    async with citebot(seed_settings, engine) as (fake, _):
        asked = await fake.send_user_message("who is Lety Pérez?", mention_bot=True)
        await asked.message()
        assert engine.days == [discord.utils.snowflake_time(int(asked.event["id"])).date()]


async def test_a_follow_up_chain_keeps_one_bounded_context(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    engine = Recording(seed_engine)
    async with citebot(seed_settings, engine) as (fake, bot):
        reply = await answered(bot, fake, "who is Lety Pérez? " + "tell me everything. " * 40)
        for step in range(6):
            remembered = asyncio.ensure_future(bot.wait_for("citebot_answered", timeout=30))
            asked = await fake.send_user_message(f"and then what happened {step}?",
                                                 reply_to=reply.id)  # fmt: skip
            reply = await asked.message(replying_to(asked.id), timeout=30)
            await remembered
        limit = FOLLOW_UP_CONTEXT_CHARS + len("and then what happened 5?") + 1
        assert all(len(question) <= limit for question in engine.asked[1:])
        assert engine.asked[-1].endswith("and then what happened 5?"), "the newest words kept"
        assert "happened 4?" in engine.asked[-1], "after the earlier exchange"


def test_context_never_pushes_the_newest_words_past_the_limit() -> None:
    text = "what did she say? " * 50
    question = with_context("lety perez " * 100, text.strip(), 1000)
    assert len(question) <= 1000 and question.endswith(text.strip())
    assert with_context("lety perez", "and her son?", 1000) == "lety perez and her son?"


async def test_without_send_messages_nothing_is_tried_and_the_log_says_why(
    seed_settings: Settings, seed_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeDiscord()
    await fake.deny_bot(SEND_MESSAGES)
    async with citebot(seed_settings, seed_engine, fake):
        await fake.send_user_message("who is Lety Pérez?", mention_bot=True)
        dm = await fake.send_user_message("who is Lety Pérez?", dm=True)
        assert LETY in unescape((await dm.message()).content), "DMs still answered"
    assert not [r for r in fake.requests if r.status == 403], "no request Discord refuses"
    assert "cannot answer in #general" in caplog.text and "missing Send Messages" in caplog.text


async def test_without_read_message_history_the_answer_has_no_reply_link(
    seed_settings: Settings, seed_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeDiscord()
    await fake.deny_bot(READ_MESSAGE_HISTORY)
    async with citebot(seed_settings, seed_engine, fake):
        reply = await (
            await fake.send_user_message("who is Lety Pérez?", mention_bot=True)
        ).message()
        assert LETY in unescape(reply.content) and reply.message_reference is None
    assert "missing Read Message History" in caplog.text


async def test_a_reply_refused_for_history_at_send_time_is_posted_without_its_link(
    seed_settings: Settings, seed_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    async with citebot(seed_settings, seed_engine) as (fake, _):
        channel = fake.world.channel(fake.channel_id)
        channel["permission_overwrites"] = [  # changed without the bot being told
            {"id": fake.bot_id, "type": 1, "allow": "0", "deny": str(READ_MESSAGE_HISTORY)}
        ]
        reply = await (
            await fake.send_user_message("who is Lety Pérez?", mention_bot=True)
        ).message()
        assert LETY in unescape(reply.content) and reply.message_reference is None
    assert "missing Read Message History" in caplog.text


async def test_without_create_public_threads_an_answer_channel_replies_in_place(
    seed_settings: Settings, seed_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeDiscord()
    await fake.deny_bot(CREATE_PUBLIC_THREADS)
    async with citebot(answer_channel(seed_settings, fake), seed_engine, fake):
        asked = await fake.send_user_message("who is Lety Pérez?")
        reply = await asked.message(timeout=30)
        assert reply.channel_id == fake.channel_id and LETY in unescape(reply.content)
        assert int(reply.message_reference["message_id"]) == int(asked.id)
    assert "missing Create Public Threads" in caplog.text


@pytest.mark.parametrize("channel_type", [VOICE_CHANNEL, STAGE_CHANNEL])
async def test_a_voice_or_stage_answer_channel_is_answered_in_its_text_chat(
    seed_settings: Settings, seed_engine: Engine, channel_type: int
) -> None:
    """The issue's case: no thread can be opened on a message in a voice or stage channel's
    text chat (Discord answers 400, 50024), and the answer was dropped. It is a reply there."""
    fake = FakeDiscord()
    chat = str(fake.world.add_channel("lounge", channel_type)["id"])
    settings = seed_settings.model_copy(update={"discord_answer_channels": [int(chat)]})
    async with citebot(settings, seed_engine, fake):
        asked = await fake.send_user_message("who is Lety Pérez?", channel_id=chat)
        reply = await asked.message(timeout=30)
        assert reply.channel_id == chat and LETY in unescape(reply.content)
        assert int(reply.message_reference["message_id"]) == int(asked.id)
        follow_up = await fake.send_user_message(
            "and what is her son's name?", channel_id=chat, reply_to=reply.id, reply_ping=False
        )
        assert "Anthony" in (await follow_up.message(replying_to(follow_up.id))).content
        assert not [r for r in fake.requests if r.path.endswith("/threads")], "none tried"


async def test_a_question_deleted_while_answered_still_gets_its_answer(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    busy = BusyEngine(seed_engine)
    busy.gate.clear()
    async with citebot(seed_settings, busy) as (fake, _):
        asked = await fake.send_user_message("who is Lety Pérez?", mention_bot=True)
        await asyncio.to_thread(busy.started.acquire)
        await fake.delete_user_message(asked.id)
        busy.gate.set()
        reply = await asked.message(timeout=30)
        assert LETY in unescape(reply.content) and reply.message_reference is None


@pytest.mark.parametrize("how", ["deleted", "thread exists"])
async def test_an_answer_channel_question_gone_or_threaded_meanwhile(
    seed_settings: Settings, seed_engine: Engine, how: str
) -> None:
    busy = BusyEngine(seed_engine)
    busy.gate.clear()
    fake = FakeDiscord()
    async with citebot(answer_channel(seed_settings, fake), busy, fake):
        asked = await fake.send_user_message("who is Lety Pérez?")
        await asyncio.to_thread(busy.started.acquire)
        if how == "deleted":
            await fake.delete_user_message(asked.id)
        else:
            await fake.open_thread(asked.id, "Lety", author="bob")
        busy.gate.set()
        reply = await asked.message(timeout=30)
        assert LETY in unescape(reply.content)
        expected_channel = fake.channel_id if how == "deleted" else asked.id
        assert reply.channel_id == expected_channel


async def test_a_thread_the_bot_opened_is_followed_up_after_a_restart(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    fake = FakeDiscord()
    settings = answer_channel(seed_settings, fake)
    async with citebot(settings, seed_engine, fake):
        answer = await (await fake.send_user_message("who is Lety Pérez?")).message(timeout=30)
    async with citebot(settings, seed_engine, fake):
        follow_up = await fake.send_user_message(
            "what is her son's name?", channel_id=answer.channel_id
        )
        reply = await follow_up.message(timeout=30)
        assert reply.channel_id == answer.channel_id and "Anthony" in reply.content


async def test_the_answer_does_not_wait_for_typing(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    async with citebot(seed_settings, seed_engine) as (fake, _):
        typing = fake.hold(r"POST /channels/\d+/typing")
        try:
            asked = await fake.send_user_message("who is Lety Pérez?", mention_bot=True)
            reply = await asked.message(timeout=30)
            assert LETY in unescape(reply.content), "answered while typing is still held"
        finally:
            typing.set()


@pytest.mark.parametrize(("status", "count"), [(429, 1), (502, 5)])
async def test_typing_refused_or_failing_changes_nothing(
    seed_settings: Settings, seed_engine: Engine, status: int, count: int
) -> None:
    """A rate-limited typing request (retried after 3 s) or five 502s (retried for 25 s)
    neither delay the answer nor turn it into an apology."""
    async with citebot(seed_settings, seed_engine) as (fake, _):
        fake.fail_next(r"POST /channels/\d+/typing", status=status, count=count, retry_after=3)
        asked = await fake.send_user_message("who is Lety Pérez?", mention_bot=True)
        reply = await asked.message(timeout=30)
        assert reply.content != APOLOGY and LETY in unescape(reply.content)
        typed = [r.status for r in fake.requests if r.path.endswith("/typing")]
        assert typed in ([], [status]), "answered before typing was tried again"
