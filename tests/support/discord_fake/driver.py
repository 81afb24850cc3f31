"""FakeDiscord, the server tests start, and the API they drive the bot and inspect it with."""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import discord
import yarl
from aiohttp import web

from tests.support.discord_fake.gateway import Gateway
from tests.support.discord_fake.payloads import (
    ADMINISTRATOR,
    ATTACHMENT_SIZE_LIMIT,
    DEFAULT_PERMISSIONS,
    FORUM_CHANNEL,
    JSON,
    command_options,
    walk_components,
)
from tests.support.discord_fake.rest import API_PREFIX, RestRoutes
from tests.support.discord_fake.state import (
    BotMessage,
    Heartbeat,
    InteractionState,
    RecordedRequest,
    World,
)

_T = TypeVar("_T")
_ClientT = TypeVar("_ClientT", bound=discord.Client)


class _Shared(Generic[_T]):
    """A FakeDiscord attribute that is the World attribute of the same name."""

    def __set_name__(self, owner: type[FakeDiscord], name: str) -> None:
        self.name = name

    def __get__(self, fake: FakeDiscord, owner: type[FakeDiscord] | None = None) -> _T:
        value: _T = getattr(fake.world, self.name)
        return value

    def __set__(self, fake: FakeDiscord, value: _T) -> None:
        setattr(fake.world, self.name, value)


@dataclass
class Exchange:
    """Something a test dispatched to the bot (a message or an interaction)."""

    fake: FakeDiscord
    event: JSON
    since: int

    @property
    def id(self) -> str:
        """Id of the dispatched message or interaction."""
        return str(self.event["id"])

    async def message(
        self, predicate: Callable[[BotMessage], bool] | None = None, *, timeout: float = 5.0
    ) -> BotMessage:
        """Wait for the first bot message recorded after the dispatch that matches."""
        return await self.fake.wait_for_message(predicate, timeout=timeout, since=self.since)

    async def response(self, *, timeout: float = 5.0) -> JSON:
        """Wait for the accepted initial interaction callback ({"type": ..., "data": ...})."""
        state = self.fake.world.interactions[self.id]
        return await self.fake.wait_until(lambda: state.response, timeout=timeout, what="callback")


