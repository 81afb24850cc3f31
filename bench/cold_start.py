"""Cold start: a new process's first answer, and `citebot run` from start to ready.

    .venv/bin/python -m bench.cold_start --index DIR [--runs 3]

1. `citebot ask` as a new process on DIR, from exec to exit (after one untimed run, so the
   file cache is warm, as on a server that has run before).
2. `citebot run` against the loopback fake Discord of the tests: from exec to the "ready" log
   line, and to the reply to a first mention.

Each figure is the median of `--runs` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

from index.config import Settings
from tests.support.botkit import read_until, run_environment
from tests.support.discord_fake import FakeDiscord

CITEBOT = [sys.executable, "-c", "from bot.cli import main; main()"]
QUESTION = "who is Lety Pérez?"


def first_answer_seconds(index: Path) -> float:
    """Seconds for a new `citebot ask` process to answer and exit."""
    started = time.perf_counter()
    subprocess.run(
        [*CITEBOT, "ask", QUESTION, "--index", str(index)], check=True, capture_output=True
    )
    return time.perf_counter() - started


async def bot_start_seconds(index: Path) -> tuple[float, float]:
    """Seconds from starting `citebot run` to its ready line, and to its first reply."""
    fake = FakeDiscord()
    await fake.start()
    settings = Settings(_env_file=None, index_dir=index)  # type: ignore[call-arg]
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *CITEBOT, "run",
        env=run_environment(fake, settings, fake.token),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    try:
        await read_until(process.stderr, b" ready as ", timeout=120)
        ready = time.perf_counter() - started
        await (await fake.send_user_message(QUESTION, mention_bot=True)).message(timeout=60)
        answered = time.perf_counter() - started
    finally:
        process.terminate()
        await process.communicate()
        await fake.stop()
    return ready, answered


def main() -> None:
    """Measure both, print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    first_answer_seconds(args.index)
    asks = [first_answer_seconds(args.index) for _ in range(args.runs)]
    print(f"citebot ask, new process to answer: {statistics.median(asks):.2f} s")
    starts = [asyncio.run(bot_start_seconds(args.index)) for _ in range(args.runs)]
    ready = statistics.median(s[0] for s in starts)
    answered = statistics.median(s[1] for s in starts)
    print(f"citebot run, start to ready: {ready:.2f} s; start to first answer: {answered:.2f} s")


if __name__ == "__main__":
    main()
