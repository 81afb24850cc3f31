"""The citebot Discord bot: one engine, loaded once, shared by the cogs."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import math
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.format import NONE
from bot.sync import sync_commands
from bot.talk import ThreadTalk
from index.config import Settings
from index.engine import Engine
from index.errors import (
    CitebotError,
    IndexDamagedError,
    IndexNotFoundError,
    ModelMismatchError,
)
from index.feedback import FeedbackStore
from index.lru import LeastRecentlyUsed
from index.records import Answer

log = logging.getLogger(__name__)

EXTENSIONS = ("bot.ask", "bot.lookup")
APOLOGY = "Sorry, something went wrong on my side. Please try again in a moment."
RESTARTING = "Sorry, I'm restarting and couldn't finish this answer; please ask again in a minute."
INDEX_UNAVAILABLE = (
    "Sorry, I can't answer until my index is rebuilt; a server admin can run"
    " `citebot build --full`."
)
CONVERSATIONS_KEPT = 2000
# Discord's codes for an interaction it no longer takes answers for: Unknown Webhook, Unknown
# interaction (past 3 s), Invalid Webhook Token (past 15 minutes).
EXPIRED = frozenset({10015, 10062, 50027})
# Discord's code for an interaction already acknowledged: by another process connected to the
# same shard (their DISCORD_SHARD_IDS overlap, or an old process runs beside its replacement).
ALREADY_ACKNOWLEDGED = 40060
# Threads that run the engine. Answering is CPU-bound and partly holds the GIL: more threads
# than this 2-core class of machine has only take the GIL from the event loop (and delay the
# gateway heartbeat) without answering any faster.
WORKER_THREADS = 2
# How long discord.py waits after a server's GUILD_CREATE for more before it calls the bot
# ready (its default: 2 s, most of the time from `citebot run` to a first reply). citebot
# asks for no member lists and answers whatever arrives, before or after ready.
GUILD_READY_SECONDS = 0.25
# Lookups (sources, titles, articles, stats, feedback) read SQLite only and take milliseconds:
# one thread of their own, so they never queue behind answers and meet Discord's 3 s deadline.
LOOKUP_THREADS = 1
P = ParamSpec("P")
R = TypeVar("R")
# What the bot needs in a channel: read it, answer (in threads too), open a thread in an answer
# channel, show embeds, and react (to a question asked again within the cooldown).
INVITE_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,
    read_message_history=True,
    embed_links=True,
    add_reactions=True,
)


@dataclass(frozen=True, slots=True)
class Exchange:
    """A question, in its asker's own words (without the question it followed up), and the
    answer the bot gave: remembered for follow-ups and buttons."""

    question: str
    answer: Answer


class Conversations:
    """The latest answers, by the id of the bot's message that gave them."""

    def __init__(self, size: int = CONVERSATIONS_KEPT) -> None:
        self._items: OrderedDict[int, Exchange] = OrderedDict()
        self._size = size

    def remember(self, key: int, exchange: Exchange) -> None:
        """Keep `exchange` under `key`, forgetting the oldest beyond the bound."""
        self._items[key] = exchange
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def get(self, key: int) -> Exchange | None:
        """The exchange kept under `key`, if any."""
        return self._items.get(key)


@dataclass(slots=True)
class _Asking:
    """One user's questions in the cooldown's window, and until when they have been told to
    wait."""

    asked: deque[float]
    told_until: float = -math.inf


