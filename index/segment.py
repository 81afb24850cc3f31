"""Sentence segmentation with character offsets, offline (sentencex, rule based, no downloads)."""

from __future__ import annotations

import re

from sentencex import segment

from index.records import Span

# sentencex leaves an opening quote at the end of the sentence before it ('... NPR. "');
# such a quote belongs to the next sentence.
_TRAILING_OPENING_QUOTE = re.compile(r"\s([\"“‘'«])$")


def sentence_spans(text: str, start: int, end: int, language: str = "en") -> list[Span]:
    """Sentences of `text[start:end]` as absolute, whitespace-trimmed, non-overlapping spans.

    Every non-space character of the range lies in exactly one span.
    """
    chunk = text[start:end]
    raw_spans: list[Span] = []
    cursor = 0
    for sentence in segment(language, chunk):
        found = chunk.find(sentence, cursor) if sentence else -1
        if found < 0:
            # The segmenter altered the text; keep what is left as one sentence.
            break
        raw_spans.append((found, found + len(sentence)))
        cursor = found + len(sentence)
    if cursor < len(chunk):
        raw_spans.append((cursor, len(chunk)))
    spans: list[Span] = []
    carry = 0  # characters moved from the previous sentence onto this one
    for span_start, span_end in raw_spans:
        span_start -= carry
        carry = 0
        match = _TRAILING_OPENING_QUOTE.search(chunk, span_start, span_end)
        if match:
            carry = span_end - match.start(1)
            span_end = match.start(1)
        trimmed = _trim(chunk, span_start, span_end)
        if trimmed:
            spans.append((start + trimmed[0], start + trimmed[1]))
    if carry:
        tail = _trim(chunk, len(chunk) - carry, len(chunk))
        if tail:
            spans.append((start + tail[0], start + tail[1]))
    return spans


def _trim(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None
