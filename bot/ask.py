"""Asking: mentions, DMs, answer channels, follow-ups by reply or in threads, and /ask."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import APOLOGY, RESTARTING, CitebotBot, Exchange, cooldown_text, explain
from bot.buttons import AnswerButton, answer_view
from bot.deliver import can_answer, post, post_in_thread
from bot.format import HELP, NONE, format_answer
from bot.options import FILTER_DESCRIPTIONS, DateText, OutletText
from index.errors import CitebotError
from index.records import ArticleFilter

log = logging.getLogger(__name__)

# The earlier question a follow-up is asked after, at most (its end is kept).
FOLLOW_UP_CONTEXT_CHARS = 300
# Messages people write; every other type is a system notice (pins, joins, new threads...).
ANSWERED_TYPES = (discord.MessageType.default, discord.MessageType.reply)
UNREAD_REPLY = (
    "I can't read replies that don't mention me. Reply with the @ mention on (or mention me)"
    " and I'll answer."
)


class Ask(commands.Cog):
    """Questions asked by mention, DM, reply, in answer channels and threads, or with /ask."""

    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot

    def question_in(self, message: discord.Message) -> str | None:
        """The question a message asks the bot, after the earlier question it follows up (cut
        to its end, so the context stays bounded), or None when the message is not for the bot.
        A bare mention asks for help, even in reply to an answer: it does not repeat it."""
        assert self.bot.user is not None
        text = message.content.replace(f"<@{self.bot.user.id}>", "")
        text = text.replace(f"<@!{self.bot.user.id}>", "").strip()
        context = self._context(message) if text else None
        if context is not None:
            return with_context(context, text, self.bot.settings.max_question_chars)
        addressed = (
            message.guild is None
            or self.bot.user in message.mentions
            or message.channel.id in self.bot.settings.discord_answer_channels
        )
        return text if addressed else None

    def _context(self, message: discord.Message) -> str | None:
        """The question of the bot's answer this message follows up: the answer it replies to,
        or the thread it is in (a thread the bot opened in an answer channel is still followed
        up after a restart: its name is the question)."""
        reference = message.reference
        if reference is not None and reference.message_id is not None:
            earlier = self.bot.conversations.get(reference.message_id)
            if earlier is not None:
                return earlier.question
        channel = message.channel
        if isinstance(channel, discord.Thread):
            earlier = self.bot.conversations.get(channel.id)
            if earlier is not None:
                return earlier.question
            if self._opened(channel):
                return channel.name
        return None

    def _opened(self, thread: discord.Thread) -> bool:
        """Whether the bot opened `thread` on a question in an answer channel."""
        assert self.bot.user is not None
        return (
            thread.owner_id == self.bot.user.id
            and thread.parent_id in self.bot.settings.discord_answer_channels
        )

    def _replies_to_the_bot(self, message: discord.Message) -> bool:
        """Whether the message is a reply to one of the bot's messages."""
        reference = message.reference
        if reference is None or reference.message_id is None:
            return False
        resolved = reference.resolved
        return self.bot.conversations.get(reference.message_id) is not None or (
            isinstance(resolved, discord.Message) and resolved.author == self.bot.user
        )

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Answer a message addressed to the bot, replying to it (or in a thread on it, in an
        answer channel). System messages (pins, joins, thread notices) are never answered."""
        if message.author.bot or message.type not in ANSWERED_TYPES:
            return
        if not message.content:
            # Without the Message Content intent Discord sends no text for a reply whose
            # @ mention is off: say so, rather than answer an empty or earlier question.
            if not self.bot.intents.message_content and self._replies_to_the_bot(message):
                await post(message, UNREAD_REPLY)
            return
        question = self.question_in(message)
        if question is None or not can_answer(message.channel):
            return
        if question.lower().strip(" /?!.") in {"", "help"}:
            await post(message, HELP)
            return
        wait = self.bot.cooldown.retry_after(message.author.id)
        if wait:
            await post(message, cooldown_text(wait))
        elif self.bot.stopping:
            await post(message, RESTARTING)
        else:
            async with self.bot.answering(lambda: post(message, RESTARTING)):
                await self._answer(message, question)

    async def _answer(self, message: discord.Message, question: str) -> None:
        """Answer `question`, asked by `message`, where the bot may post."""
        try:
            async with message.channel.typing():
                answer = await self.bot.in_worker(
                    self.bot.engine.ask, question, asked_on=message.created_at.date()
                )
        except CitebotError as error:
            await post(message, explain(error))
            return
        except Exception:
            log.exception("answering message %s failed", message.id)
            await post(message, APOLOGY)
            return
        content, exchange = format_answer(answer), Exchange(question, answer)
        in_answer_channel = message.channel.id in self.bot.settings.discord_answer_channels
        if in_answer_channel and message.guild is not None:
            # Each question in an answer channel gets a thread; what is said there follows up.
            sent, thread = await post_in_thread(
                message, content, _thread_name(question), view=answer_view(answer)
            )
            if thread is not None:
                self.bot.conversations.remember(thread.id, exchange)
        else:
            sent = await post(message, content, view=answer_view(answer))
            if isinstance(message.channel, discord.Thread) and self._context(message):
                self.bot.conversations.remember(message.channel.id, exchange)
        if sent is not None:
            self.bot.conversations.remember(sent.id, exchange)
            self.bot.dispatch("citebot_answered", sent.id)

    @app_commands.command()
    @app_commands.describe(**FILTER_DESCRIPTIONS)
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
        """
        article_filter = ArticleFilter.of(since, until, outlet)
        wait = self.bot.cooldown.retry_after(interaction.user.id)
        if wait:
            await interaction.response.send_message(cooldown_text(wait), ephemeral=True)
            return
        if self.bot.stopping:
            await interaction.response.send_message(RESTARTING, ephemeral=True)
            return
        await interaction.response.defer(ephemeral=private, thinking=True)
        async with self.bot.answering(lambda: interaction.followup.send(RESTARTING)):
            answer = await self.bot.in_worker(
                self.bot.engine.ask,
                question,
                article_filter=article_filter,
                asked_on=interaction.created_at.date(),
            )
            sent = await interaction.followup.send(
                format_answer(answer), wait=True, allowed_mentions=NONE, view=answer_view(answer)
            )
        self.bot.conversations.remember(sent.id, Exchange(question, answer))
        self.bot.dispatch("citebot_answered", sent.id)


def with_context(context: str, text: str, limit: int) -> str:
    """`text` after the end of `context`: at most FOLLOW_UP_CONTEXT_CHARS of it, cut at a word,
    and never so much that the question passes `limit` and the newest words are cut off."""
    budget = min(FOLLOW_UP_CONTEXT_CHARS, limit - len(text) - 1)
    if len(context) > budget:
        context = context[len(context) - budget :].partition(" ")[2] if budget > 0 else ""
    return f"{context} {text}".strip()


def _thread_name(question: str) -> str:
    return question if len(question) <= 90 else question[:89].rstrip() + "…"


async def setup(bot: CitebotBot) -> None:
    """Add the asking cog and the buttons under answers."""
    await bot.add_cog(Ask(bot))
    bot.add_dynamic_items(AnswerButton)
