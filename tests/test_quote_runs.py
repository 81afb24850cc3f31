"""Quotes that run on in their article are shown as one quote (`index.answer.joined_runs`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.answer import Candidate, ScoredSentence, joined_runs, select_quotes
from index.build import build_index
from index.config import Settings
from index.engine import Engine
from index.evaluate import load_squad, write_articles_jsonl
from index.records import StoredArticle
from tests.support.paths import XQUAD

FIRST = "Peyton Manning is the oldest quarterback to play in a Super Bowl."
SECOND = "The past record was held by John Elway."
THIRD = "Elway was 38."
OTHER_PARAGRAPH = "Denver won the game."


def _article(article_id: str = "a") -> StoredArticle:
    paragraph = f"{FIRST} {SECOND} {THIRD}"
    text = f"{paragraph}\n\n{OTHER_PARAGRAPH}"
    return StoredArticle(
        id=article_id,
        key=article_id,
        title="Super Bowl",
        text=text,
        paragraphs=((0, len(paragraph)), (len(paragraph) + 2, len(text))),
        url=None,
        published=None,
        source=None,
        author=None,
        metadata={},
        content_hash="",
    )


def _sentence(
    sentence: str,
    score: float,
    article: StoredArticle,
    highlight: tuple[int, int] | None = None,
) -> ScoredSentence:
    start = article.text.index(sentence)
    candidate = Candidate(article.id, 0, start, start + len(sentence), 0, {}, highlight, None)
    return ScoredSentence(candidate, score, {})


def _quotes(joined: list[ScoredSentence], article: StoredArticle) -> list[str]:
    return [article.text[s.candidate.start : s.candidate.end] for s in joined]


def test_the_next_sentence_joins_the_better_one_in_article_order() -> None:
    article = _article()
    elway = article.text.index("John Elway")
    chosen = [
        _sentence(SECOND, 0.6, article, (elway, elway + len("John Elway"))),
        _sentence(FIRST, 0.5, article),
        _sentence(OTHER_PARAGRAPH, 0.4, article),
    ]

    joined = joined_runs(chosen, {"a": article})

    assert _quotes(joined, article) == [f"{FIRST} {SECOND}", OTHER_PARAGRAPH]
    assert joined[0].score == 0.6
    assert joined[0].candidate.highlight == (elway, elway + len("John Elway"))


def test_a_sentence_between_two_quotes_joins_all_three() -> None:
    article = _article()
    chosen = [_sentence(THIRD, 0.7, article), _sentence(FIRST, 0.6, article)]
    chosen.append(_sentence(SECOND, 0.5, article))

    assert _quotes(joined_runs(chosen, {"a": article}), article) == [f"{FIRST} {SECOND} {THIRD}"]


def test_quotes_apart_in_their_paragraph_stay_apart() -> None:
    article = _article()
    chosen = [_sentence(THIRD, 0.7, article), _sentence(FIRST, 0.6, article)]

    assert _quotes(joined_runs(chosen, {"a": article}), article) == [THIRD, FIRST]


def test_the_next_paragraph_runs_on_but_another_article_does_not() -> None:
    article, twin = _article("a"), _article("b")
    across_paragraphs = [_sentence(OTHER_PARAGRAPH, 0.7, article), _sentence(THIRD, 0.6, article)]
    across_articles = [_sentence(FIRST, 0.7, article), _sentence(SECOND, 0.6, twin)]

    joined = joined_runs(across_paragraphs, {"a": article})
    assert _quotes(joined, article) == [f"{THIRD}\n\n{OTHER_PARAGRAPH}"]
    assert len(joined_runs(across_articles, {"a": article, "b": twin})) == 2


def test_a_weaker_sentence_is_quoted_only_as_the_context_of_a_quote_it_runs_on_from() -> None:
    article = _article()
    scored = [
        _sentence(FIRST, 0.8, article),
        _sentence(OTHER_PARAGRAPH, 0.3, article),
        _sentence(SECOND, 0.3, article),
        _sentence(THIRD, 0.1, article),
    ]

    quotes = select_quotes(scored, 0.2, {"a": article})

    # Below half the best's probability, SECOND runs on from FIRST and OTHER_PARAGRAPH does
    # not; THIRD runs on too, but is below the threshold.
    assert _quotes(quotes, article) == [f"{FIRST} {SECOND}"]


def test_a_sentence_another_quote_already_says_is_not_quoted_again() -> None:
    # A story reprinted under another title, and a sentence a longer one quotes whole.
    article, reprint = _article("a"), _article("b")
    articles = {"a": article, "b": reprint}
    scored = [
        _sentence(FIRST, 0.8, article),
        _sentence(FIRST, 0.8, reprint),
        _sentence(OTHER_PARAGRAPH, 0.6, reprint),
    ]
    within = _sentence(f"{FIRST} {SECOND}", 0.9, article)

    quotes = select_quotes(scored, 0.2, articles)
    longer_first = select_quotes([within, scored[1], scored[2]], 0.2, articles)

    assert [(q.candidate.article_id, _quotes([q], article)[0]) for q in quotes] == [
        ("a", FIRST),
        ("b", OTHER_PARAGRAPH),
    ]
    assert [q.candidate.article_id for q in longer_first] == ["a", "b"]
    assert _quotes(longer_first[1:], reprint) == [OTHER_PARAGRAPH]


@pytest.mark.slow
def test_the_real_model_shows_the_restating_and_the_answering_sentence_as_one_quote(
    tmp_path: Path,
) -> None:
    squad = load_squad(XQUAD)
    super_bowl = next(a for a in squad.articles if "Super Bowl" in a.title)
    corpus = tmp_path / "super_bowl.jsonl"
    write_articles_jsonl(corpus, [super_bowl])
    settings = Settings(_env_file=None, index_dir=tmp_path / "index")  # type: ignore[call-arg]
    build_index([corpus], settings)

    engine = Engine(settings)
    answer = engine.ask(
        "Who previously held the record for being the oldest quarterback to play in a Super Bowl?"
    )

    first, citation = answer.answer[0].text, answer.citations[0]
    assert "oldest quarterback ever to play in a Super Bowl" in first
    assert "The past record was held by John Elway" in first
    article = engine.reader().article(citation.article_id)
    assert article is not None and article.text[citation.start : citation.end] == first
