"""Discord's payload rules: flags, limits, and the checks the fake applies to what the bot sends.

Everything here is pure: functions take JSON and return problems (`(where, message)` pairs, worded
like the `errors` of Discord's 400 "Invalid Form Body") or raise.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from typing import Any

JSON = dict[str, Any]
Problem = tuple[str, str]

# Message flags.
SUPPRESS_EMBEDS, EPHEMERAL, LOADING, COMPONENTS_V2 = 1 << 2, 1 << 6, 1 << 7, 1 << 15
# Channel types: a server's text channel, a voice channel, an announcement channel, a public
# thread, a stage, a forum.
TEXT_CHANNEL, VOICE_CHANNEL, ANNOUNCEMENT_CHANNEL = 0, 2, 5
PUBLIC_THREAD, STAGE_CHANNEL, FORUM_CHANNEL = 11, 13, 15
# Channels of a server (not threads) that a bot is told of in GUILD_CREATE and CHANNEL_CREATE.
GUILD_CHANNELS = (TEXT_CHANNEL, VOICE_CHANNEL, ANNOUNCEMENT_CHANNEL, STAGE_CHANNEL, FORUM_CHANNEL)
# Channels whose messages a thread can be started from (the others: 400 50024).
THREAD_PARENTS = (TEXT_CHANNEL, ANNOUNCEMENT_CHANNEL)
# Gateway intents.
GUILD_MEMBERS, GUILD_MESSAGES, DM_MESSAGES, MESSAGE_CONTENT = 1 << 1, 1 << 9, 1 << 12, 1 << 15
# The intents an application must have enabled in the developer portal (members, presences,
# message content).
PRIVILEGED_INTENTS = GUILD_MEMBERS | 1 << 8 | MESSAGE_CONTENT
# Permissions.
ADMINISTRATOR, VIEW_CHANNEL, SEND_MESSAGES, EMBED_LINKS = 1 << 3, 1 << 10, 1 << 11, 1 << 14
READ_MESSAGE_HISTORY, CREATE_PUBLIC_THREADS = 1 << 16, 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38
# VIEW_CHANNEL, SEND_MESSAGES, EMBED_LINKS, ATTACH_FILES, READ_MESSAGE_HISTORY, ADD_REACTIONS,
# USE_APPLICATION_COMMANDS, CREATE_PUBLIC_THREADS, SEND_MESSAGES_IN_THREADS
DEFAULT_PERMISSIONS = str(sum(1 << bit for bit in (10, 11, 14, 15, 16, 6, 31, 35, 38)))
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
# Application command option type -> Python types of the values Discord's client sends for it.
OPTION_TYPES: dict[int, tuple[type, ...]] = {3: (str,), 4: (int,), 5: (bool,), 10: (int, float)}
# Interaction type -> callback types Discord accepts for it.
CALLBACK_TYPES = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}

# Limits (lengths in characters, counts in items).
MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TITLE = 256
MAX_EMBED_DESCRIPTION = 4096
MAX_EMBED_FOOTER = 2048
MAX_EMBED_AUTHOR = 256
MAX_EMBED_FIELDS = 25
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_EMBED_TOTAL = 6000
MAX_ACTION_ROWS = 5
MAX_ROW_COMPONENTS = 5
MAX_CUSTOM_ID = 100
MAX_BUTTON_LABEL = 80
MAX_BUTTON_URL = 512
MAX_CHOICES = 25
MAX_THREAD_NAME = 100

# What Discord's client shows as something other than its text: mentions of users, roles and
# channels, @everyone and @here, timestamps, custom emoji, slash command mentions, and the
# server-guide links ("<id:customize>" and the like).
_LIVE_MARKUP = re.compile(
    r"<@[!&]?\d+>|<#\d+>|@(?:everyone|here)\b|<t:-?\d+(?::[tTdDfFsSR])?>|<a?:\w+:\d+>"
    r"|</[-\w]+(?: [-\w]+){0,2}:\d+>|<id:(?:customize|browse|guide|linked-roles(?::\d+)?)>"
)
# A web address Discord makes a preview (an embed, or an invite card) of: one not wrapped in
# <...> nor in inline code.
_LINK = re.compile(r"<https?://[^\s>]+>|`[^`]*`|(?P<link>https?://[^\s<]+[^<.,:;\"')\]\s])")


class DiscordError(Exception):
    """An error answer, optionally recording protocol violations."""

    def __init__(
        self, status: int, code: int, message: str, problems: Sequence[Problem] = ()
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.problems = status, code, message, problems


def invalid(problems: Sequence[Problem]) -> DiscordError:
    """The 400 "Invalid Form Body" error (code 50035) for `problems`."""
    return DiscordError(400, 50035, "Invalid Form Body", problems)


def embed_problems(embeds: list[JSON]) -> list[Problem]:
    """Problems with the embeds of a message: counts, per-field lengths and the 6,000 total."""
    problems: list[Problem] = []
    if len(embeds) > MAX_EMBEDS:
        problems.append(("embeds", f"Must be {MAX_EMBEDS} or fewer in length."))
    total = 0
    for i, embed in enumerate(embeds):
        footer, author = embed.get("footer") or {}, embed.get("author") or {}
        texts = [
            (f"embeds.{i}.title", embed.get("title"), MAX_EMBED_TITLE),
            (f"embeds.{i}.description", embed.get("description"), MAX_EMBED_DESCRIPTION),
            (f"embeds.{i}.footer.text", footer.get("text"), MAX_EMBED_FOOTER),
            (f"embeds.{i}.author.name", author.get("name"), MAX_EMBED_AUTHOR),
        ]
        fields = embed.get("fields") or []
        if len(fields) > MAX_EMBED_FIELDS:
            problems.append(
                (f"embeds.{i}.fields", f"Must be {MAX_EMBED_FIELDS} or fewer in length.")
            )
        for k, fld in enumerate(fields):
            for key, limit in (("name", MAX_FIELD_NAME), ("value", MAX_FIELD_VALUE)):
                if not fld.get(key):
                    problems.append((f"embeds.{i}.fields.{k}.{key}", "This field is required"))
                texts.append((f"embeds.{i}.fields.{k}.{key}", fld.get(key), limit))
        for where, text, limit in texts:
            total += (size := len(text or ""))
            if size > limit:
                problems.append((where, f"Must be {limit} or fewer in length (got {size})."))
    if total > MAX_EMBED_TOTAL:
        message = f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL} (got {total})."
        problems.append(("embeds", message))
    return problems


def walk_components(components: list[JSON], where: str) -> Iterator[tuple[str, JSON]]:
    """Every component, nested ones and accessories included, with its path below `where`."""
    for i, comp in enumerate(components):
        yield f"{where}.{i}", comp
        yield from walk_components(comp.get("components") or [], f"{where}.{i}.components")
        if comp.get("accessory"):
            yield from walk_components([comp["accessory"]], f"{where}.{i}.accessory")


def component_problems(components: list[JSON], v2: bool) -> list[Problem]:
    """Problems with a message's components: action-row layout (unless `v2`), custom ids and
    buttons."""
    problems: list[Problem] = []
    if not v2:
        if len(components) > MAX_ACTION_ROWS:
            problems.append(("components", f"Must be {MAX_ACTION_ROWS} or fewer in length."))
        for i, row in enumerate(components):
            children = row.get("components") or []
            if row.get("type") != 1 or not 1 <= len(children) <= MAX_ROW_COMPONENTS:
                message = f"Action rows hold 1 to {MAX_ROW_COMPONENTS} components."
                problems.append((f"components.{i}", message))
            elif len(children) > 1 and any(c.get("type") != 2 for c in children):
                problems.append((f"components.{i}", "A select menu must be alone in its row."))
    custom_ids: list[str] = []
    for where, comp in walk_components(components, "components"):
        custom_id = comp.get("custom_id")
        if custom_id is not None:
            custom_ids.append(custom_id)
            if not 1 <= len(custom_id) <= MAX_CUSTOM_ID:
                message = f"Must be between 1 and {MAX_CUSTOM_ID} in length."
                problems.append((f"{where}.custom_id", message))
        if comp.get("type") == 2:
            if len(comp.get("label") or "") > MAX_BUTTON_LABEL:
                problems.append(
                    (f"{where}.label", f"Must be {MAX_BUTTON_LABEL} or fewer in length.")
                )
            if (comp.get("style") == 5) != bool(comp.get("url")) or (
                comp.get("style") not in (5, 6) and custom_id is None
            ):
                problems.append((where, "Link buttons need a url, other buttons a custom_id."))
            problems += _link_problems(where, comp.get("url"))
    if len(set(custom_ids)) != len(custom_ids):
        problems.append(("components", "Component custom id cannot be duplicated"))
    return problems


def _link_problems(where: str, url: str | None) -> list[Problem]:
    """Problems with a link button's url: at most 512 characters, http(s) or discord."""
    if url is None:
        return []
    if len(url) > MAX_BUTTON_URL:
        return [(f"{where}.url", f"Must be {MAX_BUTTON_URL} or fewer in length.")]
    if not re.match(r"(?:https?|discord)://\S+$", url):
        return [(f"{where}.url", "Scheme must be one of ('http', 'https', 'discord').")]
    return []


