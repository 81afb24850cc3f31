"""The reranking stage, with a stand-in for the model: what it reads, what it changes, that
it reads a question's ten best when the first stage is unsure, its best two when it is sure
of its choice (all ten when it rejects both) and none when it is sure nothing answers, and
that with the reranker off the engine answers with the first stage alone."""

from __future__ import annotations

import pytest

from index.answer import (
    FIRST_STAGE,
    RERANK_ALWAYS,
    RERANKED,
    RERANKED_STAGE,
    RERANKED_WHEN_SURE,
    ScoredSentence,
    reads_on,
    reranked_count,
)
from index.build import build_index
from index.config import Settings
from index.engine import Engine, RankedSentences
from index.errors import InputError
from index.rerank.model import Reranker
from index.rerank.pair import candidate_text
from tests.support.corpora import write_files
from tests.support.embedder import FakeEmbedder
from tests.support.judge import Judge

ARTICLES = {
    "ferry.txt": "Ferry service resumes\n\n"
    "The harbour ferry was stopped for a week. Officials met on Monday. "
    "The ferry will run again from Lisbon on Friday, the port authority said. "
    "Tickets cost five euros. Some riders complained about the delay. "
    "The mayor thanked the crews. Repairs took longer than planned. "
    "A new timetable starts in June. Cyclists may bring bikes. Dogs ride free. "
    "The old pier will be rebuilt. Fishermen welcomed the news. "
    "Night crossings stay suspended.",
    "bridge.txt": "Bridge closed for repairs\n\n"
    "The river bridge closed on Tuesday. Drivers must take the ferry instead. "
    "Engineers found cracks in two beams.",
}


@pytest.fixture
def ferry_index(settings: Settings, fake_embedder: FakeEmbedder) -> Settings:
    root = settings.index_dir.parent / "articles"
    write_files(root, ARTICLES)
    build_index([root], settings, embedder=fake_embedder)
    return settings


def _engine(
    settings: Settings, judge: Judge | None, band: tuple[float, float] = RERANK_ALWAYS
) -> Engine:
    updated = settings.model_copy(update={"reranker": judge is not None})
    return Engine(updated, embedder=FakeEmbedder(), reranker=judge, rerank_band=band)


QUESTION = "When will the harbour ferry run again?"


def test_off_scores_every_candidate_with_the_first_stage(ferry_index: Settings) -> None:
    ranked = _engine(ferry_index, None).rank_sentences(QUESTION)
    assert len(ranked.sentences) > RERANKED
    for sentence in ranked.sentences:
        assert "reranker" not in sentence.signals
        assert sentence.score == pytest.approx(FIRST_STAGE.probability(sentence.signals))


def test_on_reads_the_first_stage_best_with_their_context(ferry_index: Settings) -> None:
    first = _engine(ferry_index, None).rank_sentences(QUESTION)
    judge = Judge("Friday")
    ranked = _engine(ferry_index, judge).rank_sentences(QUESTION)
    assert {_span(s) for s in ranked.sentences} == {_span(s) for s in first.sentences[:RERANKED]}
    (question, read), *_ = judge.read
    assert question == QUESTION
    expected = []
    for sentence in first.sentences[:RERANKED]:
        candidate = sentence.candidate
        article = first.articles[candidate.article_id]
        before = article.text[slice(*candidate.before)] if candidate.before else ""
        quoted = article.text[candidate.start : candidate.end]
        expected.append(candidate_text(quoted, article.title, before))
    assert read == expected
    for sentence in ranked.sentences:
        assert sentence.score == pytest.approx(RERANKED_STAGE.probability(sentence.signals))
    scores = [sentence.score for sentence in ranked.sentences]
    assert scores == sorted(scores, reverse=True)


def test_the_judgement_moves_the_answering_sentence_first(ferry_index: Settings) -> None:
    answer = _engine(ferry_index, Judge("Friday")).ask(QUESTION)
    assert "Friday" in answer.answer[0].text
    # Judged the other way: a sentence the first stage ranks lower, without "Friday", first.
    first = _engine(ferry_index, None).rank_sentences(QUESTION)
    quotes = [_text(first, s) for s in first.sentences[1:RERANKED]]
    other = next(quote for quote in quotes if "Friday" not in quote)
    contrary = _engine(ferry_index, Judge(other)).ask(QUESTION)
    assert contrary.answer[0].text == other


def test_the_sentence_before_is_the_one_before_the_quote(ferry_index: Settings) -> None:
    judge = Judge("Friday")
    _engine(ferry_index, judge).rank_sentences(QUESTION)
    contexts = {text.split(" | ")[0]: text for text in judge.read[0][1]}
    friday = next(text for quote, text in contexts.items() if "Friday" in quote)
    assert friday == (
        "The ferry will run again from Lisbon on Friday, the port authority said."
        " | Ferry service resumes | Officials met on Monday."
    )


