"""The bot under load and faults, through the real discord.py client and the loopback fake:
a burst of questions, Discord errors and reconnects, damaged indexes, rebuilds while answering,
and the token kept out of everything it prints or sends."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import logging
import math
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import SecretStr

from bot.app import APOLOGY, INDEX_UNAVAILABLE
from bot.cli import cli
from index.build import build_index
from index.config import Settings
from index.engine import Engine
from index.records import Answer
from tests.support.botkit import LETY, citebot, unescape
from tests.support.discord_fake import BotMessage, FakeDiscord
from tests.support.embedder import FakeEmbedder
from tests.support.indexes import DAMAGES, READ_DAMAGES, damage_index
from tests.support.paths import SEEDS

pytestmark = pytest.mark.slow

QUESTIONS = (
    "who is Lety Pérez?",
    "What did Felipe Calderón write?",
    "What is the name of Lety Pérez's son?",
    "How many troops did Mexico send to its northern border?",
    "Who took the photo of the soldier?",
)
COOLDOWN_TEXT = "try again in"


def resident_mb() -> float:
    """This process's resident memory, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class Asked:
    """A question of the burst, when it was sent, who asked it, and the bot's one reply (None
    for none: asked again within the cooldown once told when to try again, it gets a
    reaction)."""

    question_id: str
    user: str
    sent_at: float
    reply: BotMessage | None

    @property
    def latency_ms(self) -> float:
        """From the question's dispatch to the reply stored by the fake."""
        assert self.reply is not None
        return (self.reply.at - self.sent_at) * 1000

    def replied(self, with_text: str | None = None) -> bool:
        """Whether the bot replied (with `with_text` in its reply, when given)."""
        return self.reply is not None and (with_text is None or with_text in self.reply.content)


async def burst(
    fake: FakeDiscord, users: list[str], per_user: int, round_seconds: float = 0.0
) -> list[Asked]:
    """Every user asks `per_user` questions, in rounds that start `round_seconds` apart (in
    each round every user asks at once); each question's one reply, if any, once the bot is done
    with every question."""
    sent: list[tuple[str, str, float]] = []
    start = time.monotonic()
    for round_number in range(per_user):
        # The load's schedule: the next round starts on time, however busy the bot is.
        await asyncio.sleep(max(0.0, start + round_number * round_seconds - time.monotonic()))
        for user_number, user in enumerate(users):
            question = QUESTIONS[(round_number + user_number) % len(QUESTIONS)]
            exchange = await fake.send_user_message(question, mention_bot=True, author=user)
            await asyncio.sleep(0)  # the fake shares the bot's event loop: let the bot run too
            sent.append((exchange.id, user, time.monotonic()))
    await fake.wait_until(
        lambda: all(question_id in fake.handled for question_id, _, _ in sent),
        timeout=240, what="every question handled",
    )  # fmt: skip
    replies = {str((m.message_reference or {}).get("message_id")): m for m in fake.messages}
    return [
        Asked(question_id, user, at, replies.get(question_id)) for question_id, user, at in sent
    ]


