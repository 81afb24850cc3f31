"""The bot under load and faults, through the real discord.py client and the loopback fake:
a burst of questions, Discord errors and reconnects, damaged indexes, rebuilds while answering,
and the token kept out of everything it prints or sends."""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from index.config import Settings
from index.engine import Engine
from tests.botkit import citebot
from tests.discord_fake import BotMessage, FakeDiscord

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
    """A question of the burst, when it was sent, who asked it, and the bot's one reply."""

    user: str
    sent_at: float
    reply: BotMessage

    @property
    def latency_ms(self) -> float:
        """From the question's dispatch to the reply stored by the fake."""
        return (self.reply.at - self.sent_at) * 1000


async def burst(fake: FakeDiscord, users: list[str], per_user: int) -> list[Asked]:
    """Every user asks `per_user` questions, all at once; each question's one reply."""
    sent: list[tuple[str, str, float]] = []
    for round_number in range(per_user):
        for user_number, user in enumerate(users):
            question = QUESTIONS[(round_number + user_number) % len(QUESTIONS)]
            exchange = await fake.send_user_message(question, mention_bot=True, author=user)
            sent.append((exchange.id, user, time.monotonic()))
    expected = len(fake.messages) + len(sent)
    await fake.wait_until(lambda: len(fake.messages) >= expected, timeout=240, what="replies")
    replies = {str((m.message_reference or {}).get("message_id")): m for m in fake.messages}
    return [Asked(user, at, replies[question_id]) for question_id, user, at in sent]


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
        asked = await burst(fake, users, 10)
        took = time.monotonic() - started
        gc.collect()
        memory_after = resident_mb()

        assert len(fake.messages) - replies_before == 500, "no question lost or answered twice"
        assert len({a.reply.id for a in asked}) == 500
        answered = [a for a in asked if COOLDOWN_TEXT not in a.reply.content]
        cooled = [a for a in asked if COOLDOWN_TEXT in a.reply.content]
        assert all("[1]" in a.reply.content for a in answered), "every answer quotes and cites"
        per_user = Counter(a.user for a in answered)
        # The five warm-up users asked once before: four questions were left to them.
        assert sorted(per_user[user] for user in users) == [4] * 5 + [5] * 45
        assert len(cooled) == 500 - len(answered)
        assert len(fake.heartbeats) > heartbeats_before, "heartbeats went on during the burst"
        assert fake.late_heartbeats() == [], "the gateway heartbeat is never late"
        assert memory_after - memory_before < 100, (
            f"memory grew {memory_after - memory_before:.0f} MB over the burst"
        )

    latencies = [a.latency_ms for a in asked]
    with capsys.disabled():
        print(
            f"\nburst: 500 questions from 50 users in {took:.1f} s ({500 / took:.0f}/s);"
            f" {len(answered)} answered, {len(cooled)} told to wait;"
            f" latency p50 {statistics.median(latencies):.0f} ms,"
            f" p95 {percentile(latencies, 95):.0f} ms, p99 {percentile(latencies, 99):.0f} ms;"
            f" resident memory {memory_before:.0f} -> {memory_after:.0f} MB"
        )
