"""The reranker's time for the candidates the first stage gives each question: all of them as
one padded batch (as the engine read them before the twenty-second session) against each pair
alone (`index.rerank.model.Reranker.logits`), on one thread, with how far the batch moves
each logit.

    .venv/bin/python -m bench.rerank_pairs --index DIR QUESTIONS.jsonl

DIR is an index of the questions' articles (docs/quality.md builds news_dev's); each question
is asked on its "asked_on" day with the reranker off, and its ten best candidates are read
both ways, as the engine reads them (title and sentence before).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from index.answer import RERANKED, reranker_texts
from index.config import Settings
from index.engine import Engine
from index.evaluate import load_questions_jsonl
from index.rerank.model import Reranker


def batched_logits(reranker: Reranker, question: str, candidates: list[str]) -> NDArray[np.float32]:
    """The logits of `candidates` run as one batch, each pair padded to the longest."""
    session, tokenizer = reranker._load()
    encodings = tokenizer.encode_batch([(question, candidate) for candidate in candidates])
    longest = max(len(e.ids) for e in encodings)

    def padded(rows: list[list[int]]) -> NDArray[np.int64]:
        return np.array([row + [0] * (longest - len(row)) for row in rows], dtype=np.int64)

    (logits,) = session.run(
        None,
        {
            "input_ids": padded([e.ids for e in encodings]),
            "attention_mask": padded([e.attention_mask for e in encodings]),
            "token_type_ids": padded([e.type_ids for e in encodings]),
        },
    )
    return np.asarray(logits, dtype=np.float32).reshape(-1)


def main() -> None:
    """Print the two ways' latencies and their logits' differences."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("questions", type=Path)
    parser.add_argument("--index", type=Path, required=True)
    args = parser.parse_args()
    settings = Settings(_env_file=None, index_dir=args.index, reranker="off")  # type: ignore[call-arg]
    engine = Engine(settings)
    engine.warm_up()
    reranker = Reranker(threads=1)
    reranker.logits("warm up", ["warm up"])
    timings: dict[str, list[float]] = {"one padded batch": [], "each pair alone": []}
    moved: list[float] = []
    for question in load_questions_jsonl(args.questions):
        ranked = engine.rank_sentences(question.question, asked_on=question.asked_on)
        best = [scored.candidate for scored in ranked.sentences[:RERANKED]]
        candidates = reranker_texts(best, ranked.articles)
        if not candidates:
            continue
        started = time.perf_counter()
        together = batched_logits(reranker, question.question, candidates)
        timings["one padded batch"].append(time.perf_counter() - started)
        started = time.perf_counter()
        alone = reranker.logits(question.question, candidates)
        timings["each pair alone"].append(time.perf_counter() - started)
        moved += np.abs(together - alone).tolist()
    for name, seconds in timings.items():
        ordered = sorted(seconds)
        print(
            f"{name}: p50 {1000 * statistics.median(ordered):.1f} ms,"
            f" p95 {1000 * ordered[int(0.95 * len(ordered))]:.1f} ms over {len(ordered)} questions"
        )
    print(
        f"logit moved by the batch: mean {statistics.mean(moved):.3f},"
        f" largest {max(moved):.2f} over {len(moved)} candidates"
    )


if __name__ == "__main__":
    main()