async def test_a_burst_of_500_questions_from_50_users(
    seed_settings: Settings, seed_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    users = [f"user{n:02}" for n in range(50)]
    fake = FakeDiscord(users=users, heartbeat_interval_ms=500)
    settings = seed_settings.model_copy(
        update={"discord_cooldown_questions": 5, "discord_cooldown_seconds": 600}
    )
    async with citebot(settings, seed_engine, fake):
        await burst(fake, users[:5], 1)  # warm: the first replies, the thread pool
        gc.collect()
        memory_before = resident_mb()
        heartbeats_before = len(fake.heartbeats)
        replies_before = len(fake.messages)
        started = time.monotonic()
        asked = await burst(fake, users, 10, round_seconds=0.4)
        took = time.monotonic() - started
        gc.collect()
        memory_after = resident_mb()

        cooled = [a for a in asked if a.replied(COOLDOWN_TEXT)]
        answered = [a for a in asked if a.replied() and not a.replied(COOLDOWN_TEXT)]
        quiet = [a for a in asked if not a.replied()]
        replied = len(answered) + len(cooled)
        assert len(fake.messages) - replies_before == replied, "no question answered twice"
        assert len({a.reply.id for a in answered + cooled if a.reply}) == replied
        assert all(a.replied("[1]") for a in answered), "every answer quotes and cites"
        per_user = Counter(a.user for a in answered)
        # The five warm-up users asked once before: four questions were left to them.
        assert sorted(per_user[user] for user in users) == [4] * 5 + [5] * 45
        # Each user is told once when to try again; after that, a reaction says it.
        assert sorted(Counter(a.user for a in cooled)[user] for user in users) == [1] * 50
        assert all(fake.reactions.get(a.question_id) == ["⏳"] for a in quiet)
        assert len(quiet) == 500 - len(answered) - len(cooled)
        assert len(fake.heartbeats) > heartbeats_before, "heartbeats went on during the burst"
        # During the burst: the test's own gc.collect() around it holds the event loop.
        late = fake.late_heartbeats(since=started, until=started + took)
        assert late == [], "the gateway heartbeat is never late during the burst"
        assert memory_after - memory_before < 100, (
            f"memory grew {memory_after - memory_before:.0f} MB over the burst"
        )

    gaps = fake.heartbeat_gaps(since=started, until=started + took)
    with capsys.disabled():
        print(
            f"\nburst: 500 questions from 50 users in {took:.1f} s ({500 / took:.0f}/s):"
            f" {len(answered)} answered ({len(answered) / took:.1f}/s), {len(cooled)} told to"
            f" wait, {len(quiet)} reacted to; {latency_summary(answered)} to an answer,"
            f" {latency_summary(cooled)} to a cooldown reply; resident memory"
            f" {memory_before:.0f} -> {memory_after:.0f} MB;"
            f" heartbeat gaps median {statistics.median(gaps):.2f} s, longest {max(gaps):.2f} s"
            " (interval 0.5 s)"
        )


def latency_summary(asked: list[Asked]) -> str:
    """p50 / p95 / p99 of the replies' latencies."""
    latencies = [a.latency_ms for a in asked]
    return (
        " / ".join(f"{percentile(latencies, q):.0f}" for q in (50, 95, 99))
        + " ms (p50 / p95 / p99)"
    )


FAULTS = ("429 on send", "500 on send", "gateway disconnect", "invalid session")


@pytest.mark.parametrize("fault", FAULTS)
async def test_after_a_discord_fault_the_next_questions_are_answered(
    seed_settings: Settings, seed_engine: Engine, fault: str
) -> None:
    async with citebot(seed_settings, seed_engine) as (fake, bot):
        if fault in {"429 on send", "500 on send"}:
            status = int(fault[:3])
            fake.fail_next(r"POST /channels/\d+/messages", status=status, count=2)
        elif fault == "gateway disconnect":
            resumed = asyncio.ensure_future(bot.wait_for("resumed", timeout=30))
            await fake.disconnect_gateway(4000)
        else:
            ready_again = asyncio.ensure_future(bot.wait_for("ready", timeout=30))
            fake.invalidate_session_next()
            await fake.disconnect_gateway(4000)
            await ready_again
        first = await (await fake.send_user_message(QUESTIONS[0], mention_bot=True)).message(
            timeout=30
        )
        second = await (await fake.send_user_message(QUESTIONS[1], mention_bot=True)).message(
            timeout=30
        )
        assert LETY in unescape(first.content)
        assert "Felipe Calderón" in unescape(second.content)
        if fault == "gateway disconnect":
            await resumed
            assert (fake.identify_count, fake.resume_count) == (1, 1)
        elif fault == "invalid session":
            assert fake.identify_count == 2
        else:
            sends = [
                r.status for r in fake.requests if r.method == "POST" and "/messages" in r.path
            ]
            assert sends[:3] == [status, status, 200]
        assert len(fake.messages) == 2, "each question answered once"


HOSTILE_QUESTIONS = (
    "NEAR(lety perez)",
    '"lety" AND NOT perez*',
    "'; DROP TABLE articles; --",
    "**who** is `lety` > ~~pérez~~ ||spoiler||",
    "@everyone @here <@123> <@&456> who is Lety Pérez?",
    "https://discord.gg/invite [free nitro](https://evil.example) who?",
    "lety\x00pérez\u202e\u200d",
    "x" * 5000,
)
# The longest id Discord lets through is the 100 characters /source declares.
HOSTILE_IDS = ("../../etc/passwd", "%00", "85a1c30ac803-381-493/../../x", "9" * 100)


def pings_no_one(allowed_mentions: dict[str, object] | None) -> bool:
    """Whether a message's allowed_mentions lets nothing in it ping anyone."""
    allowed = allowed_mentions or {}
    return (
        allowed.get("parse") == []
        and not allowed.get("users")
        and not allowed.get("roles")
        and not allowed.get("replied_user")
    )


async def test_hostile_questions_and_ids_are_plain_data(
    seed_settings: Settings, seed_engine: Engine
) -> None:
    async with citebot(seed_settings, seed_engine) as (fake, _):
        for identifier in HOSTILE_IDS:
            reply = await (await fake.invoke_slash("source", {"id": identifier})).message()
            assert "is not a citation id" in reply.content, reply.content
        for question in HOSTILE_QUESTIONS[:3]:
            await (await fake.invoke_slash("ask", {"question": question})).message()
        for question in HOSTILE_QUESTIONS:
            await fake.send_user_message(question, mention_bot=True)
        expected = len(HOSTILE_QUESTIONS) + 3 + len(HOSTILE_IDS)
        await fake.wait_until(lambda: len(fake.messages) >= expected, what="every reply")
        after = await (await fake.send_user_message(QUESTIONS[0], mention_bot=True)).message()
    assert len(fake.messages) == expected + 1, "one reply each"
    pings = [m for m in fake.messages if not pings_no_one(m.allowed_mentions)]
    assert not pings, pings
    assert not any(m.content == APOLOGY for m in fake.messages)
    assert LETY in unescape(after.content), "the index is untouched"


def new_article(directory: Path) -> Path:
    """A folder with one article the seed does not have."""
    directory.mkdir()
    (directory / "harbour.txt").write_text(
        "New pier for the harbour\n\nThe harbour master, Ines Okafor, said the new pier would"
        " open to ferries in May after two years of work.\n",
        "utf-8",
    )
    return directory


async def test_a_rebuild_while_answering_fails_no_question(tmp_path: Path) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, index_dir=tmp_path / "index", discord_cooldown_questions=1000
    )
    build_index([SEEDS], settings)
    engine = Engine(settings)
    extra = new_article(tmp_path / "extra")
    async with citebot(settings, engine) as (fake, _):
        rebuilt = asyncio.ensure_future(asyncio.to_thread(build_index, [SEEDS, extra], settings))
        replies: list[BotMessage] = []
        while not rebuilt.done() or len(replies) < 10:
            question = QUESTIONS[len(replies) % len(QUESTIONS)]
            exchange = await fake.send_user_message(question, mention_bot=True)
            replies.append(await exchange.message(timeout=30))
        summary = await rebuilt
        after = await (
            await fake.send_user_message("Who is the harbour master?", mention_bot=True)
        ).message(timeout=30)
    assert summary.added == 1
    assert all("[1]" in reply.content for reply in replies), [r.content for r in replies]
    assert "Ines Okafor" in unescape(after.content), after.content


