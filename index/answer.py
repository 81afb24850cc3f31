"""Answers: the sentences that answer a question, quoted verbatim, with numbered citations.

Each sentence of the best passages is a candidate (a question only with the answer after
it: `asks`), judged in its context by signals that a logistic model weighs (`FIRST_STAGE`,
fitted on development questions by bench/fit_answer_weights.py; docs/calibration.md has the
folds and figures):

- `dense`: the cosine of the question and the sentence as the model read it within its
  passage and under its article's title (pooled from the passage's token vectors when the
  article was indexed, so a question needs one model call);
- `coverage`: the share of the question's content-word weight (rarer words weigh more) in
  the sentence, words compared by their stems (`index.stems`), and `context_coverage` in
  the sentence with its article's title and its neighbouring sentences, so "the photo" can
  lean on a title that names it;
- `passage_dense` and `article_rank`: the cosine of the question and the sentence's passage,
  and the rank of its article among those retrieval found;
- `new_words`: the share of its words the question does not contain (a sentence that repeats
  the question does not answer it);
- `type_match` / `type_missing`: whether it carries a phrase of the kind the question asks
  for (`index.question`, `index.phrases`) that the question does not already contain;
  `answer_beside`: whether, lacking one, a neighbouring sentence of its passage carries it
  ("'Squid Game' is coming back." before "Netflix announced that the show is green lit"):
  the two are then quoted together, so the quote holds what answers;
- `lead`: how early in its article it stands (news puts the answer first);
- `dense_gap` and `coverage_gap`: how far its cosine and coverage fall short of the best
  candidate's for the same question;
- `age`: how much older its article is than the newest article the index holds by the day
  the question is asked (`article_age`; news questions are about the news of their day).

With the reranker on (CITEBOT_RERANKER), the first stage's best candidates (ten when it is
unsure, two when it is sure of its choice: `reranked_count`; ten when it rejects both of
those: `reads_on`) are read again by a
cross-encoder that sees the question with the sentence, its title and the sentence before
(`index.rerank`), and a second logistic model (`RERANKED_STAGE`) weighs its judgement with
the signals above. The score is the model's probability that the sentence answers; below the
abstention threshold (CITEBOT_MIN_SCORE) nothing is quoted. The answering phrase is marked in
the quote.

Every quote is checked against the stored article text at the offsets its citation names,
using SQLite's own `substr` (an independent reading of the store), before it is shown. A
quote that fails the check is dropped and logged as a bug.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
from numpy.typing import NDArray

from index.interfaces import IndexSource
from index.lru import LeastRecentlyUsed
from index.phrases import (
    ANSWERING_KINDS,
    Phrase,
    PhraseKind,
    counts_in,
    find_phrases,
    is_quoted_title,
    modifies,
    names_within_sentences,
    new_phrases,
)
from index.places import is_place, place_kind
from index.records import (
    Answer,
    AnswerPart,
    Citation,
    Expects,
    Question,
    Span,
    StoredArticle,
    StoredPassage,
    Unit,
    citation_id,
    published_day,
)
from index.rerank.model import Judge
from index.rerank.pair import candidate_text
from index.words import content_stems, fold, split_words, stem_weights

log = logging.getLogger(__name__)

MAX_QUOTES = 3
# Within this fraction of the best sentence's score, a sentence joins the answer.
QUOTE_SCORE_RATIO = 0.5
# One article gives at most this many quotes while another article is also relevant.
QUOTES_PER_ARTICLE = 2


@dataclass(frozen=True, slots=True)
class Scorer:
    """A logistic model of the signals: the weight of each, and the intercept."""

    weights: Mapping[str, float]
    intercept: float

    @property
    def features(self) -> tuple[str, ...]:
        """The signals it reads, in order."""
        return tuple(self.weights)

    def probability(self, signals: Mapping[str, float]) -> float:
        """The probability that a sentence with these signals answers."""
        z = self.intercept + sum(weight * signals[name] for name, weight in self.weights.items())
        return 1.0 / (1.0 + math.exp(-z))


# The first stage: every candidate by the signals above. Fitted by bench/fit_answer_weights.py
# with cross-validation (docs/calibration.md); alone, it is what CITEBOT_RERANKER=off answers.
FIRST_STAGE = Scorer(
    {
        "dense": 2.028,
        "coverage": 1.848,
        "context_coverage": 2.381,
        "passage_dense": 0.154,
        "article_rank": 2.014,
        "new_words": 0.391,
        "type_match": 0.396,
        "answer_beside": 1.508,
        "type_missing": -0.259,
        "answer_in_title": 0.369,
        "answer_repeated": 0.51,
        "lead": 0.174,
        "dense_gap": 2.725,
        "coverage_gap": 1.497,
        "age": -2.107,
    },
    -6.559,
)
# The second stage: the first stage's best `RERANKED` candidates with the reranker's logit
# (`index.rerank`) beside their signals: 0.708 x the first stage's logit + 0.312 x the
# reranker's + 0.208, written out over the signals. Fitted by bench/fit_answer_weights.py
# --reranker on (docs/reranker.md).
RERANKED = 10
RERANKED_STAGE = Scorer(
    {
        "dense": 1.435,
        "coverage": 1.308,
        "context_coverage": 1.685,
        "passage_dense": 0.109,
        "article_rank": 1.425,
        "new_words": 0.277,
        "type_match": 0.28,
        "answer_beside": 1.067,
        "type_missing": -0.183,
        "answer_in_title": 0.261,
        "answer_repeated": 0.361,
        "lead": 0.123,
        "dense_gap": 1.928,
        "coverage_gap": 1.059,
        "age": -1.491,
        "reranker": 0.312,
    },
    -4.436,
)
# The first stage's best probability within which (both ends included) the reranker reads a
# question's best `RERANKED` candidates: below it the first stage is sure that nothing
# answers, and abstains at its own speed; above it, sure of its choice, the reranker only
# decides between that choice and its runner-up, at a fifth of the cost (docs/reranker.md:
# the band's figures beside reranking every one).
RERANK_BAND = (0.1, 0.5)
RERANKED_WHEN_SURE = 2
# The band that reranks every question.
RERANK_ALWAYS = (0.0, 1.0)
# The reranker's logit is read within these bounds (a signal of the logistic model).
LOGIT_BOUND = 10.0
# Articles whose question-independent facts (names, stems, phrases) the engine keeps: about
# 70 KB each for news articles (measured on news_dev), so at most about 35 MB.
FACTS_KEPT = 500
# Occurrences in its article past which an answering phrase counts as fully repeated.
_REPEATS = 4
# The age in days at which an article's `age` signal is full (1).
AGE_SCALE_DAYS = 3650
# How a sentence ends: its last mark, then closing quotes or brackets, and a note in square
# brackets ("... per kWh.[not in citation given]"); a question's mark is "?".
_SENTENCE_END = re.compile(r"(?P<mark>[.!?…:;])[\"'”’)\]»]*(?:\s*\[[^\]]*\])?\s*$")
# A note in square brackets that the segmenter left as a sentence of its own ("[1]").
_NOTE = re.compile(r"\s*\[[^\]]*\]\s*$")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A sentence of a retrieved passage with its signals (all but `dense`), the row of its
    vector, and the span of the phrase that would answer (absolute offsets), if any.
    [`start`, `end`) is what would be quoted: the sentence, or the sentence and the neighbour
    that holds the answering phrase; `before` is the sentence before that in its passage."""

    article_id: str
    passage_id: int
    start: int
    end: int
    vector_row: int
    signals: dict[str, float]
    highlight: Span | None
    before: Span | None


