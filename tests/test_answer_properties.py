"""Every quote is verbatim: random questions over random corpora, and hostile questions."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.build import build_index
from index.config import Settings
from index.engine import Engine
from index.errors import InputError
from index.records import Answer
from tests.support.embedder import FakeEmbedder

VOCABULARY = [
    "Pérez", "Calderón", "Mexico", "soldier", "border", "1.5", "20,000", "U.S.", "Mr.",
    "migrant", "photo", "viral", "tariffs", "\"quoted\"", "ADVERTISEMENT", "@everyone",
    "<@123>", "**bold**", "naïve", "Zürich", "東京", "😀", "NEAR", "AND", "NOT", "OR",
]  # fmt: skip
WORDS = st.sampled_from(VOCABULARY)
SENTENCES = st.lists(WORDS, min_size=1, max_size=12).map(lambda w: " ".join(w) + ".")
PARAGRAPHS = st.lists(SENTENCES, min_size=1, max_size=4).map(" ".join)
ARTICLES = st.lists(PARAGRAPHS, min_size=1, max_size=5).map("\n\n".join)
QUESTIONS = st.one_of(
    st.lists(WORDS, min_size=1, max_size=6).map(" ".join),
    st.text(min_size=1, max_size=60),
)

HOSTILE_QUESTIONS = [
    'who is "Lety Pérez',
    "perez*",
    "(lety OR perez",
    "title: perez",
    "-perez",
    "lety AND perez NOT soldier",
    "NEAR(lety perez)",
    "'; DROP TABLE articles; --",
    "perez\x00\x07",
    "@everyone who is <@123>?",
    "https://discord.gg/invite who?",
    "?!?!...",
    "😀😀😀",
    "¿Quién es Lety Pérez?",
    "Лети Перес",
]


def assert_verbatim(engine: Engine, answer: Answer) -> None:
    """Each quote is its citation's quote and the stored text at the citation's offsets."""
    reader = engine.reader()
    numbers = {citation.n: citation for citation in answer.citations}
    assert answer.abstained == (not answer.answer)
    for part in answer.answer:
        for number in part.citations:
            citation = numbers[number]
            article = reader.article(citation.article_id)
            assert article is not None
            assert part.text == citation.quote == article.text[citation.start : citation.end]
            assert citation.paragraph == article.paragraph_of(citation.start)
            assert engine.sources.source(citation.id).quote == citation.quote


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    articles=st.lists(ARTICLES, min_size=1, max_size=4), questions=st.lists(QUESTIONS, max_size=5)
)
def test_quotes_are_verbatim_for_random_questions_over_random_corpora(
    tmp_path_factory: pytest.TempPathFactory, articles: list[str], questions: list[str]
) -> None:
    root = tmp_path_factory.mktemp("corpus")
    for number, body in enumerate(articles):
        (root / f"{number}.txt").write_text(f"Article {number}\n\n{body}", "utf-8")
    settings_ = Settings(_env_file=None, index_dir=root / "index", min_score=0.0)  # type: ignore[call-arg]
    build_index([root], settings_, embedder=FakeEmbedder())
    engine = Engine(settings_, embedder=FakeEmbedder())
    for question in [*questions, *VOCABULARY[:5]]:
        try:
            answer = engine.ask(question)
        except InputError:
            assert not question.strip() or not any(c.isprintable() for c in question.strip())
            continue
        assert_verbatim(engine, answer)


@pytest.fixture
def seed_engine(seed_index: Settings, fake_embedder: FakeEmbedder) -> Engine:
    return Engine(seed_index.model_copy(update={"min_score": 0.0}), embedder=fake_embedder)


@pytest.mark.parametrize("question", HOSTILE_QUESTIONS)
def test_hostile_questions_are_plain_data(seed_engine: Engine, question: str) -> None:
    answer = seed_engine.ask(question)
    assert_verbatim(seed_engine, answer)
    assert seed_engine.search(question, k=3) is not None


@pytest.mark.parametrize("question", ["", "   ", "\n\t", "\x00\x01"])
def test_empty_question_is_refused_with_a_clear_message(seed_engine: Engine, question: str) -> None:
    with pytest.raises(InputError, match="question is empty"):
        seed_engine.ask(question)


def test_long_question_is_cut_with_a_notice(seed_engine: Engine) -> None:
    answer = seed_engine.ask("who is Lety Pérez " * 600)
    assert answer.notice is not None and "1,000 characters" in answer.notice
    assert len(answer.question) == 1_000
    assert_verbatim(seed_engine, answer)


def test_lety_perez_found_lexically_with_or_without_accents(seed_engine: Engine) -> None:
    accented = seed_engine.search("Lety Pérez", k=3, retriever="lexical")
    plain = seed_engine.search("lety perez", k=3, retriever="lexical")
    assert accented and [r.id for r in accented] == [r.id for r in plain]
    assert "Lety Pérez" in accented[0].text


def test_one_article_cannot_take_every_slot_when_another_is_relevant(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(
        "Harbour news\n\n"
        # A paragraph apart, so that no two of them run on into one quote.
        + "\n\nThe weather was mild.\n\n".join(
            f"The harbour bridge opened on day {n}." for n in range(6)
        ),
        "utf-8",
    )
    (corpus / "b.txt").write_text("Other news\n\nThe harbour bridge opened to cyclists.", "utf-8")
    settings_ = Settings(_env_file=None, index_dir=tmp_path / "index", min_score=0.0)  # type: ignore[call-arg]
    build_index([corpus], settings_, embedder=FakeEmbedder())
    answer = Engine(settings_, embedder=FakeEmbedder()).ask("harbour bridge opened")
    sources = [citation.article_id for citation in answer.citations]
    assert len(answer.citations) == 3
    assert sources.count("a.txt") <= 2 and "b.txt" in sources
