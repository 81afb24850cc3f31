"""Answers: the sentences that answer a question, quoted verbatim, with numbered citations.

Every quote is checked against the stored article text at the offsets its citation names,
using SQLite's own `substr` (an independent reading of the store), before it is shown. A
quote that fails the check is dropped and logged as a bug.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from index.reader import IndexReader
from index.records import (
    Answer,
    AnswerPart,
    Citation,
    StoredArticle,
    StoredPassage,
    citation_id,
)
from index.search import content_words

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A sentence of a retrieved passage, with its coverage of the question's words."""

    article_id: str
    passage_id: int
    start: int
    end: int
    coverage: float


@dataclass(frozen=True, slots=True)
class ScoredSentence:
    """A candidate sentence with its score and the meaning part of it (`dense`)."""

    candidate: Candidate
    score: float
    dense: float


MAX_QUOTES = 3
# Within this fraction of the best sentence's score, a sentence joins the answer.
QUOTE_SCORE_RATIO = 0.8
# One article gives at most this many quotes while another article is also relevant.
QUOTES_PER_ARTICLE = 2
# Weights of meaning (cosine) and coverage of the question's rare words in a sentence score.
DENSE_WEIGHT = 0.6
COVERAGE_WEIGHT = 0.4


def candidate_sentences(
    passages: Sequence[StoredPassage],
    articles: dict[str, StoredArticle],
    word_weights: dict[str, float],
) -> list[Candidate]:
    """Every sentence of `passages`, in retrieval order, with its coverage: the share of the
    question's word weight (rarer words weigh more) found in the sentence."""
    total_weight = sum(word_weights.values())
    candidates: list[Candidate] = []
    for passage in passages:
        text = articles[passage.article_id].text
        for start, end in passage.sentences:
            words = set(content_words(text[start:end]))
            covered = sum(w for word, w in word_weights.items() if _covers(words, word))
            coverage = covered / total_weight if total_weight else 0.0
            candidates.append(Candidate(passage.article_id, passage.id, start, end, coverage))
    return candidates


def shortlist(candidates: Sequence[Candidate], size: int) -> list[Candidate]:
    """The `size` candidates worth embedding: most coverage first, then retrieval order."""
    best = sorted(range(len(candidates)), key=lambda i: (-candidates[i].coverage, i))[:size]
    return [candidates[i] for i in sorted(best)]


def score_sentences(
    candidates: Sequence[Candidate],
    question_vector: NDArray[np.float32],
    sentence_vectors: NDArray[np.float32],
) -> list[ScoredSentence]:
    """Score candidates by meaning (cosine with the question) and coverage, best first.

    `sentence_vectors` holds one row per candidate, in the same order.
    """
    cosines = sentence_vectors @ question_vector if len(sentence_vectors) else np.zeros(0)
    scored = [
        ScoredSentence(
            candidate,
            score=DENSE_WEIGHT * float(cosine) + COVERAGE_WEIGHT * candidate.coverage,
            dense=float(cosine),
        )
        for candidate, cosine in zip(candidates, cosines, strict=True)
    ]
    scored.sort(key=lambda s: s.score, reverse=True)
    return scored


def _covers(sentence_words: set[str], word: str) -> bool:
    """A question word is in a sentence as itself or with a plural or possessive 's'."""
    return (
        word in sentence_words or f"{word}s" in sentence_words or word.rstrip("s") in sentence_words
    )


def word_weights(reader: IndexReader, question: str, cache: dict[str, float]) -> dict[str, float]:
    """Inverse document frequency of each content word of the question (rare words weigh more)."""
    total = max(reader.manifest.passages, 1)
    weights: dict[str, float] = {}
    for word in content_words(question):
        if word not in cache:
            frequency = reader.document_frequency(f'"{word}"')
            # Smoothed, so that on a small index one absent word cannot outweigh the rest.
            cache[word] = math.log(1 + total / (frequency + 1))
        weights[word] = cache[word]
    return weights


def select_quotes(scored: Sequence[ScoredSentence], min_score: float) -> list[ScoredSentence]:
    """The one to three best sentences, no two overlapping, not all from one article if
    another article also has a good one."""
    if not scored or scored[0].score < min_score:
        return []
    floor = max(min_score, scored[0].score * QUOTE_SCORE_RATIO)
    good = [s for s in scored if s.score >= floor]
    other_articles = len({s.candidate.article_id for s in good}) > 1
    chosen: list[ScoredSentence] = []
    per_article: dict[str, int] = {}
    for sentence in good:
        article_id = sentence.candidate.article_id
        if len(chosen) == MAX_QUOTES:
            break
        if other_articles and per_article.get(article_id, 0) >= QUOTES_PER_ARTICLE:
            continue
        if any(_same_text(sentence.candidate, c.candidate) for c in chosen):
            continue
        chosen.append(sentence)
        per_article[article_id] = per_article.get(article_id, 0) + 1
    return chosen


def _same_text(a: Candidate, b: Candidate) -> bool:
    return a.article_id == b.article_id and a.start < b.end and b.start < a.end


def compose_answer(
    question: str,
    chosen: Sequence[ScoredSentence],
    articles: dict[str, StoredArticle],
    reader: IndexReader,
) -> Answer:
    """Turn chosen sentences into verified quotes with numbered citations."""
    spans = [s.candidate for s in chosen]
    verified = reader.stored_spans([(s.article_id, s.start, s.end) for s in spans])
    answer = Answer(question=question, abstained=False)
    for sentence, scored, stored_text in zip(spans, chosen, verified, strict=True):
        article = articles[sentence.article_id]
        quote = article.text[sentence.start : sentence.end]
        if stored_text != quote:
            log.error(
                "BUG: quote does not match the stored text of %s at %d-%d; dropped",
                article.id,
                sentence.start,
                sentence.end,
            )
            continue
        number = len(answer.citations) + 1
        answer.citations.append(
            Citation(
                n=number,
                id=citation_id(article, sentence.start, sentence.end),
                article_id=article.id,
                title=article.title,
                source=article.source,
                published=article.published,
                url=article.url,
                paragraph=article.paragraph_of(sentence.start),
                start=sentence.start,
                end=sentence.end,
                quote=quote,
                score=round(scored.score, 4),
            )
        )
        answer.answer.append(AnswerPart(text=quote, citations=[number]))
    answer.abstained = not answer.answer
    return answer