@dataclass(frozen=True, slots=True)
class ScoredSentence:
    """A candidate with all its signals and its score (a probability)."""

    candidate: Candidate
    score: float
    signals: Mapping[str, float]


def candidate_sentences(
    question: Question,
    passages: Sequence[StoredPassage],
    passage_cosines: Sequence[float],
    facts: Mapping[str, ArticleFacts],
    word_weights: Mapping[str, float],
    news_day: date | None,
    *,
    quote_beside: bool = True,
) -> list[Candidate]:
    """Every sentence of `passages` (best first, with their cosines to `question`; the
    `facts` of their articles), with its signals; `news_day`, the day the index's news
    reaches when the question is asked (`age` is counted from it). With `quote_beside`, a
    sentence without an answering phrase whose neighbour has one is quoted together with
    that neighbour."""
    article_ranks: dict[str, int] = {}
    for passage in passages:
        article_ranks.setdefault(passage.article_id, len(article_ranks) + 1)
    frame = question.frame
    asked = question.stems
    weights = stem_weights(word_weights)
    wanted = _Wanted(
        question.folded,
        ANSWERING_KINDS[frame.expects],
        place_kind(frame.focus) if frame.expects is Expects.PLACE else None,
        frame.focus,
        frame.unit,
        frame.expects is Expects.PERSON,
    )
    candidates: list[Candidate] = []
    views = {key: _ArticleView(article_facts, wanted) for key, article_facts in facts.items()}
    ages = {key: article_age(f.article.published, news_day) for key, f in facts.items()}
    for passage, passage_cosine in zip(passages, passage_cosines, strict=True):
        view = views[passage.article_id]
        sentence_words = [view.facts.stems(*sentence) for sentence in passage.sentences]
        for number, (start, end) in enumerate(passage.sentences):
            words = sentence_words[number]
            context = words | view.facts.title_words
            for neighbour in _beside(number, len(sentence_words)):
                context |= sentence_words[neighbour]
            answer, beside = view.answering_around(passage.sentences, number, quote_beside)
            if asks(view.facts.article.text[start:end]) and not beside:
                continue  # quoted only with the answer after it (`answering_around`)
            quoted, first = (start, end), number
            if answer is not None and beside:
                quoted = (min(start, answer.sentence[0]), max(end, answer.sentence[1]))
                first = number - (answer.sentence[0] < start)
            signals = {
                "coverage": _coverage(words, weights),
                "context_coverage": _coverage(context, weights),
                "passage_dense": passage_cosine,
                "article_rank": 1.0 / article_ranks[passage.article_id],
                "new_words": _new_share(words, asked),
                "type_match": float(answer is not None and not beside),
                "answer_beside": float(beside),
                "type_missing": float(frame.expects is not Expects.OTHER and answer is None),
                "answer_in_title": float(answer is not None and answer.in_title),
                "answer_repeated": answer.repeated if answer is not None else 0.0,
                "lead": 1.0 / view.facts.article.paragraph_of(start),
                "age": ages[passage.article_id],
            }
            highlight = (answer.start, answer.end) if answer is not None else None
            candidates.append(
                Candidate(
                    passage.article_id,
                    passage.id,
                    *quoted,
                    passage.sentence_row + number,
                    signals,
                    highlight,
                    passage.sentences[first - 1] if first > 0 else None,
                )
            )
    best_coverage = max((c.signals["coverage"] for c in candidates), default=0.0)
    for candidate in candidates:
        candidate.signals["coverage_gap"] = candidate.signals["coverage"] - best_coverage
    return candidates


