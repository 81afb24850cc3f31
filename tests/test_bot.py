"""The bot end to end: the real discord.py client against the loopback fake Discord, answering
from a real index with the real model."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.app import Cooldown
from bot.cli import cli
from index.build import build_index
from index.config import Settings
from index.engine import Engine
from index.feedback import FeedbackStore
from index.records import Answer, AnswerPart, Citation
from tests.support.botkit import (
    CITATION_ID,
    LETY,
    answered,
    button_id,
    citebot,
    read_until,
    replying_to,
    run_environment,
    unescape,
)
from tests.support.discord_fake import DEFAULT_PERMISSIONS, BotMessage, FakeDiscord

pytestmark = pytest.mark.slow

MANAGE_GUILD = 1 << 5
ALICE_ID, BOB_ID = 803245671234567890, 803245671234567891


async def test_mention_is_answered_with_the_quote_and_its_citation(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    async with citebot(seed_settings, seed_engine) as (fake, _):
        exchange = await fake.send_user_message("who is Lety Pérez?", mention_bot=True)
        reply = await exchange.message(lambda m: m.kind == "channel")
        assert LETY in unescape(reply.content)
        assert "[1]" in reply.content and CITATION_ID.search(reply.content)
        assert int(reply.message_reference["message_id"]) == int(exchange.id)
        assert reply.allowed_mentions == {"parse": [], "replied_user": False}
        await fake.wait_until(
            lambda: any(r.path.endswith("/typing") for r in fake.requests), what="typing"
        )
        labels = [
            c.get("label") or c.get("emoji", {}).get("name")
            for row in reply.components
            for c in row["components"]
        ]
        assert labels == ["Show passages", "👍", "👎"]


async def test_dm_is_answered(seed_settings: Settings, seed_engine: Engine) -> None:
    async with citebot(seed_settings, seed_engine) as (fake, _):
        exchange = await fake.send_user_message("lety perez", dm=True)
        reply = await exchange.message()
        assert LETY in unescape(reply.content)


async def test_reply_to_an_answer_is_a_follow_up(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    async with citebot(seed_settings, seed_engine) as (fake, bot):
        first = await answered(bot, fake, "who is Lety Pérez?")
        follow_up = await fake.send_user_message("and what is her son's name?", reply_to=first.id)
        reply = await follow_up.message()
        assert "Anthony" in reply.content


async def test_unaddressed_messages_are_ignored(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    async with citebot(seed_settings, seed_engine) as (fake, _):
        await fake.send_user_message("who is Lety Pérez?")
        answered = await fake.send_user_message("help", mention_bot=True)
        reply = await answered.message()
        assert "citebot" in reply.content and len(fake.messages) == 1


@pytest.mark.parametrize("private", [False, True])
async def test_ask_command_public_and_private(
    seed_settings: Settings, seed_engine: Engine, private: bool
) -> None:
    async with citebot(seed_settings, seed_engine) as (fake, _):
        exchange = await fake.invoke_slash(
            "ask", {"question": "who is Lety Pérez?", "private": private}
        )
        assert (await exchange.response())["type"] == 5, "deferred within the deadline"
        answer = await exchange.message()
        assert LETY in unescape(answer.content)
        assert answer.ephemeral is private


@pytest.mark.parametrize("private", [False, True])
async def test_search_source_and_stats_take_private_as_ask_does(
    seed_settings: Settings, seed_engine: Engine, private: bool
) -> None:
    async with citebot(seed_settings, seed_engine) as (fake, _):
        found = await (
            await fake.invoke_slash("search", {"query": "lety perez", "private": private})
        ).message()
        citation = CITATION_ID.search(found.content)
        assert citation
        source = await (
            await fake.invoke_slash("source", {"id": citation.group(1), "private": private})
        ).message()
        stats = await (await fake.invoke_slash("stats", {"private": private})).message()
        assert [found.ephemeral, source.ephemeral, stats.ephemeral] == [private] * 3


async def test_search_source_stats_help(seed_settings: Settings, seed_engine: Engine) -> None:
    async with citebot(seed_settings, seed_engine) as (fake, _):
        found = await (await fake.invoke_slash("search", {"query": "lety perez"})).message()
        citation = CITATION_ID.search(found.content)
        assert citation and "Photo of Mexican National Guard" in found.content
        source = await (await fake.invoke_slash("source", {"id": citation.group(1)})).message()
        assert "Lety Pérez" in unescape(source.embeds[0]["description"])
        unknown = await (await fake.invoke_slash("source", {"id": "0123456789ab-1-2"})).message()
        assert "no indexed article has the citation id" in unknown.content and unknown.ephemeral
        stats = await (await fake.invoke_slash("stats")).message()
        fields = {f["name"]: f["value"] for f in stats.embeds[0]["fields"]}
        assert fields["Articles"] == "1"
        help_reply = await (await fake.invoke_slash("help")).message()
        assert "/source" in help_reply.content and help_reply.ephemeral


async def test_search_and_ask_filters(seed_settings: Settings, seed_engine: Engine) -> None:
    """The seed has no date and its outlet is unknown: a date or outlet filter leaves nothing;
    a bad date is a polite private reply."""
    async with citebot(seed_settings, seed_engine) as (fake, _):
        for command, options in [
            ("search", {"query": "lety perez", "outlet": "cnn"}),
            ("ask", {"question": "who is Lety Pérez?", "since": "2022"}),
        ]:
            reply = await (await fake.invoke_slash(command, options)).message()
            shown = unescape(reply.content)
            assert "Lety" not in (shown.partition("\n")[2] if command == "ask" else shown)
        bad_date = {"query": "x", "until": "2022-13"}
        bad = await (await fake.invoke_slash("search", bad_date)).message()
        assert "is not a date" in bad.content and bad.ephemeral


async def test_article_autocomplete_then_lookup(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    async with citebot(seed_settings, seed_engine) as (fake, _):
        choices = await fake.autocomplete("article", "title", "mexican national")
        assert [c["name"] for c in choices] == [
            "Photo of Mexican National Guard halting crying migrant mother and child goes viral"
        ]
        shown = await (await fake.invoke_slash("article", {"title": choices[0]["value"]})).message()
        assert shown.embeds[0]["title"].startswith("Photo of Mexican National Guard")
        assert "armed Mexican soldier" in shown.embeds[0]["description"]


RELOADERS = {
    # who: (team, the user who reloads, with DISCORD_ADMIN_IDS, allowed)
    "the owner": (None, "alice", False, True),
    "a manager of a server": (None, "bob", False, False),
    "a team developer": ({"carol": "admin", "bob": "developer"}, "bob", False, True),
    "a read-only team member": ({"carol": "admin", "bob": "read_only"}, "bob", False, False),
    "one of DISCORD_ADMIN_IDS": (None, "carol", True, True),
}


@pytest.mark.parametrize("who", RELOADERS)
async def test_reload_only_for_the_owner_the_team_or_admin_ids_with_a_cooldown(
    seed_settings: Settings, seed_engine: Engine, who: str
) -> None:
    """/reload re-opens the index for every server: no server's managers may run it."""
    team, user, listed, allowed = RELOADERS[who]
    fake = FakeDiscord()
    fake.team = team
    admin_ids = [int(fake.users[user]["id"])] if listed else []
    settings = seed_settings.model_copy(update={"discord_admin_ids": admin_ids})
    manager = str(int(DEFAULT_PERMISSIONS) | MANAGE_GUILD)
    async with citebot(settings, seed_engine, fake):
        first = await (await fake.invoke_slash("reload", user=user, permissions=manager)).message()
        assert first.ephemeral
        if not allowed:
            assert "only the bot's owner" in first.content
            return
        assert first.content.startswith("Reloaded the index")
        again = await (await fake.invoke_slash("reload", user=user, permissions=manager)).message()
        assert (
            again.ephemeral and "was reloaded" in again.content and "try again in" in again.content
        )