def message_problems(msg: JSON) -> list[Problem]:
    """Problems Discord would report for this message (the full state after create or edit)."""
    content = msg.get("content") or ""
    embeds, components = msg.get("embeds") or [], msg.get("components") or []
    v2 = bool(int(msg.get("flags") or 0) & COMPONENTS_V2)
    problems = embed_problems(embeds) + component_problems(components, v2)
    if len(content) > MAX_CONTENT:
        message = f"Must be {MAX_CONTENT} or fewer in length (got {len(content)})."
        problems.append(("content", message))
    if v2 and (content or embeds):
        problems.append(("content", "content and embeds cannot be used with IS_COMPONENTS_V2"))
    if not (content or embeds or components or msg.get("attachments") or msg.get("poll")):
        problems.append(("content", "Cannot send an empty message"))
    return problems


def command_options(
    schema: list[JSON], given: dict[str, Any], focused: str | None = None
) -> list[JSON]:
    """The `options` of a chat-input interaction for the values in `given`.

    Values are checked against the registered option `schema` (types 3, 4, 5, 10, choices,
    min/max) the way Discord's client checks what a user types; the `focused` option (an
    autocomplete in progress) is passed through unchecked. Raises ValueError for anything a user
    could not send.
    """
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


def live_markup(content: str) -> list[str]:
    """The forms in `content` Discord shows as something other than their text (a mention,
    a timestamp, an emoji, a command or channel link)."""
    return _LIVE_MARKUP.findall(content)


def previewed_links(content: str, flags: int) -> list[str]:
    """The web addresses Discord makes previews of in a message with `flags`: none when it
    has SUPPRESS_EMBEDS."""
    if flags & SUPPRESS_EMBEDS:
        return []
    return [match["link"] for match in _LINK.finditer(content) if match["link"]]