def introduces(sentence: str) -> bool:
    """Whether a sentence is a question or a heading (a line without a closing mark, "Kentucky
    Derby 2023 pre-race reading"; not a note in square brackets): it introduces what follows
    it, not what came before."""
    if _NOTE.match(sentence):
        return False
    return _SENTENCE_END.search(sentence) is None or asks(sentence)


def asks(sentence: str) -> bool:
    """Whether a sentence is a question (a heading such as "When is the next solar eclipse?",
    or a question someone asked). It answers nothing, so it is a candidate only when quoted
    with the sentence after it that does ("How many electoral votes does a candidate need
    to win? To win the presidency, a candidate must receive 270 ..."), never with the one
    before; it is still read as its neighbours' context."""
    end = _SENTENCE_END.search(sentence)
    return end is not None and end["mark"] == "?"


def article_age(published: str | None, news_day: date | None) -> float:
    """How much older an article published on `published` is than the news of `news_day`:
    its days before that day, on a log scale from 0 (that day or later) to 1 (ten years or
    more); 0 when either day is unknown, as nothing then says it is old."""
    day = published_day(published)
    if day is None or news_day is None:
        return 0.0
    days = max(0, (news_day - day).days)
    return min(1.0, math.log1p(days) / math.log1p(AGE_SCALE_DAYS))


