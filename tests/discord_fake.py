"""A strict loopback fake of Discord (REST API v10 and Gateway) for end-to-end bot tests.

The real discord.py client logs into it over 127.0.0.1. The fake answers the way Discord does,
records every request, and collects protocol violations (over-limit payloads, late or duplicate
interaction responses, unknown endpoints) so that a test can fail on them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import discord
import yarl
from aiohttp import WSMsgType, web

JSON = dict[str, Any]
Problem = tuple[str, str]
_T = TypeVar("_T")
_ClientT = TypeVar("_ClientT", bound=discord.Client)

API_PREFIX = "/api/v10"
EPHEMERAL, LOADING, COMPONENTS_V2 = 1 << 6, 1 << 7, 1 << 15
GUILD_MEMBERS, GUILD_MESSAGES, DM_MESSAGES, MESSAGE_CONTENT = 1 << 1, 1 << 9, 1 << 12, 1 << 15
ADMINISTRATOR = 1 << 3
# VIEW_CHANNEL, SEND_MESSAGES, EMBED_LINKS, ATTACH_FILES, READ_MESSAGE_HISTORY, ADD_REACTIONS,
# USE_APPLICATION_COMMANDS, CREATE_PUBLIC_THREADS, SEND_MESSAGES_IN_THREADS
DEFAULT_PERMISSIONS = str(sum(1 << bit for bit in (10, 11, 14, 15, 16, 6, 31, 35, 38)))
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
OPTION_TYPES: dict[int, tuple[type, ...]] = {3: (str,), 4: (int,), 5: (bool,), 10: (int, float)}
# Interaction type -> callback types Discord accepts for it.
CALLBACK_TYPES = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}


def _param_pattern(match: re.Match[str]) -> str:
    """Regex for a {name} in a route template: snowflakes unless it is a token/emoji/message."""
    name = match[1]
    pattern = {"token": "[^/]+", "emoji": "[^/]+", "mid": r"@original|\d+"}.get(name, r"\d+")
    return f"(?P<{name}>{pattern})"


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # body= (not text=) keeps the Content-Type exactly "application/json" without a charset.
    body = json.dumps(data).encode()
    return web.Response(body=body, status=status, content_type="application/json", headers=headers)


class _DiscordError(Exception):
    """An error answer, optionally recording protocol violations."""

    def __init__(
        self, status: int, code: int, message: str, problems: Sequence[Problem] = ()
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.problems = status, code, message, problems


def _invalid(problems: Sequence[Problem]) -> _DiscordError:
    return _DiscordError(400, 50035, "Invalid Form Body", problems)


@dataclass
class RecordedRequest:
    """One REST request the fake received; `path` is relative to /api/v10."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    status: int = 0


@dataclass
class BotMessage:
    """A message the bot created or edited.

    `kind` is one of: channel, channel_edit, interaction (callback type 4), update (callback
    type 7), followup, original_edit, followup_edit. Content fields reflect the stored message
    after the operation; `allowed_mentions` is what the request carried; `at` is when the fake
    stored it (time.monotonic()).
    """

    kind: str
    id: str
    channel_id: str
    content: str
    embeds: list[JSON]
    components: list[JSON]
    flags: int
    attachments: list[JSON]
    allowed_mentions: JSON | None
    message_reference: JSON | None
    interaction_id: str | None
    at: float = field(default_factory=time.monotonic)

    @property
    def ephemeral(self) -> bool:
        """Whether the message has the EPHEMERAL flag (64)."""
        return bool(self.flags & EPHEMERAL)


@dataclass
class Heartbeat:
    """A heartbeat (op 1) as it arrived; `at` is time.monotonic()."""

    connection: int
    at: float
    sequence: int | None


@dataclass
class _Fault:
    pattern: re.Pattern[str]
    remaining: int
    status: int
    retry_after: float


@dataclass
class _Interaction:
    payload: JSON
    response: JSON | None = None
    original_id: str | None = None
    loading: bool = False
    owned: set[str] = field(default_factory=set)
    expired: bool = False
    timer: asyncio.TimerHandle | None = None


@dataclass
class _Call:
    method: str
    params: dict[str, str]
    body: Any
    files: list[JSON]

    @property
    def json(self) -> JSON:
        return self.body if isinstance(self.body, dict) else {}


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
        state = self.fake._interactions[self.id]
        return await self.fake.wait_until(lambda: state.response, timeout=timeout, what="callback")


