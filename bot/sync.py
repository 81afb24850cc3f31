"""Registering the slash commands with Discord at start-up: by one process (the one holding
shard 0, when DISCORD_SHARD_IDS splits the shards between several), in one scope
(DISCORD_GUILD_ID's server, else globally), only when they differ from what Discord has, and
never in both scopes at once (a server would list each command twice).

Discord limits how often commands may be created (a few hundred a day), so an unchanged set is
not sent again: what Discord has is read (one request) and compared. The scope used last is
kept in the cache directory, so that going back from a development server to global commands
removes that server's set. A sync Discord refuses for DISCORD_GUILD_ID (the bot is not in that
server, or lacks the applications.commands scope there) stops the start-up with one line;
any other sync error is logged and the bot starts with the commands Discord already has.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import discord
from discord.ext import commands

from index.config import Settings

log = logging.getLogger(__name__)

# A command's fields the bot may leave to Discord, which then lists defaults of its own.
_CHOSEN = ("name_localizations", "description_localizations", "contexts", "integration_types")
# An option's fields that matter, with the value Discord reads when one is left out.
_OPTION_DEFAULTS: dict[str, Any] = {
    "required": False,
    "autocomplete": False,
    "choices": None,
    "min_value": None,
    "max_value": None,
    "min_length": None,
    "max_length": None,
    "channel_types": None,
}


async def sync_commands(bot: commands.Bot | commands.AutoShardedBot, settings: Settings) -> None:
    """Make Discord's slash commands the bot's, in the scope `settings` name, unless another
    process does (one that holds shard 0)."""
    if settings.discord_shard_ids and 0 not in settings.discord_shard_ids:
        log.info("slash commands left to the process holding shard 0")
        return
    guild_id = settings.discord_guild_id
    guild = discord.Object(id=guild_id) if guild_id else None
    if guild is not None:
        bot.tree.copy_global_to(guild=guild)
    try:
        await _sync(bot, guild, settings.cache_dir)
    except discord.Forbidden:
        if guild is not None:
            raise
        log.exception("Discord refused the slash commands; starting with those it has")
    except discord.HTTPException:
        log.exception("could not sync the slash commands; starting with those Discord has")


async def _sync(
    bot: commands.Bot | commands.AutoShardedBot, guild: discord.Object | None, cache_dir: Path
) -> None:
    application_id = bot.application_id
    assert application_id is not None
    http = bot.http
    where = f"to server {guild.id}" if guild else "globally"
    wanted = [command.to_dict(bot.tree) for command in bot.tree.get_commands(guild=guild)]
    if guild is not None:
        current = await http.get_guild_commands(application_id, guild.id)
    else:
        current = await http.get_global_commands(application_id)
    # What the bot sets of these is compared; what it leaves to Discord's defaults is not
    # (Discord may list a default it filled in).
    chosen = {key for command in wanted for key in _CHOSEN if command.get(key)}
    if command_set(current, chosen) == command_set(wanted, chosen):
        log.info("slash commands unchanged %s: not synced", where)
    else:
        await bot.tree.sync(guild=guild)
        log.info("synced %d slash commands %s", len(wanted), where)
    state = cache_dir / "discord" / f"commands-{application_id}.json"
    if guild is not None:
        if await http.get_global_commands(application_id):
            await http.bulk_upsert_global_commands(application_id, [])
            log.warning(
                "removed the global slash commands: DISCORD_GUILD_ID is set, and server %s"
                " would list each command twice",
                guild.id,
            )
    elif (earlier := _read_guild(state)) is not None:
        try:
            if await http.get_guild_commands(application_id, earlier):
                await http.bulk_upsert_guild_commands(application_id, earlier, [])
                log.info("removed the slash commands synced to server %s before", earlier)
        except (discord.Forbidden, discord.NotFound):
            log.info("server %s, where slash commands were synced before, is gone", earlier)
    _write_guild(state, guild.id if guild is not None else None)


def command_set(
    commands: list[Any], chosen: set[str] | frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Commands (as sent to Discord, or as it lists them) by name, with only what a user
    sees of them, in one form: what tells whether a sync would change anything. Of the
    fields the bot may leave to Discord (`_CHOSEN`), those in `chosen`."""
    return {
        command["name"]: {
            "type": command.get("type", 1),
            "description": command.get("description", ""),
            "options": [_option(option) for option in command.get("options") or []],
            "default_member_permissions": _text(command.get("default_member_permissions")),
            "dm_permission": command.get("dm_permission", True) is not False,
            "nsfw": bool(command.get("nsfw")),
            **{key: command.get(key) or None for key in sorted(chosen)},
        }
        for command in commands
    }


def _option(option: dict[str, Any]) -> dict[str, Any]:
    shape = {
        "name": option["name"],
        "type": option["type"],
        "description": option.get("description", ""),
        **{key: _given(option.get(key), default) for key, default in _OPTION_DEFAULTS.items()},
    }
    if option.get("options"):
        shape["options"] = [_option(child) for child in option["options"]]
    return shape


def _given(value: object, default: object) -> object:
    """`value`, or `default` for a field left out (None, or an empty list)."""
    return default if value is None or value == [] else value


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _read_guild(state: Path) -> int | None:
    """The server the commands were synced to last time (None: globally, or not known)."""
    try:
        guild = json.loads(state.read_text("utf-8")).get("guild")
    except (OSError, ValueError, AttributeError):
        return None
    return guild if isinstance(guild, int) else None


def _write_guild(state: Path, guild: int | None) -> None:
    try:
        state.parent.mkdir(parents=True, exist_ok=True)
        state.write_text(json.dumps({"guild": guild}), "utf-8")
    except OSError as error:
        log.warning("cannot note where the slash commands were synced (%s): %s", state, error)