@dataclass(frozen=True, slots=True)
class _Wanted:
    """What would answer the question: a phrase of one of `kinds` that the question (its
    folded words `asked`) does not contain, and when it asks for a place of a known kind
    ("which country"), such a place. `focus` is the noun the question asks about ("show" in
    "which show"), if it names one; `unit`, what an asked-for number counts in, if the
    question says; `person`, whether it asks for someone (a title in quotation marks is
    no one)."""

    asked: frozenset[str]
    kinds: frozenset[PhraseKind]
    place: str | None
    focus: str | None
    unit: Unit | None
    person: bool

    def accepts(self, phrase: Phrase, sentence: str) -> bool:
        """Whether `phrase` of `sentence` is of the wanted kind (its newness is checked
        apart) and not a word describing the asked-for noun ("the South Korean show")."""
        if phrase.kind not in self.kinds:
            return False
        if self.unit is not None and not counts_in(sentence, phrase, self.unit):
            return False
        if self.focus is not None and modifies(sentence, phrase, self.focus):
            return False
        if self.person and is_quoted_title(sentence, phrase):
            return False
        return self.place is None or is_place(self.place, sentence[phrase.start : phrase.end])

    def refers_back(self, sentence: str) -> bool:
        """Whether `sentence` opens with the asked-for noun as one already named ("The team
        has signed ..." for "which team ...?", after "The Athletics appear one step closer
        to leaving Oakland."): what answers is then named before it."""
        return self.focus is not None and split_words(sentence)[:2] in (
            ["the", self.focus],
            ["this", self.focus],
        )


@dataclass(frozen=True, slots=True)
class _Answering:
    """The phrase of a sentence that would answer (absolute offsets), with how salient it is
    in its article (named in the title, and how often it recurs: 0 once, 1 five times), and
    the sentence that holds it."""

    start: int
    end: int
    in_title: bool
    repeated: float
    sentence: Span

    @property
    def salience(self) -> tuple[bool, float]:
        """Named in the title first, then the most repeated."""
        return self.in_title, self.repeated


class ArticleFacts:
    """What judging an article's sentences needs whatever the question: its names, its text
    and title folded, its title's stems, and each sentence's stems and phrases (found when
    first asked for). The engine keeps the facts of the articles it read last, so a story
    asked about again is not analysed again."""

    def __init__(self, article: StoredArticle) -> None:
        self.article = article
        self.title_words = frozenset(content_stems(article.title))
        self.names = names_within_sentences(article.text)
        self.folded_title = fold(article.title)
        self.folded_text = fold(article.text)
        self._stems: dict[Span, frozenset[str]] = {}
        self._phrases: dict[Span, list[Phrase]] = {}

    def stems(self, start: int, end: int) -> frozenset[str]:
        """The content stems of the sentence `text[start:end]`."""
        stems = self._stems.get((start, end))
        if stems is None:
            stems = self._stems[start, end] = frozenset(content_stems(self.article.text[start:end]))
        return stems

    def phrases(self, start: int, end: int) -> list[Phrase]:
        """The names, numbers and times of the sentence `text[start:end]` (offsets within
        it)."""
        phrases = self._phrases.get((start, end))
        if phrases is None:
            sentence = self.article.text[start:end]
            phrases = self._phrases[start, end] = find_phrases(sentence, self.names)
        return phrases


class ArticleFactsCache:
    """The facts of the `capacity` articles used last, safe to share between threads."""

    def __init__(self, capacity: int = FACTS_KEPT) -> None:
        self._facts: LeastRecentlyUsed[str, ArticleFacts] = LeastRecentlyUsed(capacity)

    def of(self, articles: Mapping[str, StoredArticle]) -> dict[str, ArticleFacts]:
        """The facts of each of `articles`, by key."""
        found = {key: self._facts.get(key) for key in articles}
        # Analysed outside any lock: two threads may analyse one article at once, and both
        # find the same facts.
        made = {key: ArticleFacts(articles[key]) for key, facts in found.items() if facts is None}
        for key, facts in made.items():
            self._facts.put(key, facts)
        return {key: found[key] or made[key] for key in articles}


