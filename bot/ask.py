"""Asking: mentions, DMs, answer channels, follow-ups by reply or in threads, and /ask.

What is answered: a mention, a DM, a reply to one of the bot's messages, a message in an
answer channel, and, in a thread that is a conversation with the bot (one it opened on a
question in an answer channel, or a post in a forum that is one), the asker's questions.
Nothing else: chatter, thanks, or members talking to each other in a thread, whatever the bot
said there before.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import APOLOGY, RESTARTING, CitebotBot, Exchange, cooldown_text, explain
from bot.buttons import AnswerButton, answer_view
from bot.deliver import can_answer, opens_threads, post, post_in_thread, react, typing_beside
from bot.format import HELP, NONE, format_answer
from bot.options import FILTER_DESCRIPTIONS, DateText, OutletText
from bot.recall import context_of, own_words, replied_answer, thread_talk
from bot.talk import Context, ThreadTalk, asks, is_acknowledgement, subject_of
from index.errors import CitebotError
from index.records import ArticleFilter

log = logging.getLogger(__name__)

# What a follow-up is asked after (the question it follows, then that answer's subject), at
# most this many characters (its end is kept).
FOLLOW_UP_CONTEXT_CHARS = 300
# Messages people write; every other type is a system notice (pins, joins, new threads...).
ANSWERED_TYPES = (discord.MessageType.default, discord.MessageType.reply)
UNREAD_REPLY = (
    "I can't read replies that don't mention me. Reply with the @ mention on (or mention me)"
    " and I'll answer."
)
# Put under a question asked again within the cooldown, once the asker has been told when to
# try again: a reply to each would only be noise.
STILL_COOLING = "⏳"


@dataclass(frozen=True, slots=True)
class Asked:
    """A question a message asks the bot: its words, what it follows up (None: nothing),
    and the thread conversation it is part of, if any."""

    text: str
    context: Context | None = None
    talk: ThreadTalk | None = None

    def question(self, limit: int) -> str:
        """What the engine is asked: the words after their context, within `limit`."""
        if self.context is None:
            return self.text
        return with_context(self.context.text(), self.text, limit)


class Ask(commands.Cog):
    """Questions asked by mention, DM, reply, in answer channels and threads, or with /ask."""

    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot

    async def question_in(self, message: discord.Message) -> Asked | None:
        """The question `message` asks the bot, with what it follows up, or None when it is
        not for the bot. Thanks and the like ask nothing; a bare mention asks for help, even
        in reply to an answer: it does not repeat it."""
        assert self.bot.user is not None
        text = own_words(self.bot, message.content)
        if text and is_acknowledgement(text):
            return None
        channel = message.channel
        mentioned = message.guild is None or self.bot.user in message.mentions
        talk = await thread_talk(self.bot, channel) if isinstance(channel, discord.Thread) else None
        replied = await replied_answer(self.bot, message)
        if replied is not None:
            return Asked(text, await context_of(self.bot, *replied) if text else None, talk)
        if talk is not None:
            if message.id == channel.id:  # a forum post's first message: the post's question
                return Asked(text, None, talk)
            if mentioned or self._asks_there(message, text, talk):
                return Asked(text, talk.context if text else None, talk)
            return None
        if mentioned or channel.id in self.bot.settings.discord_answer_channels:
            return Asked(text)
        return None

    def _asks_there(self, message: discord.Message, text: str, talk: ThreadTalk) -> bool:
        """Whether a message not addressed to the bot, in a thread conversation with it, is
        a question for it: its asker's, reading as a question, neither a reply to someone
        else nor to anyone in particular."""
        return (
            message.author.id == talk.asker_id
            and asks(text)
            and message.reference is None
            and not message.mention_everyone
            and not message.role_mentions
            and all(user == self.bot.user for user in message.mentions)
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
        answer channel that takes threads). System messages (pins, joins, thread notices) are
        never answered.
        Once done with a person's message, answered or not, dispatch `citebot_handled`."""
        if message.author.bot:
            return
        try:
            await self._handle(message)
        finally:
            self.bot.dispatch("citebot_handled", message.id)

    async def _handle(self, message: discord.Message) -> None:
        if message.type not in ANSWERED_TYPES:
            return
        if not message.content:
            # Without the Message Content intent Discord sends no text for a reply whose
            # @ mention is off: say so, rather than answer an empty or earlier question.
            if not self.bot.intents.message_content and self._replies_to_the_bot(message):
                await post(message, UNREAD_REPLY)
            return
        asked = await self.question_in(message)
        if asked is None or not can_answer(message.channel):
            return
        if asked.text.lower().strip(" /?!.") in {"", "help"}:
            await post(message, HELP)
            return
        wait = self.bot.cooldown.retry_after(message.author.id)
        if wait:
            if self.bot.cooldown.first_refusal(message.author.id):
                await post(message, cooldown_text(wait))
            else:
                await react(message, STILL_COOLING)
        elif self.bot.stopping:
            await post(message, RESTARTING)
        else:
            async with self.bot.answering(lambda: post(message, RESTARTING)):
                await self._answer(message, asked)

    async def _answer(self, message: discord.Message, asked: Asked) -> None:
        """Answer the question `message` asks, where the bot may post."""
        question = asked.question(self.bot.settings.max_question_chars)
        try:
            async with typing_beside(message.channel):
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
        content, view = format_answer(answer), answer_view(answer)
        followed = Context(asked.text, subject_of(answer))
        in_answer_channel = message.channel.id in self.bot.settings.discord_answer_channels
        if in_answer_channel and opens_threads(message.channel):
            # Each question in an answer channel gets a thread; its asker's questions there
            # follow up. (A voice or stage channel's text chat takes no threads: a reply.)
            sent, thread = await post_in_thread(
                message, content, _thread_name(asked.text), view=view
            )
            if thread is not None:
                self.bot.threads.put(thread.id, ThreadTalk(message.author.id, followed))
        else:
            sent = await post(message, content, view=view)
            if asked.talk is not None:
                self.bot.threads.put(message.channel.id, ThreadTalk(asked.talk.asker_id, followed))
        if sent is not None:
            self.bot.conversations.remember(sent.id, Exchange(asked.text, answer))
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
                format_answer(answer, asked=None if private else question, searched=article_filter),
                wait=True,
                allowed_mentions=NONE,
                view=answer_view(answer),
                suppress_embeds=True,
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
