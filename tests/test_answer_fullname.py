"""A name quoted short is quoted with the sentence before that gives it in full
(`index.fullname`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.fullname import full_name_in
from tests.support.indexes import fake_engine_over

HURTS = (
    "Jalen Hurts is feeling the love in the City of Brotherly Love.\n\n"
    "Hurts and the Philadelphia Eagles have agreed on a five-year, $255 million deal."
)
COMER = (
    "The Tony Awards were handed out on Sunday night.\n\n"
    "Jodie Comer wins best actress for 'Prima Facie'\n\n"
    "Comer, who shot to fame on 'Killing Eve', won the best actress Tony on Sunday."
)


@pytest.mark.parametrize(
    ("text", "question", "quoted", "marked"),
    [
        (
            HURTS,
            "Which quarterback agreed to a five-year, $255 million deal?",
            HURTS,
            "Jalen Hurts",
        ),
        (  # the sentence before ends the paragraph before: a heading
            COMER,
            "Who won the best actress Tony on Sunday?",
            COMER[COMER.index("Jodie") :],
            "Jodie Comer",
        ),
    ],
)
def test_a_name_quoted_short_comes_with_the_sentence_that_gives_it_in_full(
    tmp_path: Path, text: str, question: str, quoted: str, marked: str
) -> None:
    engine = fake_engine_over([{"id": "a", "title": "News", "text": text}], tmp_path)
    answer = engine.ask(question)
    part, citation = answer.answer[0], answer.citations[0]
    assert part.text == quoted == text[citation.start : citation.end]
    assert part.highlight is not None
    assert part.text[slice(*part.highlight)] == marked


@pytest.mark.parametrize(
    ("text", "question", "kept_from"),
    [
        (  # the quote gives the name in full itself
            "Jalen Hurts is feeling the love.\n\n"
            "Hurts agreed to a five-year, $255 million deal, Jalen Hurts said.",
            "Which quarterback agreed to a five-year, $255 million deal?",
            "Hurts agreed",
        ),
        (  # a place quoted short is not read as a longer name
            "Storms flooded West Texas on Sunday.\n\n"
            "Texas passed the law on Monday, the first state to do so.",
            "Which state passed the law on Monday?",
            "Texas passed",
        ),
    ],
)
def test_a_quote_stays_as_it_is_where_no_full_name_is_wanted(
    tmp_path: Path, text: str, question: str, kept_from: str
) -> None:
    engine = fake_engine_over([{"id": "a", "title": "News", "text": text}], tmp_path)
    answer = engine.ask(question)
    assert answer.answer[0].text == text[text.index(kept_from) :]


@pytest.mark.parametrize(
    ("sentence", "short", "full"),
    [
        ("Jalen Hurts is feeling the love.", "Hurts", "Jalen Hurts"),
        ("PHOENIX – The Milwaukee Bucks won again.", "Bucks", "Milwaukee Bucks"),
        ("President Joe Biden spoke on Monday.", "Biden", "Joe Biden"),
        ("Hurts spoke on Monday.", "Hurts", None),
        ("The Eagles won on Monday.", "Hurts", None),
    ],
)
def test_the_full_name_is_the_name_that_ends_with_the_short_one(
    sentence: str, short: str, full: str | None
) -> None:
    text = f"Earlier news. {sentence}"
    span = full_name_in(text, (text.index(sentence), len(text)), short)
    assert (text[slice(*span)] if span else None) == full