class _ArticleView:
    """An article's facts judged for one question: its answering phrases, worked out once per
    sentence."""

    def __init__(self, facts: ArticleFacts, wanted: _Wanted) -> None:
        self.facts = facts
        self.wanted = wanted
        self._answering: dict[Span, _Answering | None] = {}

    def answering_phrase(self, start: int, end: int) -> _Answering | None:
        """The most salient phrase of `text[start:end]` of the wanted kind that the question
        does not contain: named in the title first, then the most repeated."""
        if (start, end) not in self._answering:
            self._answering[start, end] = self._find_answering(start, end)
        return self._answering[start, end]

    def _find_answering(self, start: int, end: int) -> _Answering | None:
        wanted = self.wanted
        facts = self.facts
        sentence = facts.article.text[start:end]
        found = [
            phrase
            for phrase in new_phrases(sentence, facts.phrases(start, end), wanted.asked)
            if wanted.accepts(phrase, sentence)
        ]
        best: _Answering | None = None
        for phrase in found:
            folded = fold(sentence[phrase.start : phrase.end])
            candidate = _Answering(
                start + phrase.start,
                start + phrase.end,
                in_title=folded in facts.folded_title,
                repeated=min(facts.folded_text.count(folded) - 1, _REPEATS) / _REPEATS,
                sentence=(start, end),
            )
            if best is None or candidate.salience > best.salience:
                best = candidate
        return best

    def answering_around(
        self, sentences: Sequence[Span], number: int, beside: bool
    ) -> tuple[_Answering | None, bool]:
        """The answering phrase of sentence `number` of `sentences`; when it has none and
        `beside` is asked for, that of the sentence before (it may name what "the show" or
        "he" refers to), else of the sentence after (it may say it); only the one after for
        a heading or a question (`introduces`), and never one that asks (`asks`). A sentence
        that opens with the asked-for noun as one named before (`refers_back`) takes the
        sentence before's phrase over its own. And whether the phrase is a neighbour's."""
        own = self.answering_phrase(*sentences[number])
        if not beside or not self.wanted.kinds:
            return own, False
        text = self.facts.article.text
        sentence = text[slice(*sentences[number])]
        neighbours = _beside(number, len(sentences))
        if own is not None:
            if number == 0 or not self.wanted.refers_back(sentence):
                return own, False
            neighbours = [number - 1]
        if introduces(sentence):
            neighbours = [n for n in neighbours if n > number]
        for neighbour in neighbours:
            if asks(text[slice(*sentences[neighbour])]):
                continue  # a question answers nothing
            found = self.answering_phrase(*sentences[neighbour])
            if found is not None:
                return found, True
        return own, False


def _beside(number: int, count: int) -> list[int]:
    """The sentences beside sentence `number` of `count`: the one before, then after."""
    return [n for n in (number - 1, number + 1) if 0 <= n < count]


def score_sentences(
    candidates: Sequence[Candidate],
    question_vector: NDArray[np.float32],
    reader: IndexSource,
) -> list[ScoredSentence]:
    """Score candidates with their `dense` signal, the cosine of their sentence vector in the
    index (by `vector_row`), best first."""
    rows = np.fromiter((c.vector_row for c in candidates), dtype=np.int64, count=len(candidates))
    cosines = reader.sentence_cosines(rows, question_vector).tolist() if len(rows) else []
    best = max(cosines, default=0.0)
    scored = []
    for candidate, cosine in zip(candidates, cosines, strict=True):
        signals = {**candidate.signals, "dense": cosine, "dense_gap": cosine - best}
        scored.append(ScoredSentence(candidate, FIRST_STAGE.probability(signals), signals))
    scored.sort(key=lambda s: s.score, reverse=True)
    return scored


def reranked_count(best: float, band: tuple[float, float] = RERANK_BAND) -> int:
    """How many of a question's best candidates the reranker reads, the best of which the
    first stage scores `best`: none below `band`, `RERANKED` within it (both ends included),
    `RERANKED_WHEN_SURE` above it."""
    low, high = band
    if best < low:
        return 0
    return RERANKED if best <= high else RERANKED_WHEN_SURE


def judge(
    question: str,
    candidates: Sequence[Candidate],
    articles: Mapping[str, StoredArticle],
    reranker: Judge,
) -> list[float]:
    """The reranker's logit (within `LOGIT_BOUND`) for each candidate, read as
    `reranker_texts` gives it."""
    texts = reranker_texts(candidates, articles)
    logits: list[float] = np.clip(
        reranker.logits(question, texts), -LOGIT_BOUND, LOGIT_BOUND
    ).tolist()
    return logits


