"""Calibrate the abstention threshold (CITEBOT_MIN_SCORE) on questions with and without answers.

The index holds the seed, the 2,225 BBC articles and half of the XQuAD articles; questions
about that half have answers in the index, questions about the other half do not. Each fold
picks the threshold that classifies its questions best, and is checked on the other fold.

    .venv/bin/python -m bench.calibrate_abstain [--base-index DIR]

`--base-index` reuses an index already built from `seeds/` and the BBC file (it is copied, not
changed), which saves the few minutes of embedding the BBC articles.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

from index.build import build_index
from index.config import Settings
from index.engine import Engine
from index.evaluate import contains_answer, load_squad

REPO = Path(__file__).resolve().parent.parent
BBC = REPO.parent / "shared" / "data" / "bbc_news.jsonl"
XQUAD = REPO.parent / "shared" / "data" / "xquad_en_dev.json"
THRESHOLDS = np.round(np.arange(0.30, 0.601, 0.025), 3)
ACCURACY_TIE = 0.005


def main() -> None:
    """Run both folds and print the sweep tables as markdown."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-index", type=Path, help="index of seeds/ + BBC to start from")
    args = parser.parse_args()
    squad = load_squad(XQUAD)
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        base = scratch / "base"
        if args.base_index:
            shutil.copytree(args.base_index, base)
        results = {}
        for fold in (0, 1):
            indexed = {a.id for i, a in enumerate(squad.articles) if i % 2 == fold}
            jsonl = scratch / f"xquad_fold{fold}.jsonl"
            jsonl.write_text(
                "".join(
                    json.dumps({"id": a.id, "title": a.title, "text": a.text}) + "\n"
                    for a in squad.articles
                    if a.id in indexed
                ),
                "utf-8",
            )
            index_dir = scratch / f"fold{fold}"
            if base.exists():
                shutil.copytree(base, index_dir)
            settings = Settings(_env_file=None, index_dir=index_dir, min_score=0.0)  # type: ignore[call-arg]
            build_index([REPO / "seeds", BBC, jsonl], settings)
            if not base.exists():
                shutil.copytree(index_dir, base)
            engine = Engine(settings)
            rows = []
            for question in squad.questions:
                answer = engine.ask(question.question)
                best = answer.citations[0].score if answer.citations else 0.0
                found = contains_answer([p.text for p in answer.answer], question.answers)
                rows.append((question.article_id in indexed, best, found))
            results[fold] = np.array(rows, dtype=float)
    for fold, rows in results.items():
        print(f"\n### Fold {fold}: XQuAD articles {'even' if fold == 0 else 'odd'} indexed\n")
        print(sweep_table(rows))
    for fold in (0, 1):
        chosen = best_threshold(results[fold])
        held_out = classify(results[1 - fold], chosen)
        print(
            f"\nFold {fold} picks {chosen:.3f}; on fold {1 - fold} it gives"
            f" accuracy {held_out['accuracy']:.3f}, abstain precision"
            f" {held_out['precision']:.3f}, recall {held_out['recall']:.3f}."
        )


def classify(rows: np.ndarray, threshold: float) -> dict[str, float]:
    """Abstention precision and recall, accuracy, and answer@3 kept, at one threshold."""
    answerable = rows[:, 0] == 1
    answered = rows[:, 1] >= threshold
    abstained_right = (~answered & ~answerable).sum()
    return {
        "precision": abstained_right / max((~answered).sum(), 1),
        "recall": abstained_right / max((~answerable).sum(), 1),
        "accuracy": float((answered == answerable).mean()),
        "answer@3": rows[answerable & answered, 2].sum() / max(answerable.sum(), 1),
    }


def best_threshold(rows: np.ndarray) -> float:
    """The lowest threshold within `ACCURACY_TIE` of the best accuracy: between near-equal
    choices, answering more questions wins (a missed answer costs the user more than a quote
    the user can see is off-topic, since every quote carries its citation)."""
    accuracy = {float(t): classify(rows, t)["accuracy"] for t in THRESHOLDS}
    best = max(accuracy.values())
    return min(t for t, a in accuracy.items() if a >= best - ACCURACY_TIE)


def sweep_table(rows: np.ndarray) -> str:
    """Markdown table of the metrics at each threshold."""
    answerable = int((rows[:, 0] == 1).sum())
    lines = [
        f"{len(rows)} questions, {answerable} with an answer in the index.\n",
        "| threshold | abstain precision | abstain recall | accuracy | answer@3 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for threshold in THRESHOLDS:
        m = classify(rows, threshold)
        lines.append(
            f"| {threshold:.3f} | {m['precision']:.3f} | {m['recall']:.3f} |"
            f" {m['accuracy']:.3f} | {m['answer@3']:.3f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
