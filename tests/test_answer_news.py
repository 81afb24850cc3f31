"""Acceptance on real news (issue #11), with the real model: news-quiz questions of
../shared/data/news_dev, asked of their articles among other real articles of the same weeks.
Each answer's first quote holds the gold answer, though the sentence most like the question
does not name it ("those supermarket shelves", "the band", "near Santa Cruz")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.build import build_index
from index.config import Settings
from index.engine import Engine
from index.evaluate import contains_answer, load_questions_jsonl
from tests.support.paths import SHARED

pytestmark = pytest.mark.slow

NEWS_DEV = SHARED / "data" / "news_dev"
# Other articles of the same weeks indexed with the answering ones.
DISTRACTORS = 80
QUESTIONS = [
    "Supermarkets in France are struggling to stock which condiment, sparking outrage across"
    " the country.",
    "Which university recently issued an apology after it sent out 4,000 acceptance letters by"
    " mistake?",
    "Which band announced this week it’s dropping a new single and will reunite for a tour?",
    "Hurricane Roslyn made landfall in which country this week?",
]


@pytest.fixture(scope="module")
def news(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, dict[str, list[str]]]:
    """The engine over the answering articles and the distractors, and each question's gold
    answers."""
    asked = {q.question: q for q in load_questions_jsonl(NEWS_DEV / "questions.jsonl")}
    gold = {asked[question].article_id for question in QUESTIONS}
    lines = (NEWS_DEV / "articles.jsonl").read_text("utf-8").splitlines()
    answering = [line for line in lines if json.loads(line)["id"] in gold]
    others = [line for line in lines if json.loads(line)["id"] not in gold][:DISTRACTORS]
    root = tmp_path_factory.mktemp("news")
    source: Path = root / "articles.jsonl"
    source.write_text("\n".join(answering + others), "utf-8")
    settings = Settings(_env_file=None, index_dir=root / "index")  # type: ignore[call-arg]
    build_index([source], settings)
    return Engine(settings), {q: list(asked[q].answers) for q in QUESTIONS}


@pytest.mark.parametrize("question", QUESTIONS)
def test_the_first_quote_holds_the_answer_with_it_marked(
    news: tuple[Engine, dict[str, list[str]]], question: str
) -> None:
    engine, answers = news
    answer = engine.ask(question)
    assert not answer.abstained
    first = answer.answer[0]
    assert contains_answer([first.text], answers[question])
    assert first.highlight is not None
    start, end = first.highlight
    assert 0 <= start < end <= len(first.text)
    citation = answer.citations[0]
    article = engine.reader().article(citation.article_id)
    assert article is not None
    assert article.text[citation.start : citation.end] == first.text
