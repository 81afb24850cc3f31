"""Fit the answer scorer's weights (index/answer.py FIRST_STAGE, or RERANKED_STAGE with the
reranker on) and the abstention threshold.

Every development question is asked of its index; each candidate sentence of the best
passages becomes one row of signals, labelled by whether it holds a gold answer (never, for
a question no article answers). A logistic model is fitted with each question set carrying
a fixed share of the fit (`SET_SHARES`), and judged by grouped cross-validation (no
question in both the fitted and the judged part): answer@1 and answer@3, and abstention
precision and recall at each threshold from each question's best held-out score.

    python -m bench.fit_answer_weights --news-index IDX --xquad-index IDX

IDX for news_dev: `citebot build seeds ../shared/data/news_dev/articles.jsonl --index IDX`;
for XQuAD among BBC: the XQuAD articles (`-m bench.fit_answer_weights --write-xquad FILE`) and
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

from index.answer import (
    FIRST_STAGE,
    RERANK_ALWAYS,
    RERANK_BAND,
    RERANKED,
    RERANKED_STAGE,
    Scorer,
    reads_on,
    reranked_count,
)
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
L2 = 1.0
# The share of the fit each set's rows carry together (docs/calibration.md: chosen by the
# held-out figures; XQuAD's 632 answerable questions against news_dev's 56 and 120).
SET_SHARES = {"news_dev": 0.3, "xquad": 0.7}


@dataclass
class QuestionRows:
    """The candidate rows of one question."""

    set_name: str
    question: str
    answerable: bool
    signals: NDArray[np.float64]  # candidates x features
    labels: NDArray[np.float64]  # 1 where the sentence holds a gold answer


def collect(
    engine: Engine, stage: Scorer, set_name: str, questions: list[EvalQuestion]
) -> list[QuestionRows]:
    """One row per candidate sentence of each question: the signals `stage` reads."""
    rows: list[QuestionRows] = []
    for question in questions:
        ranked = engine.rank_sentences(question.question, asked_on=question.asked_on)
        signals, labels = [], []
        for sentence in ranked.sentences:
            candidate = sentence.candidate
            signals.append([sentence.signals[name] for name in stage.features])
            text = ranked.articles[candidate.article_id].text[candidate.start : candidate.end]
            labels.append(
                float(bool(question.answers) and contains_answer([text], question.answers))
            )
        rows.append(
            QuestionRows(
                set_name,
                question.question,
                bool(question.answers),
                np.asarray(signals, dtype=np.float64).reshape(-1, len(stage.features)),
                np.asarray(labels, dtype=np.float64),
            )
        )
    return rows


def fit(rows: list[QuestionRows]) -> tuple[NDArray[np.float64], float]:
    """L2-regularised logistic regression by Newton's method; each set's rows carry its
    `SET_SHARES` of the fit."""
    sets = {r.set_name for r in rows}
    per_set = {name: sum(len(r.labels) for r in rows if r.set_name == name) for name in sets}
    x = np.vstack([r.signals for r in rows])
    y = np.concatenate([r.labels for r in rows])
    w = np.concatenate(
        [np.full(len(r.labels), SET_SHARES[r.set_name] / per_set[r.set_name]) for r in rows]
    )
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
    """What `ask` would score: each candidate's probability."""
    return np.asarray(1.0 / (1.0 + np.exp(-(rows.signals @ weights + intercept))))


@dataclass
class Figures:
    """What `citebot eval` reports, from held-out scores at one threshold."""

    answer_at_1: float
    answer_at_3: float
    abstain_precision: float
    abstain_recall: float

    def __str__(self) -> str:
        return (
            f"answer@1 {self.answer_at_1:.3f}, answer@3 {self.answer_at_3:.3f},"
            f" abstain precision {self.abstain_precision:.3f},"
            f" recall {self.abstain_recall:.3f}"
        )


