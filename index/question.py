"""What a question asks for: a person, a place, a time, a number, a named thing, or other.

Explicit rules over the question's words (no model): the wh-word of the question's last
interrogative sentence and, after "which" or "what", the noun it asks about ("which country",
"what was the magnitude"). A quote that answers carries a phrase of that kind which the
question does not already contain (`index.phrases`). A number asked for as a percentage
("what percentage"), as money ("how much ... paid / cost / worth") or as an age ("how old")
must be one.
"""

from __future__ import annotations

import itertools
import re
from datetime import date

from index.period import asked_period, published_by, within
from index.records import ArticleFilter, Expects, Question, QuestionFrame, Unit
from index.words import (
    STOPWORDS,
    TITLES,
    content_stems,
    content_words,
    folded_words,
    query_words,
    split_words,
    word_set,
)

_WHO_IS = re.compile(
    r"^\s*(?:who\s+(?:is|was)|who[’']s|tell\s+me\s+about)\s+(?P<name>[^?!.]+?)\s*[?!.]*\s*$",
    re.IGNORECASE,
)
# Words that may stand inside a name ("Ana de Armas") though they are stopwords elsewhere.
_NAME_JOINERS = word_set("de del da di la le van von der bin al el y")
_MAX_NAME_WORDS = 4
_NUMBER_NOUNS = word_set(
    "percentage percent number amount magnitude age price cost total share rate "
    "temperature score sum figure fee salary worth value height weight length distance "
    "population speed count"
)
_PERCENT_NOUNS = word_set("percentage percent")
# Words that make "how much" a question about money ("how much was he paid").
_MONEY_WORDS = word_set(
    "cost costs paid pay fine fined worth money salary fee fees spend spent wealth earn earned"
    " earns charge charged"
)
_TIME_NOUNS = word_set("year day date month time decade century season era week")
_PLACE_NOUNS = word_set(
    "country state city area region place nation continent island town county province "
    "park location territory capital village neighborhood neighbourhood district port "
    "border river lake mountain ocean sea destination airport"
)
_PERSON_NOUNS = word_set(
    "person man woman actor actress singer president leader player celebrity star athlete "
    "rapper member politician senator governor minister official judge author artist "
    "musician ceo founder director chef coach lawmaker candidate king queen prince "
    "princess pope comedian journalist host justice"
)
_VERBS = word_set(
    "is was are were be been did does do has have had will would can could should may might must"
)
# Words skipped before the asked-about noun ("what kind of show"); after it they end its phrase
# ("what percentage of the population").
_LEADING = word_set("the a an of kind type sort")
# Describing words skipped wherever they stand ("which wildly popular show").
_DESCRIBING = word_set("new popular famous other")
_SKIPPED = _LEADING | _DESCRIBING
_IRREGULAR_PAST = word_set(
    "took won made became said got gave went came saw found left held led ran set hit put "
    "sold bought began lost paid met told wrote brought built chose drew fell flew grew "
    "kept knew sent spent stood struck threw broke caught beat ate drove rose shot slid "
    "stole sang swam tore wore"
)
_ARTICLES = word_set("the a an its his her their")
_NOT_PAST = word_set("united red hundred sacred bed need speed seed breed feed shed creed greed")
_WH = word_set("who whom whose when where which what how why")
_HOW_NUMBER = word_set("many much old long far big large tall high often fast")
# Words, and the punctuation that ends a noun phrase ("which condiment, sparking ...").
# The question is parsed in tokens: words with their apostrophes and hyphens ("who's",
# "how-to"), and the punctuation that ends a clause.
_TOKEN = re.compile(r"[\w’'-]+|[,;:]")
_PUNCTUATION = word_set(", ; :")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def read_question(
    text: str,
    asked_on: date | None = None,
    article_filter: ArticleFilter | None = None,
    *,
    dated_news: bool = False,
) -> Question:
    """The question `text` read once: its words, what it asks for, the name it asks about,
    the period it names (counted from `asked_on`), and `article_filter` narrowed to the
    articles published by `asked_on` and to that period when it is one on the calendar.

    `dated_news`: whether the index holds articles dated by `asked_on`. A period then reads
    the articles dated in it alone (one of unknown date is not known to be of "this week");
    an index without dates, such as a folder of text files, is read whole."""
    if asked_on is not None:
        article_filter = published_by(article_filter, asked_on)
    period = asked_period(text, asked_on)
    if period is not None and period.strict:
        article_filter = within(article_filter, period, undated=not dated_news)
    return Question(
        text=text,
        searched=tuple(query_words(text)),
        content=tuple(content_words(text)),
        folded=folded_words(text),
        stems=frozenset(content_stems(text)),
        frame=analyse_question(text),
        name=asked_name(text),
        period=period,
        article_filter=article_filter,
        asked_on=asked_on,
    )


def asked_name(question: str) -> str | None:
    """The name a "who is X?" question asks about, or None for any other question ("who is
    the president of Mexico?" asks for a person, not about one)."""
    match = _WHO_IS.match(question)
    if match is None:
        return None
    words = split_words(match["name"])
    if not 1 <= len(words) <= _MAX_NAME_WORDS:
        return None
    if any(word in STOPWORDS and word not in _NAME_JOINERS for word in words):
        return None
    if all(word in TITLES or len(word) < 2 for word in words):  # "who is Mr.?", "who is ’s"
        return None
    return match["name"].strip()


