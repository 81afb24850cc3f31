"""Asking: mentions, DMs, answer channels, follow-ups by reply or in threads, and /ask."""

from __future__ import annotations

import logging
import math
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import APOLOGY, CitebotBot, Exchange, explain, report
from bot.format import HELP, NONE, format_answer, passage_embeds
from bot.options import DateText, OutletText
from index.errors import CitebotError
from index.records import Answer, ArticleFilter

log = logging.getLogger(__name__)

OLD_ANSWER = "I no longer remember that answer (I was restarted); please ask again."


class AnswerView(discord.ui.View):
    """Buttons under an answer: its full passages, and 👍 / 👎 feedback.

    Persistent (fixed custom ids, no timeout): clicks are matched to the answer by message id.
    """

    def __init__(self, bot: CitebotBot) -> None:
        super().__init__(timeout=None)
        self.bot = bot

    @discord.ui.button(label="Show passages", custom_id="citebot:passages")
    async def passages(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[AnswerView]
    ) -> None:
        """The cited passages in full, privately."""
        exchange = self._exchange(interaction)
        if exchange is None:
            await interaction.response.send_message(OLD_ANSWER, ephemeral=True)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        views = await self.bot.in_worker(
            lambda: [self.bot.engine.source(c.id, context=0) for c in exchange.answer.citations]
        )
        await interaction.followup.send(
            embeds=passage_embeds(views), ephemeral=True, allowed_mentions=NONE
        )

    @discord.ui.button(emoji="👍", custom_id="citebot:helpful")
    async def helpful(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[AnswerView]
    ) -> None:
        """Record that the answer helped."""
        await self._vote(interaction, helpful=True)

    @discord.ui.button(emoji="👎", custom_id="citebot:unhelpful")
    async def unhelpful(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[AnswerView]
    ) -> None:
        """Record that the answer did not help."""
        await self._vote(interaction, helpful=False)

    async def _vote(self, interaction: discord.Interaction[Any], *, helpful: bool) -> None:
        exchange = self._exchange(interaction)
        if exchange is None:
            await interaction.response.send_message(OLD_ANSWER, ephemeral=True)
            return
        await self.bot.in_worker(
            self.bot.feedback.record,
            user_id=interaction.user.id,
            helpful=helpful,
            question=exchange.question,
            answer="\n".join(part.text for part in exchange.answer.answer),
            citation_ids=[c.id for c in exchange.answer.citations],
        )
        await interaction.response.send_message("Thanks for the feedback!", ephemeral=True)

    def _exchange(self, interaction: discord.Interaction[Any]) -> Exchange | None:
        message = interaction.message
        return self.bot.conversations.get(message.id) if message is not None else None

    async def on_error(
        self,
        interaction: discord.Interaction[Any],
        error: Exception,
        item: discord.ui.Item[Any],
    ) -> None:
        """Buttons share the bot's one error path."""
        await report(interaction, error)


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
            await message.reply(_cooldown_text(wait), mention_author=False, allowed_mentions=NONE)
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
            sent = await thread.send(content, allowed_mentions=NONE, view=self._buttons(answer))
            self.bot.conversations.remember(thread.id, exchange)
        else:
            sent = await message.reply(
                content, mention_author=False, allowed_mentions=NONE, view=self._buttons(answer)
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
        since: DateText | None = None,
        until: DateText | None = None,
        outlet: OutletText | None = None,
    ) -> None:
        """Ask a question; the answer quotes the articles with numbered sources.

        Args:
            question: What you want to know, e.g. who is Lety Pérez?
            private: Only you see the answer.
            since: Only articles published on or after this date (YYYY-MM-DD, YYYY-MM, YYYY)
            until: Only articles published on or before this date (YYYY-MM-DD, YYYY-MM, YYYY)
            outlet: Only articles from outlets whose name contains this
        """
        article_filter = ArticleFilter.of(since, until, outlet)
        wait = self.bot.cooldown.retry_after(interaction.user.id)
        if wait:
            await interaction.response.send_message(_cooldown_text(wait), ephemeral=True)
            return
        await interaction.response.defer(ephemeral=private, thinking=True)
        answer = await self.bot.in_worker(
            self.bot.engine.ask, question, article_filter=article_filter
        )
        sent = await interaction.followup.send(
            format_answer(answer), wait=True, allowed_mentions=NONE, view=self._buttons(answer)
        )
        self.bot.conversations.remember(sent.id, Exchange(question, answer))
        self.bot.dispatch("citebot_answered", sent.id)

    def _buttons(self, answer: Answer) -> discord.ui.View:
        """The buttons to send with an answer: none (an empty view) for an abstention."""
        return discord.ui.View() if answer.abstained else AnswerView(self.bot)


def _cooldown_text(wait: float) -> str:
    return f"You're asking faster than I can keep up; try again in {math.ceil(wait)} s."


def _thread_name(question: str) -> str:
    return question if len(question) <= 90 else question[:89].rstrip() + "…"


async def setup(bot: CitebotBot) -> None:
    """Add the asking cog and its persistent buttons."""
    await bot.add_cog(Ask(bot))
    bot.add_view(AnswerView(bot))
