"""The buttons under an answer: its passages in full, and 👍 / 👎 feedback; under a "not
found", the closest articles.

What a button needs is in its custom id (`citebot:passages:ID ID ID`, the answer's citation ids,
at most 100 characters), as discord.py's `DynamicItem` is meant for: a click works on any
answer, after a restart too, and nothing is kept in memory per answer. Each click is answered
(or deferred) before any lookup, and lookups run in the lookup thread, never behind answers.

A vote shows on the answer: the 👍 and 👎 buttons carry their counts, the stored votes on the
answer's message (one per user, the latest: `index.feedback`), never a count read back from
the message, so no click is lost or counted twice. A closest article is a link button that
opens it, or, without a known address, a button that shows its closest passage.
"""

from __future__ import annotations

import asyncio
import re
import weakref
from collections.abc import Iterator, Sequence
from typing import Any, cast

import discord

from bot.app import CitebotBot, Exchange, report
from bot.format import CONTENT_LIMIT, NONE, passage_embeds
from bot.text import one_line, shorten, web_link
from index.errors import UnknownCitationError
from index.records import Answer, ClosestArticle, SourceView, VoteCounts

OLD_ANSWER = "I no longer have the sources of that answer; please ask again."
ALL_MOVED = (
    "The articles this answer quotes changed since it was given (the index was rebuilt);"
    " please ask again."
)
THANKS = "Thanks for the feedback!"
CUSTOM_ID_LIMIT = 100
# Discord's limits for a button's label and a link button's address.
LABEL_LIMIT = 80
BUTTON_URL_LIMIT = 512
# One vote at a time per answer message in this process (every click on a message reaches
# the process of its shard), stored and shown in turn: a slower edit never shows older counts
# over newer ones. A message's lock lasts while votes on it are in flight.
_COUNTING: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
# Buttons sent before ids were carried have no ids: they fall back to the answers in memory.
TEMPLATE = re.compile(r"citebot:(?P<action>passages|helpful|unhelpful)(?::(?P<ids>[0-9a-f\- ]*))?")
LOOKS: dict[str, tuple[str | None, str | None]] = {
    "passages": ("Show passages", None),
    "helpful": (None, "👍"),
    "unhelpful": (None, "👎"),
}


def custom_id(action: str, citation_ids: Sequence[str]) -> str:
    """`citebot:ACTION:ID ID ...` with as many whole citation ids as fit in Discord's 100."""
    text = f"citebot:{action}:"
    for number, identifier in enumerate(citation_ids):
        longer = text + (" " if number else "") + identifier
        if len(longer) > CUSTOM_ID_LIMIT:
            break
        text = longer
    return text


class AnswerButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
    """One of the three buttons, rebuilt from its custom id at every click; `label` in place
    of its own (a vote's count, a closest article's title)."""

    def __init__(
        self, action: str, citation_ids: Sequence[str], *, label: str | None = None
    ) -> None:
        shown, emoji = LOOKS[action]
        button: discord.ui.Button[Any] = discord.ui.Button(
            label=label or shown, emoji=emoji, custom_id=custom_id(action, citation_ids)
        )
        super().__init__(button)
        self.action = action
        self.citation_ids = list(citation_ids)

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> AnswerButton:
        """The button a click was on, with the ids its custom id carries."""
        return cls(match["action"], (match["ids"] or "").split())

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Show the passages or record the vote; every failure takes the bot's error path."""
        bot = cast(CitebotBot, interaction.client)
        try:
            if self.action == "passages":
                await self._passages(bot, interaction)
            else:
                await self._vote(bot, interaction, helpful=self.action == "helpful")
        except Exception as error:  # told to the user; logged when unexpected
            await report(interaction, error)

    async def _passages(self, bot: CitebotBot, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        remembered = _remembered(bot, interaction)
        ids = self.citation_ids or (_ids(remembered.answer) if remembered else [])
        if not ids:
            await interaction.followup.send(OLD_ANSWER, ephemeral=True)
            return
        views, moved = await bot.in_lookup(_passages_left, bot, ids)
        if not views:
            await interaction.followup.send(ALL_MOVED, ephemeral=True)
            return
        await interaction.followup.send(
            moved_note(moved) if moved else discord.utils.MISSING,
            embeds=passage_embeds(views, bot.engine.link),
            ephemeral=True,
            allowed_mentions=NONE,
        )

    async def _vote(
        self, bot: CitebotBot, interaction: discord.Interaction[Any], *, helpful: bool
    ) -> None:
        remembered = _remembered(bot, interaction)
        ids = self.citation_ids or (_ids(remembered.answer) if remembered else [])
        message = interaction.message
        if not ids or message is None:
            await interaction.response.send_message(OLD_ANSWER, ephemeral=True)
            return
        await interaction.response.defer()
        answer = (
            "\n".join(part.text for part in remembered.answer.answer)
            if remembered
            else message.content
        )
        async with _COUNTING.setdefault(message.id, asyncio.Lock()):
            votes = await bot.in_lookup(
                bot.feedback.record,
                message_id=message.id,
                user_id=interaction.user.id,
                helpful=helpful,
                question=remembered.answer.question if remembered else "",
                answer=answer,
                citation_ids=ids,
            )
            await interaction.edit_original_response(view=counted_view(message, votes))
        await interaction.followup.send(THANKS, ephemeral=True)
        bot.dispatch("citebot_feedback", interaction.user.id, helpful)


def _passages_left(bot: CitebotBot, ids: Sequence[str]) -> tuple[list[SourceView], list[str]]:
    """The passages of `ids` the index still has, and the ids it no longer has (their article
    changed or left at a rebuild)."""
    views: list[SourceView] = []
    moved: list[str] = []
    for identifier in ids:
        try:
            views.append(bot.engine.sources.source(identifier, context=0))
        except UnknownCitationError:
            moved.append(identifier)
    return views, moved


def moved_note(moved: Sequence[str]) -> str:
    """What to say of the cited passages the index no longer has."""
    listed = ", ".join(f"`{identifier}`" for identifier in moved)
    return shorten(
        f"The articles of {listed} changed since this answer; ask again for their passages.",
        CONTENT_LIMIT,
    )


def answer_view(answer: Answer) -> discord.ui.View:
    """The buttons to send with an answer; for an abstention, the closest articles."""
    view = discord.ui.View(timeout=None)
    if answer.abstained:
        for article in answer.closest:
            view.add_item(closest_button(article))
    else:
        for action in LOOKS:
            view.add_item(AnswerButton(action, _ids(answer)))
    return view


def closest_button(article: ClosestArticle) -> discord.ui.Item[Any]:
    """A button titled as the article: a link that opens it, or (without an address a link
    button takes) one that shows its closest passage."""
    title = one_line(article.title, LABEL_LIMIT) or "Untitled"
    link = web_link(article.url)
    if link is not None and len(link) <= BUTTON_URL_LIMIT:
        return discord.ui.Button(label=title, url=link)
    return AnswerButton("passages", [article.id], label=title)


def _answer_buttons(message: discord.Message) -> Iterator[tuple[str, list[str]]]:
    """(action, citation ids) of each answer button on `message`."""
    for row in message.components:
        for button in getattr(row, "children", ()):
            found = TEMPLATE.fullmatch(getattr(button, "custom_id", None) or "")
            if found is not None:
                yield found["action"], (found["ids"] or "").split()


def counted_view(message: discord.Message, votes: VoteCounts) -> discord.ui.View:
    """The buttons of `message` again, the 👍 and 👎 showing the counts of `votes`."""
    counts = votes.as_json()
    view = discord.ui.View(timeout=None)
    for action, ids in _answer_buttons(message):
        count = counts.get(action, 0)
        view.add_item(AnswerButton(action, ids, label=str(count) if count else None))
    return view


def _ids(answer: Answer) -> list[str]:
    return [citation.id for citation in answer.citations]


def _remembered(bot: CitebotBot, interaction: discord.Interaction[Any]) -> Exchange | None:
    message = interaction.message
    return bot.conversations.get(message.id) if message is not None else None
