"""Slash commands, autocomplete and buttons as Discord times and keeps them: every interaction
answered within 3 s while answers fill the engine's threads, errors private after a public
deferral, buttons that work after a restart, and nothing kept in memory per answer."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.buttons import THANKS, custom_id
from index.config import Settings
from index.engine import Engine
from index.feedback import FeedbackStore
from index.interfaces import IndexSource
from index.sources import Sources
from tests.support.botkit import (
    CITATION_ID,
    LETY,
    BusyEngine,
    answered,
    button_id,
    citebot,
    replying_to,
    unescape,
)
from tests.support.discord_fake import FakeDiscord

pytestmark = pytest.mark.slow


async def test_lookups_answer_in_time_while_answers_fill_the_workers(
    seed_settings: Settings, seed_engine: Engine, tmp_path: Path
) -> None:
    busy = BusyEngine(seed_engine)
    async with citebot(seed_settings, busy) as (fake, bot):
        bot.feedback = FeedbackStore.for_settings(
            seed_settings.model_copy(update={"index_dir": tmp_path})
        )
        answer = await answered(bot, fake, "who is Lety Pérez?")
        await asyncio.to_thread(busy.started.acquire)
        busy.gate.clear()
        waiting = [
            await fake.send_user_message(f"who is Lety Pérez? ({name})", mention_bot=True,
                                         author=name)
            for name in ("alice", "bob")
        ]  # fmt: skip
        for _ in waiting:
            await asyncio.to_thread(busy.started.acquire)
        citation = CITATION_ID.search(answer.content)
        assert citation is not None
        lookups = [
            await fake.invoke_slash("source", {"id": citation.group(1)}),
            await fake.invoke_slash("source", {"id": "0123456789ab-1-2"}),
            await fake.invoke_slash("stats"),
            await fake.click_button(answer.id, button_id(answer, "passages")),
            await fake.click_button(answer.id, button_id(answer, "helpful"), user="carol"),
        ]
        choices = await fake.autocomplete("article", "title", "mexican", timeout=2.5)
        assert [c["name"][:9] for c in choices] == ["Photo of "]
        for lookup in lookups:
            await lookup.response(timeout=2.5)
        shown = [
            await lookup.message(lambda m, i=lookup.id: m.interaction_id == i, timeout=2.5)
            for lookup in lookups
        ]
        assert "Lety Pérez" in unescape(shown[0].embeds[0]["description"])
        assert "no indexed article has the citation id" in shown[1].content
        assert shown[4].kind == "original_edit", "the vote shows on the answer"
        vote = lookups[4]
        thanks = await vote.message(lambda m: m.ephemeral and m.interaction_id == vote.id)
        assert thanks.content == THANKS
        assert not busy.gate.is_set(), "all of it while both answers were still waiting"
        busy.gate.set()
        for question in waiting:
            assert LETY in unescape((await question.message(replying_to(question.id))).content)


class SlowTitles(BusyEngine):
    """Titles that take as long as the gate stays closed (a huge index on a slow disk)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.sources = SlowSources(engine.reader, self.gate)


class SlowSources(Sources):
    """Sources whose titles wait at `gate` while it is closed."""

    def __init__(self, reader: Callable[[], IndexSource], gate: threading.Event) -> None:
        super().__init__(reader)
        self.gate = gate

    def titles_matching(self, typed: str, limit: int) -> list[tuple[str, str]]:
        self.gate.wait(30)
        return super().titles_matching(typed, limit)


