"""Cleaning: remove boilerplate spans, normalise whitespace and Unicode (NFC).

Cleaning only ever deletes spans and normalises whitespace; it never rewrites the words that
remain. Each boilerplate rule is named, documented and tested. The cleaned text is what the
store keeps and what every offset refers to. Paragraphs are joined with one blank line.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from index.records import Span

# Bump when a rule changes: the index notices and rebuilds everything.
CLEANER_VERSION = 1

PARAGRAPH_SEPARATOR = "\n\n"


@dataclass(frozen=True, slots=True)
class Rule:
    """A boilerplate rule: `pattern` matches what is removed, `name` says what it is.

    A whole-paragraph rule drops paragraphs it matches entirely. An inline rule deletes the
    `removed` group of each match and keeps the text around it.
    """

    name: str
    pattern: re.Pattern[str]
    whole_paragraph: bool


RULES: tuple[Rule, ...] = (
    # A paragraph that is only an advertisement marker, as news sites leave between paragraphs:
    # "ADVERTISEMENT", "Advertisement", "Story continues below advertisement".
    Rule(
        name="advertisement-marker",
        pattern=re.compile(r"(?:story continues below )?advertisement", re.IGNORECASE),
        whole_paragraph=True,
    ),
    # A link hover-card pasted into a sentence: the linked short name is followed, with no
    # space, by the person's full name ending in the same short name, then headlines run
    # together, then "MORE". In "President TrumpDonald John TrumpSanders urges ... probe MORE
    # had threatened" the rule removes "Donald John TrumpSanders urges ... probe MORE".
    Rule(
        name="link-hover-card",
        pattern=re.compile(
            r"\b(?P<short>[A-Z][\w'’.-]{1,40}?)"
            r"(?P<removed>[A-Z][^\n]{0,80}?(?P=short)(?=[A-Z\d'‘“\"])[^\n]{0,1200}? MORE\b)"
        ),
        whole_paragraph=False,
    ),
)

# Characters that carry no text: control characters that are not whitespace (those Python
# counts as whitespace, such as \x0b, \x0c, \x1c-\x1f and \x85, separate words and become
# spaces), invisible ones (zero-width space, byte order mark, soft hyphen, word joiner; the
# zero-width joiner stays: emoji need it) and lone surrogates (no UTF-8 can hold them).
_NO_TEXT = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u200b\ufeff\u00ad\u2060\ud800-\udfff]")
_LINE_BREAKS = re.compile("\r\n?|[\u2028\u2029\x85]")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\u00a0]*\n\s*")
_WHITESPACE_RUN = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class CleanedText:
    """A cleaned body: its text, each paragraph's span in it, and what each rule removed."""

    text: str
    paragraphs: tuple[Span, ...]
    removed: Counter[str]


def remove_control_characters(text: str, replacement: str = "") -> str:
    """`text` with each character that carries no text (controls that are not whitespace,
    invisible characters, lone surrogates) replaced by `replacement`."""
    return _NO_TEXT.sub(replacement, text)


def normalise_line(text: str, *, control_replacement: str = "") -> str:
    """NFC, no characters that carry no text, whitespace runs collapsed to one space."""
    text = remove_control_characters(unicodedata.normalize("NFC", text), control_replacement)
    return _WHITESPACE_RUN.sub(" ", text).strip()


def clean_body(raw: str) -> CleanedText:
    """Clean an article body and split it into paragraphs (separated by blank lines)."""
    text = remove_control_characters(unicodedata.normalize("NFC", _LINE_BREAKS.sub("\n", raw)))
    removed: Counter[str] = Counter()
    kept: list[str] = []
    for block in _PARAGRAPH_BREAK.split(text):
        paragraph = _WHITESPACE_RUN.sub(" ", block).strip()
        paragraph = _apply_rules(paragraph, removed)
        if paragraph:
            kept.append(paragraph)
    spans: list[Span] = []
    offset = 0
    for paragraph in kept:
        spans.append((offset, offset + len(paragraph)))
        offset += len(paragraph) + len(PARAGRAPH_SEPARATOR)
    return CleanedText(PARAGRAPH_SEPARATOR.join(kept), tuple(spans), removed)


def _apply_rules(paragraph: str, removed: Counter[str]) -> str:
    for rule in RULES:
        if not paragraph:
            break
        if rule.whole_paragraph:
            if rule.pattern.fullmatch(paragraph):
                removed[rule.name] += 1
                paragraph = ""
            continue
        paragraph, count = rule.pattern.subn(_delete_removed_group, paragraph)
        if count:
            removed[rule.name] += count
            paragraph = _WHITESPACE_RUN.sub(" ", paragraph).strip()
    return paragraph


def _delete_removed_group(match: re.Match[str]) -> str:
    """Keep the match minus its `removed` group."""
    start, end = match.span("removed")
    return match.string[match.start() : start] + match.string[end : match.end()]