def figures(
    rows: list[QuestionRows], held_out: list[NDArray[np.float64]], threshold: float
) -> Figures:
    """answer@1 / @3 of the answerable questions (abstaining counts as wrong) and abstention
    precision / recall, abstaining when a question's best score is below `threshold`."""
    first = three = abstained_right = abstained = 0
    for r, s in zip(rows, held_out, strict=True):
        answered = bool(len(s)) and float(s.max()) >= threshold
        abstained += not answered
        abstained_right += not answered and not r.answerable
        if answered and r.answerable:
            order = np.argsort(-s, kind="stable")
            first += bool(r.labels[order[0]])
            three += bool(r.labels[order[:3]].any())
    answerable = max(sum(r.answerable for r in rows), 1)
    unanswerable = sum(not r.answerable for r in rows)
    return Figures(
        first / answerable,
        three / answerable,
        abstained_right / abstained if abstained else 0.0,
        abstained_right / unanswerable if unanswerable else 0.0,
    )


def cross_validate(rows: list[QuestionRows]) -> list[NDArray[np.float64]]:
    """Each question's candidate scores by the model fitted on the folds that do not hold it."""
    fold_of = np.random.default_rng(0).permutation(len(rows)) % FOLDS
    held_out: list[NDArray[np.float64]] = [np.zeros(0)] * len(rows)
    for fold in range(FOLDS):
        weights, intercept = fit([r for r, f in zip(rows, fold_of, strict=True) if f != fold])
        for i in np.flatnonzero(fold_of == fold):
            held_out[i] = scores(rows[i], weights, intercept)
    return held_out


def load_rows(args: argparse.Namespace, squad_questions: list[EvalQuestion]) -> list[QuestionRows]:
    """Each set's rows, collected from its index, or read back from `--rows-dir` when they
    were collected before (and `--collect` is not given)."""
    news_questions = load_questions_jsonl(SHARED / "news_dev" / "questions.jsonl")
    rows: list[QuestionRows] = []
    for set_name, index, questions in (
        ("news_dev", args.news_index, news_questions),
        ("xquad", args.xquad_index, squad_questions),
    ):
        cached = args.rows_dir / f"{set_name}-reranker-{args.reranker}.pickle"
        if cached.exists() and not args.collect:
            rows += pickle.loads(cached.read_bytes())
        elif index is not None:
            settings = Settings(  # type: ignore[call-arg]
                _env_file=None, index_dir=index, reranker=args.reranker == "on"
            )
            engine = Engine(settings, rerank_band=RERANK_ALWAYS)
            collected = collect(engine, stage(args), set_name, questions)
            args.rows_dir.mkdir(parents=True, exist_ok=True)
            cached.write_bytes(pickle.dumps(collected))
            rows += collected
            print(f"{set_name}: {len(questions)} questions collected")
    return rows


