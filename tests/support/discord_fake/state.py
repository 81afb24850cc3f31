"""The in-memory Discord the gateway, the REST routes and the driver share, and its records."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.support.discord_fake.payloads import (
    ADMINISTRATOR,
    DEFAULT_PERMISSIONS,
    EPHEMERAL,
    JSON,
    LOADING,
    PUBLIC_THREAD,
    READ_MESSAGE_HISTORY,
    STAGE_CHANNEL,
    SUPPRESS_EMBEDS,
    THREAD_PARENTS,
    VIEW_CHANNEL,
    VOICE_CHANNEL,
    DiscordError,
    invalid,
    live_markup,
    message_problems,
    previewed_links,
)

DISCORD_EPOCH_MS = 1420070400000


def now() -> str:
    """The current time as Discord writes timestamps (ISO 8601, UTC)."""
    return datetime.now(UTC).isoformat()


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
    stored it (time.monotonic()); `previews` are the web addresses Discord would show a
    preview (or an invite card) of under it.
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
    previews: list[str] = field(default_factory=list)

    @property
    def ephemeral(self) -> bool:
        """Whether the message has the EPHEMERAL flag (64)."""
        return bool(self.flags & EPHEMERAL)

    @property
    def live_markup(self) -> list[str]:
        """What Discord would show, in the content and the embeds' titles and descriptions, as
        something other than its text: mentions, timestamps, emoji, command or channel links."""
        texts = [self.content] + [
            str(embed.get(key) or "") for embed in self.embeds for key in ("title", "description")
        ]
        return [form for text in texts for form in live_markup(text)]


@dataclass
class Heartbeat:
    """A heartbeat (op 1) as it arrived; `at` is time.monotonic()."""

    connection: int
    at: float
    sequence: int | None


@dataclass
class InteractionState:
    """An interaction dispatched to the bot and what the bot has answered so far."""

    payload: JSON
    response: JSON | None = None
    original_id: str | None = None
    loading: bool = False
    owned: set[str] = field(default_factory=set)
    expired: bool = False
    timer: asyncio.TimerHandle | None = None
    created: float = field(default_factory=time.monotonic)


class World:
    """One guild with one text channel, the bot member and a few user members.

    Settings: `token`, `heartbeat_interval_ms`, `interaction_deadline` (seconds). Identity:
    `bot_user`, `bot_id` (= `application_id`), `guild_id`, `channel_id`, `users` (name -> user).
    Records for tests: `requests`, `unknown_requests`, `violations`, `messages` (BotMessage),
    `reactions` (message id -> emojis the bot put), `commands` (guild id or None -> registered
    commands), `heartbeats`, `identify_count`, `resume_count`, `presence` (last op 3).
    `team` (user name -> role: admin, developer or read_only), when set, makes the application
    team-owned. `handled`: ids of the messages the bot under test says it is done with (its
    test helpers record them; see `FakeDiscord.mark_handled`).
    """

    def __init__(
        self,
        *,
        token: str,
        users: Sequence[str],
        heartbeat_interval_ms: int,
        interaction_deadline: float,
    ) -> None:
        self.token, self.heartbeat_interval_ms = token, heartbeat_interval_ms
        self.interaction_deadline = interaction_deadline
        self.recommended_shards = 1  # what GET /gateway/bot recommends
        self.token_lifetime = 15 * 60.0  # seconds an interaction token takes followups
        self._last_id = 0
        self.bot_user: JSON = self.new_user("citebot", bot=True)
        self.bot_id = self.application_id = str(self.bot_user["id"])
        self.guild_id, self.channel_id = self.snowflake(), self.snowflake()
        self.users: dict[str, JSON] = {name: self.new_user(name) for name in users}
        self.requests: list[RecordedRequest] = []
        self.unknown_requests: list[str] = []
        self.violations: list[str] = []
        self.messages: list[BotMessage] = []
        self.reactions: dict[str, list[str]] = {}
        self.commands: dict[str | None, list[JSON]] = {}
        self.heartbeats: list[Heartbeat] = []
        self.identify_count = self.resume_count = 0
        self.presence: JSON | None = None
        self.team: dict[str, str] | None = None
        self.handled: set[str] = set()
        self.channels: dict[str, JSON] = {
            self.channel_id: {"id": self.channel_id, "type": 0, "guild_id": self.guild_id,
                              "name": "general", "position": 0, "permission_overwrites": [],
                              "nsfw": False, "topic": None, "last_message_id": None,
                              "rate_limit_per_user": 0, "parent_id": None}
        }  # fmt: skip
        self.dm_ids: dict[str, str] = {}  # user id -> DM channel id
        self.msgs: dict[str, JSON] = {}  # every stored message, by id
        self.interactions: dict[str, InteractionState] = {}
        self.command_ids: dict[tuple[str | None, int, str], str] = {}
        self.changed = asyncio.Event()

    def notify(self) -> None:
        """Wake everyone waiting on `changed` (the event is replaced by a fresh one)."""
        self.changed.set()
        self.changed = asyncio.Event()

    def deadline_passed(self, state: InteractionState) -> None:
        """Expire an interaction that got no initial response in time, recording a violation."""
        if state.response is None:
            state.expired = True
            data = state.payload.get("data") or {}
            self.violations.append(
                f"interaction {state.payload['id']} ({data.get('name') or data.get('custom_id')}) "
                f"got no initial response within {self.interaction_deadline}s"
            )
            self.notify()

    # ----------------------------------------------------------------- payload builders
    def snowflake(self) -> str:
        """A new id, increasing and shaped like a Discord snowflake of the current time."""
        self._last_id = max(self._last_id + 1, (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22)
        return str(self._last_id)

    def new_user(self, name: str, *, bot: bool = False) -> JSON:
        """A user object with a new id."""
        return {"id": self.snowflake(), "username": name, "discriminator": "0", "bot": bot,
                "global_name": name.title(), "avatar": None, "public_flags": 0}  # fmt: skip

    def user(self, name: str | None) -> JSON:
        """The user called `name`, or the first user (the guild owner) for None."""
        if name is None:
            return next(iter(self.users.values()))
        if name not in self.users:
            raise ValueError(f"unknown user {name!r}; known: {list(self.users)}")
        return self.users[name]

    def member(self, user: JSON, **extra: Any) -> JSON:
        """A guild member object for `user`, with `extra` keys (e.g. permissions)."""
        return {"user": user, "roles": [], "joined_at": "2024-01-01T00:00:00+00:00", "flags": 0,
                "deaf": False, "mute": False, "nick": None, "pending": False, **extra}  # fmt: skip

    def channel(self, channel_id: str) -> JSON:
        """The channel, or Discord's 404 Unknown Channel."""
        if channel_id not in self.channels:
            raise DiscordError(404, 10003, "Unknown Channel")
        return self.channels[channel_id]

    def bot_permissions(self, channel_id: str) -> int:
        """What the bot may do in a guild channel (a thread: its parent): @everyone's
        permissions, then the channel's overwrites for @everyone and for the bot, as Discord
        computes them. Everything in a DM."""
        channel = self.channel(channel_id)
        if "guild_id" not in channel:
            return ~0
        if channel["type"] in (10, 11, 12):
            channel = self.channel(channel["parent_id"])
        granted = int(DEFAULT_PERMISSIONS)
        if granted & ADMINISTRATOR:
            return ~0
        overwrites = {o["id"]: o for o in channel.get("permission_overwrites") or []}
        for target in (self.guild_id, self.bot_id):
            if target in overwrites:
                granted &= ~int(overwrites[target]["deny"])
                granted |= int(overwrites[target]["allow"])
        return granted

    def require(self, channel_id: str, *permissions: int) -> None:
        """Discord's 403 when the bot lacks one of `permissions` in the channel: Missing Access
        (50001) without View Channel, else Missing Permissions (50013), or 160002 for a reply
        without Read Message History."""
        granted = self.bot_permissions(channel_id)
        for permission in (VIEW_CHANNEL, *permissions):
            if not granted & permission:
                if permission == VIEW_CHANNEL:
                    raise DiscordError(403, 50001, "Missing Access")
                if permission == READ_MESSAGE_HISTORY:
                    raise DiscordError(
                        403, 160002, "Cannot reply without permission to read message history"
                    )
                raise DiscordError(403, 50013, "Missing Permissions")

    def add_channel(self, name: str, channel_type: int) -> JSON:
        """A new guild channel (0 text, 2 voice, 13 stage, 15 forum) with no overwrites;
        a voice or stage channel has its text chat."""
        channel: JSON = {"id": self.snowflake(), "type": channel_type, "guild_id": self.guild_id,
                         "name": name, "position": len(self.channels), "parent_id": None,
                         "permission_overwrites": [], "nsfw": False, "topic": None,
                         "last_message_id": None, "rate_limit_per_user": 0, "flags": 0,
                         "available_tags": []}  # fmt: skip
        if channel_type in (VOICE_CHANNEL, STAGE_CHANNEL):
            channel.update(bitrate=64000, user_limit=0, rtc_region=None, video_quality_mode=1)
        self.channels[channel["id"]] = channel
        return channel

    def make_thread(self, msg: JSON, name: str, owner_id: str) -> JSON:
        """Open a public thread on a stored guild message (its id is the message's): only in a
        text or announcement channel (elsewhere, a voice or stage channel's text chat, a
        thread or a forum post among them, Discord refuses: 400 50024)."""
        if self.channel(msg["channel_id"])["type"] not in THREAD_PARENTS:
            raise DiscordError(400, 50024, "Cannot execute action on this channel type")
        if msg["id"] in self.channels:
            raise DiscordError(400, 160004, "A thread has already been created for this message")
        thread = self.new_thread(msg["id"], msg["channel_id"], name, owner_id)
        msg["thread"] = thread
        return thread

    def new_thread(self, thread_id: str, parent_id: str, name: str, owner_id: str) -> JSON:
        """A public thread in `parent_id` (a text channel or a forum, whose posts are threads)."""
        metadata = {"archived": False, "locked": False, "archive_timestamp": now(),
                    "auto_archive_duration": 1440}  # fmt: skip
        thread = {"id": thread_id, "type": PUBLIC_THREAD, "guild_id": self.guild_id,
                  "name": name, "parent_id": parent_id, "owner_id": owner_id,
                  "message_count": 0, "member_count": 1, "rate_limit_per_user": 0,
                  "thread_metadata": metadata, "last_message_id": None, "flags": 0}  # fmt: skip
        self.channels[thread_id] = thread
        return thread

    def dm_channel(self, user: JSON) -> JSON:
        """The DM channel with `user`, created on first use."""
        if user["id"] not in self.dm_ids:
            channel: JSON = {"id": self.snowflake(), "type": 1, "recipients": [user], "flags": 0,
                       "last_message_id": None}  # fmt: skip
            self.channels[channel["id"]] = channel
            self.dm_ids[user["id"]] = channel["id"]
        return self.channels[self.dm_ids[user["id"]]]

    def message(self, channel_id: str, author: JSON, content: str = "") -> JSON:
        """A new (not yet stored) message object by `author` in the channel."""
        msg: JSON = {"id": self.snowflake(), "channel_id": channel_id, "author": author,
               "content": content, "timestamp": now(), "edited_timestamp": None, "tts": False,
               "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": [],
               "embeds": [], "components": [], "pinned": False, "type": 0, "flags": 0}  # fmt: skip
        guild_id = self.channels[channel_id].get("guild_id")
        if guild_id:
            msg.update(guild_id=guild_id, member={k: v for k, v in self.member(author).items()
                                                  if k != "user"})  # fmt: skip
        return msg

    def stored(self, message_id: str, channel_id: str | None = None) -> JSON:
        """A stored message (in `channel_id` if given), or Discord's 404 Unknown Message."""
        msg = self.msgs.get(message_id)
        if msg is None or channel_id not in (None, msg["channel_id"]):
            raise DiscordError(404, 10008, "Unknown Message")
        return msg

    def apply(self, msg: JSON, body: JSON, files: list[JSON], *, edit: bool) -> None:
        """Validate the message a create/edit body results in, then merge it and store it."""
        defaults: JSON = {"content": "", "embeds": [], "components": [], "flags": 0, "poll": None}
        merged = {**msg, **{k: default if body[k] is None else body[k]
                            for k, default in defaults.items() if k in body}}  # fmt: skip
        kept = {str(a.get("id")) for a in body.get("attachments") or []}
        if edit and "attachments" not in body and not files:
            kept = {a["id"] for a in msg["attachments"]}
        merged["attachments"] = [a for a in msg["attachments"] if a["id"] in kept] + [
            {"id": self.snowflake(), "filename": f["filename"], "size": f["size"],
             "content_type": f["type"], "url": f"https://cdn.invalid/{f['filename']}",
             "proxy_url": f"https://media.invalid/{f['filename']}"}
            for f in files
        ]  # fmt: skip
        if problems := message_problems(merged):
            raise invalid(problems)
        merged["embeds"] = [{"type": "rich", **e} for e in merged["embeds"]]
        merged["flags"] = int(merged["flags"]) & ~LOADING
        if merged["flags"] & SUPPRESS_EMBEDS:
            merged["embeds"] = []  # Discord shows none of a message's embeds under this flag
        if edit:
            merged["edited_timestamp"] = now()
        msg.update(merged)
        self.msgs[msg["id"]] = msg

    def record(
        self, kind: str, msg: JSON, body: JSON, interaction_id: str | None = None
    ) -> BotMessage:
        """Append the bot's message, as it now stands, to `messages`."""
        record = BotMessage(kind, msg["id"], msg["channel_id"], msg["content"], msg["embeds"],
                            msg["components"], msg["flags"], msg["attachments"],
                            body.get("allowed_mentions"), msg.get("message_reference"),
                            interaction_id,
                            previews=previewed_links(msg["content"], msg["flags"]))  # fmt: skip
        self.messages.append(record)
        return record

    def set_reference(self, msg: JSON, reference: JSON) -> None:
        """Make `msg` a reply (type 19) to the referenced message, resolved one level deep."""
        ref_id = str(reference.get("message_id"))
        target = self.msgs.get(ref_id)
        if target is None:
            if reference.get("fail_if_not_exists", True):
                raise invalid([("message_reference", f"Unknown message {ref_id}")])
            return  # Discord posts it as a plain message
        reference = {"type": 0, "message_id": ref_id, "channel_id": msg["channel_id"]}
        if msg.get("guild_id"):
            reference["guild_id"] = msg["guild_id"]
        msg.update(type=19, message_reference=reference)
        if target is not None:
            msg["referenced_message"] = resolved = dict(target)
            resolved.pop("referenced_message", None)  # Discord resolves one level only
