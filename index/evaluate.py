"""Measuring answers: questions with gold answers asked of an index, scored and timed.

Question files are SQuAD-format JSON (their contexts become the articles) or JSONL of
`{"question", "answers": [...], "article_id"?}`; a question without answers should be
abstained on. `evaluate_file` runs a whole `citebot eval`.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from index.build import build_index
from index.config import BACKENDS, RETRIEVERS, STORES, Backend, Retriever, Settings, Store
from index.engine import Engine
from index.errors import InputError
from index.interfaces import IndexSource
from index.records import EvalRun, RetrieverReport, SourceArticle
from index.rerank.model import shipped as reranker_shipped
from index.seam import open_reader
from index.words import fold

HIT_CUTOFFS = (1, 5, 10)


@dataclass(frozen=True, slots=True)
class EvalQuestion:
    """A question, its gold answers (none: it should abstain) and the article it is about."""

    question: str
    answers: tuple[str, ...]
    article_id: str | None = None
    paragraph: int | None = None
    asked_on: date | None = None


@dataclass(frozen=True, slots=True)
class SquadSet:
    """A SQuAD file read as one article per title (paragraphs kept) and its questions."""

    articles: list[SourceArticle]
    questions: list[EvalQuestion]


def load_squad(path: Path) -> SquadSet:
    """Read a SQuAD v1/v2 JSON file; `InputError` when it is not one."""
    try:
        return _squad_set(path, json.loads(path.read_text("utf-8"))["data"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        raise InputError(f"{path} is not a SQuAD-format JSON file") from error


def _squad_set(path: Path, data: list[dict[str, Any]]) -> SquadSet:
    """The articles and questions of SQuAD's `data` (errors of shape propagate)."""
    articles: list[SourceArticle] = []
    questions: list[EvalQuestion] = []
    for entry in data:
        title = str(entry["title"])
        article_id = f"squad/{title}"
        paragraphs = entry["paragraphs"]
        articles.append(
            SourceArticle(
                id=article_id,
                title=title.replace("_", " "),
                text="\n\n".join(str(p["context"]) for p in paragraphs),
                origin=f"{path}#{title}",
            )
        )
        for number, paragraph in enumerate(paragraphs, start=1):
            for qa in paragraph["qas"]:
                answers = (
                    () if qa.get("is_impossible") else tuple(str(a["text"]) for a in qa["answers"])
                )
                questions.append(EvalQuestion(str(qa["question"]), answers, article_id, number))
    if not questions:
        raise ValueError("no questions")
    return SquadSet(articles, questions)


def contains_answer(texts: Sequence[str], answers: Sequence[str]) -> bool:
    """True when a gold answer appears in the texts, ignoring case and accents."""
    folded = fold(" ".join(texts))
    return any(fold(answer) in folded for answer in answers)


def load_questions_jsonl(path: Path) -> list[EvalQuestion]:
    """Read `{"question", "answers": [...], "article_id"?}` lines; no answers: should abstain."""
    questions: list[EvalQuestion] = []
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path} cannot be read as UTF-8 text") from error
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            question = record["question"]
            answers = _answers(record.get("answers"), f"{path}:{number}")
        except (ValueError, KeyError, TypeError) as error:
            raise InputError(
                f'{path}:{number}: expected {{"question": ..., "answers": [...]}}'
            ) from error
        if not isinstance(question, str) or not question.strip():
            raise InputError(f"{path}:{number}: 'question' must be a non-empty string")
        article_id = record.get("article_id")
        questions.append(
            EvalQuestion(
                question,
                answers,
                str(article_id) if article_id else None,
                asked_on=_asked_on(record.get("asked_on"), f"{path}:{number}"),
            )
        )
    if not questions:
        raise InputError(f"{path} holds no questions")
    return questions