def test_a_question_below_the_band_is_not_reranked(ferry_index: Settings) -> None:
    first = _engine(ferry_index, None).rank_sentences(QUESTION)
    best = first.sentences[0].score
    judge = Judge("Friday")
    below = _engine(ferry_index, judge, (best + 0.01, 1.0)).rank_sentences(QUESTION)
    assert judge.read == []
    assert [(s.score, _span(s)) for s in below.sentences] == [
        (s.score, _span(s)) for s in first.sentences
    ]
    inside = _engine(ferry_index, judge, (best, best)).rank_sentences(QUESTION)
    assert len(judge.read) == 1
    assert len(judge.read[0][1]) == RERANKED
    assert all("reranker" in s.signals for s in inside.sentences)


def test_above_the_band_the_reranker_decides_between_the_best_two(
    ferry_index: Settings,
) -> None:
    first = _engine(ferry_index, None).rank_sentences(QUESTION)
    best, runner_up = first.sentences[:2]
    judge = Judge(_text(first, runner_up))
    above = _engine(ferry_index, judge, (0.0, best.score - 0.01)).rank_sentences(QUESTION)
    (_, read), *more = judge.read
    assert more == [] and len(read) == RERANKED_WHEN_SURE
    assert [_span(s) for s in above.sentences[:2]] == [_span(runner_up), _span(best)]
    read_scores = [s.score for s in above.sentences[:2]]
    assert all("reranker" in s.signals for s in above.sentences[:2])
    # The others follow in the first stage's order, none above those the reranker read.
    others = above.sentences[2:]
    assert [_span(s) for s in others] == [_span(s) for s in first.sentences[2:RERANKED]]
    for sentence, unread in zip(others, first.sentences[2:], strict=False):
        assert "reranker" not in sentence.signals
        assert sentence.score == pytest.approx(min(unread.score, min(read_scores)))


def test_above_the_band_rejecting_the_best_two_the_reranker_reads_all_ten(
    ferry_index: Settings,
) -> None:
    first = _engine(ferry_index, None).rank_sentences(QUESTION)
    best = first.sentences[0]
    # One of the others, a sentence as the reranker reads it (no title or paragraph break).
    other = next(s for s in first.sentences[2:RERANKED] if "\n" not in _text(first, s))
    judge = Judge(_text(first, other))
    above = _engine(ferry_index, judge, (0.0, best.score - 0.01)).rank_sentences(QUESTION)
    (_, two), (_, rest) = judge.read
    assert len(two) == RERANKED_WHEN_SURE and len(two) + len(rest) == RERANKED
    assert all("reranker" in s.signals for s in above.sentences)
    judged = {_span(s): s.signals["reranker"] for s in above.sentences}
    assert judged[_span(other)] == 4.0 and judged[_span(best)] == -4.0
    assert {_span(s) for s in above.sentences} == {_span(s) for s in first.sentences[:RERANKED]}


def test_reading_on_needs_a_sure_question_whose_best_two_both_fall() -> None:
    band = (0.1, 0.5)
    assert reads_on(RERANKED_WHEN_SURE, [0.3, 0.2], band)
    assert not reads_on(RERANKED_WHEN_SURE, [0.6, 0.2], band)  # the reranker keeps one
    assert not reads_on(RERANKED, [0.3] * 4, band)  # it was told to read them all already
    assert not reads_on(0, [], band)  # it was told to read none


def test_a_title_that_is_only_a_dateline_is_no_context() -> None:
    assert candidate_text("It sank.", "CNN —", "A ferry left.") == "It sank. | A ferry left."
    assert candidate_text("It sank.", " Seoul, South Korea CNN — ") == "It sank."
    assert candidate_text("It sank.", "Ferry sinks", "A ferry left.") == (
        "It sank. | Ferry sinks | A ferry left."
    )


def test_the_band_holds_both_its_ends() -> None:
    counts = [reranked_count(p, (0.1, 0.6)) for p in (0.05, 0.1, 0.3, 0.6, 0.61)]
    assert counts == [0, RERANKED, RERANKED, RERANKED, RERANKED_WHEN_SURE]


def test_no_model_is_one_line(tmp_path: pytest.TempPathFactory) -> None:
    with pytest.raises(InputError, match="CITEBOT_RERANKER=off"):
        Reranker(tmp_path)  # type: ignore[arg-type]


def _text(ranked: RankedSentences, sentence: ScoredSentence) -> str:
    candidate = sentence.candidate
    return ranked.articles[candidate.article_id].text[candidate.start : candidate.end]


def _span(sentence: ScoredSentence) -> tuple[str, int, int]:
    return sentence.candidate.article_id, sentence.candidate.start, sentence.candidate.end
