"""A name quoted short, given in full: "Hurts and the Philadelphia Eagles have agreed on a
five-year, $255 million deal" answers "which quarterback ...?" without saying who Hurts is;
the article's sentence before it does ("Jalen Hurts is feeling the love ..."), as news names
someone in full once and by the last name after. Where the sentence right before a quote
(in its passage, or ending the paragraph before) names its answer in full, the quote starts
there and marks the full name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

from index.answer import ScoredSentence
from index.phrases import PhraseKind, find_phrases
from index.profile import person_span
from index.records import Expects, Span, StoredArticle
from index.segment import sentence_spans
from index.words import fold

# The questions whose answer is a name a quote may give short: who, which team or company.
_ASKS_FOR_A_NAME = frozenset({Expects.PERSON, Expects.NAME})
# A word of a name as written: the characters between spaces ("Hurts’", "O’Neal").
_WRITTEN_WORD = re.compile(r"\S+")


def named_in_full(
    chosen: Sequence[ScoredSentence], articles: Mapping[str, StoredArticle], expects: Expects
) -> list[ScoredSentence]:
    """`chosen` with each quote whose answering phrase is one capitalised word ("Hurts",
    "Bucks"), and that does not name it in full itself, starting at the sentence before it
    when that sentence names the same in full ("Jalen Hurts", "The Milwaukee Bucks"), the
    full name marked; for a question that asks for a person or a name (not a place: "Texas"
    is no short "West Texas")."""
    if expects not in _ASKS_FOR_A_NAME:
        return list(chosen)
    return [_with_full_name(scored, articles[scored.candidate.article_id]) for scored in chosen]


def _with_full_name(scored: ScoredSentence, article: StoredArticle) -> ScoredSentence:
    """`scored` quoted from the sentence before it, if that names its answer in full."""
    candidate = scored.candidate
    short = article.text[slice(*candidate.highlight)] if candidate.highlight else ""
    if len(short.split()) != 1 or not short[:1].isupper():
        return scored
    if full_name_in(article.text, (candidate.start, candidate.end), short) is not None:
        return scored  # the quote names it in full itself
    before = candidate.before or _last_sentence_before(article, candidate.start)
    if before is None:
        return scored
    full = full_name_in(article.text, before, short)
    if full is None:
        return scored
    extended = replace(candidate, start=before[0], highlight=full, before=None)
    return replace(scored, candidate=extended)


def _last_sentence_before(article: StoredArticle, start: int) -> Span | None:
    """For a quote that opens a paragraph (and its passage), the last sentence of the
    paragraph before ("Jodie Comer wins best actress for harrowing 'Prima Facie'" above
    "Comer, who shot to fame ..."), else None."""
    number = article.paragraph_of(start)
    if number < 2 or article.paragraphs[number - 1][0] != start:
        return None
    sentences = sentence_spans(article.text, *article.paragraphs[number - 2])
    return sentences[-1] if sentences else None


def full_name_in(text: str, sentence: Span, short: str) -> Span | None:
    """The span (in `text`) of a name of two words or more in `text[sentence]` that ends with
    the word `short` and has it as the last of a person's or a thing's name ("Jalen Hurts",
    "Milwaukee Bucks"; without a title or an opening "The" before it), or None."""
    start, end = sentence
    words_of_sentence = text[start:end]
    for phrase in find_phrases(words_of_sentence):
        if phrase.kind is not PhraseKind.NAME:
            continue
        words = list(_WRITTEN_WORD.finditer(words_of_sentence, phrase.start, phrase.end))
        if len(words) < 2 or fold(words[-1].group()) != fold(short):
            continue
        last = words[-1]
        span = person_span(words_of_sentence, phrase.start, phrase.end, last.start(), last.end())
        if span is not None and span[0] < last.start():
            return start + span[0], start + span[1]
    return None