def _answers(value: object, where: str) -> tuple[str, ...]:
    """The "answers" of a question line: a list of non-blank strings (numbers are taken as
    their text); missing, null or empty: none. A string alone would be a list of its
    characters, and a blank answer is in every passage: `InputError`."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(
        isinstance(answer, str | int | float)
        and not isinstance(answer, bool)
        and str(answer).strip()
        for answer in value
    ):
        raise InputError(f"{where}: 'answers' must be a list of non-empty strings")
    return tuple(str(answer) for answer in value)


def _asked_on(value: object, where: str) -> date | None:
    """The optional "asked_on" of a question line: an ISO date (YYYY-MM-DD)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError as error:
        raise InputError(f"{where}: 'asked_on' must be a date like 2022-10-14") from error


def evaluate_file(
    file: Path,
    settings: Settings,
    *,
    index_given: bool,
    k: int = 10,
    compare: bool = False,
    progress: Callable[[str], None] | None = None,
) -> EvalRun:
    """Ask the questions of `file` and measure the answers.

    Questions are asked of `settings.index_dir` when `index_given` or when the file is JSONL;
    otherwise the contexts of the SQuAD file are indexed into a temporary index. `compare`
    measures every retriever, the configured one with the reranker switched the other way
    (`retriever:reranker-on` or `-off`, where a reranker model is installed) and, on a
    temporary index, every embedding backend and every store (their rows are named
    `retriever:backend` and `retriever:store`). `progress` hears what is being indexed.
    """
    retrievers: Sequence[Retriever] = RETRIEVERS if compare else [settings.retriever]
    reports: dict[str, RetrieverReport] = {}
    with tempfile.TemporaryDirectory(prefix="citebot-eval-") as scratch:
        corpus: Path | None = None
        if file.suffix.lower() == ".jsonl":
            questions = load_questions_jsonl(file)
        else:
            squad = load_squad(file)
            questions = squad.questions
            if index_given:
                questions = against_index(questions, open_reader(settings))
            else:
                corpus = Path(scratch) / "articles.jsonl"
                write_articles_jsonl(corpus, squad.articles)
        # (backend, store, row suffix): the configured ones first, named by retriever alone.
        variants: list[tuple[Backend, Store, str]] = [(settings.backend, settings.store, "")]
        if compare and corpus is not None:
            variants += [(b, settings.store, f":{b}") for b in BACKENDS if b != settings.backend]
            variants += [(settings.backend, s, f":{s}") for s in STORES if s != settings.store]
        for backend, store, suffix in variants:
            variant_settings = settings
            if corpus is not None:
                variant_settings = _scratch_settings(settings, Path(scratch), backend, store)
                if progress is not None:
                    progress(f"Indexing {file} with the {backend} backend in the {store} store ...")
                build_index([corpus], variant_settings)
            engine = Engine(variant_settings)
            engine.warm_up()
            for name in retrievers:
                # Lexical search embeds nothing: one row per store is enough.
                if not suffix or name != "lexical" or store != settings.store:
                    reports[name + suffix] = evaluate_retriever(engine, questions, name, k)
            if compare and not suffix and (settings.reranker or reranker_shipped()):
                # The configured retriever with the reranker switched the other way.
                toggled = not settings.reranker
                other = Engine(variant_settings.model_copy(update={"reranker": toggled}))
                other.warm_up()
                row = f"{settings.retriever}:reranker-{'on' if toggled else 'off'}"
                reports[row] = evaluate_retriever(other, questions, settings.retriever, k)
    return EvalRun(questions=len(questions), backend=settings.backend, reports=reports)


def _scratch_settings(
    settings: Settings, scratch: Path, backend: Backend, store: Store
) -> Settings:
    """Settings for a temporary index in `scratch`: a directory, or a Milvus Lite file there
    (never the configured Milvus, whose index it would replace)."""
    return settings.model_copy(
        update={
            "index_dir": scratch / f"{backend}-{store}",
            "backend": backend,
            "store": store,
            "milvus_uri": str(scratch / "milvus.db"),
            "milvus_collection": f"eval_{backend.replace('-', '_')}",
        }
    )


