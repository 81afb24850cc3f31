"""REST API v10: routing, auth, injected faults, and the handlers for the endpoints a bot uses."""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from aiohttp import web

from tests.support.discord_fake.gateway import Gateway
from tests.support.discord_fake.payloads import (
    CALLBACK_TYPES,
    CREATE_PUBLIC_THREADS,
    EMBED_LINKS,
    EPHEMERAL,
    FORUM_CHANNEL,
    JSON,
    LOADING,
    MAX_CHOICES,
    MAX_THREAD_NAME,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    SUPPRESS_EMBEDS,
    DiscordError,
    invalid,
)
from tests.support.discord_fake.state import InteractionState, RecordedRequest, World

API_PREFIX = "/api/v10"


def _not_a_forum(channel: JSON) -> None:
    """Discord's refusal of a message (or typing) in a forum itself, rather than in a post."""
    if channel["type"] == FORUM_CHANNEL:
        raise DiscordError(400, 50008, "Cannot send messages in a non-text channel")


def _param_pattern(match: re.Match[str]) -> str:
    """Regex for a {name} in a route template: snowflakes unless it is a token/emoji/message."""
    name = match[1]
    pattern = {"token": "[^/]+", "emoji": "[^/]+", "mid": r"@original|\d+"}.get(name, r"\d+")
    return f"(?P<{name}>{pattern})"


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # body= (not text=) keeps the Content-Type exactly "application/json" without a charset.
    body = json.dumps(data).encode()
    return web.Response(body=body, status=status, content_type="application/json", headers=headers)


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


@dataclass
class _Fault:
    pattern: re.Pattern[str]
    remaining: int
    status: int
    retry_after: float


@dataclass
class _Call:
    method: str
    params: dict[str, str]
    body: Any
    files: list[JSON]

    @property
    def json(self) -> JSON:
        return self.body if isinstance(self.body, dict) else {}


