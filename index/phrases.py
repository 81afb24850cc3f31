"""Phrases in a sentence that can answer a question: names, numbers and times.

Explicit rules over the sentence's characters (no model), each tested:
- a name is a run of capitalised words ("Lety Pérez", "Los Angeles Dodgers", "Blink-182"),
  joined by "of", "de", "&" and the like, or a quoted title ("“Squid Game”"); a lone
  capitalised word that starts the sentence counts only when it is not a common word;
- a number is digits (with separators, a sign, a currency, a percent or a scale word such as
  "million") or a number word ("twelve", "dozens");
- a time is a weekday, a month with its day or year, a year, or a relative time ("last week").

Spans are character offsets into the sentence given, so a phrase is always verbatim text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from index.records import Expects, Unit
from index.words import STOPWORDS, content_stems, fold, folded_words, word_set


class PhraseKind(StrEnum):
    """What a phrase is."""

    NAME = "name"
    NUMBER = "number"
    TIME = "time"


@dataclass(frozen=True, slots=True)
class Phrase:
    """`sentence[start:end]` is a phrase of `kind`."""

    start: int
    end: int
    kind: PhraseKind


# The phrase kinds that answer each kind of question.
ANSWERING_KINDS: dict[Expects, frozenset[PhraseKind]] = {
    Expects.PERSON: frozenset({PhraseKind.NAME}),
    Expects.PLACE: frozenset({PhraseKind.NAME}),
    Expects.NAME: frozenset({PhraseKind.NAME}),
    Expects.TIME: frozenset({PhraseKind.TIME}),
    Expects.NUMBER: frozenset({PhraseKind.NUMBER}),
    Expects.OTHER: frozenset(),
}

# A trie of characters: each node maps a next character to its node, and "" marks a word end.
_Trie = dict[str, "_Trie"]


def _any_of(words: str) -> str:
    """A regular expression for any of the `|`-separated `words`, as a trie: Python's `re`
    tries an alternation branch by branch, so words sharing a start are tried once."""
    trie: _Trie = {}
    for word in words.split("|"):
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def render(node: _Trie) -> str:
        branches = [re.escape(char) + render(child) for char, child in node.items() if char]
        if not branches:
            return ""
        if len(branches) == 1 and "" not in node:
            return branches[0]
        return "(?:" + "|".join(branches) + ")" + ("?" if "" in node else "")

    return render(trie)


# Month and weekday names count only capitalised: "may" and "march" are verbs.
_MONTHS = (
    "(?-i:"
    + _any_of(
        "January|February|March|April|May|June|July|August|September|October|November|December"
        "|Jan.|Feb.|Mar.|Apr.|Aug.|Sep.|Sept.|Oct.|Nov.|Dec."
    )
    + ")"
)
_WEEKDAYS = "(?-i:" + _any_of("Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday") + ")"
_TIME = re.compile(
    rf"\b(?:(?:{_MONTHS})(?:\s+\d{{1,2}}(?:st|nd|rd|th)?)?(?:,?\s+\d{{4}})?"
    rf"|\d{{1,2}}\s+(?:{_MONTHS})(?:\s+\d{{4}})?"
    rf"|(?:{_WEEKDAYS})"
    r"|(?:1[89]|20)\d\d(?:s\b)?"
    r"|(?:last|next|this|earlier this|later this)\s+(?:week|month|year|weekend|spring|summer|fall"
    r"|autumn|winter|decade)"
    r"|(?:yesterday|today|tomorrow|tonight)"
    r"|(?:in|within|for)\s+(?:a|an|a few|several|\d+|two|three|four|five|six)\s+"
    r"(?:days?|weeks?|months?|years?|hours?|decades?))\b",
    re.IGNORECASE,
)
_NUMBER_WORDS = _any_of(
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen"
    "|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty"
    "|ninety|hundred|hundreds|thousand|thousands|million|millions|billion|billions|dozen|dozens"
    "|half|a third|a quarter"
)
_SCALE = (
    r"(?:\s*(?:%|(?:percentage points?|percent|per cent|million|billion|trillion|thousand"
    r"|hundred|[kmb]n?)\b))?"
)
# The denominator of a fraction in words: "two-thirds", "one-half", "three-quarters".
_FRACTION = r"(?:[- ](?:halves|half|thirds?|quarters?|fifths?|sixths?|eighths?|tenths?)\b)?"
_NUMBER = re.compile(
    rf"(?:[$€£¥]\s?)?(?<![\w.-])\d(?:[\d,]*\d)?(?:\.\d+)?{_SCALE}(?:-(?:year|month|day|week)s?)?"
    rf"|\b(?:{_NUMBER_WORDS})\b(?:[- ](?:{_NUMBER_WORDS})\b)*{_FRACTION}{_SCALE}",
    re.IGNORECASE,
)
# "one" as a pronoun, not a count: "no one", "each one", "one of them", "one another".
_ONE_BEFORE = re.compile(r"\b(?:no|any|every|each|the|this|that|which)\s+$", re.IGNORECASE)
_ONE_AFTER = re.compile(r"\s+(?:of|another)\b", re.IGNORECASE)
# A capitalised word: an upper-case letter, then letters, digits, apostrophes or hyphens
# ("O'Brien", "Blink-182", "McDonald’s"), or an all-digit tail after a hyphen.
_CAPITALISED = r"[A-ZÀ-ÖØ-ÞĀ-Ž][\w’'&.-]*"
_JOINER = r"(?:of|de|del|da|di|la|le|van|von|der|the|&|for|y|bin|al|el)"
_NAME = re.compile(rf"{_CAPITALISED}(?:\s+(?:{_JOINER}\s+)?{_CAPITALISED})*")
_JOINING = re.compile(_JOINER + r"|a|an|in|on|at|to|with|is")
_TITLE_WORDS = 8
_INNER_CAPITALISED = re.compile(rf"(?<=[a-z,;] )({_CAPITALISED})")
_OPENING_QUOTES = frozenset('“"‘')
_QUOTED = re.compile(r"[“\"‘](?P<title>[^“”\"‘’]{2,80}?)[”\"’]")


def names_within_sentences(text: str) -> frozenset[str]:
    """Capitalised words of `text` that stand inside a sentence (after a lower-case word or
    a comma), without a possessive: names, whose capital does not come from starting a
    sentence."""
    return frozenset(
        word.removesuffix("’s").removesuffix("'s") for word in _INNER_CAPITALISED.findall(text)
    )


def find_phrases(sentence: str, known_names: frozenset[str] = frozenset()) -> list[Phrase]:
    """The names, numbers and times in `sentence`, in order; a number inside a time (the
    day of a date) is part of the time only.

    A lone capitalised word that starts the sentence is a name only when `known_names`
    (`names_within_sentences` of its article) has it, or it is capitalised inside too
    ("NASA", "McDonald’s").
    """
    found: list[Phrase] = []
    for pattern, kind in ((_TIME, PhraseKind.TIME), (_NUMBER, PhraseKind.NUMBER)):
        for match in pattern.finditer(sentence):
            start, end = _trimmed(sentence, match.start(), match.end())
            if _is_pronoun_one(sentence, start, end) or _in_name(sentence, start, kind):
                continue
            if start < end and not _overlaps(found, start, end):
                found.append(Phrase(start, end, kind))
    for match in _QUOTED.finditer(sentence):
        start, end = _trimmed(sentence, match.start("title"), match.end("title"))
        while end > start and sentence[end - 1] in _TRAILING:
            end -= 1
        if _is_title(sentence[start:end]) and not _overlaps(found, start, end):
            found.append(Phrase(start, end, PhraseKind.NAME))
    # Names are looked for around the times and numbers ("On Sunday Netflix said ...").
    masked = list(sentence)
    for phrase in found:
        masked[phrase.start : phrase.end] = "\0" * (phrase.end - phrase.start)
    for match in _NAME.finditer("".join(masked)):
        start, end = _name_span(sentence, match.start(), match.end(), known_names)
        if start < end and not _overlaps(found, start, end):
            found.append(Phrase(start, end, PhraseKind.NAME))
    return sorted(found, key=lambda phrase: phrase.start)


def is_quoted_title(sentence: str, phrase: Phrase) -> bool:
    """Whether a name phrase of `sentence` is a title in quotation marks ("“Poor Things”"):
    a work's name, never a person's."""
    opening = sentence[phrase.start - 1] if phrase.start > 0 else ""
    return phrase.kind is PhraseKind.NAME and opening in _OPENING_QUOTES


def _in_name(sentence: str, start: int, kind: PhraseKind) -> bool:
    """Whether a number word is capitalised inside the sentence, as in a name ("Thousand
    Oaks", "One Direction")."""
    return (
        kind is PhraseKind.NUMBER
        and sentence[start].isupper()
        and not _starts_sentence(sentence, start)
    )


def _is_pronoun_one(sentence: str, start: int, end: int) -> bool:
    """Whether `sentence[start:end]` is "one" used as a pronoun ("no one", "one of")."""
    return sentence[start:end].lower() == "one" and bool(
        _ONE_BEFORE.search(sentence, 0, start) or _ONE_AFTER.match(sentence, end)
    )


def new_phrases(sentence: str, phrases: list[Phrase], asked: frozenset[str]) -> list[Phrase]:
    """The phrases whose words are not all among `asked` (the question's `folded_words`):
    what the sentence adds."""
    return [
        phrase
        for phrase in phrases
        if not folded_words(sentence[phrase.start : phrase.end]) <= asked
    ]


def modifies(sentence: str, phrase: Phrase, noun: str) -> bool:
    """Whether `phrase` stands right before `noun` (in any form: "companies" for "company")
    as a word that describes it, not names it: "South Korean" in "the South Korean show",
    for "which show?"."""
    following = _NEXT_WORD.match(sentence, phrase.end)
    return following is not None and content_stems(following[1]) == content_stems(noun)


_NEXT_WORD = re.compile(r"\s+(\w+)")


def counts_in(sentence: str, phrase: Phrase, unit: Unit) -> bool:
    """Whether the number `phrase` of `sentence` counts in `unit`: a percentage ("40%", "9
    percent", "0.75 percentage points"), an amount of money ("$3.2 billion", "£500", "12
    million dollars") or an age ("age 39", "a 39-year-old", "39 years old", "Smith, 39,")."""
    text = sentence[phrase.start : phrase.end]
    if unit is Unit.PERCENT:
        return bool(_PERCENT_SIGN.search(text) or _PERCENT_AFTER.match(sentence, phrase.end))
    if unit is Unit.MONEY:
        return bool(_CURRENCY_SIGN.search(text) or _CURRENCY_AFTER.match(sentence, phrase.end))
    before = sentence[max(0, phrase.start - _AGE_LOOKBEHIND) : phrase.start]
    return bool(
        _AGE_AFTER.match(sentence, phrase.end)
        or _AGE_BEFORE.search(before)
        or (_APPOSITION_BEFORE.search(before) and sentence.startswith(",", phrase.end))
    )


_PERCENT_SIGN = re.compile(r"%|per ?cent", re.IGNORECASE)
_PERCENT_AFTER = re.compile(r"\s*(?:%|per ?cent\b|percentage points?\b)", re.IGNORECASE)
_AGE_LOOKBEHIND = 12
_AGE_AFTER = re.compile(r"(?:-old|[- ]years?[- ]old)\b", re.IGNORECASE)
_AGE_BEFORE = re.compile(r"\bage[ds]?\s+$", re.IGNORECASE)
# "Cavalcante, 34, escaped": a number set off by commas right after a name.
_APPOSITION_BEFORE = re.compile(r"[A-ZÀ-Þ][\w’'.-]*,\s+$")
_CURRENCY_SIGN = re.compile(r"[$€£¥₹]")
_CURRENCY_AFTER = re.compile(
    r"\s+(?:dollars?|pounds?|euros?|yen|yuan|rupees?|francs?|cents?|pence)\b", re.IGNORECASE
)


_TRAILING = ".,;:’'-&"


def _name_span(sentence: str, start: int, end: int, known_names: frozenset[str]) -> tuple[int, int]:
    """A capitalised run without trailing punctuation, and without a first word that is
    capitalised only because it starts the sentence ("The", "Police", "Sales")."""
    start, end = _trimmed(sentence, start, end)
    end = _without_possessive(sentence, start, end)
    while end > start and sentence[end - 1] in _TRAILING:
        end -= 1
    words = sentence[start:end].split()
    if words and _starts_sentence(sentence, start):
        first = words[0]
        common = fold(first) in _COMMON_STARTS
        known = first in known_names or _inner_capital(first)
        if len(words) == 1 and (common or not known):
            return start, start
        if common:
            start = sentence.index(words[1], start + len(first))
    if fold(sentence[start:end]) in STOPWORDS:
        return start, start
    return start, end


def _without_possessive(sentence: str, start: int, end: int) -> int:
    """The end of a name without its possessive ("Antarctica’s" -> "Antarctica")."""
    for suffix in ("’s", "'s"):
        if sentence.endswith(suffix, start, end):
            return end - len(suffix)
    return end


def _inner_capital(word: str) -> bool:
    """Whether a word has a capital or a digit after its first letter ("NASA", "F1")."""
    return any(c.isupper() or c.isdigit() for c in word[1:])


def _is_title(text: str) -> bool:
    """Whether quoted text reads as a title ("Squid Game", "Thor: Love and Thunder"), not as
    a quoted remark: a few words, each capitalised but for joiners."""
    words = text.split()
    return 0 < len(words) <= _TITLE_WORDS and all(
        word[0].isupper() or word[0].isdigit() or _JOINING.fullmatch(word) for word in words
    )


def _starts_sentence(sentence: str, at: int) -> bool:
    """Whether only opening punctuation stands before `at`."""
    return not sentence[:at].strip(" \"“‘'([")


def _trimmed(sentence: str, start: int, end: int) -> tuple[int, int]:
    while start < end and sentence[start].isspace():
        start += 1
    while end > start and sentence[end - 1].isspace():
        end -= 1
    return start, end


def _overlaps(found: list[Phrase], start: int, end: int) -> bool:
    return any(phrase.start < end and start < phrase.end for phrase in found)


# Words that are capitalised at the start of a sentence without being a name.
_COMMON_STARTS = STOPWORDS | word_set(
    "after although among as at because before but despite during for from he her his "
    "however if in instead it its last many meanwhile more most much new now officials on "
    "once one other our police people she since some still such that the their then there "
    "these they this those though thus to two under unlike until we what when where which "
    "while who with without yet you according also another both each either even every "
    "few here like many neither next no nobody none not only over same several so than "
    "three too very let yes well just asked said why how"
)