def against_index(questions: Sequence[EvalQuestion], reader: IndexSource) -> list[EvalQuestion]:
    """SQuAD questions as they stand against an index that may not hold their articles: a
    question whose article is missing is answerable when a gold answer occurs in some indexed
    article (any article may then answer it), and must be abstained on otherwise."""
    indexed = set(reader.article_hashes())
    folded_texts = "\n".join(fold(text) for text in reader.article_texts())
    result: list[EvalQuestion] = []
    for question in questions:
        if question.article_id is None or question.article_id in indexed:
            result.append(question)
        elif any(fold(answer) in folded_texts for answer in question.answers):
            result.append(EvalQuestion(question.question, question.answers))
        else:
            result.append(EvalQuestion(question.question, ()))
    return result


def write_articles_jsonl(path: Path, articles: Sequence[SourceArticle]) -> None:
    """Write articles as `citebot build` reads them from JSONL (id, title, text)."""
    path.write_text(
        "".join(
            json.dumps({"id": a.id, "title": a.title, "text": a.text}) + "\n" for a in articles
        ),
        "utf-8",
    )


def evaluate_retriever(
    engine: Engine, questions: Sequence[EvalQuestion], retriever: Retriever, k: int = 10
) -> RetrieverReport:
    """Ask every question with one retriever and measure passages found and quotes given."""
    reader = engine.reader()
    reciprocal_ranks: list[float] = []
    hit_counts = dict.fromkeys(HIT_CUTOFFS, 0)
    quoted_first = quoted_three = 0
    abstained_right = abstained_wrong = answered_wrong = 0
    latencies: list[float] = []
    for question in questions:
        answer = engine.ask(question.question, retriever=retriever, asked_on=question.asked_on)
        latencies.append(answer.took_ms)
        if not question.answers:
            abstained_right += answer.abstained
            answered_wrong += not answer.abstained
            continue
        abstained_wrong += answer.abstained
        quotes = [part.text for part in answer.answer]
        quoted_first += contains_answer(quotes[:1], question.answers)
        quoted_three += contains_answer(quotes[:3], question.answers)
        rank = _gold_rank(engine, reader, question, retriever, k)
        reciprocal_ranks.append(1.0 / rank if rank and rank <= 10 else 0.0)
        for cutoff in HIT_CUTOFFS:
            hit_counts[cutoff] += bool(rank and rank <= cutoff)
    answerable = max(len(reciprocal_ranks), 1)
    has_unanswerable = abstained_right + answered_wrong > 0
    abstained = abstained_right + abstained_wrong
    return RetrieverReport(
        questions=len(questions),
        hits={cutoff: count / answerable for cutoff, count in hit_counts.items()},
        mrr_at_10=sum(reciprocal_ranks) / answerable,
        answer_at_1=quoted_first / answerable,
        answer_at_3=quoted_three / answerable,
        abstain_precision=(abstained_right / abstained if abstained else 0.0)
        if has_unanswerable
        else None,
        abstain_recall=abstained_right / (abstained_right + answered_wrong)
        if has_unanswerable
        else None,
        p50_ms=float(np.percentile(latencies, 50)),
        p95_ms=float(np.percentile(latencies, 95)),
    )


def _gold_rank(
    engine: Engine,
    reader: IndexSource,
    question: EvalQuestion,
    retriever: Retriever,
    k: int,
) -> int | None:
    """Rank (1-based) of the first retrieved passage holding a gold answer, or None."""
    text, _ = engine.clean_question(question.question)
    fused, _, _ = engine.retrieve(text, retriever, k)
    passages = reader.passages(fused.ids.tolist()) if len(fused.ids) else {}
    articles = reader.articles(sorted({p.article_id for p in passages.values()}))
    for rank, passage_id in enumerate(fused.ids.tolist(), start=1):
        passage = passages[passage_id]
        if question.article_id and passage.article_id != question.article_id:
            continue
        if question.paragraph and not (
            passage.paragraph_first <= question.paragraph <= passage.paragraph_last
        ):
            continue
        body = articles[passage.article_id].text[passage.start : passage.end]
        if contains_answer([body], question.answers):
            return rank
    return None