async def test_autocomplete_that_cannot_finish_in_time_offers_nothing_in_time(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    slow = SlowTitles(seed_engine)
    slow.gate.clear()
    async with citebot(seed_settings, slow) as (fake, _):
        assert await fake.autocomplete("article", "title", "mexican", timeout=2.9) == []
        slow.gate.set()
        missing = await (await fake.invoke_slash("article", {"title": "No such title"})).message()
        assert missing.ephemeral and missing.content.startswith("No article titled")


async def test_an_error_after_a_public_deferral_is_shown_privately(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    async with citebot(seed_settings, seed_engine) as (fake, _):
        exchange = await fake.invoke_slash("source", {"id": "0123456789ab-1-2"})
        assert (await exchange.response())["type"] == 5, "deferred first"
        unknown = await exchange.message()
        assert unknown.ephemeral and "no indexed article" in unknown.content
        left = [m for m in fake.world.msgs.values() if m["author"]["id"] == fake.bot_id]
        assert [m["flags"] & 64 for m in left] == [64], "the public thinking message is gone"


async def test_search_counts_against_the_cooldown(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    settings = seed_settings.model_copy(
        update={"discord_cooldown_questions": 1, "discord_cooldown_seconds": 30}
    )
    async with citebot(settings, seed_engine) as (fake, _):
        first = await (await fake.invoke_slash("search", {"query": "lety perez"})).message()
        assert CITATION_ID.search(first.content)
        refused = await (await fake.invoke_slash("search", {"query": "anthony"})).message()
        assert refused.ephemeral and "try again in 30 s" in refused.content


async def test_buttons_work_after_a_restart(
    seed_settings: Settings, seed_engine: Engine, tmp_path: Path
) -> None:
    fake = FakeDiscord()
    async with citebot(seed_settings, seed_engine, fake) as (_, bot):
        answer = await answered(bot, fake, "who is Lety Pérez?")
    async with citebot(seed_settings, seed_engine, fake) as (_, restarted):
        assert restarted.conversations.get(int(answer.id)) is None, "a new process"
        restarted.feedback = FeedbackStore.for_settings(
            seed_settings.model_copy(update={"index_dir": tmp_path})
        )
        passages = await (
            await fake.click_button(answer.id, button_id(answer, "passages"))
        ).message(lambda m: bool(m.embeds))
        assert LETY in unescape(passages.embeds[0]["description"])
        recorded = asyncio.ensure_future(restarted.wait_for("citebot_feedback", timeout=10))
        vote = await fake.click_button(answer.id, button_id(answer, "unhelpful"), user="bob")
        assert (await vote.message(lambda m: m.ephemeral)).content == THANKS
        shown = await vote.message(lambda m: m.kind == "original_edit")
        assert [b.get("label") for b in shown.components[0]["components"]][1:] == [None, "1"]
        await recorded
        [entry] = restarted.feedback.entries()
        assert not entry.helpful and entry.citation_ids and LETY in unescape(entry.answer)


async def test_no_view_is_kept_per_answer(seed_settings: Settings, seed_engine: Engine) -> None:
    async with citebot(seed_settings, seed_engine) as (fake, bot):
        for question in ("who is Lety Pérez?", "what is her son's name?", "lety perez"):
            answer = await answered(bot, fake, question)
            assert all(len(c["custom_id"]) <= 100 for row in answer.components
                       for c in row["components"])  # fmt: skip
        assert bot.persistent_views == []
        assert not bot._connection._view_store._synced_message_views


async def test_an_old_button_without_ids_uses_the_answer_in_memory(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    fake = FakeDiscord()
    async with citebot(seed_settings, seed_engine, fake) as (_, bot):
        answer = await answered(bot, fake, "who is Lety Pérez?")
        for row in fake.world.msgs[answer.id]["components"]:
            for component in row["components"]:
                component["custom_id"] = (
                    component["custom_id"].split(":")[0]
                    + ":"
                    + (component["custom_id"].split(":")[1])
                )
        passages = await (await fake.click_button(answer.id, "citebot:passages")).message()
        assert LETY in unescape(passages.embeds[0]["description"])
        bot.conversations = type(bot.conversations)()
        gone = await (await fake.click_button(answer.id, "citebot:helpful")).message()
        assert gone.ephemeral and "ask again" in gone.content


def test_custom_ids_keep_whole_citation_ids_within_100_characters() -> None:
    longest = "0123456789ab-123456789-987654321"
    three = [longest.replace("0", str(n), 1) for n in range(3)]
    made = custom_id("unhelpful", three)
    assert len(made) <= 100 and made.startswith("citebot:unhelpful:")
    assert made.removeprefix("citebot:unhelpful:").split() == three[:2], "whole ids only"
    usual = ["85a1c30ac803-381-493", "85a1c30ac803-1000000-1000450", "ffa1c30ac803-0-91"]
    assert custom_id("passages", usual) == "citebot:passages:" + " ".join(usual)


async def test_show_passages_shows_those_left_and_names_those_moved_by_a_rebuild(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    moved = "0123456789ab-1-2"  # a citation id the index no longer has
    async with citebot(seed_settings, seed_engine) as (fake, bot):
        answer = await answered(bot, fake, "who is Lety Pérez?")
        passages = f"{button_id(answer, 'passages')} {moved}"
        for row in fake.world.msgs[answer.id]["components"]:
            for component in row["components"]:
                if component["custom_id"].startswith("citebot:passages:"):
                    component["custom_id"] = passages
        clicked = await fake.click_button(answer.id, passages)
        shown = await clicked.message()
        assert shown.ephemeral and shown.embeds, shown.content
        assert LETY in unescape(shown.embeds[0]["description"])
        assert moved in shown.content and "changed" in shown.content
        assert len(shown.embeds) == len(CITATION_ID.findall(answer.content))