class FakeDiscord:
    """A loopback Discord: REST v10 under `api_base`, the Gateway at `gateway_url`.

    It holds one guild with one text channel, the bot member and a few user members. Its state
    is a `World` shared by the `Gateway` and the `RestRoutes`; the world's settings, identity and
    records (see World) are attributes of the fake as well.
    """

    token = _Shared[str]()
    heartbeat_interval_ms = _Shared[int]()
    interaction_deadline = _Shared[float]()
    bot_user = _Shared[JSON]()
    bot_id = _Shared[str]()
    application_id = _Shared[str]()
    guild_id = _Shared[str]()
    channel_id = _Shared[str]()
    users = _Shared[dict[str, JSON]]()
    requests = _Shared[list[RecordedRequest]]()
    unknown_requests = _Shared[list[str]]()
    violations = _Shared[list[str]]()
    messages = _Shared[list[BotMessage]]()
    reactions = _Shared[dict[str, list[str]]]()
    commands = _Shared[dict[str | None, list[JSON]]]()
    heartbeats = _Shared[list[Heartbeat]]()
    identify_count = _Shared[int]()
    resume_count = _Shared[int]()
    presence = _Shared[JSON | None]()
    recommended_shards = _Shared[int]()
    token_lifetime = _Shared[float]()
    team = _Shared[dict[str, str] | None]()
    handled = _Shared[set[str]]()

    def __init__(
        self,
        *,
        token: str = "test-token",
        users: Sequence[str] = ("alice", "bob", "carol"),
        heartbeat_interval_ms: int = 1000,
        interaction_deadline: float = 3.0,
    ) -> None:
        self.world = World(
            token=token,
            users=users,
            heartbeat_interval_ms=heartbeat_interval_ms,
            interaction_deadline=interaction_deadline,
        )
        self.gateway = Gateway(self.world)
        self.rest = RestRoutes(self.world, self.gateway)
        self._runner: web.AppRunner | None = None
        self._port = 0

    # ----------------------------------------------------------------- lifecycle and URLs
    async def start(self) -> None:
        """Start listening on 127.0.0.1 at a free port."""
        app = web.Application()
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_route("*", "/{tail:.*}", self.rest.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        self.gateway.url = self.gateway_url
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        """Cancel interaction timers, close websockets and stop the server."""
        for state in self.world.interactions.values():
            if state.timer:
                state.timer.cancel()
        await self.gateway.close_all()
        if self._runner:
            await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        """Value for discord.http.Route.BASE."""
        return f"http://127.0.0.1:{self._port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        """Value for discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY (as a yarl.URL)."""
        return f"ws://127.0.0.1:{self._port}/gateway"

    # ----------------------------------------------------------------- waiting
    async def wait_until(
        self, predicate: Callable[[], _T | None], *, timeout: float = 5.0, what: str = "condition"
    ) -> _T:
        """Return predicate()'s first truthy value, re-checked whenever the fake's state changes."""
        try:
            async with asyncio.timeout(timeout):
                while not (result := predicate()):
                    await self.world.changed.wait()
                return result
        except TimeoutError:
            raise TimeoutError(
                f"no {what} within {timeout}s; violations={self.violations}, "
                f"unknown={self.unknown_requests}, last requests={self.requests[-5:]}"
            ) from None

    async def wait_for_message(
        self,
        predicate: Callable[[BotMessage], bool] | None = None,
        *,
        timeout: float = 5.0,
        since: int = 0,
    ) -> BotMessage:
        """Wait for the first bot message in `messages[since:]` that matches `predicate`."""

        def find() -> BotMessage | None:
            return next((m for m in self.messages[since:] if not predicate or predicate(m)), None)

        return await self.wait_until(find, timeout=timeout, what="matching bot message")

    def mark_handled(self, message_id: int | str) -> None:
        """Record that the bot is done with a message (answered it, or chose not to): the
        bot's test helpers call this from its event, so that a test can wait for a message
        the bot must not answer (`until_handled`) instead of sleeping."""
        self.world.handled.add(str(message_id))
        self.world.notify()

    async def until_handled(self, exchange: Exchange, *, timeout: float = 30.0) -> None:
        """Wait until the bot is done with the message `exchange` sent."""
        await self.wait_until(
            lambda: exchange.id in self.world.handled, timeout=timeout,
            what=f"message {exchange.id} handled",
        )  # fmt: skip

    def heartbeat_gaps(
        self, since: float = float("-inf"), until: float = float("inf")
    ) -> list[float]:
        """Seconds between consecutive heartbeats on the same gateway connection, for the
        gaps that start from `since` and end by `until` (times of time.monotonic())."""
        return [
            b.at - a.at
            for a, b in itertools.pairwise(self.heartbeats)
            if a.connection == b.connection and since <= a.at and b.at <= until
        ]

    def late_heartbeats(
        self, grace: float = 0.25, since: float = float("-inf"), until: float = float("inf")
    ) -> list[float]:
        """Heartbeat gaps longer than the interval plus `grace` seconds, within the window."""
        limit = self.heartbeat_interval_ms / 1000 + grace
        return [gap for gap in self.heartbeat_gaps(since, until) if gap > limit]

    def assert_clean(self) -> None:
        """Raise AssertionError if any violation or unknown request was recorded."""
        assert not self.violations, f"Discord protocol violations: {self.violations}"
        assert not self.unknown_requests, f"unknown endpoints: {self.unknown_requests}"

    # ----------------------------------------------------------------- faults
    def fail_next(
        self, pattern: str, *, count: int = 1, status: int = 429, retry_after: float = 0.05
    ) -> None:
        """Answer the next `count` requests matching regex `pattern` ("METHOD /path") with
        `status` (429 with Via header and retry_after, or a 5xx)."""
        self.rest.fail_next(pattern, count=count, status=status, retry_after=retry_after)

    def hold(self, pattern: str) -> asyncio.Event:
        """Keep REST requests matching regex `pattern` ("METHOD /path") waiting until the
        returned event is set (a slow Discord, or an answer kept in flight)."""
        return self.rest.hold(pattern)

    async def disconnect_gateway(self, code: int = 4000) -> None:
        """Close the live gateway websocket with `code`; events sent meanwhile are buffered and
        replayed on RESUME."""
        await self.gateway.disconnect(code)

    async def request_reconnect(self, shard: int = 0) -> None:
        """Send a shard gateway op 7 (RECONNECT), as Discord does before moving a session."""
        await self.gateway.request_reconnect(shard)

    def invalidate_session_next(self) -> None:
        """Answer the next RESUME with op 9 (session invalid, not resumable)."""
        self.gateway.invalidate_next = True

    async def deny_bot(self, permissions: int, *, channel_id: str | None = None) -> None:
        """Deny the bot `permissions` (bits) in a channel by a member overwrite, as a server
        admin would; the bot hears of it in GUILD_CREATE or CHANNEL_UPDATE."""
        channel = self.world.channel(channel_id or self.channel_id)
        others = [o for o in channel["permission_overwrites"] if o["id"] != self.bot_id]
        mine = {"id": self.bot_id, "type": 1, "allow": "0", "deny": str(permissions)}
        channel["permission_overwrites"] = [*others, mine]
        await self.gateway.dispatch("CHANNEL_UPDATE", channel)

    async def delete_user_message(self, message_id: str) -> None:
        """Delete a stored message, as its author would (MESSAGE_DELETE)."""
        msg = self.world.stored(message_id)
        del self.world.msgs[message_id]
        gone = {"id": message_id, "channel_id": msg["channel_id"]}
        await self.gateway.dispatch("MESSAGE_DELETE", {**gone, **_guild_of(msg)})

    async def open_thread(self, message_id: str, name: str, *, author: str | None = None) -> JSON:
        """A user opens a public thread on a stored message (THREAD_CREATE)."""
        thread = self.world.make_thread(self.world.stored(message_id), name,
                                        self.world.user(author)["id"])  # fmt: skip
        await self.gateway.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        return thread

    async def add_channel(self, name: str, channel_type: int) -> str:
        """A new channel of the guild (CHANNEL_CREATE): 0 text, 2 voice, 13 stage (both with
        their text chat), 15 forum; its id."""
        channel = self.world.add_channel(name, channel_type)
        await self.gateway.dispatch("CHANNEL_CREATE", channel)
        return str(channel["id"])

    async def add_forum(self, name: str = "questions") -> str:
        """A forum channel (CHANNEL_CREATE); its id. Members write in it by opening posts."""
        return await self.add_channel(name, FORUM_CHANNEL)

    async def open_forum_post(
        self, forum_id: str, title: str, content: str, *, author: str | None = None,
        mention_bot: bool = False,
    ) -> Exchange:  # fmt: skip
        """A member opens a post in a forum: a thread owned by them (THREAD_CREATE) whose first
        message, with the thread's id, is `content` (MESSAGE_CREATE)."""
        world = self.world
        if world.channel(forum_id)["type"] != FORUM_CHANNEL:
            raise ValueError(f"channel {forum_id} is not a forum")
        user = world.user(author)
        thread = world.new_thread(world.snowflake(), forum_id, title, user["id"])
        await self.gateway.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        text = f"<@{world.bot_id}> {content}" if mention_bot else content
        msg = world.message(thread["id"], user, text)
        msg["id"] = thread["id"]
        msg["mentions"] = [world.bot_user] if mention_bot else []
        world.msgs[msg["id"]] = msg
        since = len(world.messages)
        await self.gateway.dispatch_message(msg)
        return Exchange(self, msg, since)

    async def send_system_message(
        self, message_type: int, content: str = "", *, channel_id: str | None = None,
        dm: bool = False, author: str | None = None,
    ) -> Exchange:  # fmt: skip
        """Dispatch a message Discord itself writes: 6 a pin notice, 7 a member joined, 18 a
        thread was created (its content is the thread's name), ..."""
        world = self.world
        user = world.user(author)
        channel = world.dm_channel(user) if dm else world.channel(channel_id or world.channel_id)
        msg = world.message(channel["id"], user, content)
        msg["type"] = message_type
        world.msgs[msg["id"]] = msg
        since = len(world.messages)
        await self.gateway.dispatch_message(msg)
        return Exchange(self, msg, since)

    # ----------------------------------------------------------------- driving the bot
    async def send_user_message(
        self,
        content: str,
        *,
        author: str | None = None,
        channel_id: str | None = None,
        mention_bot: bool = False,
        reply_to: str | None = None,
        reply_ping: bool = True,
        dm: bool = False,
    ) -> Exchange:
        """Dispatch MESSAGE_CREATE from a user (in the guild channel, a thread, or a DM).

        `mention_bot` prefixes `<@BOT_ID>` and puts the bot in `mentions`; `reply_to` makes it a
        reply (type 19) whose author is pinged unless `reply_ping` is false.
        """
        world = self.world
        user = world.user(author)
        channel = (
            world.dm_channel(user) if dm else world.channels.get(channel_id or world.channel_id)
        )
        if channel is None:
            raise ValueError(f"unknown channel {channel_id}")
        text = f"<@{world.bot_id}> {content}" if mention_bot else content
        msg = world.message(channel["id"], user, text)
        world.msgs[msg["id"]] = msg
        msg["mentions"] = [world.bot_user] if mention_bot else []
        if reply_to is not None:
            if reply_to not in world.msgs:
                raise ValueError(f"unknown message {reply_to}")
            world.set_reference(msg, {"message_id": reply_to})
            author_json = world.msgs[reply_to]["author"]
            if reply_ping and author_json not in msg["mentions"]:
                msg["mentions"].append(author_json)
        since = len(world.messages)
        await self.gateway.dispatch_message(msg)
        return Exchange(self, msg, since)

    async def invoke_slash(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        user: str | None = None,
        permissions: str = DEFAULT_PERMISSIONS,
        guild: bool = True,
        channel_id: str | None = None,
    ) -> Exchange:
        """Dispatch a chat-input command as a user would invoke it; the options are checked
        against the registered schema (types 3, 4, 5, 10) like Discord's client does."""
        cmd, data = self._command_data(name, options or {}, guild)
        required = cmd.get("default_member_permissions")
        granted = int(permissions)
        lacking = required is not None and granted & int(required) != int(required)
        if guild and lacking and not granted & ADMINISTRATOR:
            raise ValueError(f"user lacks default_member_permissions {required} for /{name}")
        return await self._interact(2, data, user, permissions, guild, channel_id)

    async def autocomplete(
        self,
        name: str,
        option: str,
        partial_value: str,
        *,
        options: dict[str, Any] | None = None,
        user: str | None = None,
        guild: bool = True,
        timeout: float = 5.0,
    ) -> list[JSON]:
        """Dispatch an autocomplete interaction and return the choices the bot answered."""
        _, data = self._command_data(
            name, {**(options or {}), option: partial_value}, guild, option
        )
        exchange = await self._interact(4, data, user, DEFAULT_PERMISSIONS, guild)
        response = await exchange.response(timeout=timeout)
        choices: list[JSON] = response["data"]["choices"]
        return choices

    async def click_button(
        self, message_id: str, custom_id: str, *, user: str | None = None
    ) -> Exchange:
        """Click an enabled button on a stored bot message (component interaction, type 3)."""
        msg = self.world.msgs.get(message_id)
        button = next(
            (c for _, c in walk_components((msg or {}).get("components") or [], "")
             if c.get("type") == 2 and c.get("custom_id") == custom_id),
            None,
        )  # fmt: skip
        if msg is None or button is None or button.get("disabled"):
            raise ValueError(f"no enabled button {custom_id!r} on message {message_id}")
        data = {"custom_id": custom_id, "component_type": 2}
        guild = "guild_id" in msg
        return await self._interact(
            3, data, user, DEFAULT_PERMISSIONS, guild, msg["channel_id"], msg
        )

    def _command(self, name: str, guild: bool) -> JSON:
        for scope in (self.guild_id, None) if guild else (None,):
            for cmd in self.commands.get(scope, []):
                if cmd["name"] == name and cmd.get("type", 1) == 1:
                    if not guild and cmd.get("dm_permission") is False:
                        raise ValueError(f"/{name} is not available in DMs")
                    return cmd
        raise ValueError(f"/{name} is not registered ({'guild' if guild else 'DM'})")

    def _command_data(
        self, name: str, options: dict[str, Any], guild: bool, focused: str | None = None
    ) -> tuple[JSON, JSON]:
        cmd = self._command(name, guild)
        built = command_options(cmd.get("options") or [], options, focused)
        data = {"id": cmd["id"], "name": name, "type": 1, "options": built}
        if cmd.get("guild_id"):
            data["guild_id"] = cmd["guild_id"]
        return cmd, data

    async def _interact(
        self, itype: int, data: JSON, user: str | None, permissions: str, guild: bool,
        channel_id: str | None = None, message: JSON | None = None,
    ) -> Exchange:  # fmt: skip
        world = self.world
        person = world.user(user)
        iid = world.snowflake()
        payload = {"id": iid, "application_id": world.application_id, "type": itype, "data": data,
                   "token": f"interaction-token-{iid}", "version": 1, "locale": "en-US",
                   "app_permissions": DEFAULT_PERMISSIONS, "entitlements": [],
                   "attachment_size_limit": ATTACHMENT_SIZE_LIMIT, "context": 0 if guild else 1,
                   "authorizing_integration_owners": {}}  # fmt: skip
        if guild:
            channel = world.channels[channel_id or world.channel_id]
            payload.update(guild_id=world.guild_id, guild_locale="en-US",
                           member=world.member(person, permissions=permissions))  # fmt: skip
        else:
            channel = world.dm_channel(person)
            payload["user"] = person
        payload.update(channel_id=channel["id"], channel=channel)
        if message is not None:
            payload["message"] = message
        state = world.interactions[iid] = InteractionState(payload)
        loop = asyncio.get_running_loop()
        state.timer = loop.call_later(world.interaction_deadline, world.deadline_passed, state)
        since = len(world.messages)
        await self.gateway.dispatch("INTERACTION_CREATE", payload)
        return Exchange(self, payload, since)


def _guild_of(msg: JSON) -> JSON:
    return {"guild_id": msg["guild_id"]} if "guild_id" in msg else {}


@asynccontextmanager
async def running_bot(
    bot: _ClientT, fake: FakeDiscord, token: str = "test-token", *, timeout: float = 10.0
) -> AsyncIterator[_ClientT]:
    """Point discord.py at `fake`, log `bot` in, connect, and yield once it is ready.

    On exit the bot is closed and the patched class attributes are restored.
    """
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = fake.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
    connect: asyncio.Task[None] | None = None
    try:
        await bot.login(token)
        connect = asyncio.create_task(bot.connect(), name="discord-connect")
        ready = asyncio.create_task(bot.wait_until_ready())
        await asyncio.wait({connect, ready}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            if connect.done():
                connect.result()
                raise RuntimeError("bot.connect() returned before READY")
            raise TimeoutError(f"bot not ready within {timeout}s")
        yield bot
    finally:
        await bot.close()
        if connect is not None:
            await asyncio.wait_for(connect, timeout)
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved
