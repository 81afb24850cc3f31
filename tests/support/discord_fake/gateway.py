"""The Gateway websocket: HELLO, heartbeats, IDENTIFY, RESUME, RECONNECT and dispatches (op 0),
for any number of sessions, each on one shard."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from tests.support.discord_fake.payloads import (
    DEFAULT_PERMISSIONS,
    DM_MESSAGES,
    GUILD_CHANNELS,
    GUILD_MEMBERS,
    GUILD_MESSAGES,
    JSON,
    MESSAGE_CONTENT,
    PRIVILEGED_INTENTS,
)
from tests.support.discord_fake.state import Heartbeat, World

# Close codes Discord sends: authentication failed; disallowed (privileged, not enabled) intents.
AUTHENTICATION_FAILED, DISALLOWED_INTENTS = 4004, 4014
# Close codes that end a session (it cannot be resumed): normal closure, going away.
SESSION_ENDING_CLOSES = (1000, 1001)


@dataclass
class _Session:
    """A session on one shard: its connection, intents, the dispatches logged for a RESUME,
    and those sent on a live connection (`sent`, replays included)."""

    shard: int
    count: int
    intents: int
    session_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    live: web.WebSocketResponse | None = None
    log: list[JSON] = field(default_factory=list)
    sent: list[JSON] = field(default_factory=list)
    seq: int = 0


class Gateway:
    """Serves the Gateway for one bot, over any number of shards, sessions and (re)connections.

    Each IDENTIFY starts a session on one shard; dispatches are numbered and logged per session
    since its IDENTIFY, so a RESUME replays what the client missed; while a session has no live
    connection they are only logged. A session closed with 1000 or 1001 ends (Discord does not
    resume it). Guild events go to the guild's shard ((guild_id >> 22) % the session's shard
    count), DMs to shard 0, as Discord does: to every session on that shard, so two processes
    that identify the same shard both receive its events.
    """

    def __init__(self, world: World) -> None:
        self.world = world
        self.url = ""  # resume_gateway_url sent in READY; set once the server listens
        self.invalidate_next = False  # answer the next RESUME with op 9
        self.acknowledge = True  # answer heartbeats with op 11 (off: the ACKs go missing)
        self.allowed_intents = ~0  # what the developer portal allows (privileged ones too)
        self.reject_identify = False  # close the next IDENTIFY with 4004
        # Close codes of each connection as it ended (the client's own when it closed first).
        self.closes: list[int | None] = []
        self._send_lock = asyncio.Lock()
        self._sockets: set[web.WebSocketResponse] = set()
        self._sessions: dict[str, _Session] = {}  # by session id
        self._connections = itertools.count(1)

    @property
    def shards(self) -> list[int]:
        """The shard ids of the sessions open (identified and not ended)."""
        return sorted({session.shard for session in self._sessions.values()})

    def deliveries(self, event: str, event_id: str) -> list[int]:
        """The shard of each session that was sent the dispatch `event` about `event_id` on a
        live connection (one entry per session: two sessions on one shard give it twice)."""
        return sorted(
            session.shard
            for session in self._sessions.values()
            for frame in session.sent
            if frame["t"] == event and str(frame["d"].get("id")) == str(event_id)
        )

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """aiohttp handler for GET /gateway: one websocket connection, until it closes."""
        world = self.world
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.add(ws)
        connection, session = next(self._connections), None
        if request.query.get("v") != "10" or request.query.get("encoding") != "json":
            world.violations.append(f"gateway connect with query {dict(request.query)}")
        await self._write(ws, {"op": 10, "d": {"heartbeat_interval": world.heartbeat_interval_ms}})
        try:
            async for raw in ws:
                if raw.type is not WSMsgType.TEXT:
                    continue
                frame = json.loads(raw.data)
                op, data = frame.get("op"), frame.get("d")
                if op == 1:
                    world.heartbeats.append(Heartbeat(connection, time.monotonic(), data))
                    if self.acknowledge:
                        async with self._send_lock:
                            await self._write(ws, {"op": 11})
                elif op in (2, 6) and (session or data.get("token") != world.token):
                    await ws.close(code=4005 if session else AUTHENTICATION_FAILED)
                elif op == 2:
                    session = await self._identify(ws, data)
                elif op == 6:
                    session = await self._resume(ws, data)
                elif session is None:
                    await ws.close(code=4003)
                elif op == 3:
                    world.presence = data
                else:
                    world.violations.append(f"gateway: unsupported op {op}")
                world.notify()
        finally:
            self._sockets.discard(ws)
            self.closes.append(ws.close_code)
            for live in list(self._sessions.values()):
                if live.live is ws:
                    live.live = None
                    if ws.close_code in SESSION_ENDING_CLOSES:
                        del self._sessions[live.session_id]
            world.notify()
        return ws

    def _receivers(self, data: JSON) -> list[_Session]:
        """The sessions an event about `data` goes to: those on its guild's shard, or on
        shard 0 for a DM."""
        guild_id = data.get("guild_id")
        return [
            session
            for session in self._sessions.values()
            if session.shard == ((int(guild_id) >> 22) % session.count if guild_id else 0)
        ]

    async def dispatch(self, event: str, data: JSON) -> None:
        """Send the event `event` (op 0) to the live connection of each session on its shard,
        or log it there for a RESUME."""
        async with self._send_lock:
            for session in self._receivers(data):
                await self._emit(session, event, data)

    async def dispatch_message(self, msg: JSON) -> None:
        """MESSAGE_CREATE as each session on its shard would see it, honouring its intents."""
        wanted = GUILD_MESSAGES if "guild_id" in msg else DM_MESSAGES
        async with self._send_lock:
            for session in self._receivers(msg):
                if session.intents & wanted:
                    await self._emit(session, "MESSAGE_CREATE", self._seen(msg, session.intents))

    def as_seen(self, msg: JSON) -> JSON:
        """A message as the bot is given it over REST (the intents of the last session
        identified on its shard stand for the application's): see `_seen`."""
        receivers = self._receivers(msg)
        return self._seen(msg, receivers[-1].intents if receivers else 0)

    def _seen(self, msg: JSON, intents: int) -> JSON:
        """A message as a session with `intents` is given it: without its content, unless it
        is in a DM, by the bot or mentions it, or the intents hold Message Content."""
        world = self.world
        visible = "guild_id" not in msg or msg["author"]["id"] == world.bot_id
        if visible or intents & MESSAGE_CONTENT or world.bot_user in msg["mentions"]:
            return msg
        return {**msg, "content": "", "embeds": [], "attachments": [], "components": []}

    def _live_on(self, shard: int) -> _Session:
        """The first session on `shard` with a live connection."""
        for session in self._sessions.values():
            if session.shard == shard and session.live is not None:
                return session
        raise RuntimeError("no live gateway connection")

    async def disconnect(self, code: int, shard: int = 0) -> None:
        """Close the live connection of a session on `shard` with `code`; later dispatches
        are logged for a RESUME."""
        async with self._send_lock:
            session = self._live_on(shard)
            ws, session.live = session.live, None
        assert ws is not None
        await ws.close(code=code)

    async def request_reconnect(self, shard: int = 0) -> None:
        """Send op 7 (RECONNECT) on a session of `shard`: the client should close and RESUME."""
        session = self._live_on(shard)
        async with self._send_lock:
            assert session.live is not None
            await self._write(session.live, {"op": 7, "d": None})

    async def close_all(self) -> None:
        """Close every open websocket with 1001 (going away)."""
        for ws in list(self._sockets):
            await ws.close(code=1001)

    async def _write(self, ws: web.WebSocketResponse, frame: JSON) -> None:
        with contextlib.suppress(ConnectionResetError):  # gone; a RESUME replays what it missed
            await ws.send_str(json.dumps(frame))

    async def _emit(self, session: _Session, event: str, data: JSON) -> None:
        """Send a dispatch (op 0) in a session; the caller holds _send_lock."""
        session.seq += 1
        frame = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.log.append(frame)
        if session.live is not None:
            session.sent.append(frame)
            await self._write(session.live, frame)

    async def _identify(self, ws: web.WebSocketResponse, data: JSON) -> _Session | None:
        world = self.world
        intents = int(data.get("intents", 0))
        if self.reject_identify:
            self.reject_identify = False
            await ws.close(code=AUTHENTICATION_FAILED)
            return None
        if intents & PRIVILEGED_INTENTS & ~self.allowed_intents:
            await ws.close(code=DISALLOWED_INTENTS)
            return None
        shard, count = data.get("shard", [0, 1])
        session = _Session(shard, count, intents, live=ws)
        world.identify_count += 1
        ours = (int(world.guild_id) >> 22) % count == shard
        ready = {"v": 10, "user": {**world.bot_user, "verified": True, "mfa_enabled": False},
                 "session_id": session.session_id, "resume_gateway_url": self.url,
                 "guilds": [{"id": world.guild_id, "unavailable": True}] if ours else [],
                 "private_channels": [], "application": {"id": world.application_id, "flags": 0},
                 "shard": [shard, count]}  # fmt: skip
        async with self._send_lock:
            self._sessions[session.session_id] = session
            await self._emit(session, "READY", ready)
            if ours:
                await self._emit(session, "GUILD_CREATE", self._guild(intents))
        return session

    def _guild(self, intents: int) -> JSON:
        """The GUILD_CREATE payload: without GUILD_MEMBERS, only the bot's own member."""
        world = self.world
        users = list(world.users.values()) if intents & GUILD_MEMBERS else []
        members = [world.member(u) for u in [world.bot_user, *users]]
        everyone = {"id": world.guild_id, "name": "@everyone", "permissions": DEFAULT_PERMISSIONS,
                    "position": 0, "color": 0, "hoist": False, "managed": False,
                    "mentionable": False, "flags": 0}  # fmt: skip
        channels = [
            c for c in world.channels.values() if c.get("guild_id") and c["type"] in GUILD_CHANNELS
        ]
        threads = [c for c in world.channels.values() if c["type"] == 11]
        return {"id": world.guild_id, "name": "Test Guild", "owner_id": world.user(None)["id"],
                "member_count": 1 + len(world.users), "unavailable": False, "roles": [everyone],
                "members": members, "channels": channels, "threads": threads, "features": [],
                "emojis": [], "stickers": []}  # fmt: skip

    async def _resume(self, ws: web.WebSocketResponse, data: JSON) -> _Session | None:
        seq = data.get("seq") or 0
        session = self._sessions.get(str(data.get("session_id")))
        if self.invalidate_next or session is None or seq > session.seq:
            self.invalidate_next = False
            if session is not None:
                del self._sessions[session.session_id]
            await self._write(ws, {"op": 9, "d": False})
            return None
        async with self._send_lock:
            for frame in [f for f in session.log if f["s"] > seq]:
                session.sent.append(frame)
                await self._write(ws, frame)
            session.live = ws
            await self._emit(session, "RESUMED", {})
        self.world.resume_count += 1
        return session
