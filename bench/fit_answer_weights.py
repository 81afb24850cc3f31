"""Fit the answer scorer's weights (index/answer.py WEIGHTS) and the abstention threshold.

Every development question is asked of its index; each candidate sentence of the best
passages becomes one row of signals, labelled by whether it holds a gold answer. A logistic
model is fitted on the answerable questions with the question sets weighted equally, and
judged by grouped cross-validation (no question in both the fitted and the judged part):
answer@1 and answer@3 as `ask` would choose (shortlist, then the full score). The abstention
threshold is then read off the must-abstain questions of news_dev, per fold.

    python bench/fit_answer_weights.py --news-index IDX --xquad-index IDX

IDX for news_dev: `citebot build seeds ../shared/data/news_dev/articles.jsonl --index IDX`;
for XQuAD among BBC: the XQuAD articles (bench/fit_answer_weights.py --write-xquad FILE) and
../shared/data/bbc_news.jsonl in one index.
"""

from __future__ import annotations

import argparse
import json
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from index.answer import DENSE_PRIOR, FEATURES
from index.config import Settings
from index.engine import Engine
from index.evaluate import (
    EvalQuestion,
    contains_answer,
    load_questions_jsonl,
    load_squad,
    write_articles_jsonl,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
FOLDS = 5
# Sentences embedded per question while collecting rows: more than `ask` embeds, so that the
# shortlist can be simulated with any weights.
COLLECTED = 40
SHORTLIST = 8
L2 = 1.0


@dataclass
class QuestionRows:
    """The candidate rows of one question."""

    set_name: str
    question: str
    answerable: bool
    signals: NDArray[np.float64]  # candidates x features
    labels: NDArray[np.float64]  # 1 where the sentence holds a gold answer


def collect(engine: Engine, set_name: str, questions: list[EvalQuestion]) -> list[QuestionRows]:
    """One row per candidate sentence of each question."""
    rows: list[QuestionRows] = []
    for question in questions:
        ranked = engine.rank_sentences(question.question, embedded=COLLECTED)
        signals, labels = [], []
        for sentence in ranked.sentences:
            candidate = sentence.candidate
            values = {**candidate.signals, "dense": sentence.dense}
            signals.append([values[name] for name in FEATURES])
            text = ranked.articles[candidate.article_id].text[candidate.start : candidate.end]
            labels.append(
                float(bool(question.answers) and contains_answer([text], question.answers))
            )
        rows.append(
            QuestionRows(
                set_name,
                question.question,
                bool(question.answers),
                np.asarray(signals, dtype=np.float64).reshape(-1, len(FEATURES)),
                np.asarray(labels, dtype=np.float64),
            )
        )
    return rows


def fit(rows: list[QuestionRows]) -> tuple[NDArray[np.float64], float]:
    """L2-regularised logistic regression by Newton's method; each set weighs the same."""
    sets = {r.set_name for r in rows}
    per_set = {name: sum(len(r.labels) for r in rows if r.set_name == name) for name in sets}
    x = np.vstack([r.signals for r in rows])
    y = np.concatenate([r.labels for r in rows])
    w = np.concatenate([np.full(len(r.labels), 1.0 / per_set[r.set_name]) for r in rows])
    w *= len(y) / w.sum()
    design = np.hstack([x, np.ones((len(x), 1))])
    beta = np.zeros(design.shape[1])
    penalty = np.eye(design.shape[1]) * L2
    penalty[-1, -1] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-design @ beta))
        gradient = design.T @ (w * (p - y)) + penalty @ beta
        hessian = design.T @ (design * (w * p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta[:-1], float(beta[-1])


def scores(
    rows: QuestionRows, weights: NDArray[np.float64], intercept: float
) -> NDArray[np.float64]:
    """What `ask` would score: the shortlist by the prior (dense at DENSE_PRIOR) scored in
    full; the rest of the candidates get no score (-inf)."""
    dense = FEATURES.index("dense")
    prior = rows.signals.copy()
    prior[:, dense] = DENSE_PRIOR
    shortlisted = np.argsort(-(prior @ weights), kind="stable")[:SHORTLIST]
    result = np.full(len(rows.labels), -np.inf)
    z = rows.signals[shortlisted] @ weights + intercept
    result[shortlisted] = 1.0 / (1.0 + np.exp(-z))
    return result


def judge(
    rows: list[QuestionRows], weights: NDArray[np.float64], intercept: float
) -> dict[str, float]:
    """answer@1 and answer@3 of the answerable questions (no abstention)."""
    first = three = 0
    answerable = [r for r in rows if r.answerable]
    for r in answerable:
        s = scores(r, weights, intercept)
        order = np.argsort(-s, kind="stable")
        first += bool(len(order) and r.labels[order[0]])
        three += bool(len(order) and r.labels[order[:3]].any())
    n = max(len(answerable), 1)
    return {"answer@1": first / n, "answer@3": three / n}


def best_scores(
    rows: list[QuestionRows], weights: NDArray[np.float64], intercept: float
) -> NDArray[np.float64]:
    """Each question's best score (0 when it has no candidate)."""
    return np.array([max(scores(r, weights, intercept), default=0.0) for r in rows])


def abstention(
    best: NDArray[np.float64], answerable: NDArray[np.bool_], threshold: float
) -> tuple[float, float]:
    """(precision, recall) of abstaining below `threshold`."""
    abstained = best < threshold
    right = float((abstained & ~answerable).sum())
    precision = right / abstained.sum() if abstained.sum() else 0.0
    recall = right / (~answerable).sum() if (~answerable).sum() else 0.0
    return precision, recall


def choose_threshold(best: NDArray[np.float64], answerable: NDArray[np.bool_]) -> float:
    """The threshold whose worse of abstention precision and recall is best."""
    candidates = np.unique(np.round(best, 3))

    def f1(t: float) -> float:
        p, r = abstention(best, answerable, t)
        return min(p, r)

    return float(max(candidates, key=f1)) if len(candidates) else 0.5


def cross_validate(
    rows: list[QuestionRows],
) -> tuple[dict[str, dict[str, float]], NDArray[np.float64]]:
    """Per set, answer@1 and answer@3 of each question judged by the model of the folds that
    did not see it; and each question's best held-out score."""
    fold_of = np.random.default_rng(0).permutation(len(rows)) % FOLDS
    hits: dict[str, dict[str, float]] = {}
    best = np.zeros(len(rows))
    for fold in range(FOLDS):
        train = [r for r, f in zip(rows, fold_of, strict=True) if f != fold and r.answerable]
        weights, intercept = fit(train)
        test = [i for i, f in enumerate(fold_of) if f == fold]
        best[test] = best_scores([rows[i] for i in test], weights, intercept)
        for set_name in {r.set_name for r in rows}:
            part = [rows[i] for i in test if rows[i].set_name == set_name]
            count = sum(r.answerable for r in part)
            totals = hits.setdefault(set_name, {"answer@1": 0.0, "answer@3": 0.0})
            for key, value in judge(part, weights, intercept).items():
                totals[key] += value * count
    for set_name, totals in hits.items():
        answerable = sum(r.answerable for r in rows if r.set_name == set_name)
        for key in totals:
            totals[key] /= max(answerable, 1)
    return hits, best


def load_rows(args: argparse.Namespace, squad_questions: list[EvalQuestion]) -> list[QuestionRows]:
    """Each set's rows, collected from its index, or read back from `--rows-dir` when they
    were collected before (and `--collect` is not given)."""
    news_questions = load_questions_jsonl(SHARED / "news_dev" / "questions.jsonl")
    rows: list[QuestionRows] = []
    for set_name, index, questions in (
        ("news_dev", args.news_index, news_questions),
        ("xquad", args.xquad_index, squad_questions),
    ):
        cached = args.rows_dir / f"{set_name}.pickle"
        if cached.exists() and not args.collect:
            rows += pickle.loads(cached.read_bytes())
        elif index is not None:
            engine = Engine(Settings(_env_file=None, index_dir=index))  # type: ignore[call-arg]
            collected = collect(engine, set_name, questions)
            args.rows_dir.mkdir(parents=True, exist_ok=True)
            cached.write_bytes(pickle.dumps(collected))
            rows += collected
            print(f"{set_name}: {len(questions)} questions collected")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--news-index", type=Path)
    parser.add_argument("--xquad-index", type=Path)
    parser.add_argument("--write-xquad", type=Path, help="write XQuAD's articles as JSONL, stop")
    parser.add_argument("--rows-dir", type=Path, default=Path("/tmp/citebot-answer-rows"))
    parser.add_argument(
        "--collect", action="store_true", help="collect again even if --rows exists"
    )
    args = parser.parse_args()
    squad = load_squad(SHARED / "xquad_en_dev.json")
    if args.write_xquad:
        write_articles_jsonl(args.write_xquad, squad.articles)
        return
    rows = load_rows(args, squad.questions)
    hits, best = cross_validate(rows)
    print(f"{FOLDS}-fold cross-validation, grouped by question; held-out figures:")
    for set_name, totals in sorted(hits.items()):
        print(f"  {set_name}: " + ", ".join(f"{k} {v:.3f}" for k, v in totals.items()))
    news = np.array([r.set_name == "news_dev" for r in rows])
    answerable = np.array([r.answerable for r in rows])
    if not news.any():
        return
    threshold = choose_threshold(best[news], answerable[news])
    precision, recall = abstention(best[news], answerable[news], threshold)
    print(
        f"abstention threshold {threshold:.3f} (news_dev, held-out scores): precision"
        f" {precision:.3f}, recall {recall:.3f}; answerable questions abstained on:"
        f" news_dev {float((best[news & answerable] < threshold).mean()):.3f},"
        f" xquad {float((best[~news] < threshold).mean()):.3f}"
    )
    for t in np.arange(0.30, 0.625, 0.025):
        p, r = abstention(best[news], answerable[news], t)
        missed_news = float((best[news & answerable] < t).mean())
        missed_xquad = float((best[~news] < t).mean())
        print(
            f"  threshold {t:.3f}: precision {p:.3f}, recall {r:.3f}; answerable abstained on:"
            f" news_dev {missed_news:.3f}, xquad {missed_xquad:.3f}"
        )
    weights, intercept = fit([r for r in rows if r.answerable])
    print("weights fitted on all answerable questions (index/answer.py WEIGHTS, INTERCEPT):")
    print(json.dumps(dict(zip(FEATURES, np.round(weights, 3).tolist(), strict=True)), indent=2))
    print(f"intercept {intercept:.3f}")


if __name__ == "__main__":
    main()
