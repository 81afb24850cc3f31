"""citebot's answers against a plain baseline, on the same index and the same questions.

    .venv/bin/python -m bench.baseline --index DIR --questions FILE [--limit N]

FILE is a `citebot eval` file (SQuAD JSON or JSONL). The baseline is what a few lines of
sentence-transformers and FAISS give: the question embedded by the torch model, a flat inner
product search over the index's passage vectors, and the top passage as the answer. (It reuses
the index's passage vectors rather than embedding 10k passages again with torch: the two
backends' vectors have a cosine of 0.99.)

Quality is answer@1 over the answerable questions: citebot's first quote, or the baseline's
top passage, holds a gold answer. A passage is several sentences, so the baseline's figure is
the easier one to reach. Latency is warm, one thread, per question; citebot's is `Engine.ask`
end to end, the baseline's embedding plus search. Both are printed with citebot's as a ratio
to the baseline's.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import faiss
import numpy as np

from index.config import Settings
from index.embed.model import resolve_model
from index.embed.sbert import SentenceTransformerEmbedder
from index.engine import Engine
from index.evaluate import (
    EvalQuestion,
    against_index,
    contains_answer,
    load_questions_jsonl,
    load_squad,
)
from index.local.reader import IndexReader

WARM_UP = 10


def load_questions(path: Path, reader: IndexReader) -> list[EvalQuestion]:
    """The answerable questions of an eval file, as they stand against the index."""
    if path.suffix.lower() == ".jsonl":
        questions = load_questions_jsonl(path)
    else:
        questions = against_index(load_squad(path).questions, reader)
    return [question for question in questions if question.answers]


def main() -> None:
    """Run both on every question; print quality, latency and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=0, help="ask only the first N questions")
    args = parser.parse_args()
    engine = Engine(Settings(_env_file=None, index_dir=args.index))  # type: ignore[call-arg]
    engine.warm_up()
    reader = IndexReader.open(args.index)  # a local index: its FAISS vectors are read
    questions = load_questions(args.questions, reader)[: args.limit or None]

    vectors = reader.vectors.reconstruct_n(0, reader.vectors.ntotal)
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    model = SentenceTransformerEmbedder(resolve_model(reader.manifest.model))
    passages = list(reader.all_passages())
    articles = reader.articles(sorted({passage.article_id for passage in passages}))
    texts = {p.id: articles[p.article_id].text[p.start : p.end] for p in passages}

    def baseline(question: str) -> int:
        _, ids = flat.search(model.embed([question]), 1)
        return int(ids[0][0])

    for question in questions[:WARM_UP]:
        engine.ask(question.question)
        baseline(question.question)
    citebot_ms: list[float] = []
    baseline_ms: list[float] = []
    citebot_right = baseline_right = 0
    for question in questions:
        answer = engine.ask(question.question)
        citebot_ms.append(answer.took_ms)
        citebot_right += contains_answer([p.text for p in answer.answer[:1]], question.answers)
        started = time.perf_counter()
        top = baseline(question.question)
        baseline_ms.append((time.perf_counter() - started) * 1000)
        baseline_right += contains_answer([texts[top]], question.answers)

    count = len(questions)
    ours = (citebot_right / count, *np.percentile(citebot_ms, [50, 95]))
    theirs = (baseline_right / count, *np.percentile(baseline_ms, [50, 95]))
    print(f"{count} answerable questions of {args.questions.name}, {len(texts):,} passages")
    print(f"{'':<10} {'answer@1':>9} {'p50 ms':>8} {'p95 ms':>8}")
    print(f"{'citebot':<10} {ours[0]:9.3f} {ours[1]:8.1f} {ours[2]:8.1f}")
    print(f"{'baseline':<10} {theirs[0]:9.3f} {theirs[1]:8.1f} {theirs[2]:8.1f}")
    ratios = [a / b if b else float("nan") for a, b in zip(ours, theirs, strict=True)]
    print(f"{'ratio':<10} {ratios[0]:9.2f} {ratios[1]:8.2f} {ratios[2]:8.2f}")


if __name__ == "__main__":
    main()
