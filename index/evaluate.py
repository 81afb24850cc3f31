"""Evaluation data: SQuAD-format files as articles and questions with gold answers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from index.errors import InputError
from index.models import SourceArticle
from index.search import fold


@dataclass(frozen=True, slots=True)
class EvalQuestion:
    """A question, its gold answers (none: it should abstain) and the article it is about."""

    question: str
    answers: tuple[str, ...]
    article_id: str | None = None
    paragraph: int | None = None


@dataclass(frozen=True, slots=True)
class SquadSet:
    """A SQuAD file read as one article per title (paragraphs kept) and its questions."""

    articles: list[SourceArticle]
    questions: list[EvalQuestion]


def load_squad(path: Path) -> SquadSet:
    """Read a SQuAD v1/v2 JSON file; `InputError` when it is not one."""
    try:
        data = json.loads(path.read_text("utf-8"))["data"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InputError(f"{path} is not a SQuAD-format JSON file") from error
    articles: list[SourceArticle] = []
    questions: list[EvalQuestion] = []
    for entry in data:
        article_id = f"squad/{entry['title']}"
        paragraphs = entry["paragraphs"]
        articles.append(
            SourceArticle(
                id=article_id,
                title=entry["title"].replace("_", " "),
                text="\n\n".join(p["context"] for p in paragraphs),
                origin=f"{path}#{entry['title']}",
            )
        )
        for number, paragraph in enumerate(paragraphs, start=1):
            for qa in paragraph["qas"]:
                answers = () if qa.get("is_impossible") else tuple(a["text"] for a in qa["answers"])
                questions.append(EvalQuestion(qa["question"], answers, article_id, number))
    return SquadSet(articles, questions)


def contains_answer(texts: Sequence[str], answers: Sequence[str]) -> bool:
    """True when a gold answer appears in the texts, ignoring case and accents."""
    folded = fold(" ".join(texts))
    return any(fold(answer) in folded for answer in answers)
