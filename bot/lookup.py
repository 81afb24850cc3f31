"""Looking things up: /search, /source, /article, /stats, /reload and /help."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CitebotBot, cooldown_text, tell_privately
from bot.format import (
    HELP,
    NONE,
    article_embed,
    format_search,
    label,
    source_embed,
    stats_embed,
)
from bot.options import FILTER_DESCRIPTIONS, DateText, OutletText
from bot.text import shorten
from index.records import ArticleFilter

log = logging.getLogger(__name__)

# /reload re-opens the index for every server: at most once in this many seconds.
RELOAD_COOLDOWN_SECONDS = 60.0
NOT_YOURS = (
    "Sorry, only the bot's owner (or its team, or DISCORD_ADMIN_IDS) can reload the index:"
    " it is shared by every server the bot is in."
)
CHOICES = 25
CHOICE_NAME_LIMIT = 100
# Discord waits 3 s for autocomplete choices; past this, none are offered rather than too late.
AUTOCOMPLETE_SECONDS = 2.0

Interaction = discord.Interaction[Any]
Query = app_commands.Range[str, 1, 1000]
PassageCount = app_commands.Range[int, 1, 10]
CitationId = app_commands.Range[str, 1, 100]
ContextParagraphs = app_commands.Range[int, 0, 5]


class Lookup(commands.Cog):
    """Sources, passages, articles and the index itself."""

    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot
        self._reloaded_at = -math.inf

    @app_commands.command()
    @app_commands.describe(**FILTER_DESCRIPTIONS)
    async def search(
        self,
        interaction: Interaction,
        query: Query,
        count: PassageCount = 5,
        since: DateText | None = None,
        until: DateText | None = None,
        outlet: OutletText | None = None,
        private: bool = False,
    ) -> None:
        """The passages that best match a query, each with its citation id.

        Args:
            query: Words or a question
            count: How many passages to show
            private: Only you see the passages
        """
        article_filter = ArticleFilter.of(since, until, outlet)
        wait = self.bot.cooldown.retry_after(interaction.user.id)
        if wait:
            await interaction.response.send_message(cooldown_text(wait), ephemeral=True)
            return
        await interaction.response.defer(ephemeral=private, thinking=True)
        results = await self.bot.in_worker(
            self.bot.engine.search, query, k=count, article_filter=article_filter
        )
        await interaction.followup.send(
            format_search(query, results), allowed_mentions=NONE, suppress_embeds=True
        )

    @app_commands.command()
    async def source(
        self,
        interaction: Interaction,
        id: CitationId,
        context: ContextParagraphs = 1,
        private: bool = False,
    ) -> None:
        """A cited passage with its neighbouring paragraphs and the article's details.

        Args:
            id: A citation id from an answer, like 85a1c30ac803-381-493
            context: Paragraphs to show on each side
            private: Only you see the passage
        """
        await interaction.response.defer(ephemeral=private, thinking=True)
        view = await self.bot.in_lookup(self.bot.engine.sources.source, id, context=context)
        await interaction.followup.send(
            embed=source_embed(view, self.bot.engine.link), allowed_mentions=NONE
        )

    @app_commands.command()
    @app_commands.describe(title="Start typing a title and pick one")
    async def article(
        self, interaction: Interaction, title: app_commands.Range[str, 1, 200]
    ) -> None:
        """An article's details and lead paragraph."""
        await interaction.response.defer(thinking=True)
        found = await self.bot.in_lookup(self.bot.engine.sources.find_article, title)
        if found is None:
            await tell_privately(
                interaction,
                f"No article titled “{label(title, 100)}”; pick one from the list as you type.",
            )
            return
        await interaction.followup.send(embed=article_embed(found), allowed_mentions=NONE)

    @article.autocomplete("title")
    async def article_titles(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Titles containing what has been typed (values are article keys); none when they
        cannot be found in time."""
        try:
            async with asyncio.timeout(AUTOCOMPLETE_SECONDS):
                matches = await self.bot.in_lookup(
                    self.bot.engine.sources.titles_matching, current, CHOICES
                )
        except TimeoutError:
            return []
        return [
            app_commands.Choice(name=shorten(title, CHOICE_NAME_LIMIT), value=key)
            for key, title in matches
        ]

    @app_commands.command()
    async def stats(self, interaction: Interaction, private: bool = False) -> None:
        """What the index holds: articles, passages, outlets, dates, model, build time.

        Args:
            private: Only you see the figures
        """
        await interaction.response.defer(ephemeral=private, thinking=True)
        result = await self.bot.in_lookup(self.bot.engine.stats)
        await interaction.followup.send(embed=stats_embed(result), allowed_mentions=NONE)

    @app_commands.command()
    @app_commands.default_permissions(manage_guild=True)
    async def reload(self, interaction: Interaction) -> None:
        """Re-open the index after `citebot build` (the bot's owner only)."""
        if not await self.bot.may_reload(interaction.user):
            await interaction.response.send_message(NOT_YOURS, ephemeral=True)
            return
        since = time.monotonic() - self._reloaded_at
        if since < RELOAD_COOLDOWN_SECONDS:
            wait = math.ceil(RELOAD_COOLDOWN_SECONDS - since)
            await interaction.response.send_message(
                f"The index was reloaded {math.floor(since)} s ago; try again in {wait} s.",
                ephemeral=True,
            )
            return
        self._reloaded_at = time.monotonic()
        log.info("%s (%s) asked for a reload", interaction.user, interaction.user.id)
        await interaction.response.defer(ephemeral=True, thinking=True)
        generation = await self.bot.in_worker(self.bot.engine.reload)
        await interaction.followup.send(f"Reloaded the index (generation {generation}).")

    @app_commands.command(name="help")
    async def help_command(self, interaction: Interaction) -> None:
        """How to ask citebot questions and look up its sources."""
        await interaction.response.send_message(HELP, ephemeral=True)


async def setup(bot: CitebotBot) -> None:
    """Add the lookup cog."""
    await bot.add_cog(Lookup(bot))