def analyse_question(question: str) -> QuestionFrame:
    """The kind of phrase that answers `question`, by its wh-word and the noun after it."""
    words = [w.lower() for w in _TOKEN.findall(_asking_sentence(question))]
    frame = _kind_asked(words)
    if frame.expects is not Expects.NUMBER:
        return frame
    if frame.focus in _PERCENT_NOUNS:
        return QuestionFrame(Expects.NUMBER, frame.focus, Unit.PERCENT)
    if frame.focus == "age" or _asks_how(words, "old"):
        return QuestionFrame(Expects.NUMBER, frame.focus, Unit.AGE)
    if _asks_how(words, "much") and _MONEY_WORDS.intersection(words):
        return QuestionFrame(Expects.NUMBER, frame.focus, Unit.MONEY)
    return frame


def _asks_how(words: list[str], word: str) -> bool:
    """Whether the words hold "how `word`" ("how much", "how old")."""
    return any(a == "how" and b == word for a, b in itertools.pairwise(words))


def _kind_asked(words: list[str]) -> QuestionFrame:
    """The kind asked for by the wh-word of `words` (lower case) and the noun after it."""
    at = next((i for i, word in enumerate(words) if word in _WH), None)
    if at is None:
        return QuestionFrame(Expects.OTHER)
    wh, rest = words[at], words[at + 1 :]
    if wh in {"who", "whom", "whose"}:
        return QuestionFrame(Expects.PERSON)
    if wh == "when":
        return QuestionFrame(Expects.TIME)
    if wh == "where":
        return QuestionFrame(Expects.PLACE)
    if wh == "how":
        return QuestionFrame(
            Expects.NUMBER if rest[:1] and rest[0] in _HOW_NUMBER else Expects.OTHER
        )
    if wh == "why":
        return QuestionFrame(Expects.OTHER)
    return _which_or_what(wh, rest)


def _asking_sentence(question: str) -> str:
    """The last sentence that asks (ends in "?"), else the last sentence."""
    sentences = [s for s in _SENTENCE_END.split(question.strip()) if s]
    asking = [s for s in sentences if s.rstrip().endswith("?")]
    return (asking or sentences or [""])[-1]


def _which_or_what(wh: str, rest: list[str]) -> QuestionFrame:
    """ "which/what NOUN ..." or "what was the NOUN ...": the kind the noun names. "What"
    with a past tense ("what happened", "what caused the fire") asks what did something."""
    if wh == "what" and rest[:1] and _is_past_tense(rest[0]):
        return QuestionFrame(Expects.OTHER)
    if rest[:1] and rest[0] in _VERBS:
        # "what was the magnitude of ...", "what is her name": the noun after the verb.
        rest = [
            w
            for w in rest[1:4]
            if w not in _SKIPPED and w not in {"his", "her", "its"} and w not in _PUNCTUATION
        ]
        if not rest:
            return QuestionFrame(Expects.OTHER)
        noun = rest[0]
        kind = _noun_kind(noun)
        if kind is Expects.OTHER and noun == "name":
            return QuestionFrame(Expects.NAME, noun)
        return QuestionFrame(kind, noun) if kind is not Expects.OTHER else QuestionFrame(kind)
    if all(w in _SKIPPED for w in rest[:4]):
        return QuestionFrame(Expects.OTHER if wh == "what" else Expects.NAME)
    # "which news agency": the head noun is the last of a short run before a verb or "of"
    # ("what percentage of the population"), after the words skipped ("what kind of show").
    run: list[str] = []
    for at, word in enumerate(rest[:5]):
        if word in _DESCRIBING or (word in _LEADING and not run):
            continue
        if (
            word in _LEADING
            or word in _VERBS
            or word in _WH
            or word in STOPWORDS
            or word in _PUNCTUATION
            or _looks_like_verb(word, run, rest[at + 1 : at + 2])
        ):
            break  # a verb, a preposition or a comma ends the noun phrase ("which chain launched")
        run.append(word)
    if not run:
        return QuestionFrame(Expects.NAME)
    # The last noun is the head: "which city council" asks for a council, not a city.
    head = run[-1]
    kind = _noun_kind(head)
    return QuestionFrame(kind if kind is not Expects.OTHER else Expects.NAME, head)


def _looks_like_verb(word: str, run: list[str], following: list[str]) -> bool:
    """After the first noun, a past tense ("which chain launched", "took") or a present
    tense before an article ("which nation contains the", "what rainforest covers a") ends
    the noun phrase."""
    present = word.endswith("s") and bool(following) and following[0] in _ARTICLES
    return bool(run) and (_is_past_tense(word) or present)


def _is_past_tense(word: str) -> bool:
    """Whether a word reads as a past tense: irregular ("took") or in "-ed" ("launched"), but
    not one of the words in "-ed" that are not verbs ("united", "hundred")."""
    return word in _IRREGULAR_PAST or (word.endswith("ed") and word not in _NOT_PAST)


def _noun_kind(noun: str) -> Expects:
    """The kind a question noun asks for, singular or plural."""
    singular = next(
        (
            stem + ending
            for suffix, ending in (("ies", "y"), ("s", ""))
            if noun.endswith(suffix) and (stem := noun.removesuffix(suffix)) + ending in _ALL_NOUNS
        ),
        noun,
    )
    for nouns, kind in (
        (_NUMBER_NOUNS, Expects.NUMBER),
        (_TIME_NOUNS, Expects.TIME),
        (_PLACE_NOUNS, Expects.PLACE),
        (_PERSON_NOUNS, Expects.PERSON),
    ):
        if singular in nouns:
            return kind
    return Expects.OTHER


_ALL_NOUNS = _NUMBER_NOUNS | _TIME_NOUNS | _PLACE_NOUNS | _PERSON_NOUNS