@pytest.mark.parametrize("damage", DAMAGES + READ_DAMAGES)
async def test_a_damaged_index_is_explained_and_the_bot_stays_up(
    tmp_path: Path, damage: str
) -> None:
    settings = Settings(_env_file=None, index_dir=tmp_path / "index")  # type: ignore[call-arg]
    embedder = FakeEmbedder()
    build_index([SEEDS], settings, embedder=embedder)
    damage_index(settings.index_dir, damage)
    # Damage found when read: by a question whose search reads the postings too ("who is"
    # reads none), never by /stats.
    when_read = damage in READ_DAMAGES
    question = QUESTIONS[3] if when_read else QUESTIONS[0]
    async with citebot(settings, Engine(settings, embedder=embedder)) as (fake, _):
        asked = await (await fake.send_user_message(question, mention_bot=True)).message()
        stats = await (await fake.invoke_slash("stats")).message()
        assert asked.content == INDEX_UNAVAILABLE
        assert (stats.content == INDEX_UNAVAILABLE) is not when_read
        assert str(tmp_path) not in asked.content + stats.content, "no server paths shown"

        build_index([SEEDS], settings, full=True, embedder=embedder)
        repaired = await (await fake.send_user_message(QUESTIONS[0], mention_bot=True)).message()
        assert LETY in unescape(repaired.content)