class Cooldown:
    """At most `rate` questions per user in any `per` seconds.

    Users are kept only while their window lasts: one who has not asked for `per` seconds
    (and is not being told to wait) is forgotten, so the memory is bounded by who asked
    recently, not by everyone who ever asked.
    """

    def __init__(
        self, rate: int, per: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.per = per
        self._clock = clock
        # Least recently active first: the users to forget are at the front.
        self._users: OrderedDict[int, _Asking] = OrderedDict()

    def __len__(self) -> int:
        """How many users are remembered."""
        return len(self._users)

    def retry_after(self, user_id: int) -> float:
        """0 when the user may ask now (and count the question), else seconds to wait."""
        now = self._clock()
        self._forget(now)
        user = self._users.get(user_id)
        if user is None:
            user = self._users[user_id] = _Asking(deque())
        self._users.move_to_end(user_id)
        asked = user.asked
        while asked and now - asked[0] >= self.per:
            asked.popleft()
        if len(asked) >= self.rate:
            return self.per - (now - asked[0])
        asked.append(now)
        return 0.0

    def first_refusal(self, user_id: int) -> bool:
        """Whether a refusal `retry_after` just gave this user is the first of its window
        (then say when to try again; after it, say nothing more until the window ends)."""
        now = self._clock()
        user = self._users.get(user_id)
        if user is None or not user.asked:
            return True
        if now < user.told_until:
            return False
        user.told_until = user.asked[0] + self.per
        return True

    def _forget(self, now: float) -> None:
        """Forget the users, least recently active first, whose window has passed."""
        while self._users:
            user_id, user = next(iter(self._users.items()))
            latest = user.asked[-1] if user.asked else -math.inf
            if now - latest < self.per or now < user.told_until:
                return
            del self._users[user_id]


class CitebotBot(commands.AutoShardedBot):
    """Answers questions in Discord with the engine over the configured index.

    Auto-sharded: as many gateway connections as Discord recommends (or
    DISCORD_SHARD_COUNT), so one process serves any number of servers; with
    DISCORD_SHARD_IDS, only those shards, so several processes split them and each event
    reaches one of them.
    """

    def __init__(self, settings: Settings, *, engine: Engine | None = None, **options: Any) -> None:
        # citebot never joins voice: no warnings about voice libraries.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        # Only the events citebot handles (README, "Intents"): servers and their channels,
        # messages in servers and DMs, and the privileged Message Content only for answer
        # channels, the one feature that reads messages not addressed to the bot.
        intents = discord.Intents(
            guilds=True,
            guild_messages=True,
            dm_messages=True,
            message_content=bool(settings.discord_answer_channels),
        )
        # DISCORD_SHARD_IDS: only those shards (none given: every shard; discord.py reads an
        # empty list as a list of shard ids).
        own_shards = {"shard_ids": settings.discord_shard_ids} if settings.discord_shard_ids else {}
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            allowed_mentions=NONE,
            shard_count=settings.discord_shard_count,
            **{"guild_ready_timeout": GUILD_READY_SECONDS, **own_shards, **options},
        )
        self.settings = settings
        self.engine = engine or Engine(settings)
        self.feedback = FeedbackStore.for_settings(settings)
        self.conversations = Conversations()
        # Threads that are conversations with the bot, by id: who asks there, and the latest
        # question's context (read back from Discord after a restart).
        self.threads: LeastRecentlyUsed[int, ThreadTalk] = LeastRecentlyUsed(CONVERSATIONS_KEPT)
        self.cooldown = Cooldown(
            settings.discord_cooldown_questions, settings.discord_cooldown_seconds
        )
        self.tree.error(self.on_app_command_error)
        self._workers = ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="citebot-worker")
        self._lookups = ThreadPoolExecutor(LOOKUP_THREADS, thread_name_prefix="citebot-lookup")
        # Answers being worked on, each with how to apologise if shutting down cuts it short.
        self._answering: dict[asyncio.Task[Any], Callable[[], Awaitable[object]]] = {}
        self.stopping = False
        self._warming: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def answering(self, apologise: Callable[[], Awaitable[object]]) -> AsyncIterator[None]:
        """Mark the current task as answering until the block ends; a shutdown waits for it,
        or calls `apologise` when it cannot."""
        task = asyncio.current_task()
        assert task is not None
        self._answering[task] = apologise
        try:
            yield
        finally:
            self._answering.pop(task, None)

    async def shut_down(self, grace: float) -> None:
        """Take no new questions, give the answers in flight `grace` seconds to be sent,
        apologise for the rest, and close the connection to Discord."""
        self.stopping = True
        pending = dict(self._answering)
        if pending:
            log.info("finishing %d answer(s) before closing", len(pending))
            _, late = await asyncio.wait(pending, timeout=grace)
            for task in late:
                task.cancel()
            for task in late:
                try:
                    await pending[task]()
                except discord.HTTPException as error:
                    log.warning("could not apologise for an unfinished answer: %s", error)
        await self.close()

    async def may_reload(self, user: discord.abc.User) -> bool:
        """Whether `user` may re-open the index, which every server the bot is in shares:
        the application's owner (or its team's admins and developers) and
        DISCORD_ADMIN_IDS, never a server's managers as such."""
        return user.id in self.settings.discord_admin_ids or await self.is_owner(user)

    async def in_worker(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run `function` (answering or searching: model work) in a worker thread."""
        return await _in_thread(self._workers, function, *args, **kwargs)

    async def in_lookup(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run `function` (a quick database read or write) in the lookup thread, which never
        waits behind answers."""
        return await _in_thread(self._lookups, function, *args, **kwargs)

    async def close(self) -> None:
        """Disconnect, then let the threads finish (a load still going on is not waited for)."""
        if self._warming is not None:
            self._warming.cancel()
        await super().close()
        for executor in (self._workers, self._lookups):
            executor.shutdown(wait=False, cancel_futures=True)

    async def setup_hook(self) -> None:
        """Start loading the index and model, add the cogs, sync the slash commands (when
        they changed: `bot.sync`).

        The loading goes on in a worker while the bot connects: a question that comes first
        waits for it in its own worker, never on the event loop.
        """
        self._warming = asyncio.create_task(self._warm_up())
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await sync_commands(self, self.settings)

    async def _warm_up(self) -> None:
        """Open the index and load the model once, then freeze what start-up made."""
        try:
            await self.in_worker(self.engine.warm_up)
        except CitebotError as error:
            log.warning("cannot answer until the index is fixed: %s", error)
        # What start-up made (libraries, the model, the index) lives as long as the bot: out
        # of the garbage collector's reach, a collection never pauses the event loop to scan it.
        gc.freeze()

    async def on_message(self, message: discord.Message, /) -> None:
        """No prefix commands: messages are handled by the asking cog's listener."""

    async def on_ready(self) -> None:
        """Say who the bot is, on which shards, and how to invite it, once connected."""
        log.info(
            "ready as %s on shards %s of %s; invite it with %s",
            self.user,
            ",".join(map(str, sorted(self.shards))),
            self.shard_count,
            invite_url(self.application_id),
        )

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        """Unexpected errors in events are logged with their details."""
        log.exception("error in %s", event_method)

    async def on_app_command_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        """One path for every slash command and button: a short reply, details in the log."""
        original = getattr(error, "original", error)
        await report(interaction, original)


async def _in_thread(
    executor: ThreadPoolExecutor, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs
) -> R:
    """Run `function` in one of `executor`'s threads, off the event loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(executor, functools.partial(function, *args, **kwargs))


def cooldown_text(wait: float) -> str:
    """What to tell a user who asks faster than the cooldown allows."""
    return f"You're asking faster than I can keep up; try again in {math.ceil(wait)} s."


def invite_url(application_id: int | None) -> str:
    """The link that adds the bot to a server with its slash commands and permissions."""
    return discord.utils.oauth_url(
        application_id or "APPLICATION_ID",
        permissions=INVITE_PERMISSIONS,
        scopes=("bot", "applications.commands"),
    )


def explain(error: CitebotError) -> str:
    """What to tell a Discord user about `error`: a problem with their input as it is; an
    index that cannot be read as a request to rebuild it, without its paths (the log has
    those). The bot stays up either way and answers again once the index is rebuilt."""
    if isinstance(error, IndexNotFoundError | IndexDamagedError | ModelMismatchError):
        log.warning("cannot answer: %s", error)
        return INDEX_UNAVAILABLE
    return str(error)


async def report(interaction: discord.Interaction[Any], error: BaseException) -> None:
    """Tell the user what went wrong, briefly and privately; log the unexpected. An
    interaction Discord no longer takes answers for is only logged, and one another process
    answered is left to it."""
    if isinstance(error, discord.HTTPException) and error.code in EXPIRED:
        log.warning("interaction %s expired before its answer: %s", interaction.id, error.text)
        return
    if isinstance(error, discord.HTTPException) and error.code == ALREADY_ACKNOWLEDGED:
        log.info("interaction %s was acknowledged by another process", interaction.id)
        return
    if isinstance(error, CitebotError):
        message = explain(error)
    elif isinstance(error, app_commands.CheckFailure):
        message = str(error) or "You can't use that here."
    else:
        log.exception("command failed", exc_info=error)
        message = APOLOGY
    await tell_privately(interaction, message)


async def tell_privately(interaction: discord.Interaction[Any], message: str) -> None:
    """Send `message` to the user alone, whatever the interaction has been answered with.

    The first followup after a deferral fills in its "thinking" message with the deferral's
    visibility, so a public one is deleted first: the message then goes out ephemeral.
    """
    if not interaction.response.is_done():
        await interaction.response.send_message(message, ephemeral=True, allowed_mentions=NONE)
        return
    if interaction.response.type is discord.InteractionResponseType.deferred_channel_message:
        original = await interaction.original_response()
        if original.flags.loading and not original.flags.ephemeral:
            await interaction.delete_original_response()
    await interaction.followup.send(message, ephemeral=True, allowed_mentions=NONE)