async def test_buttons_show_passages_and_record_feedback(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    async with citebot(seed_settings, seed_engine) as (fake, bot):
        answer = await answered(bot, fake, "who is Lety Pérez?")
        passages = await (
            await fake.click_button(answer.id, button_id(answer, "passages"))
        ).message(lambda m: bool(m.embeds))
        assert passages.ephemeral and LETY in unescape(passages.embeds[0]["description"])
        helpful = button_id(answer, "helpful")
        recorded = asyncio.ensure_future(bot.wait_for("citebot_feedback", timeout=10))
        click = await fake.click_button(answer.id, helpful, user="bob")
        thanks = await click.message(lambda m: m.ephemeral)
        await recorded
        assert "Thanks" in thanks.content
        [entry] = bot.feedback.entries()
        assert entry.helpful and entry.question == "who is Lety Pérez?"
        assert entry.citation_ids and entry.user_hash != str(fake.users["bob"]["id"])


async def test_mentions_in_articles_ping_no_one(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "ping.txt").write_text(
        "Club notice\n\nThe secretary wrote @everyone and <@123> about the **annual** picnic.",
        "utf-8",
    )
    settings = Settings(_env_file=None, index_dir=tmp_path / "index")  # type: ignore[call-arg]
    build_index([corpus], settings)
    async with citebot(settings) as (fake, _):
        reply = await (
            await fake.send_user_message(
                "what did the secretary write about the picnic?", mention_bot=True
            )
        ).message()
        assert "@everyone" not in reply.content and "<@123>" not in reply.content
        assert "@\u200beveryone" in reply.content and "<\u200b@123>" in reply.content
        assert "annual" in reply.content and "**annual**" not in reply.content
        assert reply.allowed_mentions is not None and reply.allowed_mentions["parse"] == []


async def test_twenty_questions_at_once_keep_the_loop_free(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    async with citebot(seed_settings, seed_engine) as (fake, _):
        lags: list[float] = []
        stop = asyncio.Event()

        async def ticker() -> None:
            while not stop.is_set():
                started = time.perf_counter()
                await asyncio.sleep(0.01)
                lags.append(time.perf_counter() - started - 0.01)

        ticking = asyncio.create_task(ticker())
        exchanges = await asyncio.gather(
            *(
                fake.send_user_message(f"who is Lety Pérez? ({n})", mention_bot=True, author=name)
                for n, name in list(enumerate(["alice", "bob", "carol"] * 7))[:20]
            )
        )
        replies: list[BotMessage] = await asyncio.gather(
            *(e.message(replying_to(e.id), timeout=60) for e in exchanges)
        )
        stop.set()
        await ticking
        assert len({r.id for r in replies}) == 20
        assert all(LETY in unescape(r.content) for r in replies)
        assert max(lags) < 0.1, f"event loop blocked for {max(lags):.3f} s"


async def test_citebot_run_answers_a_mention(seed_settings: Settings) -> None:
    fake = FakeDiscord()
    await fake.start()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from bot.cli import main; main()", "run",
        env=run_environment(fake, seed_settings, fake.token),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    try:
        started = await read_until(process.stderr, b" ready as ", timeout=60)
        exchange = await fake.send_user_message("who is Lety Pérez?", mention_bot=True)
        reply = await exchange.message(timeout=30)
        assert LETY in unescape(reply.content)
        fake.assert_clean()
    finally:
        process.terminate()
        _, rest = await process.communicate()
        await fake.stop()
    log = started + rest
    assert fake.token.encode() not in log, "the token is never logged"
    assert b"invite it with https://discord.com/oauth2/authorize?client_id=" in log
    assert b"WARNING" not in log, log.decode()


def long_answer(question: str) -> Answer:
    """Three long verbatim quotes from three articles: together over 2,000 characters."""
    sentences = [f"Sentence {n} of the harbour report. " + "word " * 150 for n in (1, 2, 3)]
    citations = [
        Citation(
            n=n,
            id=f"{n:012x}-0-{len(text)}",
            article_id=f"a{n}",
            title=f"Harbour report {n}",
            source="The Courier",
            published="2024-05-01T09:00:00",
            url=f"https://example.com/{n}",
            paragraph=1,
            start=0,
            end=len(text),
            quote=text,
            score=0.9,
        )
        for n, text in enumerate(sentences, start=1)
    ]
    parts = [AnswerPart(text=c.quote, citations=[c.n]) for c in citations]
    return Answer(question=question, abstained=False, answer=parts, citations=citations)


class LongAnswers:
    """An engine stand-in whose every answer is `long_answer`."""

    def warm_up(self) -> None:
        """Nothing to load."""

    def ask(self, question: str, **options: object) -> Answer:
        return long_answer(question)


async def test_an_answer_over_the_limit_drops_whole_quotes(seed_settings: Settings) -> None:
    async with citebot(seed_settings, LongAnswers()) as (fake, _):
        reply = await (await fake.send_user_message("harbour?", mention_bot=True)).message()
        full_quotes = [part.text for part in long_answer("harbour?").answer]
        shown = [
            line[2:].rsplit(" [", 1)[0] for line in reply.content.splitlines() if line[:2] == "> "
        ]
        assert len(reply.content) <= 2000 and 1 <= len(shown) < 3
        assert all(quote in full_quotes for quote in shown), "quotes are never cut"
        assert "<https://example.com/1>" in reply.content, "urls show no preview"
        assert "The Courier · 2024-05-01 · ¶1" in reply.content


def test_run_without_a_token_says_how_to_get_one(tmp_path: Path) -> None:
    env = {**os.environ, "DISCORD_TOKEN": "", "CITEBOT_INDEX_DIR": str(tmp_path / "index")}
    completed = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "run"],
        capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert completed.returncode == 2
    assert "discord.com/developers/applications" in completed.stderr
    assert "MESSAGE CONTENT" in completed.stderr and "applications.commands" in completed.stderr
    assert "Traceback" not in completed.stderr


async def test_run_with_a_rejected_token_exits_2_without_echoing_it(
    seed_settings: Settings,
) -> None:
    fake = FakeDiscord()
    await fake.start()
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "from bot.cli import main; main()", "run",
            env=run_environment(fake, seed_settings, token="wrong-secret-token"),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    finally:
        await fake.stop()
    assert process.returncode == 2
    assert stderr.decode().strip().splitlines()[-1] == (
        "Error: Discord rejected DISCORD_TOKEN; reset it in the developer portal."
    )
    assert b"wrong-secret-token" not in stdout + stderr and b"Traceback" not in stderr


def test_feedback_is_listed_and_a_user_can_be_forgotten(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, index_dir=tmp_path)  # type: ignore[call-arg]
    store = FeedbackStore.for_settings(settings)
    for user_id, helpful in ((ALICE_ID, True), (BOB_ID, False), (ALICE_ID, False)):
        store.record(
            message_id=1, user_id=user_id, helpful=helpful, question="who is Lety Pérez?",
            answer="Guatemalan migrant ...", citation_ids=["85a1c30ac803-381-493"],
        )  # fmt: skip
    runner = CliRunner()
    listed = runner.invoke(cli, ["feedback", "--index", str(tmp_path), "--json"])
    entries = json.loads(listed.output)
    assert [e["helpful"] for e in entries] == [False, False], "Alice's second click won"
    assert all(e["citation_ids"] == ["85a1c30ac803-381-493"] for e in entries)
    assert not {str(ALICE_ID), str(BOB_ID)} & {e["user_hash"] for e in entries}
    assert str(ALICE_ID).encode() not in (tmp_path / "feedback.sqlite").read_bytes()
    forgot = runner.invoke(
        cli, ["feedback", "--index", str(tmp_path), "--forget-user", str(ALICE_ID)]
    )
    assert forgot.exit_code == 0 and "Deleted 1 vote(s)" in forgot.output
    assert [e.helpful for e in store.entries()] == [False]
    text = runner.invoke(cli, ["feedback", "--index", str(tmp_path)]).output
    assert "👎 'who is Lety Pérez?' -> 85a1c30ac803-381-493" in text


async def test_answer_channel_opens_a_thread_and_follow_ups_there(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    fake = FakeDiscord()
    settings = seed_settings.model_copy(update={"discord_answer_channels": [int(fake.channel_id)]})
    async with citebot(settings, seed_engine, fake) as (_, bot):
        assert bot.intents.message_content, "answer channels need the message content intent"
        asked = await fake.send_user_message("who is Lety Pérez?")
        answer = await asked.message(timeout=30)
        assert answer.channel_id == asked.id, "the answer opens a thread on the question"
        assert LETY in unescape(answer.content)
        await bot.wait_for("citebot_answered", check=lambda sent: sent == int(answer.id))
        follow_up = await fake.send_user_message(
            "and what is her son's name?", channel_id=answer.channel_id
        )
        reply = await follow_up.message(timeout=30)
        assert reply.channel_id == answer.channel_id and "Anthony" in reply.content


async def test_without_answer_channels_no_message_content_intent(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    async with citebot(seed_settings, seed_engine) as (_, bot):
        assert not bot.intents.message_content
        enabled = {name for name, on in bot.intents if on}
        assert enabled == {"guilds", "guild_messages", "dm_messages"}, "only what is used"


async def test_commands_sync_to_the_development_guild(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    fake = FakeDiscord()
    settings = seed_settings.model_copy(update={"discord_guild_id": int(fake.guild_id)})
    async with citebot(settings, seed_engine, fake):
        synced = {command["name"] for command in fake.commands[fake.guild_id]}
        assert synced == {"ask", "search", "source", "article", "stats", "reload", "help"}
        assert None not in fake.commands, "nothing is synced globally"


async def test_abstention_is_short_and_offers_the_closest_articles(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    async with citebot(seed_settings, seed_engine) as (fake, _):
        exchange = await fake.send_user_message(
            "What is the melting point of tungsten?", mention_bot=True
        )
        reply = await exchange.message(timeout=30)
        assert reply.content.startswith("I couldn't find that in the articles.")
        assert len(reply.content) < 400
        [closest] = [button for row in reply.components for button in row["components"]]
        assert closest["label"].startswith("Photo of Mexican National Guard")
        assert closest["custom_id"].startswith("citebot:passages:"), "no address: its passage"


async def test_cooldown_says_when_to_retry(seed_settings: Settings, seed_engine: Engine) -> None:
    settings = seed_settings.model_copy(
        update={"discord_cooldown_questions": 1, "discord_cooldown_seconds": 30}
    )
    async with citebot(settings, seed_engine) as (fake, _):
        first = await fake.send_user_message("who is Lety Pérez?", mention_bot=True)
        assert LETY in unescape((await first.message(timeout=30)).content)
        second = await fake.send_user_message("who is Anthony?", mention_bot=True)
        refused = await second.message(timeout=30)
        assert "try again in 30 s" in refused.content
        other_user = await fake.send_user_message("lety perez", mention_bot=True, author="bob")
        assert LETY in unescape((await other_user.message(timeout=30)).content)
        slash = await fake.invoke_slash("ask", {"question": "who is Anthony?"})
        assert "try again in" in (await slash.message()).content


async def test_quick_questions_past_the_cooldown_are_told_once(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    """Eight quick mentions: one answer, one "try again", then a reaction for each of the
    rest, not a reply."""
    settings = seed_settings.model_copy(
        update={"discord_cooldown_questions": 1, "discord_cooldown_seconds": 30}
    )
    async with citebot(settings, seed_engine) as (fake, _):
        asked = [
            await fake.send_user_message(f"who is Lety Pérez? ({n})", mention_bot=True)
            for n in range(8)
        ]
        for exchange in asked:
            await fake.until_handled(exchange)
        replies = [m for m in fake.messages if m.message_reference]
        told = [m for m in replies if "try again in" in m.content]
        assert len(replies) == 2 and len(told) == 1, [m.content[:50] for m in replies]
        quiet = [e.id for e in asked if not any(replying_to(e.id)(m) for m in replies)]
        assert len(quiet) == 6 and all(fake.reactions.get(i) == ["⏳"] for i in quiet)


def test_the_cooldown_forgets_users_whose_window_has_passed() -> None:
    now = [1000.0]
    cooldown = Cooldown(2, 60, clock=lambda: now[0])
    for user in range(10_000):
        assert cooldown.retry_after(user) == 0
    assert cooldown.retry_after(1) == 0 and cooldown.retry_after(1) == pytest.approx(60)
    assert cooldown.first_refusal(1) and not cooldown.first_refusal(1), "told once per window"
    assert len(cooldown) == 10_000
    now[0] += 60
    assert cooldown.retry_after(1) == 0, "a new window"
    assert len(cooldown) == 1, "everyone else forgotten"
