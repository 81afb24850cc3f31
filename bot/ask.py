"""Asking: mentions, DMs, answer channels, follow-ups by reply or in threads, and /ask."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import APOLOGY, CitebotBot, Exchange, cooldown_text, explain
from bot.buttons import AnswerButton, answer_view
from bot.format import HELP, NONE, format_answer
from index.errors import CitebotError

log = logging.getLogger(__name__)


class Ask(commands.Cog):
    """Questions asked by mention, DM, reply, in answer channels and threads, or with /ask."""

    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot

    def question_in(self, message: discord.Message) -> str | None:
        """The question a message asks the bot, with earlier context for a follow-up, or None
        when the message is not for the bot."""
        assert self.bot.user is not None
        text = message.content.replace(f"<@{self.bot.user.id}>", "")
        text = text.replace(f"<@!{self.bot.user.id}>", "").strip()
        earlier = self._earlier_exchange(message)
        if earlier is not None:
            return f"{earlier.question} {text}".strip()
        addressed = (
            message.guild is None
            or self.bot.user in message.mentions
            or message.channel.id in self.bot.settings.discord_answer_channels
        )
        return text if addressed else None

    def _earlier_exchange(self, message: discord.Message) -> Exchange | None:
        """The bot's answer this message follows up: a reply to it, or its thread."""
        reference = message.reference
        if reference is not None and reference.message_id is not None:
            earlier = self.bot.conversations.get(reference.message_id)
            if earlier is not None:
                return earlier
        if isinstance(message.channel, discord.Thread):
            return self.bot.conversations.get(message.channel.id)
        return None

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Answer a message addressed to the bot, replying to it."""
        if message.author.bot:
            return
        question = self.question_in(message)
        if question is None:
            return
        if question.lower().strip(" /?!.") in {"", "help"}:
            await message.reply(HELP, mention_author=False, allowed_mentions=NONE)
            return
        wait = self.bot.cooldown.retry_after(message.author.id)
        if wait:
            await message.reply(cooldown_text(wait), mention_author=False, allowed_mentions=NONE)
            return
        try:
            async with message.channel.typing():
                answer = await self.bot.in_worker(self.bot.engine.ask, question)
        except CitebotError as error:
            await message.reply(explain(error), mention_author=False, allowed_mentions=NONE)
            return
        except Exception:
            log.exception("answering message %s failed", message.id)
            await message.reply(APOLOGY, mention_author=False, allowed_mentions=NONE)
            return
        content, exchange = format_answer(answer), Exchange(question, answer)
        in_answer_channel = message.channel.id in self.bot.settings.discord_answer_channels
        if in_answer_channel and message.guild is not None:
            # Each question in an answer channel gets a thread; what is said there follows up.
            thread = await message.create_thread(name=_thread_name(question))
            sent = await thread.send(content, allowed_mentions=NONE, view=answer_view(answer))
            self.bot.conversations.remember(thread.id, exchange)
        else:
            sent = await message.reply(
                content, mention_author=False, allowed_mentions=NONE, view=answer_view(answer)
            )
            if isinstance(message.channel, discord.Thread) and self.bot.conversations.get(
                message.channel.id
            ):
                self.bot.conversations.remember(message.channel.id, exchange)
        self.bot.conversations.remember(sent.id, exchange)
        self.bot.dispatch("citebot_answered", sent.id)

    @app_commands.command()
    async def ask(
        self,
        interaction: discord.Interaction[Any],
        question: app_commands.Range[str, 1, 1000],
        private: bool = False,
    ) -> None:
        """Ask a question; the answer quotes the articles with numbered sources.

        Args:
            question: What you want to know, e.g. who is Lety Pérez?
            private: Only you see the answer.
        """
        wait = self.bot.cooldown.retry_after(interaction.user.id)
        if wait:
            await interaction.response.send_message(cooldown_text(wait), ephemeral=True)
            return
        await interaction.response.defer(ephemeral=private, thinking=True)
        answer = await self.bot.in_worker(self.bot.engine.ask, question)
        sent = await interaction.followup.send(
            format_answer(answer), wait=True, allowed_mentions=NONE, view=answer_view(answer)
        )
        self.bot.conversations.remember(sent.id, Exchange(question, answer))
        self.bot.dispatch("citebot_answered", sent.id)


def _thread_name(question: str) -> str:
    return question if len(question) <= 90 else question[:89].rstrip() + "…"


async def setup(bot: CitebotBot) -> None:
    """Add the asking cog and the buttons under answers."""
    await bot.add_cog(Ask(bot))
    bot.add_dynamic_items(AnswerButton)
