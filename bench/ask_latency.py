"""Warm `ask` latency over an index: p50/p95/p99 in one thread, broken down by stage.

    .venv/bin/python -m bench.ask_latency --index DIR [--questions N] [--reranker on|off]
    .venv/bin/python -m bench.ask_latency --store milvus --milvus-uri URI [--questions N]
    .venv/bin/python -m bench.ask_latency --index NEWS_DEV_INDEX --periods
    .venv/bin/python -m bench.ask_latency --index NEWS_DEV_INDEX --who-is

Questions are the XQuAD dev questions (most have no answer in a news index: a realistic mix
of answers and abstentions), after a few warm-up questions. With `--periods`, they are
news_dev's questions that name a calendar period ("this week"), each asked on its quiz day,
so every one searches among the passages a date filter allows; they are asked in turn until
N have been asked. With `--who-is`, "who is X?" for each name news_dev's questions hold
("Liz Truss") and for its last word alone ("Truss", a profile's costliest kind: every person
of that name), in turn until N have been asked.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import date
from itertools import cycle, islice
from pathlib import Path

import numpy as np

from index.config import STORES, Settings
from index.engine import Engine
from index.evaluate import load_questions_jsonl, load_squad
from index.period import asked_period
from index.phrases import PhraseKind, find_phrases
from index.search import dense_search, lexical_search
from index.words import query_words

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
XQUAD = SHARED / "xquad_en_dev.json"
NEWS_DEV = SHARED / "news_dev" / "questions.jsonl"


def percentiles(samples: list[float]) -> str:
    """p50 / p95 / p99 of millisecond samples, formatted."""
    p50, p95, p99 = np.percentile(samples, [50, 95, 99])
    return f"p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  p99 {p99:6.1f} ms"


def timed(function: Callable[[], object]) -> float:
    """Milliseconds one call takes."""
    started = time.perf_counter()
    function()
    return (time.perf_counter() - started) * 1000


def asked_names() -> list[str]:
    """The names of two or three words news_dev's questions hold, each followed by its last
    word alone."""
    names: dict[str, None] = {}
    for question in load_questions_jsonl(NEWS_DEV):
        for phrase in find_phrases(question.question):
            name = question.question[phrase.start : phrase.end]
            if phrase.kind is PhraseKind.NAME and 2 <= len(name.split()) <= 3:
                names[name] = None
                names[name.split()[-1]] = None
    return list(names)


def main() -> None:
    """Print the latency table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=Path("citebot-index"))
    parser.add_argument("--store", choices=STORES, default="local")
    parser.add_argument("--milvus-uri", default="citebot-milvus.db")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument(
        "--periods", action="store_true", help="news_dev's questions that name a period"
    )
    parser.add_argument("--who-is", action="store_true", help='"who is X?" for names news_dev asks')
    parser.add_argument("--reranker", choices=("on", "off"), default="on")
    args = parser.parse_args()
    asked: list[tuple[str, date | None]]
    if args.who_is:
        asked = list(
            islice(cycle((f"who is {name}?", None) for name in asked_names()), args.questions)
        )
    elif args.periods:
        named = [
            (q.question, q.asked_on)
            for q in load_questions_jsonl(NEWS_DEV)
            if (period := asked_period(q.question, q.asked_on)) is not None and period.strict
        ]
        asked = list(islice(cycle(named), args.questions))
    else:
        asked = [(q.question, None) for q in load_squad(XQUAD).questions][: args.questions]
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        index_dir=args.index,
        store=args.store,
        milvus_uri=args.milvus_uri,
        reranker=args.reranker == "on",
    )
    engine = Engine(settings)
    engine.warm_up()
    for question, asked_on in asked[:10]:
        engine.ask(question, asked_on=asked_on)
    reader = engine.reader()
    embedder = engine.embedder()
    stages: dict[str, list[float]] = {"embed question": [], "dense": [], "lexical": [], "ask": []}
    for question, asked_on in asked:
        vector = embedder.embed([question])[0]
        stages["embed question"].append(timed(lambda q=question: embedder.embed([q])))
        stages["dense"].append(timed(lambda v=vector: dense_search(reader, v, 50)))
        stages["lexical"].append(
            timed(lambda q=question: lexical_search(reader, query_words(q), 50))
        )
        stages["ask"].append(engine.ask(question, asked_on=asked_on).took_ms)
    manifest = reader.manifest
    print(
        f"{len(asked)} questions, {manifest.passages:,} passages,"
        f" {manifest.model} ({manifest.backend}), {args.store} store, one thread,"
        f" reranker {args.reranker}"
        + (" (dense and lexical unfiltered; ask filtered by the period)" if args.periods else "")
    )
    for stage, samples in stages.items():
        print(f"{stage:<15} {percentiles(samples)}")


if __name__ == "__main__":
    main()
