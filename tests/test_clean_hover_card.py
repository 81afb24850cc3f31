"""The link-hover-card rule: the same removals as its regular expression, in linear time."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.clean import RULES, clean_body

# The rule as a regular expression: the reference the faster matcher must agree with.
REFERENCE = re.compile(
    r"\b(?P<short>[A-Z][\w'’.-]{1,40}?)"
    r"(?P<removed>[A-Z][^\n]{0,80}?(?P=short)(?=[A-Z\d'‘“\"])[^\n]{0,1200}? MORE\b)"
)
HOVER_CARD = next(rule for rule in RULES if rule.name == "link-hover-card")


def reference_spans(paragraph: str) -> list[tuple[int, int]]:
    return [match.span("removed") for match in REFERENCE.finditer(paragraph)]


PIECES = st.sampled_from(
    ["Trump", "Donald", "John", "Xa", "X", "a", " ", "MORE", " MORE", "'", "“", "-", ".",
     "1", "é", "Sanders", "TrumpSanders", "_", "MOREx", "Ab"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(PIECES, max_size=60).map("".join))
def test_the_matcher_removes_what_the_regular_expression_would(paragraph: str) -> None:
    assert HOVER_CARD.removals(paragraph) == reference_spans(paragraph)


@pytest.mark.parametrize(
    "paragraph",
    [
        "President TrumpDonald John TrumpSanders urges impeachment trial probe MORE had threatened",
        "Sen. SchumerCharles (Chuck) Ellis SchumerOvernight Health MORE (D-N.Y.) said.",
        "A plain sentence with no card in it. MORE or less.",
    ],
)
def test_real_cards_agree_with_the_regular_expression(paragraph: str) -> None:
    assert HOVER_CARD.removals(paragraph) == reference_spans(paragraph)


@pytest.mark.parametrize(
    "hostile",
    [
        ("Xa" * 10 + " ") * 1000,
        ("Xa" * 20 + " ") * 500,
        ("Xa" * 10 + " ") * 1000 + " MORE",
        ("XaXa " * 60 + "MORE ") * 60,
        "X" + "aX" * 10_000 + " MORE",
    ],
)
def test_hostile_text_is_cleaned_in_linear_time(hostile: str) -> None:
    started = time.perf_counter()
    clean_body(hostile)
    assert time.perf_counter() - started < 0.5


def test_two_million_characters_of_hostile_text_take_seconds_not_minutes() -> None:
    text = ("XaXa" * 5 + " ") * 60_000 + " MORE" + ("XaXa " * 60 + "MORE ") * 1_000
    started = time.perf_counter()
    clean_body(text)
    assert time.perf_counter() - started < 10