def _embed_problems(embeds: list[JSON]) -> list[Problem]:
    problems: list[Problem] = []
    if len(embeds) > 10:
        problems.append(("embeds", "Must be 10 or fewer in length."))
    total = 0
    for i, embed in enumerate(embeds):
        texts = [
            (f"embeds.{i}.title", embed.get("title"), 256),
            (f"embeds.{i}.description", embed.get("description"), 4096),
            (f"embeds.{i}.footer.text", (embed.get("footer") or {}).get("text"), 2048),
            (f"embeds.{i}.author.name", (embed.get("author") or {}).get("name"), 256),
        ]
        fields = embed.get("fields") or []
        if len(fields) > 25:
            problems.append((f"embeds.{i}.fields", "Must be 25 or fewer in length."))
        for k, fld in enumerate(fields):
            for key, limit in (("name", 256), ("value", 1024)):
                if not fld.get(key):
                    problems.append((f"embeds.{i}.fields.{k}.{key}", "This field is required"))
                texts.append((f"embeds.{i}.fields.{k}.{key}", fld.get(key), limit))
        for where, text, limit in texts:
            total += (size := len(text or ""))
            if size > limit:
                problems.append((where, f"Must be {limit} or fewer in length (got {size})."))
    if total > 6000:
        problems.append(("embeds", f"Embed size exceeds maximum size of 6000 (got {total})."))
    return problems


def _walk(components: list[JSON], where: str) -> Iterator[tuple[str, JSON]]:
    for i, comp in enumerate(components):
        yield f"{where}.{i}", comp
        yield from _walk(comp.get("components") or [], f"{where}.{i}.components")
        if comp.get("accessory"):
            yield from _walk([comp["accessory"]], f"{where}.{i}.accessory")


def _component_problems(components: list[JSON], v2: bool) -> list[Problem]:
    problems: list[Problem] = []
    if not v2:
        if len(components) > 5:
            problems.append(("components", "Must be 5 or fewer in length."))
        for i, row in enumerate(components):
            children = row.get("components") or []
            if row.get("type") != 1 or not 1 <= len(children) <= 5:
                problems.append((f"components.{i}", "Action rows hold 1 to 5 components."))
            elif len(children) > 1 and any(c.get("type") != 2 for c in children):
                problems.append((f"components.{i}", "A select menu must be alone in its row."))
    custom_ids: list[str] = []
    for where, comp in _walk(components, "components"):
        custom_id = comp.get("custom_id")
        if custom_id is not None:
            custom_ids.append(custom_id)
            if not 1 <= len(custom_id) <= 100:
                problems.append((f"{where}.custom_id", "Must be between 1 and 100 in length."))
        if comp.get("type") == 2:
            if len(comp.get("label") or "") > 80:
                problems.append((f"{where}.label", "Must be 80 or fewer in length."))
            if (comp.get("style") == 5) != bool(comp.get("url")) or (
                comp.get("style") not in (5, 6) and custom_id is None
            ):
                problems.append((where, "Link buttons need a url, other buttons a custom_id."))
    if len(set(custom_ids)) != len(custom_ids):
        problems.append(("components", "Component custom id cannot be duplicated"))
    return problems


def _message_problems(msg: JSON) -> list[Problem]:
    """Problems Discord would report for this message (the full state after create or edit)."""
    content = msg.get("content") or ""
    embeds, components = msg.get("embeds") or [], msg.get("components") or []
    v2 = bool(int(msg.get("flags") or 0) & COMPONENTS_V2)
    problems = _embed_problems(embeds) + _component_problems(components, v2)
    if len(content) > 2000:
        problems.append(("content", f"Must be 2000 or fewer in length (got {len(content)})."))
    if v2 and (content or embeds):
        problems.append(("content", "content and embeds cannot be used with IS_COMPONENTS_V2"))
    if not (content or embeds or components or msg.get("attachments") or msg.get("poll")):
        problems.append(("content", "Cannot send an empty message"))
    return problems


async def _read_body(request: web.Request) -> tuple[Any, list[JSON]]:
    """JSON body (also from multipart payload_json) and the uploaded files."""
    if request.content_type.startswith("multipart/"):
        form = await request.post()
        files = [
            {"filename": part.filename, "size": len(part.file.read()), "type": part.content_type}
            for part in form.values()
            if isinstance(part, web.FileField)
        ]
        payload = form.get("payload_json")
        return (json.loads(payload) if isinstance(payload, str) else None), files
    if not request.body_exists:
        return None, []
    return await request.json(), []


