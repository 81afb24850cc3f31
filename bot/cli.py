"""The `citebot` console command: the index commands plus `citebot run` for the bot."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from index.cli import cli, index_option, reports_errors, settings_for

TOKEN_HELP = """\
citebot needs a Discord bot token to run. To get one:
  1. Open https://discord.com/developers/applications and create an application.
  2. Under "Bot", press "Reset Token" and copy it. Put it in .env as DISCORD_TOKEN=...
     (or export DISCORD_TOKEN). Keep it secret.
  3. Under "Bot" > "Privileged Gateway Intents", enable MESSAGE CONTENT only if you set
     DISCORD_ANSWER_CHANNELS (mentions, DMs and slash commands work without it).
  4. Invite the bot with the scopes bot and applications.commands and the permissions
     View Channels, Send Messages, Send Messages in Threads, Create Public Threads,
     Read Message History and Embed Links (see README, "Discord").
Then run `citebot run` again."""


@cli.command()
@index_option
@reports_errors
def run(index: Path | None) -> None:
    """Start the Discord bot on the index (needs DISCORD_TOKEN).

    \b
    Example:
        DISCORD_TOKEN=... citebot run
    """
    settings = settings_for(index)
    token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
    if not token:
        click.echo(TOKEN_HELP, err=True)
        sys.exit(2)
    import discord
    import yarl

    from bot.app import CitebotBot

    discord.http.Route.BASE = settings.discord_api_base_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)
    bot = CitebotBot(settings)
    # A bot is a service: say what it does (ready, reconnects, index switches) through the
    # one handler `citebot` set up, not a second one of discord.py's.
    logging.getLogger().setLevel(logging.INFO)
    for chatty in ("faiss.loader", "sentence_transformers"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    try:
        bot.run(token, log_handler=None)
    except discord.LoginFailure:
        click.echo(
            "Error: Discord rejected DISCORD_TOKEN; reset it in the developer portal.", err=True
        )
        sys.exit(2)


def main() -> None:
    """Entry point of the `citebot` console script."""
    cli()