class FailingEngine:
    """An engine stand-in whose answers fail with an error message that carries `secret`."""

    def __init__(self, secret: str) -> None:
        self.secret = secret

    def warm_up(self) -> None:
        """Nothing to load."""

    def ask(self, question: str, **options: object) -> Answer:
        raise RuntimeError(f"connection failed for {self.secret}")


@pytest.mark.allow_error_logs
async def test_an_unexpected_failure_is_an_apology_and_a_logged_error(
    seed_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async with citebot(seed_settings, FailingEngine("the details")) as (fake, _):
        mention = await (await fake.send_user_message("who?", mention_bot=True)).message()
        command = await (await fake.invoke_slash("ask", {"question": "who?"})).message()
    assert mention.content == APOLOGY and command.content == APOLOGY
    assert command.ephemeral, "an error after a public deferral is shown to the asker alone"
    assert "the details" in caplog.text, "the log has what the user is spared"


SECRET_TOKEN = "MTA5OTk5OTk5OTk5OTk5OTk5OQ.GsEcRt.citebot-token-must-never-show-0123456789"


async def test_the_token_appears_in_no_log_reply_or_output(
    seed_settings: Settings,
    seed_engine: Engine,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeDiscord(token=SECRET_TOKEN)
    async with citebot(seed_settings, seed_engine, fake) as (_, bot):
        await fake.send_user_message("who is Lety Pérez?", mention_bot=True)
        for command, options in (
            ("ask", {"question": "What did Felipe Calderón write?"}),
            ("search", {"query": "lety perez"}),
            ("source", {"id": "../../etc/passwd%00"}),
            ("stats", {}),
            ("help", {}),
        ):
            await (await fake.invoke_slash(command, options)).message()
        resumed = asyncio.ensure_future(bot.wait_for("resumed", timeout=30))
        await fake.disconnect_gateway(4000)
        await resumed
        await fake.wait_until(lambda: len(fake.messages) >= 6, what="every reply")
    monkeypatch.setenv("DISCORD_TOKEN", SECRET_TOKEN)
    monkeypatch.setenv("CITEBOT_INDEX_DIR", str(seed_settings.index_dir))
    outputs = [
        CliRunner().invoke(cli, arguments).output
        for arguments in (
            ["stats"],
            ["stats", "--json"],
            ["ask", "who is Lety Pérez?", "--json"],
            ["source", "../x"],
            ["build", str(seed_settings.index_dir / "no-such-folder")],
        )
    ]
    settings = Settings(_env_file=None, discord_token=SecretStr(SECRET_TOKEN))  # type: ignore[call-arg]
    everything = "\n".join(
        [
            caplog.text,
            *(json.dumps(dataclasses.asdict(message), default=str) for message in fake.messages),
            *outputs,
            repr(settings),
            str(settings),
            settings.model_dump_json(),
        ]
    )
    assert "discord.gateway" in caplog.text and "Lety" in everything, "the scan saw it all"
    assert SECRET_TOKEN not in everything
    assert SECRET_TOKEN.split(".")[-1] not in everything