class RestRoutes:
    """Answers REST requests the way Discord does, recording each one in `world.requests`.

    Errors are answered in Discord's shape; payload problems are also recorded as violations,
    and requests to endpoints not in the route table as unknown requests.
    """

    def __init__(self, world: World, gateway: Gateway) -> None:
        self.world, self.gateway = world, gateway
        self._faults: list[_Fault] = []
        self._holds: list[tuple[re.Pattern[str], asyncio.Event]] = []
        app = world.application_id
        table: list[tuple[str, str, Callable[[_Call], Awaitable[web.Response]]]] = [
            ("GET", "/users/@me", self._get_me),
            ("GET", "/oauth2/applications/@me", self._application),
            ("GET|PUT", f"/applications/{app}/commands", partial(self._commands, guild=None)),
            ("GET|PUT", f"/applications/{app}/guilds/{{g}}/commands", self._guild_commands),
            ("GET", "/gateway/bot", self._gateway_bot),
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

    def hold(self, pattern: str) -> asyncio.Event:
        """Keep requests matching `pattern` waiting until the returned event is set."""
        release = asyncio.Event()
        self._holds.append((re.compile(pattern), release))
        return release

    def fail_next(self, pattern: str, *, count: int, status: int, retry_after: float) -> None:
        """Answer the next `count` requests matching `pattern` with `status` (see FakeDiscord)."""
        self._faults.append(_Fault(re.compile(pattern), count, status, retry_after))

    async def handle(self, request: web.Request) -> web.Response:
        """aiohttp handler for every path but /gateway."""
        world = self.world
        path = request.path.removeprefix(API_PREFIX)
        try:
            body, files = await _read_body(request)
        except ValueError:
            body, files = None, []
            world.violations.append(f"{request.method} {path}: body is not valid JSON")
        record = RecordedRequest(request.method, path, dict(request.query), body)
        world.requests.append(record)
        try:
            response = await self._route(request, path, body, files)
        except DiscordError as exc:
            world.violations += [f"{request.method} {path}: {w}: {m}" for w, m in exc.problems]
            error: JSON = {"message": exc.message, "code": exc.code}
            if exc.problems:
                error["errors"] = {w: {"_errors": [{"code": "INVALID", "message": m}]}
                                   for w, m in exc.problems}  # fmt: skip
            response = _json(error, exc.status)
        record.status = response.status
        world.notify()
        return response

    async def _route(
        self, request: web.Request, path: str, body: Any, files: list[JSON]
    ) -> web.Response:
        line = f"{request.method} {path}"
        for pattern, release in self._holds:
            if pattern.fullmatch(line):
                await release.wait()
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
                    authorized = request.headers.get("Authorization") == f"Bot {self.world.token}"
                    if not (authorized or path.startswith(("/interactions/", "/webhooks/"))):
                        raise DiscordError(401, 0, "401: Unauthorized")
                    response: web.Response = await handler(
                        _Call(request.method, match.groupdict(), body, files)
                    )
                    return response
        self.world.unknown_requests.append(line)
        raise DiscordError(404, 0, "404: Not Found")

    # ----------------------------------------------------------------- users, application
    async def _get_me(self, call: _Call) -> web.Response:
        return _json(self.world.bot_user)

    async def _application(self, call: _Call) -> web.Response:
        world = self.world
        team = None
        if world.team is not None:
            team_id = world.snowflake()
            members = [{"membership_state": 2, "team_id": team_id, "permissions": ["*"],
                        "role": role, "user": world.user(name)}
                       for name, role in world.team.items()]  # fmt: skip
            team = {"id": team_id, "name": "citebot team", "icon": None, "members": members,
                    "owner_user_id": members[0]["user"]["id"] if members else None}  # fmt: skip
        # A team-owned application's owner is a placeholder user standing for the team.
        owner = world.user(None) if team is None else {**world.new_user("team"), "flags": 1024}
        return _json({"id": world.application_id, "name": "citebot", "description": "",
                      "icon": None, "bot_public": False, "bot_require_code_grant": False,
                      "owner": owner, "verify_key": "0" * 64, "flags": 0, "team": team,
                      "bot": world.bot_user})  # fmt: skip

    async def _gateway_bot(self, call: _Call) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return _json({"url": self.gateway.url, "shards": self.world.recommended_shards,
                      "session_start_limit": limit})  # fmt: skip

    async def _guild_commands(self, call: _Call) -> web.Response:
        if call.params["g"] != self.world.guild_id:  # a guild the bot is not in
            raise DiscordError(403, 50001, "Missing Access")
        return await self._commands(call, call.params["g"])

    async def _commands(self, call: _Call, guild: str | None) -> web.Response:
        world = self.world
        if call.method == "GET":
            return _json(world.commands.get(guild, []))
        commands = call.body if isinstance(call.body, list) else []
        registered = []
        for cmd in commands:
            key = (guild, cmd.get("type", 1), cmd["name"])
            cmd_id = world.command_ids.setdefault(key, world.snowflake())
            perms = cmd.get("default_member_permissions")  # discord.py sends an int
            registered.append({"type": 1, "options": [], "nsfw": False, **cmd, "id": cmd_id,
                               "version": world.snowflake(), "application_id": world.application_id,
                               "default_member_permissions": None if perms is None else str(perms),
                               **({"guild_id": guild} if guild else {})})  # fmt: skip
        world.commands[guild] = registered
        return _json(registered)

    # ----------------------------------------------------------------- channels and messages
    async def _get_channel(self, call: _Call) -> web.Response:
        return _json(self.world.channel(call.params["c"]))

    async def _create_message(self, call: _Call) -> web.Response:
        world = self.world
        channel = world.channel(call.params["c"])
        _not_a_forum(channel)
        in_thread = channel["type"] in (10, 11, 12)
        world.require(channel["id"], SEND_MESSAGES_IN_THREADS if in_thread else SEND_MESSAGES)
        msg = world.message(call.params["c"], world.bot_user)
        if call.json.get("message_reference"):
            world.require(channel["id"], READ_MESSAGE_HISTORY)
            world.set_reference(msg, call.json["message_reference"])
        world.apply(msg, call.json, call.files, edit=False)
        if not world.bot_permissions(channel["id"]) & EMBED_LINKS:
            msg["embeds"] = []  # Discord drops them without a word
        world.record("channel", msg, call.json)
        await self.gateway.dispatch_message(msg)
        return _json(msg)

    async def _channel_message(self, call: _Call) -> web.Response:
        world = self.world
        msg = world.stored(call.params["m"], call.params["c"])
        if call.method == "GET":
            world.require(call.params["c"])
            if not world.bot_permissions(call.params["c"]) & READ_MESSAGE_HISTORY:
                raise DiscordError(403, 50001, "Missing Access")  # a message of the history
            return _json(self.gateway.as_seen(msg))
        if msg["author"]["id"] != world.bot_id:
            raise DiscordError(
                403, 50005, "Cannot edit or delete a message authored by another user"
            )
        if call.method == "DELETE":
            del world.msgs[msg["id"]]
            return web.Response(status=204)
        world.apply(msg, call.json, call.files, edit=True)
        world.record("channel_edit", msg, call.json)
        return _json(msg)

    async def _typing(self, call: _Call) -> web.Response:
        channel = self.world.channel(call.params["c"])
        _not_a_forum(channel)
        self.world.require(channel["id"], SEND_MESSAGES)
        return web.Response(status=204)

    async def _reaction(self, call: _Call) -> web.Response:
        msg, emoji = self.world.stored(call.params["m"], call.params["c"]), call.params["emoji"]
        if ":" in emoji or not any(ord(ch) > 0x2000 for ch in emoji):
            raise DiscordError(400, 10014, "Unknown Emoji", [("emoji", f"Unknown Emoji {emoji!r}")])
        mine = self.world.reactions.setdefault(msg["id"], [])
        if call.method == "PUT" and emoji not in mine:
            mine.append(emoji)
        elif call.method == "DELETE" and emoji in mine:
            mine.remove(emoji)
        return web.Response(status=204)

    async def _create_thread(self, call: _Call) -> web.Response:
        world = self.world
        msg = world.stored(call.params["m"], call.params["c"])
        name = call.json.get("name") or ""
        if not 1 <= len(name) <= MAX_THREAD_NAME:
            raise invalid([("name", f"Must be between 1 and {MAX_THREAD_NAME} in length.")])
        world.require(call.params["c"], CREATE_PUBLIC_THREADS)
        thread = world.make_thread(msg, name, world.bot_id)
        await self.gateway.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        return _json(thread)

    async def _create_dm(self, call: _Call) -> web.Response:
        recipient = str(call.json.get("recipient_id"))
        user = next((u for u in self.world.users.values() if u["id"] == recipient), None)
        if user is None:
            raise invalid([("recipient_id", f"Unknown user {recipient}")])
        return _json(self.world.dm_channel(user))

    # ----------------------------------------------------------------- interactions
    async def _callback(self, call: _Call) -> web.Response:
        world = self.world
        state = world.interactions.get(call.params["iid"])
        if state is None or state.payload["token"] != call.params["token"] or state.expired:
            raise DiscordError(404, 10062, "Unknown interaction")
        if state.response is not None:
            problem = ("type", f"second initial response (first was {state.response['type']})")
            raise DiscordError(400, 40060, "Interaction has already been acknowledged.", [problem])
        body, itype = call.json, state.payload["type"]
        rtype, data = body.get("type"), body.get("data") or {}
        if rtype not in CALLBACK_TYPES[itype]:
            raise invalid([("type", f"callback type {rtype} invalid for interaction {itype}")])
        channel_id, message = state.payload["channel_id"], None
        if rtype == 4:
            message = world.message(channel_id, world.bot_user)
            world.apply(message, data, call.files, edit=False)
        elif rtype == 5:
            message = world.message(channel_id, world.bot_user)
            message["flags"] = LOADING | (int(data.get("flags") or 0) & EPHEMERAL)
            world.msgs[message["id"]] = message
            state.loading = True
        elif rtype == 7:
            message = world.stored(state.payload["message"]["id"])
            world.apply(message, data, call.files, edit=True)
        elif rtype == 8 and len(data.get("choices") or []) > MAX_CHOICES:
            raise invalid([("data.choices", f"Must be {MAX_CHOICES} or fewer in length.")])
        if state.timer:
            state.timer.cancel()
        state.response = body
        if message is not None:
            message.update(webhook_id=world.application_id, application_id=world.application_id)
            state.original_id = message["id"]
            state.owned.add(message["id"])
            if rtype != 5:
                world.record("interaction" if rtype == 4 else "update", message, data,
                             state.payload["id"])  # fmt: skip
            if rtype == 4 and not message["flags"] & EPHEMERAL:
                await self.gateway.dispatch_message(message)
        elif rtype == 6:
            state.original_id = state.payload["message"]["id"]
        flags = message["flags"] if message else 0
        interaction = {"id": state.payload["id"], "type": itype,
                       "response_message_loading": rtype == 5,
                       "response_message_ephemeral": bool(flags & EPHEMERAL),
                       **({"response_message_id": message["id"]} if message else {})}  # fmt: skip
        resource = {"type": rtype, **({"message": message} if message else {})}
        return _json({"interaction": interaction, "resource": resource})

    def _webhook_state(self, token: str, action: str) -> InteractionState:
        interactions = self.world.interactions.values()
        state = next((s for s in interactions if s.payload["token"] == token), None)
        if state is None:
            raise DiscordError(404, 10015, "Unknown Webhook")
        if state.response is None:
            raise DiscordError(
                404, 10015, "Unknown Webhook", [("token", f"{action} before response")]
            )
        if time.monotonic() - state.created > self.world.token_lifetime:
            raise DiscordError(401, 50027, "Invalid Webhook Token")
        return state

    async def _followup(self, call: _Call) -> web.Response:
        world = self.world
        state = self._webhook_state(call.params["token"], "followup")
        if state.loading and state.original_id:
            # The first followup after a deferral fills in the "thinking" message; whether it
            # is ephemeral comes from the deferral, not from the followup (which may still
            # suppress link previews).
            msg = world.msgs[state.original_id]
            flags = msg["flags"] | int(call.json.get("flags") or 0) & SUPPRESS_EMBEDS
            world.apply(msg, {**call.json, "flags": flags}, call.files, edit=False)
            state.loading = False
        else:
            msg = world.message(state.payload["channel_id"], world.bot_user)
            msg.update(webhook_id=world.application_id, application_id=world.application_id)
            world.apply(msg, call.json, call.files, edit=False)
            state.owned.add(msg["id"])
        world.record("followup", msg, call.json, state.payload["id"])
        if not msg["flags"] & EPHEMERAL:
            await self.gateway.dispatch_message(msg)
        return _json(msg)

    async def _webhook_msg(self, call: _Call) -> web.Response:
        world = self.world
        state = self._webhook_state(call.params["token"], f"{call.method} message")
        original = call.params["mid"] == "@original"
        mid = state.original_id if original else call.params["mid"]
        if mid is None or mid not in state.owned | {state.original_id}:
            raise DiscordError(404, 10008, "Unknown Message")
        msg = world.stored(mid)
        if call.method == "GET":
            return _json(msg)
        if call.method == "DELETE":
            del world.msgs[mid]
            if mid == state.original_id:
                # Followups after the deleted "thinking" message are new messages of their own.
                state.original_id, state.loading = None, False
            return web.Response(status=204)
        world.apply(msg, call.json, call.files, edit=not state.loading)
        if mid == state.original_id:
            state.loading = False
        world.record("original_edit" if original else "followup_edit", msg, call.json,
                     state.payload["id"])  # fmt: skip
        return _json(msg)
