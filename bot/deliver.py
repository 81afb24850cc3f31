"""Posting to a question where Discord lets the bot: in a thread, as a reply, or as a plain
message, falling back when a permission is missing or the question is gone.

Every fallback, and every message that cannot be posted, is logged as a warning naming the
missing permission, so that a server admin can grant it. Permissions are read from
discord.py's cache first (no request that Discord would refuse); a refusal at send time
(permissions changed meanwhile) is handled the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import discord

from bot.format import NONE

log = logging.getLogger(__name__)

# Discord shows "typing…" for about 10 s after each request: one again before it runs out.
TYPING_EVERY_SECONDS = 8.0
# Typing indicators being shown, kept referenced until they stop.
_TYPING: set[asyncio.Task[None]] = set()

# Discord's error codes for the refusals handled here.
UNKNOWN_MESSAGE = 10008
REPLY_NEEDS_HISTORY = 160002
THREAD_EXISTS = 160004
# Permission attribute -> the name Discord's settings show.
PERMISSION_NAMES = {
    "view_channel": "View Channels",
    "send_messages": "Send Messages",
    "send_messages_in_threads": "Send Messages in Threads",
    "create_public_threads": "Create Public Threads",
    "read_message_history": "Read Message History",
    "add_reactions": "Add Reactions",
}


def missing(channel: discord.abc.Messageable, *needed: str) -> list[str]:
    """Names of the permissions in `needed` the bot lacks in `channel` (none in DMs)."""
    if not isinstance(channel, discord.abc.GuildChannel | discord.Thread):
        return []
    granted = channel.permissions_for(channel.guild.me)
    return [PERMISSION_NAMES[name] for name in needed if not getattr(granted, name)]


def _speak(channel: discord.abc.Messageable) -> str:
    """The permission that posting in `channel` takes."""
    return "send_messages_in_threads" if isinstance(channel, discord.Thread) else "send_messages"


def where(channel: discord.abc.Messageable) -> str:
    """The channel as a log line names it: `#name (id)`, or `a DM`."""
    name = getattr(channel, "name", None)
    return f"#{name} ({getattr(channel, 'id', '?')})" if name else "a DM"


def opens_threads(channel: discord.abc.Messageable) -> bool:
    """Whether a thread can be opened on a message in `channel`: in a text or announcement
    channel, not in a voice or stage channel's text chat (Discord refuses: 400, 50024), a
    thread (a forum post among them) or a DM."""
    return isinstance(channel, discord.TextChannel)


def can_answer(channel: discord.abc.Messageable) -> bool:
    """Whether the bot may post in `channel`; when not, a warning names what it lacks."""
    lacking = missing(channel, "view_channel", _speak(channel))
    if lacking:
        log.warning("cannot answer in %s: missing %s", where(channel), ", ".join(lacking))
    return not lacking


@contextlib.asynccontextmanager
async def typing_beside(channel: discord.abc.Messageable) -> AsyncIterator[None]:
    """Show "typing…" in `channel` while the block runs, beside it: the block never waits
    for the indicator, and the indicator's failures (refused, rate limited, Discord's 5xx)
    are logged and change nothing."""
    task = asyncio.create_task(_keep_typing(channel))
    _TYPING.add(task)
    task.add_done_callback(_TYPING.discard)
    try:
        yield
    finally:
        task.cancel()


async def _keep_typing(channel: discord.abc.Messageable) -> None:
    while True:
        try:
            await channel.typing()
        except Exception as error:  # whatever stops the indicator, the answer goes on
            log.info("no typing indicator in %s: %r", where(channel), error)
            return
        await asyncio.sleep(TYPING_EVERY_SECONDS)


async def react(message: discord.Message, emoji: str) -> None:
    """Put `emoji` under `message` where the bot may; a refusal is logged, nothing more."""
    if lacking := missing(message.channel, "add_reactions", "read_message_history"):
        log.info("no reaction in %s: missing %s", where(message.channel), ", ".join(lacking))
        return
    try:
        await message.add_reaction(emoji)
    except discord.HTTPException as error:
        log.info("no reaction in %s: %s", where(message.channel), error)


async def post(
    question: discord.Message, content: str, *, view: discord.ui.View | None = None
) -> discord.Message | None:
    """Reply to `question`; without Read Message History, or when it was deleted meanwhile,
    post in its channel without the reply link. None when nothing could be posted."""
    channel = question.channel
    options: dict[str, Any] = {
        "allowed_mentions": NONE,
        "view": view or discord.utils.MISSING,
        "suppress_embeds": True,  # no previews of the links an answer quotes
    }
    if missing(channel, "read_message_history"):
        _without_reply_link(channel)
    else:
        options.update(
            reference=question.to_reference(fail_if_not_exists=False), mention_author=False
        )
    return await _send(channel, content, options)


async def post_in_thread(
    question: discord.Message, content: str, name: str, *, view: discord.ui.View | None = None
) -> tuple[discord.Message | None, discord.Thread | None]:
    """Open a thread on `question` and post there (in the thread someone already opened on
    it, if any); without Create Public Threads, or when the question is gone, reply instead.
    The message posted and the thread it is in."""
    thread: discord.Thread | None = None
    if lacking := missing(question.channel, "create_public_threads"):
        log.warning("replying in %s: missing %s", where(question.channel), lacking[0])
    else:
        try:
            thread = await question.create_thread(name=name)
        except discord.HTTPException as error:
            thread = await _thread_already_there(question, error)
    if thread is None or not can_answer(thread):
        return await post(question, content, view=view), None
    options: dict[str, Any] = {
        "allowed_mentions": NONE,
        "view": view or discord.utils.MISSING,
        "suppress_embeds": True,
    }
    return await _send(thread, content, options), thread


async def _thread_already_there(
    question: discord.Message, error: discord.HTTPException
) -> discord.Thread | None:
    """The thread on `question` when `error` says one exists; None when the question is gone
    or the bot may not open threads after all (logged); any other error is raised."""
    if error.code == THREAD_EXISTS and question.guild is not None:
        existing = question.guild.get_thread(question.id)
        if existing is None:
            fetched = await question.guild.fetch_channel(question.id)
            existing = fetched if isinstance(fetched, discord.Thread) else None
        return existing
    if error.code == UNKNOWN_MESSAGE:
        log.info("question %s was deleted before its answer; posting without it", question.id)
        return None
    if isinstance(error, discord.Forbidden):
        log.warning(
            "replying in %s: missing %s (Discord error %s)",
            where(question.channel),
            PERMISSION_NAMES["create_public_threads"],
            error.code,
        )
        return None
    raise error


def _without_reply_link(channel: discord.abc.Messageable) -> None:
    log.warning(
        "answering in %s without a reply link: missing %s",
        where(channel),
        PERMISSION_NAMES["read_message_history"],
    )


async def _send(
    channel: discord.abc.Messageable, content: str, options: dict[str, Any]
) -> discord.Message | None:
    """Send, logging a refusal (permissions changed since the cache was read) as a warning."""
    try:
        return await channel.send(content, **options)
    except discord.Forbidden as error:
        if error.code == REPLY_NEEDS_HISTORY and "reference" in options:
            _without_reply_link(channel)
            unlinked = {
                key: value
                for key, value in options.items()
                if key not in {"reference", "mention_author"}
            }
            return await _send(channel, content, unlinked)
        log.warning(
            "cannot answer in %s: missing %s (Discord error %s: %s)",
            where(channel),
            PERMISSION_NAMES[_speak(channel)],
            error.code,
            error.text,
        )
        return None
