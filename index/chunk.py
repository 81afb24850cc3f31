"""Sentence-aware passages that fit the embedding model's input, with character offsets.

Whole paragraphs are packed into a passage while they fit `max_tokens` word pieces (counted
with the model's own tokenizer). A paragraph too long for one passage is split between
sentences; a sentence too long on its own is split between words, and only then inside a
word. `text[passage.start:passage.end]` is always the passage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tokenizers import Tokenizer

from index.embed.model import count_tokens
from index.records import Passage, Span
from index.segment import sentence_spans

# Word pieces kept free when a sentence is cut inside a word, where re-tokenising the cut
# text can cost a piece or two more than the pieces it was cut from.
_CUT_MARGIN = 2


@dataclass(frozen=True, slots=True)
class _Unit:
    """A sentence, or a piece of an over-long one: the smallest span a passage holds."""

    start: int
    end: int
    tokens: int
    paragraph: int


def chunk_article(
    text: str, paragraphs: Sequence[Span], tokenizer: Tokenizer, max_tokens: int
) -> list[Passage]:
    """Split a cleaned article into passages of at most `max_tokens` word pieces."""
    sentences: list[tuple[int, Span]] = [
        (number, span)
        for number, (start, end) in enumerate(paragraphs, start=1)
        for span in sentence_spans(text, start, end)
    ]
    counts = count_tokens(tokenizer, [text[s:e] for _, (s, e) in sentences])
    units: list[_Unit] = []
    for (paragraph, (start, end)), tokens in zip(sentences, counts, strict=True):
        if tokens <= max_tokens:
            units.append(_Unit(start, end, tokens, paragraph))
        else:
            units.extend(_split_long_sentence(text, start, end, paragraph, tokenizer, max_tokens))
    return _pack(units, max_tokens)


def _pack(units: list[_Unit], max_tokens: int) -> list[Passage]:
    """Greedy packing: whole paragraphs while they fit, else sentences of one paragraph."""
    by_paragraph: dict[int, list[_Unit]] = {}
    for unit in units:
        by_paragraph.setdefault(unit.paragraph, []).append(unit)
    groups: list[list[_Unit]] = []
    current: list[_Unit] = []
    current_tokens = 0
    for paragraph_units in by_paragraph.values():
        paragraph_tokens = sum(u.tokens for u in paragraph_units)
        if current and current_tokens + paragraph_tokens <= max_tokens:
            current.extend(paragraph_units)
            current_tokens += paragraph_tokens
            continue
        if current:
            groups.append(current)
        current, current_tokens = [], 0
        for unit in paragraph_units:
            if current and current_tokens + unit.tokens > max_tokens:
                groups.append(current)
                current, current_tokens = [], 0
            current.append(unit)
            current_tokens += unit.tokens
    if current:
        groups.append(current)
    return [
        Passage(
            ordinal=ordinal,
            start=group[0].start,
            end=group[-1].end,
            paragraph_first=group[0].paragraph,
            paragraph_last=group[-1].paragraph,
            sentences=tuple((u.start, u.end) for u in group),
            tokens=sum(u.tokens for u in group),
        )
        for ordinal, group in enumerate(groups)
    ]


def _split_long_sentence(
    text: str, start: int, end: int, paragraph: int, tokenizer: Tokenizer, max_tokens: int
) -> list[_Unit]:
    """Cut a sentence longer than `max_tokens` at word starts (inside a word only if needed)."""
    sentence = text[start:end]
    offsets = tokenizer.encode(sentence, add_special_tokens=False).offsets
    limit = max_tokens - _CUT_MARGIN
    pieces: list[_Unit] = []
    first = 0
    while first < len(offsets):
        stop = first + limit
        if stop >= len(offsets):
            cut_char = len(sentence)
            stop = len(offsets)
        else:
            word_starts = [
                i
                for i in range(stop, first, -1)
                if offsets[i][0] > 0 and sentence[offsets[i][0] - 1].isspace()
            ]
            stop = word_starts[0] if word_starts else stop
            cut_char = offsets[stop][0]
        piece_start = offsets[first][0]
        piece = sentence[piece_start:cut_char]
        stripped_start = piece_start + (len(piece) - len(piece.lstrip()))
        stripped_end = piece_start + len(piece.rstrip())
        if stripped_end > stripped_start:
            pieces.append(
                _Unit(start + stripped_start, start + stripped_end, stop - first, paragraph)
            )
        first = stop
    return pieces
