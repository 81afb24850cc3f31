"""Running the bot as a service: start-up failures as one line naming the cause and what to
change, and SIGTERM / SIGINT (systemd, `docker stop`, Ctrl-C) as a clean close that finishes or
apologises for the answers in flight."""

from __future__ import annotations

import asyncio
import logging
import signal

import aiohttp
import discord
import yarl

from bot.app import CitebotBot
from index.config import Settings

log = logging.getLogger(__name__)

PORTAL = "https://discord.com/developers/applications"
# How long answers in flight may take to be sent once a stop is asked for: well within
# `docker stop`'s 10 s and systemd's 90 s before they kill the process.
SHUTDOWN_GRACE_SECONDS = 5.0
# The gateway's close code for a token it refuses (discord.py raises its own error for 4014,
# privileged intents not enabled in the portal).
AUTHENTICATION_FAILED = 4004


class StartupError(Exception):
    """The bot could not start; the message says why and what to change."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class _NetworkErrorsOnOneLine(logging.Filter):
    """discord.py logs each failed (re)connection with the network error's traceback; keep
    the line and name the error instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, OSError | aiohttp.ClientError | discord.GatewayNotFound):
            record.msg, record.args = f"{record.getMessage()} ({error!r})", ()
            record.exc_info = record.exc_text = None
        return True


def serve(settings: Settings, token: str) -> None:
    """Run the bot until SIGTERM or SIGINT. Raises `StartupError` when it cannot start."""
    for name in ("discord.client", "discord.shard"):
        logging.getLogger(name).addFilter(_NetworkErrorsOnOneLine())
    discord.http.Route.BASE = settings.discord_api_base_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)
    try:
        asyncio.run(_serve(CitebotBot(settings), token, settings.discord_connect_timeout_seconds))
    except (discord.DiscordException, aiohttp.ClientError, OSError) as error:
        raise explain_startup(error, settings) from error


async def _serve(bot: CitebotBot, token: str, connect_timeout: float) -> None:
    """Start the bot; on a stop signal shut it down gracefully. `StartupError` when the
    gateway accepts no connection within `connect_timeout` seconds (discord.py would retry
    forever)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with bot:
        running = asyncio.create_task(bot.start(token), name="citebot")
        stopping = asyncio.create_task(stop.wait())
        ready = asyncio.create_task(bot.wait_until_ready())
        await asyncio.wait(
            {running, stopping, ready}, timeout=connect_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        connected = ready.done()
        ready.cancel()
        if not (connected or running.done() or stop.is_set()):
            stopping.cancel()
            running.cancel()
            raise StartupError(
                f"Discord's gateway accepted no connection within {connect_timeout:g} s; check"
                " the network, or DISCORD_GATEWAY_URL if you use a proxy"
                " (DISCORD_CONNECT_TIMEOUT_SECONDS sets how long to wait).",
                1,
            )
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if stop.is_set():
            log.info("stopping: closing the connection to Discord")
            await bot.shut_down(SHUTDOWN_GRACE_SECONDS)
        stopping.cancel()
        await running
    log.info("stopped")


def explain_startup(error: BaseException, settings: Settings) -> StartupError:
    """One line for a start-up failure: what happened and the setting or portal page to
    change. Exit code 2 for configuration, 1 for anything else."""
    if isinstance(error, discord.LoginFailure) or (
        isinstance(error, discord.ConnectionClosed) and error.code == AUTHENTICATION_FAILED
    ):
        return StartupError("Discord rejected DISCORD_TOKEN; reset it in the developer portal.", 2)
    if isinstance(error, discord.PrivilegedIntentsRequired):
        return StartupError(
            "Discord refused the Message Content intent (gateway close code 4014), which"
            f' answer channels need: enable "Message Content Intent" at {PORTAL} > your'
            ' application > Bot > "Privileged Gateway Intents", or leave'
            " DISCORD_ANSWER_CHANNELS empty.",
            2,
        )
    if isinstance(error, discord.Forbidden) and settings.discord_guild_id:
        return StartupError(
            f"Discord refused to sync the slash commands to DISCORD_GUILD_ID="
            f"{settings.discord_guild_id} ({error.status} {error.text or 'Missing Access'}):"
            " invite the bot to that server with the applications.commands scope (README,"
            ' "Discord"), or leave DISCORD_GUILD_ID empty to sync globally.',
            2,
        )
    if isinstance(error, aiohttp.ClientError | OSError | discord.GatewayNotFound):
        return StartupError(
            f"cannot reach Discord at {settings.discord_api_base_url} ({error}); check the"
            " network, or DISCORD_API_BASE_URL and DISCORD_GATEWAY_URL if you use a proxy.",
            1,
        )
    return StartupError(f"Discord refused to start the bot: {error}", 1)