class FakeDiscord:
    """A loopback Discord: REST v10 under `api_base`, the Gateway at `gateway_url`.

    It holds one guild with one text channel, the bot member and a few user members.
    """

    def __init__(
        self,
        *,
        token: str = "test-token",
        users: Sequence[str] = ("alice", "bob", "carol"),
        heartbeat_interval_ms: int = 1000,
        interaction_deadline: float = 3.0,
    ) -> None:
        self.token, self.heartbeat_interval_ms = token, heartbeat_interval_ms
        self.interaction_deadline = interaction_deadline
        self._last_id = 0
        self.bot_user: JSON = self._new_user("citebot", bot=True)
        self.bot_id = self.application_id = str(self.bot_user["id"])
        self.guild_id, self.channel_id = self._snowflake(), self._snowflake()
        self.users: dict[str, JSON] = {name: self._new_user(name) for name in users}
        self.requests: list[RecordedRequest] = []
        self.unknown_requests: list[str] = []
        self.violations: list[str] = []
        self.messages: list[BotMessage] = []
        self.reactions: dict[str, list[str]] = {}
        self.commands: dict[str | None, list[JSON]] = {}
        self.heartbeats: list[Heartbeat] = []
        self.identify_count = self.resume_count = 0
        self.presence: JSON | None = None
        self._channels: dict[str, JSON] = {
            self.channel_id: {"id": self.channel_id, "type": 0, "guild_id": self.guild_id,
                              "name": "general", "position": 0, "permission_overwrites": [],
                              "nsfw": False, "topic": None, "last_message_id": None,
                              "rate_limit_per_user": 0, "parent_id": None}
        }  # fmt: skip
        self._dm_ids: dict[str, str] = {}
        self._msgs: dict[str, JSON] = {}
        self._interactions: dict[str, _Interaction] = {}
        self._command_ids: dict[tuple[str | None, int, str], str] = {}
        self._faults: list[_Fault] = []
        self._changed = asyncio.Event()
        self._send_lock = asyncio.Lock()
        self._sockets: set[web.WebSocketResponse] = set()
        self._live: web.WebSocketResponse | None = None
        self._session_id: str | None = None
        self._log: list[JSON] = []
        self._seq = self._intents = 0
        self._invalidate_next = False
        self._connections = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._port = 0
        app, guild = self.application_id, self.guild_id
        table: list[tuple[str, str, Callable[[_Call], Awaitable[web.Response]]]] = [
            ("GET", "/users/@me", self._get_me),
            ("GET", "/oauth2/applications/@me", self._application),
            ("GET|PUT", f"/applications/{app}/commands", partial(self._commands, guild=None)),
            (
                "GET|PUT",
                f"/applications/{app}/guilds/{guild}/commands",
                partial(self._commands, guild=guild),
            ),
            ("GET", "/channels/{c}", self._get_channel),
            ("POST", "/channels/{c}/messages", self._create_message),
            ("GET|PATCH|DELETE", "/channels/{c}/messages/{m}", self._channel_message),
            ("POST", "/channels/{c}/typing", self._typing),
            ("PUT|DELETE", "/channels/{c}/messages/{m}/reactions/{emoji}/@me", self._reaction),
            ("POST", "/channels/{c}/messages/{m}/threads", self._create_thread),
            ("POST", "/users/@me/channels", self._create_dm),
            ("POST", "/interactions/{iid}/{token}/callback", self._callback),
            ("POST", f"/webhooks/{app}/{{token}}", self._followup),
            ("GET|PATCH|DELETE", f"/webhooks/{app}/{{token}}/messages/{{mid}}", self._webhook_msg),
        ]
        self._routes = [
            (tuple(m.split("|")), re.compile(re.sub(r"\{(\w+)\}", _param_pattern, p)), h)
            for m, p, h in table
        ]

    # ----------------------------------------------------------------- lifecycle and URLs
    async def start(self) -> None:
        """Start listening on 127.0.0.1 at a free port."""
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        """Cancel interaction timers, close websockets and stop the server."""
        for state in self._interactions.values():
            if state.timer:
                state.timer.cancel()
        for ws in list(self._sockets):
            await ws.close(code=1001)
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
    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(
        self, predicate: Callable[[], _T | None], *, timeout: float = 5.0, what: str = "condition"
    ) -> _T:
        """Return predicate()'s first truthy value, re-checked whenever the fake's state changes."""
        try:
            async with asyncio.timeout(timeout):
                while not (result := predicate()):
                    await self._changed.wait()
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

    def heartbeat_gaps(self) -> list[float]:
        """Seconds between consecutive heartbeats on the same gateway connection."""
        return [
            b.at - a.at
            for a, b in itertools.pairwise(self.heartbeats)
            if a.connection == b.connection
        ]

    def late_heartbeats(self, grace: float = 0.25) -> list[float]:
        """Heartbeat gaps longer than the interval plus `grace` seconds."""
        limit = self.heartbeat_interval_ms / 1000 + grace
        return [gap for gap in self.heartbeat_gaps() if gap > limit]

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
        self._faults.append(_Fault(re.compile(pattern), count, status, retry_after))

    async def disconnect_gateway(self, code: int = 4000) -> None:
        """Close the live gateway websocket with `code`; events sent meanwhile are buffered and
        replayed on RESUME."""
        async with self._send_lock:
            ws, self._live = self._live, None
        if ws is None:
            raise RuntimeError("no live gateway connection")
        await ws.close(code=code)

    def invalidate_session_next(self) -> None:
        """Answer the next RESUME with op 9 (session invalid, not resumable)."""
        self._invalidate_next = True

    # ----------------------------------------------------------------- payload builders
    def _snowflake(self) -> str:
        self._last_id = max(self._last_id + 1, (int(time.time() * 1000) - 1420070400000) << 22)
        return str(self._last_id)

    def _new_user(self, name: str, *, bot: bool = False) -> JSON:
        return {"id": self._snowflake(), "username": name, "discriminator": "0", "bot": bot,
                "global_name": name.title(), "avatar": None, "public_flags": 0}  # fmt: skip

    def _user(self, name: str | None) -> JSON:
        if name is None:
            return next(iter(self.users.values()))
        if name not in self.users:
            raise ValueError(f"unknown user {name!r}; known: {list(self.users)}")
        return self.users[name]

    def _member(self, user: JSON, **extra: Any) -> JSON:
        return {"user": user, "roles": [], "joined_at": "2024-01-01T00:00:00+00:00", "flags": 0,
                "deaf": False, "mute": False, "nick": None, "pending": False, **extra}  # fmt: skip

    def _channel(self, channel_id: str) -> JSON:
        if channel_id not in self._channels:
            raise _DiscordError(404, 10003, "Unknown Channel")
        return self._channels[channel_id]

    def _dm_channel(self, user: JSON) -> JSON:
        if user["id"] not in self._dm_ids:
            channel: JSON = {"id": self._snowflake(), "type": 1, "recipients": [user], "flags": 0,
                       "last_message_id": None}  # fmt: skip
            self._channels[channel["id"]] = channel
            self._dm_ids[user["id"]] = channel["id"]
        return self._channels[self._dm_ids[user["id"]]]

    def _message(self, channel_id: str, author: JSON, content: str = "") -> JSON:
        msg: JSON = {"id": self._snowflake(), "channel_id": channel_id, "author": author,
               "content": content, "timestamp": _now(), "edited_timestamp": None, "tts": False,
               "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": [],
               "embeds": [], "components": [], "pinned": False, "type": 0, "flags": 0}  # fmt: skip
        guild_id = self._channels[channel_id].get("guild_id")
        if guild_id:
            msg.update(guild_id=guild_id, member={k: v for k, v in self._member(author).items()
                                                  if k != "user"})  # fmt: skip
        return msg

    def _stored(self, message_id: str, channel_id: str | None = None) -> JSON:
        msg = self._msgs.get(message_id)
        if msg is None or channel_id not in (None, msg["channel_id"]):
            raise _DiscordError(404, 10008, "Unknown Message")
        return msg

    def _apply(self, msg: JSON, body: JSON, files: list[JSON], *, edit: bool) -> None:
        """Validate the message a create/edit body results in, then merge it and store it."""
        defaults: JSON = {"content": "", "embeds": [], "components": [], "flags": 0, "poll": None}
        merged = {**msg, **{k: default if body[k] is None else body[k]
                            for k, default in defaults.items() if k in body}}  # fmt: skip
        kept = {str(a.get("id")) for a in body.get("attachments") or []}
        if edit and "attachments" not in body and not files:
            kept = {a["id"] for a in msg["attachments"]}
        merged["attachments"] = [a for a in msg["attachments"] if a["id"] in kept] + [
            {"id": self._snowflake(), "filename": f["filename"], "size": f["size"],
             "content_type": f["type"], "url": f"https://cdn.invalid/{f['filename']}",
             "proxy_url": f"https://media.invalid/{f['filename']}"}
            for f in files
        ]  # fmt: skip
        if problems := _message_problems(merged):
            raise _invalid(problems)
        merged["embeds"] = [{"type": "rich", **e} for e in merged["embeds"]]
        merged["flags"] = int(merged["flags"]) & ~LOADING
        if edit:
            merged["edited_timestamp"] = _now()
        msg.update(merged)
        self._msgs[msg["id"]] = msg

    def _record(
        self, kind: str, msg: JSON, body: JSON, interaction_id: str | None = None
    ) -> BotMessage:
        record = BotMessage(kind, msg["id"], msg["channel_id"], msg["content"], msg["embeds"],
                            msg["components"], msg["flags"], msg["attachments"],
                            body.get("allowed_mentions"), msg.get("message_reference"),
                            interaction_id)  # fmt: skip
        self.messages.append(record)
        return record

    def _set_reference(self, msg: JSON, reference: JSON) -> None:
        ref_id = str(reference.get("message_id"))
        target = self._msgs.get(ref_id)
        if target is None and reference.get("fail_if_not_exists", True):
            raise _invalid([("message_reference", f"Unknown message {ref_id}")])
        reference = {"type": 0, "message_id": ref_id, "channel_id": msg["channel_id"]}
        if msg.get("guild_id"):
            reference["guild_id"] = msg["guild_id"]
        msg.update(type=19, message_reference=reference)
        if target is not None:
            msg["referenced_message"] = resolved = dict(target)
            resolved.pop("referenced_message", None)  # Discord resolves one level only

    # ----------------------------------------------------------------- gateway
    async def _write(self, ws: web.WebSocketResponse, frame: JSON) -> None:
        with contextlib.suppress(ConnectionResetError):  # gone; a RESUME replays what it missed
            await ws.send_str(json.dumps(frame))

    async def _emit(self, event: str, data: JSON) -> None:
        """Send a dispatch (op 0); the caller holds _send_lock."""
        self._seq += 1
        frame = {"op": 0, "t": event, "s": self._seq, "d": data}
        self._log.append(frame)
        if self._live is not None:
            await self._write(self._live, frame)

    async def _dispatch(self, event: str, data: JSON) -> None:
        async with self._send_lock:
            await self._emit(event, data)

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.add(ws)
        connection, identified = next(self._connections), False
        if request.query.get("v") != "10" or request.query.get("encoding") != "json":
            self.violations.append(f"gateway connect with query {dict(request.query)}")
        await self._write(ws, {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
        try:
            async for raw in ws:
                if raw.type is not WSMsgType.TEXT:
                    continue
                frame = json.loads(raw.data)
                op, data = frame.get("op"), frame.get("d")
                if op == 1:
                    self.heartbeats.append(Heartbeat(connection, time.monotonic(), data))
                    async with self._send_lock:
                        await self._write(ws, {"op": 11})
                elif op in (2, 6) and (identified or data.get("token") != self.token):
                    await ws.close(code=4005 if identified else 4004)
                elif op == 2:
                    identified = await self._identify(ws, data)
                elif op == 6:
                    identified = await self._resume(ws, data)
                elif not identified:
                    await ws.close(code=4003)
                elif op == 3:
                    self.presence = data
                else:
                    self.violations.append(f"gateway: unsupported op {op}")
                self._notify()
        finally:
            self._sockets.discard(ws)
            if self._live is ws:
                self._live = None
            self._notify()
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: JSON) -> bool:
        self._intents, self.identify_count = int(data.get("intents", 0)), self.identify_count + 1
        self._session_id = uuid.uuid4().hex
        threads = [c for c in self._channels.values() if c["type"] == 11]
        ready = {"v": 10, "user": {**self.bot_user, "verified": True, "mfa_enabled": False},
                 "session_id": self._session_id, "resume_gateway_url": self.gateway_url,
                 "guilds": [{"id": self.guild_id, "unavailable": True}], "private_channels": [],
                 "application": {"id": self.application_id, "flags": 0},
                 "shard": data.get("shard", [0, 1])}  # fmt: skip
        # Without the GUILD_MEMBERS intent Discord sends only the bot's own member.
        users = list(self.users.values()) if self._intents & GUILD_MEMBERS else []
        members = [self._member(u) for u in [self.bot_user, *users]]
        everyone = {"id": self.guild_id, "name": "@everyone", "permissions": DEFAULT_PERMISSIONS,
                    "position": 0, "color": 0, "hoist": False, "managed": False,
                    "mentionable": False, "flags": 0}  # fmt: skip
        guild = {"id": self.guild_id, "name": "Test Guild", "owner_id": self._user(None)["id"],
                 "member_count": 1 + len(self.users), "unavailable": False, "roles": [everyone],
                 "members": members, "channels": [self._channels[self.channel_id]],
                 "threads": threads, "features": [], "emojis": [], "stickers": []}  # fmt: skip
        async with self._send_lock:
            self._seq, self._log, self._live = 0, [], ws
            await self._emit("READY", ready)
            await self._emit("GUILD_CREATE", guild)
        return True

    async def _resume(self, ws: web.WebSocketResponse, data: JSON) -> bool:
        seq = data.get("seq") or 0
        if self._invalidate_next or data.get("session_id") != self._session_id or seq > self._seq:
            self._invalidate_next, self._session_id = False, None
            await self._write(ws, {"op": 9, "d": False})
            return False
        async with self._send_lock:
            for frame in [f for f in self._log if f["s"] > seq]:
                await self._write(ws, frame)
            self._live = ws
            await self._emit("RESUMED", {})
        self.resume_count += 1
        return True

    async def _dispatch_message(self, msg: JSON) -> None:
        """MESSAGE_CREATE as the bot would see it, honouring its intents."""
        dm = "guild_id" not in msg
        if not self._intents & (DM_MESSAGES if dm else GUILD_MESSAGES):
            return
        visible = dm or msg["author"]["id"] == self.bot_id
        if not (visible or self._intents & MESSAGE_CONTENT or self.bot_user in msg["mentions"]):
            msg = {**msg, "content": "", "embeds": [], "attachments": [], "components": []}
        await self._dispatch("MESSAGE_CREATE", msg)

    # ----------------------------------------------------------------- REST
    async def _rest(self, request: web.Request) -> web.Response:
        path = request.path.removeprefix(API_PREFIX)
        try:
            body, files = await _read_body(request)
        except ValueError:
            body, files = None, []
            self.violations.append(f"{request.method} {path}: body is not valid JSON")
        record = RecordedRequest(request.method, path, dict(request.query), body)
        self.requests.append(record)
        try:
            response = await self._route(request, path, body, files)
        except _DiscordError as exc:
            self.violations += [f"{request.method} {path}: {w}: {m}" for w, m in exc.problems]
            error: JSON = {"message": exc.message, "code": exc.code}
            if exc.problems:
                error["errors"] = {w: {"_errors": [{"code": "INVALID", "message": m}]}
                                   for w, m in exc.problems}  # fmt: skip
            response = _json(error, exc.status)
        record.status = response.status
        self._notify()
        return response

    async def _route(
        self, request: web.Request, path: str, body: Any, files: list[JSON]
    ) -> web.Response:
        line = f"{request.method} {path}"
        for fault in self._faults:
            if fault.remaining > 0 and fault.pattern.fullmatch(line):
                fault.remaining -= 1
                if fault.status != 429:
                    return _json(
                        {"message": f"{fault.status}: Server Error", "code": 0}, fault.status
                    )
                headers = {"Via": "1.1 google", "X-RateLimit-Scope": "user",
                           "Retry-After": str(math.ceil(fault.retry_after))}  # fmt: skip
                error = {"message": "You are being rate limited.", "global": False,
                         "retry_after": fault.retry_after}  # fmt: skip
                return _json(error, 429, headers)
        if request.path.startswith(API_PREFIX + "/"):
            for methods, pattern, handler in self._routes:
                match = pattern.fullmatch(path)
                if match and request.method in methods:
                    authorized = request.headers.get("Authorization") == f"Bot {self.token}"
                    if not (authorized or path.startswith(("/interactions/", "/webhooks/"))):
                        raise _DiscordError(401, 0, "401: Unauthorized")
                    response: web.Response = await handler(
                        _Call(request.method, match.groupdict(), body, files)
                    )
                    return response
        self.unknown_requests.append(line)
        raise _DiscordError(404, 0, "404: Not Found")

    async def _get_me(self, call: _Call) -> web.Response:
        return _json(self.bot_user)

    async def _get_channel(self, call: _Call) -> web.Response:
        return _json(self._channel(call.params["c"]))

    async def _application(self, call: _Call) -> web.Response:
        return _json({"id": self.application_id, "name": "citebot", "description": "",
                      "icon": None, "bot_public": False, "bot_require_code_grant": False,
                      "owner": self._user(None), "verify_key": "0" * 64, "flags": 0,
                      "bot": self.bot_user})  # fmt: skip

    async def _commands(self, call: _Call, guild: str | None) -> web.Response:
        if call.method == "GET":
            return _json(self.commands.get(guild, []))
        commands = call.body if isinstance(call.body, list) else []
        registered = []
        for cmd in commands:
            key = (guild, cmd.get("type", 1), cmd["name"])
            cmd_id = self._command_ids.setdefault(key, self._snowflake())
            perms = cmd.get("default_member_permissions")  # discord.py sends an int
            registered.append({"type": 1, "options": [], "nsfw": False, **cmd, "id": cmd_id,
                               "version": self._snowflake(), "application_id": self.application_id,
                               "default_member_permissions": None if perms is None else str(perms),
                               **({"guild_id": guild} if guild else {})})  # fmt: skip
        self.commands[guild] = registered
        return _json(registered)

    async def _create_message(self, call: _Call) -> web.Response:
        self._channel(call.params["c"])
        msg = self._message(call.params["c"], self.bot_user)
        if call.json.get("message_reference"):
            self._set_reference(msg, call.json["message_reference"])
        self._apply(msg, call.json, call.files, edit=False)
        self._record("channel", msg, call.json)
        await self._dispatch_message(msg)
        return _json(msg)

    async def _channel_message(self, call: _Call) -> web.Response:
        msg = self._stored(call.params["m"], call.params["c"])
        if call.method == "GET":
            return _json(msg)
        if msg["author"]["id"] != self.bot_id:
            raise _DiscordError(
                403, 50005, "Cannot edit or delete a message authored by another user"
            )
        if call.method == "DELETE":
            del self._msgs[msg["id"]]
            return web.Response(status=204)
        self._apply(msg, call.json, call.files, edit=True)
        self._record("channel_edit", msg, call.json)
        return _json(msg)

    async def _typing(self, call: _Call) -> web.Response:
        self._channel(call.params["c"])
        return web.Response(status=204)

    async def _reaction(self, call: _Call) -> web.Response:
        msg, emoji = self._stored(call.params["m"], call.params["c"]), call.params["emoji"]
        if ":" in emoji or not any(ord(ch) > 0x2000 for ch in emoji):
            raise _DiscordError(
                400, 10014, "Unknown Emoji", [("emoji", f"Unknown Emoji {emoji!r}")]
            )
        mine = self.reactions.setdefault(msg["id"], [])
        if call.method == "PUT" and emoji not in mine:
            mine.append(emoji)
        elif call.method == "DELETE" and emoji in mine:
            mine.remove(emoji)
        return web.Response(status=204)

    async def _create_thread(self, call: _Call) -> web.Response:
        msg = self._stored(call.params["m"], call.params["c"])
        name = call.json.get("name") or ""
        if not 1 <= len(name) <= 100:
            raise _invalid([("name", "Must be between 1 and 100 in length.")])
        if msg["id"] in self._channels:
            raise _DiscordError(400, 160004, "A thread has already been created for this message")
        duration = call.json.get("auto_archive_duration") or 1440
        metadata = {"archived": False, "locked": False, "archive_timestamp": _now(),
                    "auto_archive_duration": duration}  # fmt: skip
        thread = {"id": msg["id"], "type": 11, "guild_id": self.guild_id, "name": name,
                  "parent_id": call.params["c"], "owner_id": self.bot_id, "message_count": 0,
                  "member_count": 1, "rate_limit_per_user": 0, "thread_metadata": metadata,
                  "last_message_id": None, "flags": 0}  # fmt: skip
        self._channels[thread["id"]] = msg["thread"] = thread
        await self._dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        return _json(thread)

    async def _create_dm(self, call: _Call) -> web.Response:
        recipient = str(call.json.get("recipient_id"))
        user = next((u for u in self.users.values() if u["id"] == recipient), None)
        if user is None:
            raise _invalid([("recipient_id", f"Unknown user {recipient}")])
        return _json(self._dm_channel(user))

    # ----------------------------------------------------------------- interactions
    def _deadline_passed(self, state: _Interaction) -> None:
        if state.response is None:
            state.expired = True
            data = state.payload.get("data") or {}
            self.violations.append(
                f"interaction {state.payload['id']} ({data.get('name') or data.get('custom_id')}) "
                f"got no initial response within {self.interaction_deadline}s"
            )
            self._notify()

    async def _callback(self, call: _Call) -> web.Response:
        state = self._interactions.get(call.params["iid"])
        if state is None or state.payload["token"] != call.params["token"] or state.expired:
            raise _DiscordError(404, 10062, "Unknown interaction")
        if state.response is not None:
            problem = ("type", f"second initial response (first was {state.response['type']})")
            raise _DiscordError(400, 40060, "Interaction has already been acknowledged.", [problem])
        body, itype = call.json, state.payload["type"]
        rtype, data = body.get("type"), body.get("data") or {}
        if rtype not in CALLBACK_TYPES[itype]:
            raise _invalid([("type", f"callback type {rtype} invalid for interaction {itype}")])
        channel_id, message = state.payload["channel_id"], None
        if rtype == 4:
            message = self._message(channel_id, self.bot_user)
            self._apply(message, data, call.files, edit=False)
        elif rtype == 5:
            message = self._message(channel_id, self.bot_user)
            message["flags"] = LOADING | (int(data.get("flags") or 0) & EPHEMERAL)
            self._msgs[message["id"]] = message
            state.loading = True
        elif rtype == 7:
            message = self._stored(state.payload["message"]["id"])
            self._apply(message, data, call.files, edit=True)
        elif rtype == 8 and len(data.get("choices") or []) > 25:
            raise _invalid([("data.choices", "Must be 25 or fewer in length.")])
        if state.timer:
            state.timer.cancel()
        state.response = body
        if message is not None:
            message.update(webhook_id=self.application_id, application_id=self.application_id)
            state.original_id = message["id"]
            state.owned.add(message["id"])
            if rtype != 5:
                self._record("interaction" if rtype == 4 else "update", message, data,
                             state.payload["id"])  # fmt: skip
            if rtype == 4 and not message["flags"] & EPHEMERAL:
                await self._dispatch_message(message)
        elif rtype == 6:
            state.original_id = state.payload["message"]["id"]
        flags = message["flags"] if message else 0
        interaction = {"id": state.payload["id"], "type": itype,
                       "response_message_loading": rtype == 5,
                       "response_message_ephemeral": bool(flags & EPHEMERAL),
                       **({"response_message_id": message["id"]} if message else {})}  # fmt: skip
        resource = {"type": rtype, **({"message": message} if message else {})}
        return _json({"interaction": interaction, "resource": resource})

    def _webhook_state(self, token: str, action: str) -> _Interaction:
        state = next((s for s in self._interactions.values() if s.payload["token"] == token), None)
        if state is None:
            raise _DiscordError(404, 10015, "Unknown Webhook")
        if state.response is None:
            raise _DiscordError(
                404, 10015, "Unknown Webhook", [("token", f"{action} before response")]
            )
        return state

    async def _followup(self, call: _Call) -> web.Response:
        state = self._webhook_state(call.params["token"], "followup")
        if state.loading and state.original_id:
            # The first followup after a deferral fills in the "thinking" message; its flags
            # (ephemeral or not) come from the deferral, not from the followup.
            msg = self._msgs[state.original_id]
            self._apply(msg, {**call.json, "flags": msg["flags"]}, call.files, edit=False)
            state.loading = False
        else:
            msg = self._message(state.payload["channel_id"], self.bot_user)
            msg.update(webhook_id=self.application_id, application_id=self.application_id)
            self._apply(msg, call.json, call.files, edit=False)
            state.owned.add(msg["id"])
        self._record("followup", msg, call.json, state.payload["id"])
        if not msg["flags"] & EPHEMERAL:
            await self._dispatch_message(msg)
        return _json(msg)

    async def _webhook_msg(self, call: _Call) -> web.Response:
        state = self._webhook_state(call.params["token"], f"{call.method} message")
        original = call.params["mid"] == "@original"
        mid = state.original_id if original else call.params["mid"]
        if mid is None or mid not in state.owned | {state.original_id}:
            raise _DiscordError(404, 10008, "Unknown Message")
        msg = self._stored(mid)
        if call.method == "GET":
            return _json(msg)
        if call.method == "DELETE":
            del self._msgs[mid]
            return web.Response(status=204)
        self._apply(msg, call.json, call.files, edit=not state.loading)
        if mid == state.original_id:
            state.loading = False
        self._record("original_edit" if original else "followup_edit", msg, call.json,
                     state.payload["id"])  # fmt: skip
        return _json(msg)

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
        user = self._user(author)
        channel = (
            self._dm_channel(user) if dm else self._channels.get(channel_id or self.channel_id)
        )
        if channel is None:
            raise ValueError(f"unknown channel {channel_id}")
        text = f"<@{self.bot_id}> {content}" if mention_bot else content
        msg = self._message(channel["id"], user, text)
        self._msgs[msg["id"]] = msg
        msg["mentions"] = [self.bot_user] if mention_bot else []
        if reply_to is not None:
            if reply_to not in self._msgs:
                raise ValueError(f"unknown message {reply_to}")
            self._set_reference(msg, {"message_id": reply_to})
            author_json = self._msgs[reply_to]["author"]
            if reply_ping and author_json not in msg["mentions"]:
                msg["mentions"].append(author_json)
        since = len(self.messages)
        await self._dispatch_message(msg)
        return Exchange(self, msg, since)

    def _command(self, name: str, guild: bool) -> JSON:
        for scope in (self.guild_id, None) if guild else (None,):
            for cmd in self.commands.get(scope, []):
                if cmd["name"] == name and cmd.get("type", 1) == 1:
                    if not guild and cmd.get("dm_permission") is False:
                        raise ValueError(f"/{name} is not available in DMs")
                    return cmd
        raise ValueError(f"/{name} is not registered ({'guild' if guild else 'DM'})")

    def _options(
        self, schema: list[JSON], given: dict[str, Any], focused: str | None
    ) -> list[JSON]:
        specs = {opt["name"]: opt for opt in schema}
        if unknown := set(given) - set(specs):
            raise ValueError(f"unknown options {sorted(unknown)}")
        result = []
        for spec in schema:
            name, kind = spec["name"], spec["type"]
            value: Any = given.get(name)
            if value is None:
                if spec.get("required") and name != focused:
                    raise ValueError(f"missing required option {name!r}")
                continue
            if name != focused:
                if kind not in OPTION_TYPES:
                    raise ValueError(f"option {name!r} has unsupported type {kind}")
                typed = isinstance(value, OPTION_TYPES[kind])
                if isinstance(value, bool) != (kind == 5) or not typed:
                    raise ValueError(f"option {name!r} needs type {kind}, got {value!r}")
                choices = [c["value"] for c in spec.get("choices") or []]
                size = len(value) if isinstance(value, str) else value
                low = next((spec[k] for k in ("min_length", "min_value") if k in spec), -math.inf)
                high = next((spec[k] for k in ("max_length", "max_value") if k in spec), math.inf)
                if (choices and value not in choices) or not low <= size <= high:
                    raise ValueError(f"Discord would not accept {value!r} for {name!r}")
            result.append({"name": name, "type": kind, "value": value,
                           **({"focused": True} if name == focused else {})})  # fmt: skip
        return result

    def _command_data(
        self, name: str, options: dict[str, Any], guild: bool, focused: str | None = None
    ) -> tuple[JSON, JSON]:
        cmd = self._command(name, guild)
        built = self._options(cmd.get("options") or [], options, focused)
        data = {"id": cmd["id"], "name": name, "type": 1, "options": built}
        if cmd.get("guild_id"):
            data["guild_id"] = cmd["guild_id"]
        return cmd, data

    async def _interact(
        self, itype: int, data: JSON, user: str | None, permissions: str, guild: bool,
        channel_id: str | None = None, message: JSON | None = None,
    ) -> Exchange:  # fmt: skip
        person = self._user(user)
        iid = self._snowflake()
        payload = {"id": iid, "application_id": self.application_id, "type": itype, "data": data,
                   "token": f"interaction-token-{iid}", "version": 1, "locale": "en-US",
                   "app_permissions": DEFAULT_PERMISSIONS, "entitlements": [],
                   "attachment_size_limit": ATTACHMENT_SIZE_LIMIT, "context": 0 if guild else 1,
                   "authorizing_integration_owners": {}}  # fmt: skip
        if guild:
            channel = self._channels[channel_id or self.channel_id]
            payload.update(guild_id=self.guild_id, guild_locale="en-US",
                           member=self._member(person, permissions=permissions))  # fmt: skip
        else:
            channel = self._dm_channel(person)
            payload["user"] = person
        payload.update(channel_id=channel["id"], channel=channel)
        if message is not None:
            payload["message"] = message
        state = self._interactions[iid] = _Interaction(payload)
        loop = asyncio.get_running_loop()
        state.timer = loop.call_later(self.interaction_deadline, self._deadline_passed, state)
        since = len(self.messages)
        await self._dispatch("INTERACTION_CREATE", payload)
        return Exchange(self, payload, since)

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
        msg = self._msgs.get(message_id)
        button = next(
            (c for _, c in _walk((msg or {}).get("components") or [], "")
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
