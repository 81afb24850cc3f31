"""Training pairs for the answer reranker: (question, candidate, label) from public data.

    python -m train.pairs [--recipe round-1|...|round-13] [--shared ../shared] [--out DIR]
                          [--mine-with EXPORTED_RERANKER]

Writes, into --out (default ~/.cache/citebot/reranker-train, or its folder for a later
round's recipe), `train.jsonl`, `valid.jsonl` and `trecqa_test.jsonl` (one pair a line:
group, question, candidate, label, origin) and `stats.json`. The pairs hold copyrighted news
text: they stay out of the repository.

Sources (../shared/data/answer_train/README.txt):
- news quizzes with the pages a search returned for them (distant labels): a page sentence
  is positive when it holds the answer and shares the question's subject (its words in the
  sentence, or in the sentence with its title and the sentence before); negative when it
  holds neither the answer nor a piece of it: the sentences most like the question first
  (they restate it without answering), sentences naming a wrong choice, and a few others;
  later recipes add sentences of the answering page, sentences whose title or sentence
  before names the answer but which do not, and (round 4, `--mine-with`) those a trained
  reranker scores highest among them all (`RECIPES` says which round adds what);
- "who is X?" (round 5): a page sentence that says who a person it names is ("Andino
  Reynal, an attorney for Jones, ...") answers; the page's other sentences naming them, and
  one saying who someone else is, do not (`who_is_pairs`);
- the quizzes' own explanations: a sentence holding the answer is positive; sentences of
  other questions of the same week are negatives (same period, other stories); from round 7,
  each under the title of its quiz's first search page, as a news sentence is read;
- synthetic questions (round 8, `synthetic_pairs`): a page sentence opening with a person
  who does something ("Hamlin stood up ...") or counting something ("winds of 85 miles an
  hour") gives a question of its own words ("Who stood up ...?", "... winds of how many
  miles an hour?") that it answers; the page's sentences sharing most of those words
  without the answer do not;
- SelQA (every candidate as labelled) and TrecQA TRAIN (DEV is validation, TEST is reported).

Quiz questions are split by week (about one week in eight is validation), never by pair.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html
import json
import random
import re
import sys
import xml.etree.ElementTree as ElementTree
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from index.clean import clean_body, normalise_line
from index.phrases import Phrase, PhraseKind, find_phrases
from index.places import is_place
from index.profile import CLAUSE_END, RELATION_BEFORE, may_define_person
from index.rerank.model import Judge, Reranker
from index.rerank.pair import CONTEXT_SEPARATOR, candidate_text
from index.segment import sentence_spans
from index.words import ROLE_NOUNS, STOPWORDS, TITLES, content_stems, content_words, fold

SEED = 20261206
SELQA_FILES = ("selqa-ass-dev.json", "selqa-ass-test.json")
# One week in this many is held out for validation (by a hash of the quiz date).
VALID_WEEKS_ONE_IN = 8
# Of a question's pages, sentences are read from at most this many (the search's best).
PAGES_PER_QUESTION = 6
# A positive shares at least this share of the question's subject stems (answer and choice
# words left out): in the sentence, or in the sentence with its title and the one before.
SENTENCE_SUBJECT_SHARE = 0.25
CONTEXT_SUBJECT_SHARE = 0.4
# Negatives per question and kind.
RESTATING_NEGATIVES = 4
WRONG_CHOICE_NEGATIVES = 2
OTHER_NEGATIVES = 2
POSITIVES_PER_QUESTION = 3
WEEK_NEGATIVES = 3
# Sentences shorter or longer than these (characters) are not candidates.
MIN_SENTENCE = 25
MAX_SENTENCE = 600

_WORD_CHAR = r"[^\W_]"


@dataclass(frozen=True, slots=True)
class Recipe:
    """How many pairs of each kind a quiz gives, and the share of SelQA's questions kept."""

    restating_negatives: int = RESTATING_NEGATIVES
    same_page_negatives: int = 0
    context_answer_negatives: int = 0
    # The clean negatives a trained reranker (`--mine-with`) scores highest: its own mistakes.
    mined_negatives: int = 0
    selqa_share: float = 1.0
    # Explanation sentences under the title of their quiz's first page (when it has one),
    # as the engine reads every candidate under its article's title.
    evidence_titles: bool = False
    # "Who is X?" pairs from the pages (`who_is_pairs`), and whether a describing word before
    # the name says who they are.
    who_is: bool = False
    who_is_roles: bool = False
    # A synthetic question from each quiz's pages (`synthetic_pairs`).
    synthetic_questions: bool = False
    # A second one asked in place: a country, state, count, sum or year of a page sentence
    # replaced by what asks for it (`in_situ_pairs`).
    in_situ_questions: bool = False
    # The share of the other training questions kept (drawn by question), for a round that
    # goes on from a model that has learned them.
    replay_share: float = 1.0
    # The share of the training pairs read in context that are read without their title
    # (drawn pair by pair, after the others are made: `titles_dropped`).
    untitled_share: float = 0.0