def reranker_texts(
    candidates: Sequence[Candidate], articles: Mapping[str, StoredArticle]
) -> list[str]:
    """Each candidate as the reranker reads it: with its article's title and the sentence
    before it (`index.rerank.pair.candidate_text`)."""
    texts = []
    for candidate in candidates:
        article = articles[candidate.article_id]
        before = article.text[slice(*candidate.before)] if candidate.before else ""
        texts.append(
            candidate_text(article.text[candidate.start : candidate.end], article.title, before)
        )
    return texts


def reads_on(count: int, read: Sequence[float], band: tuple[float, float]) -> bool:
    """Whether the reranker, told by `reranked_count` to read a question's best `count` and
    having scored them `read`, reads the rest of its best `RERANKED` too: when the question
    was sure (fewer than `RERANKED` read: `RERANKED_WHEN_SURE`) and it left none above
    `band`, it rejects the first stage's choice and its runner-up, and one of the others may
    answer ("Which sports team held a championship parade this week?" was sure of "Here we
    reflect on other historic New York sports championship parades.")."""
    return 0 < count < RERANKED and max(read, default=1.0) < band[1]


def rerank_sentences(
    question: str,
    scored: Sequence[ScoredSentence],
    articles: Mapping[str, StoredArticle],
    reranker: Judge,
    band: tuple[float, float] = RERANK_BAND,
) -> list[ScoredSentence]:
    """`scored` (best first) with the first stage's best scored again with the reranker's
    logit among their signals, best first: as many as its best's surety says
    (`reranked_count`, `reads_on`). The others follow in their order, each scored at most as
    the lowest of those read (one the reranker did not read cannot outrank one it did), and
    none past the first `RERANKED`."""
    count = reranked_count(scored[0].score, band) if scored else 0
    if not count:
        return list(scored)
    rescored = _read(question, scored[:count], articles, reranker)
    if reads_on(count, [s.score for s in rescored], band):
        rescored += _read(question, scored[count:RERANKED], articles, reranker)
        count = RERANKED
    rescored.sort(key=lambda s: s.score, reverse=True)
    lowest = rescored[-1].score
    return rescored + [
        ScoredSentence(s.candidate, min(s.score, lowest), s.signals) for s in scored[count:RERANKED]
    ]


def _read(
    question: str,
    sentences: Sequence[ScoredSentence],
    articles: Mapping[str, StoredArticle],
    reranker: Judge,
) -> list[ScoredSentence]:
    """`sentences` scored by the second stage, with the reranker's logit among their
    signals."""
    if not sentences:
        return []
    logits = judge(question, [sentence.candidate for sentence in sentences], articles, reranker)
    rescored = []
    for sentence, logit in zip(sentences, logits, strict=True):
        signals = {**sentence.signals, "reranker": logit}
        rescored.append(
            ScoredSentence(sentence.candidate, RERANKED_STAGE.probability(signals), signals)
        )
    return rescored


def _coverage(stems: AbstractSet[str], weights: Mapping[str, float]) -> float:
    """The share of the question's stem weight that `stems` cover."""
    total = sum(weights.values())
    covered = sum(weight for stem, weight in weights.items() if stem in stems)
    return covered / total if total else 0.0


def _new_share(stems: AbstractSet[str], asked: AbstractSet[str]) -> float:
    """The share of a sentence's content stems that the question does not contain."""
    return sum(1 for stem in stems if stem not in asked) / len(stems) if stems else 0.0


def word_weights(
    reader: IndexSource, words: Sequence[str], cache: dict[str, float]
) -> dict[str, float]:
    """Inverse document frequency of each of the question's content `words` (rare words
    weigh more)."""
    total = max(reader.manifest.passages, 1)
    missing = [word for word in words if word not in cache]
    for word, frequency in (reader.document_frequencies(missing) if missing else {}).items():
        # Smoothed, so that on a small index one absent word cannot outweigh the rest.
        cache[word] = math.log(1 + total / (frequency + 1))
    return {word: cache[word] for word in words}


