"""Reading a conversation back: what a follow-up follows, from the bot's memory, else from
Discord itself (after a restart, or once the memory has let it go): the answer a message
replies to and the question that answer replies to, or the first message of a thread that is a
conversation with the bot."""

from __future__ import annotations

import logging

import discord

from bot.app import CitebotBot
from bot.deliver import missing, where
from bot.format import asked_in
from bot.talk import Context, ThreadTalk, subject_of, subject_shown

log = logging.getLogger(__name__)


def own_words(bot: CitebotBot, content: str) -> str:
    """A message's text without the bot's mention."""
    assert bot.user is not None
    text = content.replace(f"<@{bot.user.id}>", "").replace(f"<@!{bot.user.id}>", "")
    return text.strip()


async def fetched(
    bot: CitebotBot, channel: discord.abc.Messageable | None, message_id: int
) -> discord.Message | None:
    """A message from discord.py's cache, else from Discord where the bot may read the
    channel's history; None when it is gone or cannot be read (logged)."""
    cached = discord.utils.get(bot.cached_messages, id=message_id)
    if cached is not None or channel is None:
        return cached
    if missing(channel, "read_message_history"):
        log.info("cannot read back message %s in %s: missing history", message_id, where(channel))
        return None
    try:
        return await channel.fetch_message(message_id)
    except discord.HTTPException as error:
        log.info("cannot read back message %s in %s: %s", message_id, where(channel), error)
        return None


async def replied_answer(
    bot: CitebotBot, message: discord.Message
) -> tuple[int, discord.Message | None] | None:
    """The bot's message `message` replies to: its id, and the message itself unless the
    bot remembers it. None when `message` replies to no message of the bot's."""
    reference = message.reference
    if reference is None or reference.message_id is None:
        return None
    if bot.conversations.get(reference.message_id) is not None:
        return reference.message_id, None
    resolved = reference.resolved
    if isinstance(resolved, discord.DeletedReferencedMessage):
        return None
    if resolved is None:
        resolved = await fetched(bot, message.channel, reference.message_id)
    if resolved is None or resolved.author != bot.user:
        return None
    return reference.message_id, resolved


async def context_of(
    bot: CitebotBot, answer_id: int, answer: discord.Message | None
) -> Context | None:
    """What a reply to the bot's message `answer_id` is asked after: the question that
    message answered, in its asker's words, and the answer's subject. From memory, else from
    the message as Discord shows it: the question it replies to, the question a public /ask
    answer shows, or the question its thread was opened on."""
    remembered = bot.conversations.get(answer_id)
    if remembered is not None:
        return Context(remembered.question, subject_of(remembered.answer))
    if answer is None:
        return None
    question = asked_in(answer.content) or ""
    reference = answer.reference
    if not question and reference is not None and reference.message_id is not None:
        asked = reference.resolved
        if not isinstance(asked, discord.Message):
            asked = await fetched(bot, answer.channel, reference.message_id)
        question = own_words(bot, asked.content) if asked is not None else ""
    elif not question and isinstance(answer.channel, discord.Thread):
        talk = await thread_talk(bot, answer.channel)
        question = talk.context.question if talk is not None and talk.context else ""
    subject = subject_shown(answer.content)
    return Context(question, subject) if question or subject else None


async def thread_talk(bot: CitebotBot, thread: discord.Thread) -> ThreadTalk | None:
    """The conversation `thread` is, when it is one: a thread the bot opened on a question in
    an answer channel, or a post in a forum that is an answer channel. Who asked there comes
    from its first message (the question it was opened on) or, in a forum, its owner."""
    assert bot.user is not None
    if thread.parent_id not in bot.settings.discord_answer_channels:
        return None
    forum = isinstance(thread.parent, discord.ForumChannel)
    if not forum and thread.owner_id != bot.user.id:
        return None
    known = bot.threads.get(thread.id)
    if known is not None:
        return known
    # The first message: in a forum post, the post's own (with the thread's id); on a thread
    # the bot opened, the question in the parent channel it was opened on.
    parent = thread.parent if isinstance(thread.parent, discord.TextChannel) else None
    first = await fetched(bot, thread if forum else parent, thread.id)
    asker = thread.owner_id if forum else (first.author.id if first is not None else None)
    question = own_words(bot, first.content) if first is not None else thread.name
    talk = ThreadTalk(asker, Context(question) if question else None)
    bot.threads.put(thread.id, talk)
    return talk