# Round 1: the first model's pairs. Round 2, from what round 1 got wrong on news (it chose
# the sentence restating the question over the one naming the answer): more restating
# negatives, sentences of the answering page that do not answer, and fewer Wikipedia pairs.
_ROUND_2 = Recipe(restating_negatives=6, same_page_negatives=4, selqa_share=0.3)
# Round 3, from what round 2 got wrong on news: a sentence whose title (or the sentence
# before) names the answer scored as if it did itself, since round 2 never saw one as a
# negative ("The new contract takes the 37-year-old to $532 million" under the title
# "LeBron James becomes highest paid NBA player ever"). A quote answers only when it names
# the answer itself.
_ROUND_3 = replace(_ROUND_2, context_answer_negatives=5)
# Round 4: round 3's pairs and, for each quiz, the on-topic sentences that do not answer
# which round 3's model scores highest (what it would still quote wrongly).
_ROUND_4 = replace(_ROUND_3, mined_negatives=4)
# Round 5: round 4's recipe, mined with round 4's model, and "who is X?" pairs (what
# citebot's profiles ask; no quiz asks it): round 4 scored every mention of a person below 0,
# "her young son, Anthony" for "who is Anthony?" as well as a byline.
_ROUND_5 = replace(_ROUND_4, who_is=True)
# Round 6: round 5 learned "X, a ..." but scored "Guatemalan migrant Lety Pérez ..." -3.78
# for "who is Lety Pérez?": its positives had left out a describing word before the name.
_ROUND_6 = replace(_ROUND_5, who_is_roles=True)
# Round 7: round 6 had learned that a sentence read without a title answers and one with a
# title seldom does (the explanations' positives had none, the pages' restating negatives
# always one): on held-out weeks its page positives scored -1.1 as given and +4.2 bare. The
# explanations read under a title, mined with round 6's model, and all of SelQA again
# (XQuAD's Wikipedia questions were round 6's widest gap; round 2 had cut SelQA together
# with adding the restating negatives that fixed round 1 on news).
_ROUND_7 = replace(_ROUND_6, selqa_share=1.0, evidence_titles=True)
# Round 8: round 7 rejected sentences that restate the question and name its answer (XQuAD's
# "Then Anderson scored on a 2-yard touchdown run ..."; 65-71% of XQuAD's misses had every
# answering candidate below -2): the quizzes' questions seldom share their answers' words.
# Round 7's pairs (mined with round 6's model, as round 7's were) and, a quiz, one question
# made from a sentence of its pages ("Who stood up after the tackle in the first quarter?"
# for "Hamlin stood up after the tackle in the first quarter, but collapsed again."), the
# page's sentences sharing its words without the answer negatives.
_ROUND_8 = replace(_ROUND_7, synthetic_questions=True)
# Round 9: round 8 rejected news sentences that name the answer where the question asks in
# place ("Liz Truss became the new prime minister of which country this week?": "Liz Truss
# became the third female prime minister in British history ... the United Kingdom's ..."
# -4.7), as quizzes and readers often ask. A quiz's pages give one more question each, asked
# in place ("... fled to which country?"), with a page sentence naming another of the same
# kind among its negatives; trained on from round 8's model with 30% of its questions again.
_ROUND_9 = replace(_ROUND_8, in_situ_questions=True, replay_share=0.3)
# Round 11: XQuAD's misses are mostly a sentence restating the question chosen over the one
# after it that answers ("The Broncos defeated the Pittsburgh Steelers in the divisional
# round, 23-16 ..." for the AFC Championship's score; round 6 scores both near +5): what the
# listwise loss teaches on whole questions, SelQA's Wikipedia sections above all. Round 7's
# pairs (mined with round 6's model, all of SelQA), half of their questions, to train on from
# round 6's shipped model with `--listwise` within an hour on two threads.
_ROUND_11 = replace(_ROUND_7, replay_share=0.5)
# Round 12: round 6 reads a title as a reason to doubt: "Arthur has become the first named
# storm of the 2026 Atlantic Hurricane season." scores -4.2 under its title and +4.7 without
# it for "Which of the following was the first named storm of the 2026 Atlantic hurricane
# season?", "The Oklahoma City Thunder earned the NBA championship." -3.9 and +5.5. Round
# 11's pairs, half of those read in context without their title, the same label either way.
_ROUND_12 = replace(_ROUND_11, untitled_share=0.5)
# Round 13: round 12 still doubts under a title ("Arthur has become the first named storm
# ..." -3.0 under it, +0.5 without): all of round 7's questions, half of the pairs read in
# context without their title, to train on from round 12.
_ROUND_13 = replace(_ROUND_7, untitled_share=0.5)
RECIPES = {
    "round-1": Recipe(),
    "round-2": _ROUND_2,
    "round-3": _ROUND_3,
    "round-4": _ROUND_4,
    "round-5": _ROUND_5,
    "round-6": _ROUND_6,
    "round-7": _ROUND_7,
    "round-8": _ROUND_8,
    "round-9": _ROUND_9,
    "round-11": _ROUND_11,
    "round-12": _ROUND_12,
    "round-13": _ROUND_13,
}
# Of a quiz's clean negatives, at most this many are scored when mining: the answering
# pages' sentences first, then those sharing most of the question's words.
MINING_POOL = 40
_TAG = re.compile(r"<[^>]*>")
# "Who is X?" pairs (round 5): the other mentions of a person taken as negatives, at most.
WHO_IS_NEGATIVES = 3
# Phrasings that say who someone is, stricter than the profile's own rule (a positive must be
# clean): "X, the ...", "X, a FlightAware spokesperson", "X is a ...", "her young son, X".
_WHO_AFTER = re.compile(
    r"^(?:,\s+(?:the|an?)|\s+(?:is|was)\s+(?:the|an?))\s+(?:[A-Z][\w-]*\s+)?[a-z]"
)
# A describing word right before the name, after a name or an adjective ("Guatemalan
# migrant Lety Pérez", "Labour leader Keir Starmer", "longtime resident X").
_ROLE_BEFORE = re.compile(
    r"(?:^|\s)(?P<before>[\w’'-]+)\s+(?P<role>[A-Za-z][a-z’'-]*|[A-Z]{2,3})\s+$"
)
_SAYING = "said|says|told|tells|wrote|writes|added|explained"


@dataclass(frozen=True, slots=True)
class Pair:
    """One training example: does `candidate` answer `question`?"""

    group: str
    question: str
    candidate: str
    label: int
    origin: str


