"""The Gateway websocket: HELLO, heartbeats, IDENTIFY, RESUME and dispatches (op 0)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
import uuid

from aiohttp import WSMsgType, web

from tests.discord_fake.payloads import (
    DEFAULT_PERMISSIONS,
    DM_MESSAGES,
    GUILD_MEMBERS,
    GUILD_MESSAGES,
    JSON,
    MESSAGE_CONTENT,
)
from tests.discord_fake.state import Heartbeat, World


class Gateway:
    """Serves the Gateway for one bot session over any number of (re)connections.

    Dispatches are numbered and logged since the last IDENTIFY, so a RESUME replays what the
    client missed; while no connection is live they are only logged.
    """

    def __init__(self, world: World) -> None:
        self.world = world
        self.url = ""  # resume_gateway_url sent in READY; set once the server listens
        self.invalidate_next = False  # answer the next RESUME with op 9
        self._send_lock = asyncio.Lock()
        self._sockets: set[web.WebSocketResponse] = set()
        self._live: web.WebSocketResponse | None = None
        self._session_id: str | None = None
        self._log: list[JSON] = []
        self._seq = self._intents = 0
        self._connections = itertools.count(1)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """aiohttp handler for GET /gateway: one websocket connection, until it closes."""
        world = self.world
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.add(ws)
        connection, identified = next(self._connections), False
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
                    async with self._send_lock:
                        await self._write(ws, {"op": 11})
                elif op in (2, 6) and (identified or data.get("token") != world.token):
                    await ws.close(code=4005 if identified else 4004)
                elif op == 2:
                    identified = await self._identify(ws, data)
                elif op == 6:
                    identified = await self._resume(ws, data)
                elif not identified:
                    await ws.close(code=4003)
                elif op == 3:
                    world.presence = data
                else:
                    world.violations.append(f"gateway: unsupported op {op}")
                world.notify()
        finally:
            self._sockets.discard(ws)
            if self._live is ws:
                self._live = None
            world.notify()
        return ws

    async def dispatch(self, event: str, data: JSON) -> None:
        """Send the event `event` (op 0) to the live connection, or log it for a RESUME."""
        async with self._send_lock:
            await self._emit(event, data)

    async def dispatch_message(self, msg: JSON) -> None:
        """MESSAGE_CREATE as the bot would see it, honouring its intents."""
        world = self.world
        dm = "guild_id" not in msg
        if not self._intents & (DM_MESSAGES if dm else GUILD_MESSAGES):
            return
        visible = dm or msg["author"]["id"] == world.bot_id
        if not (visible or self._intents & MESSAGE_CONTENT or world.bot_user in msg["mentions"]):
            msg = {**msg, "content": "", "embeds": [], "attachments": [], "components": []}
        await self.dispatch("MESSAGE_CREATE", msg)

    async def disconnect(self, code: int) -> None:
        """Close the live connection with `code`; later dispatches are logged for a RESUME."""
        async with self._send_lock:
            ws, self._live = self._live, None
        if ws is None:
            raise RuntimeError("no live gateway connection")
        await ws.close(code=code)

    async def close_all(self) -> None:
        """Close every open websocket with 1001 (going away)."""
        for ws in list(self._sockets):
            await ws.close(code=1001)

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

    async def _identify(self, ws: web.WebSocketResponse, data: JSON) -> bool:
        world = self.world
        self._intents, world.identify_count = int(data.get("intents", 0)), world.identify_count + 1
        self._session_id = uuid.uuid4().hex
        threads = [c for c in world.channels.values() if c["type"] == 11]
        ready = {"v": 10, "user": {**world.bot_user, "verified": True, "mfa_enabled": False},
                 "session_id": self._session_id, "resume_gateway_url": self.url,
                 "guilds": [{"id": world.guild_id, "unavailable": True}], "private_channels": [],
                 "application": {"id": world.application_id, "flags": 0},
                 "shard": data.get("shard", [0, 1])}  # fmt: skip
        # Without the GUILD_MEMBERS intent Discord sends only the bot's own member.
        users = list(world.users.values()) if self._intents & GUILD_MEMBERS else []
        members = [world.member(u) for u in [world.bot_user, *users]]
        everyone = {"id": world.guild_id, "name": "@everyone", "permissions": DEFAULT_PERMISSIONS,
                    "position": 0, "color": 0, "hoist": False, "managed": False,
                    "mentionable": False, "flags": 0}  # fmt: skip
        guild = {"id": world.guild_id, "name": "Test Guild", "owner_id": world.user(None)["id"],
                 "member_count": 1 + len(world.users), "unavailable": False, "roles": [everyone],
                 "members": members, "channels": [world.channels[world.channel_id]],
                 "threads": threads, "features": [], "emojis": [], "stickers": []}  # fmt: skip
        async with self._send_lock:
            self._seq, self._log, self._live = 0, [], ws
            await self._emit("READY", ready)
            await self._emit("GUILD_CREATE", guild)
        return True

    async def _resume(self, ws: web.WebSocketResponse, data: JSON) -> bool:
        seq = data.get("seq") or 0
        if self.invalidate_next or data.get("session_id") != self._session_id or seq > self._seq:
            self.invalidate_next, self._session_id = False, None
            await self._write(ws, {"op": 9, "d": False})
            return False
        async with self._send_lock:
            for frame in [f for f in self._log if f["s"] > seq]:
                await self._write(ws, frame)
            self._live = ws
            await self._emit("RESUMED", {})
        self.world.resume_count += 1
        return True