def select_quotes(
    scored: Sequence[ScoredSentence], min_score: float, articles: Mapping[str, StoredArticle]
) -> list[ScoredSentence]:
    """The best sentences as up to three quotes, no two overlapping: those within
    `QUOTE_SCORE_RATIO` of the best, and a sentence above `min_score` that runs on from one
    of them (its context, read with it), three sentences in all; but not all from one article
    when another article has a sentence above `min_score` (its best then takes the slot the
    first article would have filled); never one that repeats another's words (`repeats`).
    Sentences that run on are one quote (`joined_runs`)."""
    if not scored or scored[0].score < min_score:
        return []
    floor = max(min_score, scored[0].score * QUOTE_SCORE_RATIO)
    relevant = [s for s in scored if s.score >= min_score]
    other_articles = len({s.candidate.article_id for s in relevant}) > 1
    chosen: list[ScoredSentence] = []
    per_article: dict[str, int] = {}
    capped = False
    for sentence in relevant:
        article_id = sentence.candidate.article_id
        if len(chosen) == MAX_QUOTES:
            break
        if sentence.score < floor and not any(
            _runs_on(c.candidate, sentence.candidate, articles) for c in chosen
        ):
            continue
        if other_articles and per_article.get(article_id, 0) >= QUOTES_PER_ARTICLE:
            capped = True
            continue
        if any(repeats(sentence.candidate, c.candidate, articles) for c in chosen):
            continue
        chosen.append(sentence)
        per_article[article_id] = per_article.get(article_id, 0) + 1
    if capped and len(chosen) < MAX_QUOTES:
        chosen += [
            s
            for s in relevant
            if s.candidate.article_id not in per_article
            and not any(repeats(s.candidate, c.candidate, articles) for c in chosen)
        ][:1]
    return joined_runs(chosen, articles)


def joined_runs(
    chosen: Sequence[ScoredSentence], articles: Mapping[str, StoredArticle]
) -> list[ScoredSentence]:
    """`chosen` (best first) with quotes that run on in their article (one ends where the
    next sentence starts, nothing but space between: a paragraph break too, as news
    paragraphs are often one sentence) joined into one, in article order, in the place of
    the best of them: the same sentences, shown as the article has them."""
    joined: list[ScoredSentence] = []
    for sentence in chosen:
        touching = [
            place
            for place, quote in enumerate(joined)
            if _runs_on(quote.candidate, sentence.candidate, articles)
        ]
        if not touching:
            joined.append(sentence)
            continue
        parts = [joined[place].candidate for place in touching] + [sentence.candidate]
        joined[touching[0]] = replace(joined[touching[0]], candidate=_joined(parts))
        for place in reversed(touching[1:]):
            del joined[place]
    return joined


def _runs_on(a: Candidate, b: Candidate, articles: Mapping[str, StoredArticle]) -> bool:
    """Whether one of `a` and `b` follows the other in their article, nothing but space
    between."""
    if a.article_id != b.article_id:
        return False
    first, second = (a, b) if a.start <= b.start else (b, a)
    between = articles[a.article_id].text[first.end : second.start]
    return first.end <= second.start and not between.strip()


def _joined(parts: Sequence[Candidate]) -> Candidate:
    """The first of `parts` (the best) quoted over the span of them all, with the first
    answering phrase among them."""
    opening = min(parts, key=lambda part: part.start)
    highlight = next((p.highlight for p in parts if p.highlight is not None), None)
    return replace(
        parts[0],
        start=opening.start,
        end=max(part.end for part in parts),
        highlight=highlight,
        before=opening.before,
    )


def repeats(a: Candidate, b: Candidate, articles: Mapping[str, StoredArticle]) -> bool:
    """Whether quoting `b` beside `a` would repeat it: they overlap in one article, or the
    words of one hold the other's (a story reprinted under another title, a sentence that a
    longer one in another article quotes whole)."""
    if a.article_id == b.article_id and a.start < b.end and b.start < a.end:
        return True
    first, second = (" ".join(articles[c.article_id].text[c.start : c.end].split()) for c in (a, b))
    return first in second or second in first


def compose_answer(
    question: str,
    chosen: Sequence[ScoredSentence],
    articles: dict[str, StoredArticle],
    reader: IndexSource,
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
        answer.answer.append(
            AnswerPart(text=quote, citations=[number], highlight=_relative(sentence))
        )
    answer.abstained = not answer.answer
    return answer


def _relative(candidate: Candidate) -> list[int] | None:
    """The answering phrase's [start, end) within the quote, if the sentence has one."""
    if candidate.highlight is None:
        return None
    start, end = candidate.highlight
    return [start - candidate.start, end - candidate.start]
