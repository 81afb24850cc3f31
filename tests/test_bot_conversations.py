"""Conversations with the bot as Discord carries them: in threads and forum posts it answers
only what is addressed to it (never chatter, thanks or another member's conversation), and a
follow-up is asked after the question it replies to and its answer's subject, read back from
Discord after a restart."""

from __future__ import annotations

import asyncio

import pytest

from index.config import Settings
from index.engine import Engine
from tests.support.botkit import LETY, Recording, answered, citebot, replying_to, unescape
from tests.support.discord_fake import FakeDiscord
from tests.support.discord_fake.payloads import FORUM_CHANNEL

pytestmark = pytest.mark.slow

# Message Content on (answer channels set, elsewhere): every message arrives with its text.
ELSEWHERE = 1234567890


def with_message_content(settings: Settings, *channels: int) -> Settings:
    """`settings` with answer channels (`channels`, or one elsewhere): Message Content on."""
    return settings.model_copy(update={"discord_answer_channels": list(channels or [ELSEWHERE])})


async def test_in_a_thread_it_opened_only_the_askers_questions_are_answered(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    engine = Recording(seed_engine)
    fake = FakeDiscord()
    settings = with_message_content(seed_settings, int(fake.channel_id))
    async with citebot(settings, engine, fake):
        asked = await fake.send_user_message("who is Lety Pérez?")
        answer = await asked.message(timeout=30)
        thread = answer.channel_id
        for text, author in [("thanks!", None), ("anyone up for lunch?", "carol"),
                             ("ok", None), ("I'm in, 12:30?", "bob")]:  # fmt: skip
            await fake.until_handled(
                await fake.send_user_message(text, channel_id=thread, author=author)
            )
        follow_up = await fake.send_user_message("what is her son's name?", channel_id=thread)
        reply = await follow_up.message(timeout=30)
        assert reply.channel_id == thread and "Anthony" in reply.content
        assert len(engine.asked) == 2 and engine.asked[0] == "who is Lety Pérez?"
        assert not any(word in engine.asked[1] for word in ("thanks", "lunch", "12:30"))
        assert len(fake.messages) == 2, [m.content[:40] for m in fake.messages]


async def test_in_a_members_thread_only_mentions_and_replies_to_it_are_answered(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    """The issue's case: after one follow-up there, another member's "anyone up for lunch?"
    was answered as a follow-up, and "thanks!" got the answer again."""
    engine = Recording(seed_engine)
    async with citebot(with_message_content(seed_settings), engine) as (fake, bot):
        started = await fake.send_user_message("lunch plans, and a news question", author="bob")
        thread = (await fake.open_thread(started.id, "Lunch", author="bob"))["id"]
        remembered = asyncio.ensure_future(bot.wait_for("citebot_answered", timeout=30))
        asked = await fake.send_user_message(
            "who is Lety Pérez?", channel_id=thread, mention_bot=True, author="bob"
        )
        first = await asked.message(timeout=30)
        await remembered
        remembered = asyncio.ensure_future(bot.wait_for("citebot_answered", timeout=30))
        follow_up = await fake.send_user_message(
            "and what is her son's name?",
            channel_id=thread, reply_to=first.id, reply_ping=False, author="bob",
        )  # fmt: skip
        second = await follow_up.message(replying_to(follow_up.id), timeout=30)
        assert "Anthony" in second.content
        await remembered
        for text, author, reply_to in [
            ("anyone up for lunch?", "carol", None),
            ("me! where?", "alice", None),
            ("thanks!", "bob", second.id),
            ("how much did it cost?", "carol", asked.id),
        ]:
            await fake.until_handled(
                await fake.send_user_message(
                    text, channel_id=thread, author=author, reply_to=reply_to, reply_ping=False
                )
            )
        assert len(engine.asked) == 2, engine.asked
        assert len(fake.messages) == 2


async def test_in_a_forum_post_only_what_is_addressed_to_it_is_answered(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    engine = Recording(seed_engine)
    async with citebot(with_message_content(seed_settings), engine) as (fake, bot):
        forum = await fake.add_forum()
        chatter = await fake.open_forum_post(forum, "Lunch", "who's up for lunch?")
        await fake.until_handled(chatter)
        remembered = asyncio.ensure_future(bot.wait_for("citebot_answered", timeout=30))
        post = await fake.open_forum_post(forum, "Lety", "who is Lety Pérez?", mention_bot=True)
        first = await post.message(timeout=30)
        await remembered
        assert first.channel_id == post.id and LETY in unescape(first.content)
        remembered = asyncio.ensure_future(bot.wait_for("citebot_answered", timeout=30))
        follow_up = await fake.send_user_message(
            "and what is her son's name?", channel_id=post.id, reply_to=first.id, reply_ping=False
        )
        assert "Anthony" in (await follow_up.message(replying_to(follow_up.id))).content
        await remembered
        for text, author in [("anyone up for lunch?", "carol"), ("thanks!", None)]:
            await fake.until_handled(
                await fake.send_user_message(text, channel_id=post.id, author=author)
            )
        assert len(engine.asked) == 2, engine.asked
        assert len(fake.messages) == 2


async def test_a_forum_answer_channel_answers_each_post_and_its_askers_questions(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    engine = Recording(seed_engine)
    fake = FakeDiscord()
    forum = str(fake.world.add_channel("questions", FORUM_CHANNEL)["id"])
    async with citebot(with_message_content(seed_settings, int(forum)), engine, fake):
        post = await fake.open_forum_post(forum, "Lety", "who is Lety Pérez?")
        first = await post.message(timeout=30)
        assert first.channel_id == post.id and LETY in unescape(first.content)
        for text, author in [("anyone up for lunch?", "carol"), ("thanks!", None)]:
            await fake.until_handled(
                await fake.send_user_message(text, channel_id=post.id, author=author)
            )
        follow_up = await fake.send_user_message("what is her son's name?", channel_id=post.id)
        assert "Anthony" in (await follow_up.message(timeout=30)).content
        assert len(engine.asked) == 2 and len(fake.messages) == 2


async def test_a_follow_up_is_asked_after_the_question_it_replies_to_not_the_whole_chain(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    engine = Recording(seed_engine)
    async with citebot(seed_settings, engine) as (fake, bot):
        reply = await answered(bot, fake, "How many troops did Mexico send to its northern border?")
        for question in ("who is Lety Pérez?", "and what is her son's name?", "what did she beg?"):
            remembered = asyncio.ensure_future(bot.wait_for("citebot_answered", timeout=30))
            asked = await fake.send_user_message(question, reply_to=reply.id)
            reply = await asked.message(replying_to(asked.id), timeout=30)
            await remembered
            if question.startswith("and what"):
                assert "Anthony" in reply.content, "an unrelated earlier question changes nothing"
        son, beg = engine.asked[2:]
        assert "who is Lety Pérez?" in son and "troops" not in son
        assert son.endswith("and what is her son's name?")
        assert "and what is her son's name?" in beg and "who is" not in beg
        assert "Lety Pérez" in beg, "the subject of the answer replied to is kept"


async def test_a_reply_to_an_answer_from_before_a_restart_is_a_follow_up(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    fake = FakeDiscord()
    async with citebot(seed_settings, seed_engine, fake) as (_, bot):
        answer = await answered(bot, fake, "who is Lety Pérez?")
    engine = Recording(seed_engine)
    async with citebot(seed_settings, engine, fake) as (_, restarted):
        assert restarted.conversations.get(int(answer.id)) is None, "a new process"
        follow_up = await fake.send_user_message("and what is her son's name?", reply_to=answer.id)
        reply = await follow_up.message(timeout=30)
        assert "Anthony" in reply.content
        [question] = engine.asked
        assert question.startswith("who is Lety Pérez?") and "Lety Pérez Anthony" in question


async def test_a_public_ask_answer_shows_its_question_and_is_followed_up_after_a_restart(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    fake = FakeDiscord()
    async with citebot(seed_settings, seed_engine, fake):
        asked = await fake.invoke_slash("ask", {"question": "who is **Lety** Pérez?"})
        public = await asked.message(timeout=30)
        assert public.content.startswith("**Q:** who is \\*\\*Lety\\*\\* Pérez?\n")
        assert LETY in unescape(public.content)
        private = await (
            await fake.invoke_slash("ask", {"question": "who is Lety Pérez?", "private": True})
        ).message(timeout=30)
        assert private.ephemeral and not private.content.startswith("**Q:**")
    engine = Recording(seed_engine)
    async with citebot(seed_settings, engine, fake):
        follow_up = await fake.send_user_message("and what is her son's name?", reply_to=public.id)
        assert "Anthony" in (await follow_up.message(timeout=30)).content
        assert engine.asked[0].startswith("who is **Lety** Pérez?")