def stage(args: argparse.Namespace) -> Scorer:
    """The scorer the fit is for: the second stage with the reranker on, else the first."""
    return RERANKED_STAGE if args.reranker == "on" else FIRST_STAGE


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--news-index", type=Path)
    parser.add_argument("--xquad-index", type=Path)
    parser.add_argument("--write-xquad", type=Path, help="write XQuAD's articles as JSONL, stop")
    parser.add_argument("--rows-dir", type=Path, default=Path("/tmp/citebot-answer-rows"))
    parser.add_argument(
        "--reranker", choices=("on", "off"), default="on", help="fit the stage it answers with"
    )
    parser.add_argument(
        "--collect", action="store_true", help="collect again even if --rows-dir has them"
    )
    parser.add_argument(
        "--reranked",
        type=int,
        default=RERANKED,
        help="score as if the reranker read only the first stage's best N (at most RERANKED)",
    )
    parser.add_argument(
        "--band",
        type=float,
        nargs=2,
        default=RERANK_BAND,
        metavar=("LOW", "HIGH"),
        help="score as the engine does, reranking a question only when the first stage's"
        " best is within LOW..HIGH (0 1: every question)",
    )
    args = parser.parse_args()
    squad = load_squad(SHARED / "xquad_en_dev.json")
    if args.write_xquad:
        write_articles_jsonl(args.write_xquad, squad.articles)
        return
    rows = load_rows(args, squad.questions)
    if args.reranker == "on":
        rows = [first_stage_best_of(second_stage_rows(r), args.reranked) for r in rows]
    held_out = cross_validate(rows)
    if args.reranker == "on":
        held_out = [
            as_the_engine_scores(r, s, args.band) for r, s in zip(rows, held_out, strict=True)
        ]
        for set_name in sorted({r.set_name for r in rows}):
            asked = [r for r in rows if r.set_name == set_name]
            counts = [reranked_count(first_stage_best(r), args.band) for r in asked]
            print(
                f"{set_name}: of {len(asked)} questions, {counts.count(RERANKED)} reranked,"
                f" {sum(0 < c < RERANKED for c in counts)} decided between the best two"
                f" (band {args.band})"
            )
    print(f"{FOLDS}-fold cross-validation, grouped by question; held-out figures:")
    for threshold in (0.0, *np.arange(0.1, 0.625, 0.05)):
        print(f"  threshold {threshold:.2f}")
        for set_name in sorted({r.set_name for r in rows}):
            part = [i for i, r in enumerate(rows) if r.set_name == set_name]
            found = figures([rows[i] for i in part], [held_out[i] for i in part], threshold)
            print(f"    {set_name}: {found}")
    weights, intercept = fit(rows)
    print(f"weights fitted on all questions (index/answer.py, reranker {args.reranker}):")
    if args.reranker == "on":
        first, reranker = weights.tolist()
        print(f"  first-stage logit x {first:.3f} + reranker logit x {reranker:.3f}")
        expanded = {name: first * w for name, w in FIRST_STAGE.weights.items()}
        weights = np.array([*expanded.values(), reranker])
        intercept = first * FIRST_STAGE.intercept + intercept
    features = stage(args).features
    print(json.dumps(dict(zip(features, np.round(weights, 3).tolist(), strict=True)), indent=2))
    print(f"intercept {intercept:.3f}")


def first_stage_scores(rows: QuestionRows) -> NDArray[np.float64]:
    """The first stage's probability for each of a question's second-stage rows."""
    return np.asarray(1.0 / (1.0 + np.exp(-rows.signals[:, 0])))


def first_stage_best(rows: QuestionRows) -> float:
    """The first stage's best probability among a question's second-stage rows."""
    return float(first_stage_scores(rows).max()) if len(rows.labels) else 0.0


def first_stage_best_of(rows: QuestionRows, count: int) -> QuestionRows:
    """A question's second-stage rows as if the reranker read only the first stage's best
    `count` candidates."""
    kept = np.argsort(-rows.signals[:, 0], kind="stable")[:count]
    return QuestionRows(
        rows.set_name, rows.question, rows.answerable, rows.signals[kept], rows.labels[kept]
    )


def as_the_engine_scores(
    rows: QuestionRows, held_out: NDArray[np.float64], band: tuple[float, float]
) -> NDArray[np.float64]:
    """A question's scores as the engine gives them with `band` (its rows in the first
    stage's order): the second stage's for the candidates the reranker reads
    (`reranked_count`, `reads_on`), the first stage's own for the others, each at most the
    lowest of those read."""
    count = reranked_count(first_stage_best(rows), band) if len(rows.labels) else 0
    if not count:
        return first_stage_scores(rows)
    if reads_on(count, held_out[:count].tolist(), band):
        count = len(held_out)
    read = held_out[:count]
    return np.concatenate([read, np.minimum(first_stage_scores(rows)[count:], read.min())])


def second_stage_rows(rows: QuestionRows) -> QuestionRows:
    """The second stage's two signals of each reranked candidate: the first stage's logit
    and the reranker's. Refitting every signal beside the reranker's held out worse on
    news_dev (56 questions are few for 15 weights: docs/reranker.md); weighing the first
    stage as one does not."""
    first = np.array([FIRST_STAGE.weights[name] for name in FIRST_STAGE.features])
    logits = rows.signals[:, :-1] @ first + FIRST_STAGE.intercept
    signals = np.stack([logits, rows.signals[:, -1]], axis=1)
    return QuestionRows(rows.set_name, rows.question, rows.answerable, signals, rows.labels)


if __name__ == "__main__":
    main()
