"""What `/api/ask` adds to the engine's own time, with one HTTP client and with 8 at once.

    .venv/bin/python -m bench.web_latency --index DIR [--questions N] [--clients 8]

The questions are those `bench/ask_latency.py` asks (the XQuAD dev questions), after a few
warm-up ones, asked by one asker and then by `--clients` askers at once, each asking every
question, each starting at another place in the list. First the engine alone: askers are
threads calling `Engine.ask` in this process, timed around the call. Then over HTTP: `citebot
serve` runs on the index in a process of its own, as it runs for real (its rate limit
lifted), and each asker is a thread with its own keep-alive connection, timing the round trip
to the last byte of the answer.

Two figures of what HTTP adds, at p50: the round trip less the engine's time for the same
number of askers alone (what an asker waits longer than if it called the engine itself), and
each request's round trip less the engine's own time for it (`took_ms` in the answer): all it
spends outside the engine call, waiting for its turn at the cores included.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import numpy as np

from bench.ask_latency import XQUAD, percentiles, timed
from bot.cli import settings_for
from index.engine import Engine
from index.evaluate import load_squad

WARM_UP_QUESTIONS = 10
# The most questions a minute CITEBOT_WEB_QUESTIONS_PER_MINUTE allows: the bench is one address.
NO_LIMIT = 100_000
READY = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")


@dataclass
class Samples:
    """Milliseconds per request: round trip, the engine's `took_ms`, and their difference."""

    round_trip: list[float] = field(default_factory=list)
    engine: list[float] = field(default_factory=list)
    overhead: list[float] = field(default_factory=list)
    failed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, round_trip: float, took_ms: float) -> None:
        """One answered request."""
        with self.lock:
            self.round_trip.append(round_trip)
            self.engine.append(took_ms)
            self.overhead.append(round_trip - took_ms)

    def fail(self) -> None:
        """One request answered with an error."""
        with self.lock:
            self.failed += 1


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(index: Path) -> tuple[subprocess.Popen[str], int]:
    """`citebot serve` on `index`, once it says it is listening; and its port."""
    port = free_port()
    citebot = Path(sys.executable).with_name("citebot")
    server = subprocess.Popen(
        [str(citebot), "serve", "--index", str(index), "--port", str(port)],
        env={**os.environ, "CITEBOT_WEB_QUESTIONS_PER_MINUTE": str(NO_LIMIT)},
        stderr=subprocess.PIPE,
        text=True,
    )
    assert server.stderr is not None
    for line in server.stderr:
        if READY.search(line):
            # Keep reading what it says, so that it never blocks on a full pipe.
            threading.Thread(target=server.stderr.read, daemon=True).start()
            return server, port
    raise SystemExit(f"citebot serve stopped before listening (exit code {server.wait()})")


def ask_all(port: int, questions: list[str], samples: Samples | None = None) -> None:
    """Ask every question in turn on one keep-alive connection; record each in `samples`."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    try:
        for question in questions:
            started = time.perf_counter()
            connection.request("GET", "/api/ask?" + urlencode({"q": question}))
            response = connection.getresponse()
            body = response.read()
            round_trip = (time.perf_counter() - started) * 1000
            if samples is None:
                continue
            if response.status != 200:
                samples.fail()
                continue
            samples.add(round_trip, json.loads(body)["took_ms"])
    finally:
        connection.close()


def at_once(ask: Callable[[list[str]], None], questions: list[str], askers: int) -> float:
    """`ask` every question from each of `askers` threads at once, each starting at another
    place in the list; the seconds it took."""
    step = max(1, len(questions) // askers)
    threads = [
        threading.Thread(target=ask, args=(questions[n * step :] + questions[: n * step],))
        for n in range(askers)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def engine_alone(index: Path, questions: list[str], askers: int) -> list[float]:
    """Milliseconds of each `Engine.ask` call, with `askers` threads asking at once."""
    engine = Engine(settings_for(index))
    engine.warm_up()
    for question in questions[:WARM_UP_QUESTIONS]:
        engine.ask(question)
    times: list[float] = []

    def ask(asked: list[str]) -> None:
        mine = [timed(lambda q=question: engine.ask(q)) for question in asked]
        times.extend(mine)

    at_once(ask, questions, askers)
    return times


def report(askers: int, alone: list[float], samples: Samples, seconds: float) -> None:
    """Print one asker count's figures."""
    answers = len(samples.round_trip)
    print(
        f"{askers} asker(s): {answers:,} answers over HTTP in {seconds:.1f} s"
        f" ({answers / seconds:.1f}/s), {samples.failed} failed"
    )
    for name, values in (
        ("engine alone", alone),
        ("HTTP round trip", samples.round_trip),
        ("its took_ms", samples.engine),
        ("trip - took_ms", samples.overhead),
    ):
        print(f"  {name:<16} {percentiles(values)}")
    added = float(np.median(samples.round_trip) - np.median(alone))
    print(f"  HTTP adds at p50: {added:.1f} ms to the engine alone")


def main() -> None:
    """Print the engine's times alone, the round trips, and what HTTP adds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=Path("citebot-index"))
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    questions = [q.question for q in load_squad(XQUAD).questions][: args.questions]
    askers = sorted({1, args.clients})
    alone = {n: engine_alone(args.index, questions, n) for n in askers}
    server, port = start_server(args.index)
    try:
        ask_all(port, questions[:WARM_UP_QUESTIONS])
        print(f"{len(questions)} XQuAD questions, `citebot serve --index {args.index}`")
        for n in askers:
            samples = Samples()
            seconds = at_once(functools.partial(ask_all, port, samples=samples), questions, n)
            report(n, alone[n], samples, seconds)
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