@dataclass(frozen=True, slots=True)
class Quiz:
    """A news-quiz question with its answer, wrong choices, explanation and pages."""

    question_id: str
    week: str
    question: str
    answers: tuple[str, ...]
    wrong_choices: tuple[str, ...]
    evidence: str
    pages: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence of a page with its title and the sentence before it."""

    text: str
    title: str
    before: str


def answer_variants(answer: str) -> list[str]:
    """Forms of a quiz answer that a news sentence would hold: the whole answer, each part of
    "Beirut, Lebanon", and the name that ends a described person ("Russian opposition
    politician Alexei Navalny" -> "Alexei Navalny")."""
    answer = normalise_line(answer).strip(" .\"'“”")
    variants = [answer]
    parts = [part.strip() for part in answer.split(",")]
    if len(parts) > 1:
        variants.extend(part for part in parts if len(part) >= 3)
    words = answer.split()
    if len(words) > 3 and all(word[:1].isupper() for word in words[-2:]):
        variants.append(" ".join(words[-2:]))
    if words and fold(words[0]) == "the" and len(words) > 1:
        variants.append(" ".join(words[1:]))
    return [variant for variant in dict.fromkeys(variants) if len(fold(variant)) >= 2]


def _pattern(phrases: Iterable[str]) -> re.Pattern[str] | None:
    folded = sorted({fold(phrase) for phrase in phrases if fold(phrase).strip()}, key=len)
    if not folded:
        return None
    alternatives = "|".join(re.escape(phrase) for phrase in reversed(folded))
    return re.compile(rf"(?<!{_WORD_CHAR})(?:{alternatives})(?!{_WORD_CHAR})")


def _answer_pieces(quiz: Quiz) -> list[str]:
    """Single words of the answers that the question lacks (a sentence holding one of them
    may answer in part, so it is neither a clean positive nor a clean negative)."""
    asked = set(content_words(quiz.question))
    words = {w for answer in quiz.answers for w in content_words(answer) if len(w) >= 4}
    return sorted(words - asked)


def _share(stems: set[str], wanted: set[str]) -> float:
    return len(stems & wanted) / len(wanted) if wanted else 0.0


def is_valid_week(week: str) -> bool:
    """Whether a quiz week is held out for validation (a fixed hash of its date)."""
    digest = hashlib.sha256(week.encode()).digest()
    return digest[0] % VALID_WEEKS_ONE_IN == 0


def read_quizzes(path: Path) -> list[Quiz]:
    """The quizzes of questions.jsonl.gz that have an answer."""
    quizzes = []
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            answers = tuple(row.get("answers") or ())
            if not answers:
                continue
            wrong = tuple(choice for choice in row.get("choices") or () if choice not in answers)
            quizzes.append(
                Quiz(
                    row["question_id"],
                    row["date"],
                    normalise_line(html.unescape(_TAG.sub("", row["question"]))),
                    answers,
                    wrong,
                    normalise_line(row.get("evidence") or ""),
                    tuple(row.get("pages") or ()),
                )
            )
    return quizzes


def read_pages(path: Path, wanted: set[str]) -> dict[str, tuple[str, str]]:
    """Title and cleaned text of each wanted page, by URL."""
    pages = {}
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            if row["url"] in wanted:
                pages[row["url"]] = (normalise_line(row.get("title") or ""), row.get("text") or "")
    return pages


def page_sentences(title: str, text: str) -> list[Sentence]:
    """The sentences of a page's cleaned text, each with the sentence before it."""
    cleaned = clean_body(text)
    sentences: list[Sentence] = []
    for start, end in cleaned.paragraphs:
        before = ""
        for sentence_start, sentence_end in sentence_spans(cleaned.text, start, end):
            sentence = cleaned.text[sentence_start:sentence_end]
            if MIN_SENTENCE <= len(sentence) <= MAX_SENTENCE:
                sentences.append(Sentence(sentence, title, before))
            before = sentence
    return sentences


def quiz_page_pairs(
    quiz: Quiz,
    sentences: list[Sentence],
    rng: random.Random,
    recipe: Recipe = Recipe(),
    miner: Judge | None = None,
) -> tuple[list[Pair], bool]:
    """Pairs from the sentences of a quiz's pages, and whether the answer was found; with a
    recipe that mines, `miner` scores the clean negatives."""
    answer = _pattern(v for a in quiz.answers for v in answer_variants(a))
    piece = _pattern(_answer_pieces(quiz))
    wrong = _pattern(v for choice in quiz.wrong_choices for v in answer_variants(choice))
    subject = content_stems(quiz.question) - content_stems(" ".join(quiz.answers))
    subject -= content_stems(" ".join(quiz.wrong_choices))
    if answer is None or not subject:
        return [], False
    positives: list[tuple[float, Sentence]] = []
    restating: list[tuple[float, Sentence]] = []
    naming_wrong: list[Sentence] = []
    context_only: list[tuple[float, Sentence]] = []
    others: list[Sentence] = []
    seen: set[str] = set()
    for sentence in sentences:
        folded = fold(sentence.text)
        if folded in seen:
            continue
        seen.add(folded)
        own = _share(content_stems(sentence.text), subject)
        if answer.search(folded):
            context = content_stems(" ".join((sentence.text, sentence.title, sentence.before)))
            in_context = _share(context, subject)
            if own >= SENTENCE_SUBJECT_SHARE or in_context >= CONTEXT_SUBJECT_SHARE:
                positives.append((own + in_context, sentence))
            continue
        if piece and piece.search(folded):
            continue  # answers in part: no clean label
        around = fold(f"{sentence.title} {sentence.before}")
        if (piece and piece.search(around)) or answer.search(around):
            context_only.append((own, sentence))  # its context names the answer, it does not
            continue
        if wrong and wrong.search(folded):
            naming_wrong.append(sentence)
        elif own > 0:
            restating.append((own, sentence))
        else:
            others.append(sentence)
    if not positives:
        return [], False
    positives.sort(key=lambda scored: -scored[0])
    restating.sort(key=lambda scored: -scored[0])
    chosen = [(s, 1, "quiz-page") for _, s in positives[:POSITIVES_PER_QUESTION]]
    answering_pages = {s.title for s, _, _ in chosen}
    chosen += [(s, 0, "quiz-restating") for _, s in restating[: recipe.restating_negatives]]
    chosen += [(s, 0, "quiz-wrong-choice") for s in naming_wrong[:WRONG_CHOICE_NEGATIVES]]
    context_only.sort(key=lambda scored: -scored[0])
    chosen += [
        (s, 0, "quiz-context-only") for _, s in context_only[: recipe.context_answer_negatives]
    ]
    if recipe.same_page_negatives:
        taken = {id(s) for s, _, _ in chosen}
        same_page = [
            s
            for s in [s for _, s in restating] + others
            if s.title in answering_pages and id(s) not in taken
        ][: recipe.same_page_negatives]
        chosen += [(s, 0, "quiz-same-page") for s in same_page]
        others = [s for s in others if all(s is not page for page in same_page)]
    chosen += [(s, 0, "quiz-other") for s in rng.sample(others, min(OTHER_NEGATIVES, len(others)))]
    if recipe.mined_negatives:
        if miner is None:
            raise ValueError("this recipe mines negatives: give it a trained reranker")
        clean = [s for _, s in restating] + naming_wrong + [s for _, s in context_only] + others
        taken = {id(s) for s, _, _ in chosen}
        pool = sorted(
            (s for s in clean if id(s) not in taken),
            key=lambda s: s.title not in answering_pages,
        )[:MINING_POOL]
        logits = miner.logits(
            quiz.question, [candidate_text(s.text, s.title, s.before) for s in pool]
        )
        hardest = sorted(range(len(pool)), key=lambda i: -float(logits[i]))
        chosen += [(pool[i], 0, "quiz-mined") for i in hardest[: recipe.mined_negatives]]
    pairs = [
        Pair(
            quiz.question_id,
            quiz.question,
            candidate_text(s.text, s.title, s.before),
            label,
            origin,
        )
        for s, label, origin in chosen
    ]
    return pairs, True


@dataclass(frozen=True, slots=True)
class _Mention:
    """A sentence naming a person: whether it says who they are, strictly (a clean
    positive) and by the profile's looser rule (what is not, a clean negative)."""

    sentence: Sentence
    says_who: bool
    may_say_who: bool


def _person_mentions(sentences: list[Sentence], *, roles: bool) -> dict[str, list[_Mention]]:
    """Each person named in full (two or three capitalised words) in `sentences` and said
    to speak in one of them, with the sentences naming them in full or by their last name
    alone."""
    full_names: dict[str, None] = {}
    for sentence in sentences:
        for phrase in find_phrases(sentence.text):
            words = sentence.text[phrase.start : phrase.end].split()
            while words and fold(words[0]).strip(".") in TITLES:
                words = words[1:]
            if (
                phrase.kind is PhraseKind.NAME
                and phrase.start > 0  # a sentence's first word may not be a name's
                and 2 <= len(words) <= 3
                and all(word[:1].isupper() and len(word.strip(".")) > 1 for word in words)
            ):
                full_names[" ".join(words)] = None
    found: dict[str, list[_Mention]] = {}
    for name in full_names:
        # The full name, or the last name alone where no other capitalised word comes
        # before it (not "Miriam Adelson" for Sheldon Adelson).
        pattern = re.compile(
            rf"\b{re.escape(name)}\b|(?<![A-Z][\w’'-])(?<![A-Z][\w’'-]\s)"
            rf"\b{re.escape(name.split()[-1])}\b"
        )
        mentions = []
        for sentence in sentences:
            match = pattern.search(sentence.text)
            if match is None:
                continue
            start, end = match.span()
            after = sentence.text[end:]
            before = sentence.text[:start]
            says_who = bool(
                _WHO_AFTER.match(after)
                or (RELATION_BEFORE.search(before) and CLAUSE_END.match(after))
                or (roles and _names_a_role(before))
            )
            may_say_who = says_who or may_define_person(sentence.text, start, end)
            mentions.append(_Mention(sentence, says_who, may_say_who))
        if mentions and any(_speaks(m.sentence.text, name) for m in mentions):
            found[name] = mentions
    return found


def _names_a_role(before: str) -> bool:
    """Whether the text before a name ends in a noun describing the person ("migrant",
    "spokesperson") after a name or an adjective ("Guatemalan migrant", "royal
    correspondent"; not "the work McCarthy needs", nor "a migrant" without a describing
    word: the noun must be one of `ROLE_NOUNS`)."""
    match = _ROLE_BEFORE.search(before)
    if match is None or match["role"] not in ROLE_NOUNS:  # lowercase, or an acronym
        return False
    word_before = match["before"]
    if word_before[:1].isupper():
        return True
    return word_before.islower() and word_before not in STOPWORDS and not word_before.endswith("ly")


def _speaks(sentence: str, name: str) -> bool:
    """Whether the sentence has the person (full name or last name) say or tell something,
    as news writes of people and not of places or things."""
    named = rf"(?:{re.escape(name)}|{re.escape(name.split()[-1])})"
    return bool(re.search(rf"\b{named}\s+(?:{_SAYING})\b|\b(?:{_SAYING})\s+{named}\b", sentence))


def who_is_pairs(
    group: str, sentences: list[Sentence], rng: random.Random, *, roles: bool = False
) -> list[Pair]:
    """ "Who is X?" pairs from one page, for one person it names in several sentences of
    which one says who they are: that sentence answers; the others naming them that do
    not say who they are, and a sentence saying who someone else is, do not. Empty when
    the page names no such person. The question names them in full, by their last name or
    by their first ("who is Anthony?"). With `roles`, a describing word right before the name
    says who they are too ("migrant Lety Pérez")."""
    people = _person_mentions(sentences, roles=roles)
    eligible = [
        name
        for name, mentions in people.items()
        if any(m.says_who for m in mentions) and any(not m.may_say_who for m in mentions)
    ]
    if not eligible:
        return []
    name = rng.choice(eligible)
    words = name.split()
    asked = rng.choice([name, name, words[-1], words[0]])
    question = rng.choice(["Who is {}?", "who is {}", "Who's {}?"]).format(asked)
    mentions = people[name]
    answering = rng.choice([m.sentence for m in mentions if m.says_who])
    others = [m.sentence for m in mentions if not m.may_say_who]
    chosen = [(answering, 1, "who-is")]
    chosen += [
        (s, 0, "who-is-other-mention")
        for s in rng.sample(others, min(WHO_IS_NEGATIVES, len(others)))
    ]
    someone_else = [
        m.sentence
        for other, mentions_of_other in people.items()
        if words[-1] not in other and words[0] not in other
        for m in mentions_of_other
        if m.says_who and asked not in m.sentence.text
    ]
    if someone_else:
        chosen.append((rng.choice(someone_else), 0, "who-is-someone-else"))
    return [
        Pair(group, question, candidate_text(s.text, s.title, s.before), label, origin)
        for s, label, origin in chosen
    ]


# Synthetic questions (round 8): a page sentence becomes the answer to a question made from
# its own words, one name or count taken out ("Biden told reporters ..." -> "Who told
# reporters ...?"). The quizzes' questions seldom share their answer's words; XQuAD's and
# many readers' do, and round 7 rejected such sentences ("Then Anderson scored on a 2-yard
# touchdown run" for "... the player who scored a 2-yard touchdown ...?").
SYNTHETIC_NEGATIVES = 3
# Sentences of this many characters (bounds included) become questions.
SYNTHETIC_SENTENCE = (50, 220)
# A question is cut at its first clause break after its first words: "Who" and this many
# less one ("Who stood up after the | tackle ..., but ..."), or "how many" and this many
# less three ("how many miles an | hour ...").
SYNTHETIC_CLAUSE_WORDS = 5
_QUOTE_MARKS = re.compile(r"[“”\"‘’']")
_CLAUSE_BREAK = re.compile(r"[,;:](?=\s)|\s[—–-]\s|\s\(")
# A word after a name that makes it the subject of a verb: a past or present tense
# ("Hamlin stood", "Biden says"), or one of these.
_VERB_ENDING = re.compile(r"^[a-z]+(?:ed|[^s]s)$")
_VERBS = frozenset(
    {"is", "was", "has", "had", "will", "would", "could", "can", "may", "might", "must"}
    | {"should", "did", "does", "also", "then", "later", "still", "never", "once", "now"}
    | {"recently", "previously", "already", "first", "made", "won", "became", "began"}
    | {"took", "gave", "got", "led", "left", "met", "ran", "said", "told", "wrote", "went"}
    | {"came", "saw", "found", "stood", "sat", "spent", "lost", "held", "kept", "brought"}
    | {"thought", "knew", "beat", "hit", "set", "put", "cut", "shot", "quit", "sold", "paid"}
)
_YEAR = re.compile(r"(?:1[89]|20)\d\d")
# A bare count before a plural noun: "killed 23 people", "12 children".
_COUNT = re.compile(
    r"(?<![\w$£€#.,-])(?P<count>\d{1,3}(?:,\d{3})*)"
    r" (?P<noun>[a-z]{3,}s|people|children|men|women)\b(?![-%])"
)


@dataclass(frozen=True, slots=True)
class SyntheticQuestion:
    """A question made from `sentence`: `answer` is what it took out of it (a person's
    name and last name, or a count)."""

    question: str
    answer: tuple[str, ...]
    sentence: Sentence
    # What asks for the answer, for a question asked in place ("which country").
    asking: str = ""


def _clause(text: str, from_word: int) -> str:
    """`text` up to its first clause break that starts at or after its word `from_word`
    (counted from 0), without its end punctuation."""
    words = list(re.finditer(r"\S+", text))
    start = words[min(from_word, len(words) - 1)].start() if words else 0
    found = _CLAUSE_BREAK.search(text, start)
    cut = text[: found.start()] if found else text
    return cut.rstrip(" .!?,;:")


def synthetic_questions(
    sentences: list[Sentence], people: Iterable[str]
) -> list[SyntheticQuestion]:
    """The questions `sentences` give: "Who ...?" from a sentence that opens with one of
    `people` (full name or last name) followed by a verb; "... how many ...?" from one that
    counts a plural noun. Sentences quoting anyone are left out (their words are not the
    page's)."""
    names = sorted(
        {
            form
            for name in people
            for form in (name, name.split()[-1])
            if fold(form) not in STOPWORDS and len(form) > 2
        },
        key=len,
    )
    opening = (
        re.compile(
            rf"^(?P<name>{'|'.join(re.escape(n) for n in reversed(names))}) (?P<rest>[a-z].*)$"
        )
        if names
        else None
    )
    low, high = SYNTHETIC_SENTENCE
    found: list[SyntheticQuestion] = []
    for sentence in sentences:
        text = sentence.text
        if not low <= len(text) <= high or _QUOTE_MARKS.search(text):
            continue
        named = opening.match(text) if opening else None
        verb = named["rest"].split()[0].rstrip(",") if named else ""
        if named and (verb in _VERBS or _VERB_ENDING.match(verb)):
            question = "Who " + _clause(named["rest"], SYNTHETIC_CLAUSE_WORDS - 1) + "?"
            answer = (named["name"], named["name"].split()[-1])
            found.append(SyntheticQuestion(question, answer, sentence))
            continue
        counted = _COUNT.search(text)
        if counted and not _YEAR.fullmatch(counted["count"]):
            asked = text[: counted.start()] + "how many" + text[counted.start("noun") - 1 :]
            before = len(text[: counted.start()].split())
            question = _clause(asked, before + SYNTHETIC_CLAUSE_WORDS - 1)
            question = question[0].upper() + question[1:] + "?"
            found.append(SyntheticQuestion(question, (counted["count"],), sentence))
    return found


def synthetic_pairs(group: str, sentences: list[Sentence], rng: random.Random) -> list[Pair]:
    """Pairs for one synthetic question drawn from `sentences` (a quiz's newly read pages):
    its sentence answers; the page sentences sharing most of its words without its answer
    do not. Empty when the sentences give no question, or too few such others."""
    people = _person_mentions(sentences, roles=False)
    questions = synthetic_questions(sentences, people)
    if not questions:
        return []
    chosen = rng.choice(questions)
    others = [sentences[number] for number in _sharing_without_answer(chosen, sentences)]
    if len(others) < SYNTHETIC_NEGATIVES:
        return []
    labelled = [(s, 0, "synthetic-other") for s in others[:SYNTHETIC_NEGATIVES]]
    return _question_pairs(group, chosen, [(chosen.sentence, 1, "synthetic"), *labelled])


def _sharing_without_answer(chosen: SyntheticQuestion, sentences: list[Sentence]) -> list[int]:
    """The numbers of `sentences` that share words with `chosen`'s question without naming
    its answer, those sharing most first (none when the answer gives no pattern)."""
    answer = _pattern(chosen.answer)
    if answer is None:
        return []
    asked = content_stems(chosen.question)
    scored = sorted(
        (-len(asked & content_stems(s.text)), number)
        for number, s in enumerate(sentences)
        if not answer.search(fold(s.text))
    )
    return [number for shared, number in scored if shared < 0]


def _question_pairs(
    group: str, chosen: SyntheticQuestion, labelled: list[tuple[Sentence, int, str]]
) -> list[Pair]:
    """`chosen`'s question paired with each sentence of `labelled`, read in its context,
    with its label and origin."""
    return [
        Pair(group, chosen.question, candidate_text(s.text, s.title, s.before), label, origin)
        for s, label, origin in labelled
    ]


# Questions asked in place (round 9): a phrase of a page sentence replaced by what asks for
# it, the question cut as the synthetic ones are ("The storm left 3 million people without
# power" -> "The storm left how many people without power?").
_PLURAL_AFTER = re.compile(r" (?:[a-z]{3,}s|people|children|men|women)\b(?![-%])")
# What stands before a place or a year that is asked for: a preposition, a verb of going, or
# a comma ("in Dayton, Ohio"), so that neither is part of a larger name ("USA TODAY"), nor
# used as an adjective ("Vatican secrecy rules"), nor a number ("Section 1983").
_PLACE_BEFORE = re.compile(
    r"(?:\b(?:in|into|to|from|of|across|against|for|at|about|toward|towards|with|by|between"
    r"|and|visit|visited|visiting|invade|invaded|invading)|,) $",
    re.IGNORECASE,
)
_YEAR_BEFORE = re.compile(
    r"(?:^|\b(?:in|since|until|by|from|before|after|of|during) )$", re.IGNORECASE
)
_CAPITALISED_AFTER = re.compile(r"[\s-]+[A-Z]")


def asks_for(sentence: str, phrase: Phrase) -> tuple[int, str] | None:
    """Where a question asking for `phrase` of `sentence` starts (before a "the" that goes
    with a country's name) and what asks: "which country" or "which state" (after a
    preposition), "how much", "what percentage", "how many" (before a plural noun) or "what
    year" (after a preposition); None for other phrases and a place that is both."""
    text = sentence[phrase.start : phrase.end]
    start = phrase.start
    if phrase.kind is PhraseKind.NAME:
        if sentence[:start].lower().endswith("the "):
            start -= 4
        places = [kind for kind in ("country", "us_state") if is_place(kind, text)]
        if (
            len(places) != 1
            or not _PLACE_BEFORE.search(sentence[:start])
            or _CAPITALISED_AFTER.match(sentence, phrase.end)
        ):
            return None
        return start, "which country" if places == ["country"] else "which state"
    if phrase.kind is PhraseKind.TIME:
        known = _YEAR.fullmatch(text) and _YEAR_BEFORE.search(sentence[:start])
        return (
            (start, "what year") if known and sentence[phrase.end : phrase.end + 1] != "-" else None
        )
    if sentence[:start].lower().endswith(("a ", "an ")):
        return None
    if text[0] in "$€£¥":
        return start, "how much"
    if text.endswith(("%", "percent", "per cent")):
        return start, "what percentage"
    if "-" not in text and _PLURAL_AFTER.match(sentence, phrase.end):
        return start, "how many"
    return None


def in_situ_questions(sentences: list[Sentence]) -> list[SyntheticQuestion]:
    """The questions asked in place that `sentences` give, one a phrase `asks_for` knows how
    to ask for; sentences quoting anyone, and questions that still name the answer, are left
    out."""
    low, high = SYNTHETIC_SENTENCE
    found: list[SyntheticQuestion] = []
    for sentence in sentences:
        text = sentence.text
        if not low <= len(text) <= high or _QUOTE_MARKS.search(text):
            continue
        for phrase in find_phrases(text):
            asked = asks_for(text, phrase)
            if asked is None:
                continue
            start, asking = asked
            answer = text[phrase.start : phrase.end]
            question = text[:start] + asking + text[phrase.end :]
            before = len(text[:start].split())
            question = _clause(question, before + SYNTHETIC_CLAUSE_WORDS - 1)
            if fold(answer) in fold(question):
                continue
            question = question[0].upper() + question[1:] + "?"
            found.append(SyntheticQuestion(question, (answer,), sentence, asking))
    return found


def _asks_alike(text: str, asking: str) -> bool:
    """Whether `text` has a phrase that `asking` would ask for (another country, another
    count)."""
    return any(
        (found := asks_for(text, phrase)) is not None and found[1] == asking
        for phrase in find_phrases(text)
    )


def in_situ_pairs(group: str, sentences: list[Sentence], rng: random.Random) -> list[Pair]:
    """Pairs for one question asked in place, drawn from `sentences` (a quiz's newly read
    pages): a kind of question first, then one of that kind. Its sentence answers; of the
    page sentences without its answer that share its words, the one sharing most that could
    answer a question of the same kind (another country, another count), if any, and those
    sharing most do not. Empty when the sentences give no question, or too few such others."""
    questions = in_situ_questions(sentences)
    if not questions:
        return []
    asking = rng.choice(sorted({question.asking for question in questions}))
    chosen = rng.choice([question for question in questions if question.asking == asking])
    sharing = _sharing_without_answer(chosen, sentences)
    alike = next(([n] for n in sharing if _asks_alike(sentences[n].text, asking)), [])
    nearest = [number for number in sharing if number not in alike][
        : SYNTHETIC_NEGATIVES - len(alike)
    ]
    if len(nearest) + len(alike) < SYNTHETIC_NEGATIVES:
        return []
    labelled = (
        [(chosen.sentence, 1, "in-situ")]
        + [(sentences[number], 0, "in-situ-other") for number in nearest]
        + [(sentences[number], 0, "in-situ-alike") for number in alike]
    )
    return _question_pairs(group, chosen, labelled)


def evidence_sentences(evidence: str) -> list[str]:
    """The sentences of a quiz's explanation."""
    return [evidence[start:end] for start, end in sentence_spans(evidence, 0, len(evidence))]


def quiz_evidence_pairs(
    quiz: Quiz, week_sentences: list[Sentence], rng: random.Random, title: str = ""
) -> list[Pair]:
    """Pairs from a quiz's own explanation: its sentences holding the answer are positives
    (under `title`, with the sentence before as context); sentences of other stories of the
    week negatives (under their own titles)."""
    answer = _pattern(v for a in quiz.answers for v in answer_variants(a))
    if answer is None or not quiz.evidence:
        return []
    pairs: list[Pair] = []
    before = ""
    for sentence in evidence_sentences(quiz.evidence):
        if answer.search(fold(sentence)) and len(sentence) >= MIN_SENTENCE:
            text = candidate_text(sentence, title, before)
            pairs.append(Pair(quiz.question_id, quiz.question, text, 1, "quiz-evidence"))
        before = sentence
    if not pairs:
        return []
    piece = _pattern(_answer_pieces(quiz))
    others = [
        s
        for s in week_sentences
        if not answer.search(fold(s.text)) and not (piece and piece.search(fold(s.text)))
    ]
    for other in rng.sample(others, min(WEEK_NEGATIVES, len(others))):
        text = candidate_text(other.text, other.title)
        pairs.append(Pair(quiz.question_id, quiz.question, text, 0, "quiz-week-other"))
    return pairs


def selqa_pairs(path: Path) -> list[Pair]:
    """Every SelQA candidate as labelled, with its article as title and the candidate
    before it."""
    pairs = []
    for number, row in enumerate(json.loads(path.read_text(encoding="utf-8"))):
        group = f"selqa-{path.stem}-{number}"
        answers = set(row["answers"])
        before = ""
        for index, sentence in enumerate(row["candidates"]):
            text = candidate_text(sentence, row.get("article", ""), before)
            pairs.append(Pair(group, row["question"], text, int(index in answers), "selqa"))
            before = sentence
    return pairs


_PTB = {"-LRB-": "(", "-RRB-": ")", "-LSB-": "[", "-RSB-": "]", "``": '"', "''": '"'}
_SPACE_BEFORE_PUNCT = re.compile(r" ([,.;:!?%)\]]|'s|n't)")


def _detokenise(line: str) -> str:
    words = [_PTB.get(word, word) for word in line.split("\t")]
    text = " ".join(words).replace("( ", "(").replace("[ ", "[")
    return _SPACE_BEFORE_PUNCT.sub(r"\1", text)


def trecqa_pairs(path: Path) -> list[Pair]:
    """TrecQA's (question, sentence, label) triples, detokenised (no context: newswire
    sentences without titles)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    text = re.sub(r"&(?!amp;|lt;|gt;|quot;|apos;)", "&amp;", text)
    root = ElementTree.fromstring(f"<root>{text}</root>")
    pairs = []
    for block in root.iter("QApairs"):
        group = f"trecqa-{path.stem}-{block.get('id')}"
        question_element = block.find("question")
        if question_element is None or question_element.text is None:
            continue
        question = _detokenise(question_element.text.strip().split("\n")[0])
        for element in block:
            if element.tag in ("positive", "negative") and element.text:
                sentence = _detokenise(element.text.strip().split("\n")[0])
                label = int(element.tag == "positive")
                pairs.append(Pair(group, question, sentence, label, "trecqa"))
    return pairs


def build(
    shared: Path, recipe: Recipe = Recipe(), miner: Judge | None = None
) -> tuple[list[Pair], list[Pair], list[Pair], dict[str, object]]:
    """Training, validation and TrecQA-test pairs made by `recipe` (mining with `miner`), and
    counts of what was made."""
    rng = random.Random(SEED)
    data = shared / "data" / "answer_train"
    quizzes = read_quizzes(data / "questions.jsonl.gz")
    wanted = {url for quiz in quizzes for url in quiz.pages[:PAGES_PER_QUESTION]}
    pages = read_pages(data / "pages.jsonl.gz", wanted)
    print(f"{len(quizzes)} quizzes, {len(pages)} pages", file=sys.stderr)
    sentences_of: dict[str, list[Sentence]] = {}
    # For each quiz, the sentences of its pages that no quiz before it had.
    first_read: list[list[Sentence]] = []
    title_of = {
        quiz.question_id: _first_page_title(quiz, pages) if recipe.evidence_titles else ""
        for quiz in quizzes
    }
    week_sentences: dict[str, list[Sentence]] = defaultdict(list)
    for quiz in quizzes:
        week_sentences[quiz.week].extend(
            Sentence(sentence, title_of[quiz.question_id], "")
            for sentence in evidence_sentences(quiz.evidence)
        )
    train: list[Pair] = []
    valid: list[Pair] = []
    found = Counter[str]()
    # Its own random state, so the quiz pairs are drawn as without it.
    who_is_rng = random.Random(SEED + 5)
    for number, quiz in enumerate(quizzes):
        if number % 500 == 0:
            print(f"quiz {number}/{len(quizzes)}", file=sys.stderr)
        sentences: list[Sentence] = []
        first_read.append([])
        who_is: list[Pair] = []
        for url in quiz.pages[:PAGES_PER_QUESTION]:
            if url in pages and url not in sentences_of:
                sentences_of[url] = page_sentences(*pages[url])
                first_read[-1].extend(sentences_of[url])
                if recipe.who_is:
                    group = f"who-is-{quiz.question_id}-{len(who_is)}"
                    who_is += who_is_pairs(
                        group, sentences_of[url], who_is_rng, roles=recipe.who_is_roles
                    )
            sentences.extend(sentences_of.get(url, []))
        page_pairs, answered = quiz_page_pairs(quiz, sentences, rng, recipe, miner)
        found["pages answer"] += answered
        others = [s for s in week_sentences[quiz.week] if s.text not in quiz.evidence]
        evidence_pairs = quiz_evidence_pairs(quiz, others, rng, title_of[quiz.question_id])
        pairs = page_pairs + evidence_pairs + who_is
        (valid if is_valid_week(quiz.week) else train).extend(pairs)
    selqa = [p for name in SELQA_FILES for p in selqa_pairs(data / "selqa" / name)]
    if recipe.selqa_share < 1.0:
        selqa = questions_sampled(selqa, recipe.selqa_share, rng)
    train.extend(selqa)
    train.extend(trecqa_pairs(data / "trecqa" / "TRAIN.xml"))
    valid.extend(trecqa_pairs(data / "trecqa" / "DEV.xml"))
    test = trecqa_pairs(data / "trecqa" / "TEST.xml")
    rng.shuffle(train)
    if recipe.synthetic_questions:
        # After the shuffle: the other pairs come out as the recipe without them writes them.
        synthetic_train, synthetic_valid = quiz_pairs(
            quizzes, first_read, synthetic_pairs, "synthetic", random.Random(SEED + 8)
        )
        train.extend(synthetic_train)
        valid.extend(synthetic_valid)
    if recipe.replay_share < 1.0:
        train = questions_sampled(train, recipe.replay_share, random.Random(SEED + 9))
    if recipe.untitled_share:
        train = titles_dropped(train, recipe.untitled_share, random.Random(SEED + 6))
    if recipe.in_situ_questions:
        in_situ_train, in_situ_valid = quiz_pairs(
            quizzes, first_read, in_situ_pairs, "in-situ", random.Random(SEED + 9)
        )
        train.extend(in_situ_train)
        valid.extend(in_situ_valid)
    stats: dict[str, object] = {
        "seed": SEED,
        "quizzes": len(quizzes),
        "quizzes with an answering page sentence": found["pages answer"],
        "train": _counts(train),
        "valid": _counts(valid),
        "trecqa test": _counts(test),
    }
    return train, valid, test, stats


def quiz_pairs(
    quizzes: list[Quiz],
    first_read: list[list[Sentence]],
    make_pairs: Callable[[str, list[Sentence], random.Random], list[Pair]],
    origin: str,
    rng: random.Random,
) -> tuple[list[Pair], list[Pair]]:
    """Training and validation pairs of one question a quiz made by `make_pairs` (drawing
    with `rng`, its groups named `origin`-question id) from the sentences of the quiz's pages
    that no quiz before it had (`first_read`, one list a quiz), split by the quiz's week."""
    train: list[Pair] = []
    valid: list[Pair] = []
    for quiz, sentences in zip(quizzes, first_read, strict=True):
        pairs = make_pairs(f"{origin}-{quiz.question_id}", sentences, rng)
        (valid if is_valid_week(quiz.week) else train).extend(pairs)
    return train, valid


def questions_sampled(pairs: list[Pair], share: float, rng: random.Random) -> list[Pair]:
    """The pairs of `share` of the questions of `pairs` (drawn by `rng`), in their order."""
    groups = sorted({pair.group for pair in pairs})
    kept = set(rng.sample(groups, round(len(groups) * share)))
    return [pair for pair in pairs if pair.group in kept]


def titles_dropped(pairs: list[Pair], share: float, rng: random.Random) -> list[Pair]:
    """`pairs` with `share` of those read in context (drawn by `rng`, pair by pair) read
    without the first part of it: the title, or the sentence before where the title was
    left out (`candidate_text`). A title then neither raises nor lowers a label's odds."""
    dropped = []
    for pair in pairs:
        parts = pair.candidate.split(CONTEXT_SEPARATOR)
        if len(parts) > 1 and rng.random() < share:
            pair = replace(pair, candidate=CONTEXT_SEPARATOR.join([parts[0], *parts[2:]]))
        dropped.append(pair)
    return dropped


def _first_page_title(quiz: Quiz, pages: dict[str, tuple[str, str]]) -> str:
    """The title of a quiz's first search page that `pages` holds ("" when none does)."""
    return next((pages[url][0] for url in quiz.pages[:PAGES_PER_QUESTION] if url in pages), "")


def _counts(pairs: list[Pair]) -> dict[str, int]:
    counts = Counter(f"{pair.origin} {'+' if pair.label else '-'}" for pair in pairs)
    return {"pairs": len(pairs), "groups": len({p.group for p in pairs}), **sorted_counts(counts)}


def sorted_counts(counts: Counter[str]) -> dict[str, int]:
    """Counts in key order (stable output)."""
    return dict(sorted(counts.items()))


def write_pairs(path: Path, pairs: Iterable[Pair]) -> None:
    """Write pairs as JSON lines, atomically."""
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as out:
        for pair in pairs:
            out.write(json.dumps(asdict(pair), ensure_ascii=False) + "\n")
    partial.replace(path)


def read_pairs(path: Path) -> Iterator[Pair]:
    """The pairs of a file written by `write_pairs`."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            yield Pair(**json.loads(line))


# Pairs, checkpoints and trained models live outside the work tree, so that a run stopped
# with a session goes on in the next one (the cache survives; a work tree is laid anew).
WORK = Path.home() / ".cache" / "citebot" / "reranker-train"


def recipe_folder(recipe: str) -> Path:
    """Where a recipe's pairs (and, under run/, its training run) live: round 1 in WORK
    itself (where its run began), later rounds in a folder of their own."""
    return WORK if recipe == "round-1" else WORK / recipe


def main() -> None:
    """Build the pairs from ../shared and write them under --out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="round-1")
    parser.add_argument("--out", type=Path, help="default: the recipe's folder of WORK")
    parser.add_argument(
        "--mine-with", type=Path, help="an exported reranker (train.export --out) that mines"
    )
    args = parser.parse_args()
    recipe = RECIPES[args.recipe]
    if recipe.mined_negatives and args.mine_with is None:
        parser.error(f"--recipe {args.recipe} mines negatives: give --mine-with DIR")
    miner = Reranker(args.mine_with) if recipe.mined_negatives else None
    out: Path = args.out or recipe_folder(args.recipe)
    out.mkdir(parents=True, exist_ok=True)
    train, valid, test, stats = build(args.shared, recipe, miner)
    write_pairs(out / "train.jsonl", train)
    write_pairs(out / "valid.jsonl", valid)
    write_pairs(out / "trecqa_test.jsonl", test)
    (out / "stats.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(stats, indent=2))


if __name__ == "__main__":
    main()
