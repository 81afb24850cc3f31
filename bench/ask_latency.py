"""Warm `ask` latency over an index: p50/p95/p99 in one thread, broken down by stage.

    .venv/bin/python bench/ask_latency.py --index DIR [--questions N]
    .venv/bin/python bench/ask_latency.py --store milvus --milvus-uri URI [--questions N]

Questions are the XQuAD dev questions (most have no answer in a news index: a realistic mix
of answers and abstentions), after a few warm-up questions.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from index.config import STORES, Settings
from index.engine import Engine
from index.evaluate import load_squad
from index.search import dense_search, lexical_search

XQUAD = Path(__file__).resolve().parents[2] / "shared" / "data" / "xquad_en_dev.json"


def percentiles(samples: list[float]) -> str:
    """p50 / p95 / p99 of millisecond samples, formatted."""
    p50, p95, p99 = np.percentile(samples, [50, 95, 99])
    return f"p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  p99 {p99:6.1f} ms"


def timed(function: Callable[[], object]) -> float:
    """Milliseconds one call takes."""
    started = time.perf_counter()
    function()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    """Print the latency table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=Path("citebot-index"))
    parser.add_argument("--store", choices=STORES, default="local")
    parser.add_argument("--milvus-uri", default="citebot-milvus.db")
    parser.add_argument("--questions", type=int, default=200)
    args = parser.parse_args()
    questions = [q.question for q in load_squad(XQUAD).questions][: args.questions]
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, index_dir=args.index, store=args.store, milvus_uri=args.milvus_uri
    )
    engine = Engine(settings)
    engine.warm_up()
    for question in questions[:10]:
        engine.ask(question)
    reader = engine.reader()
    embedder = engine.embedder()
    stages: dict[str, list[float]] = {"embed question": [], "dense": [], "lexical": [], "ask": []}
    for question in questions:
        vector = embedder.embed([question])[0]
        stages["embed question"].append(timed(lambda q=question: embedder.embed([q])))
        stages["dense"].append(timed(lambda v=vector: dense_search(reader, v, 50)))
        stages["lexical"].append(timed(lambda q=question: lexical_search(reader, q, 50)))
        stages["ask"].append(engine.ask(question).took_ms)
    manifest = reader.manifest
    print(
        f"{len(questions)} questions, {manifest.passages:,} passages,"
        f" {manifest.model} ({manifest.backend}), {args.store} store, one thread"
    )
    for stage, samples in stages.items():
        print(f"{stage:<15} {percentiles(samples)}")


if __name__ == "__main__":
    main()
