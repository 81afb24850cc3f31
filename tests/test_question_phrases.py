"""What a question asks for, and the phrases of a sentence that can answer it: the explicit
rules of index/question.py and index/phrases.py, on real news questions and sentences."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.phrases import (
    PhraseKind,
    counts_in,
    find_phrases,
    folded_words,
    modifies,
    names_within_sentences,
    new_phrases,
)
from index.places import is_place, place_kind
from index.question import analyse_question
from index.records import Expects, Unit


@pytest.mark.parametrize(
    ("question", "expects", "focus"),
    [
        ("Which news agency took the picture?", Expects.NAME, "agency"),
        ("Where was the photo taken?", Expects.PLACE, None),
        ("Who is the president of Mexico?", Expects.PERSON, None),
        ("Who won the 2018 FIFA World Cup?", Expects.PERSON, None),
        ("When will NASA next attempt to launch its moon rocket?", Expects.TIME, None),
        ("How many hot dogs did Joey Chestnut devour?", Expects.NUMBER, None),
        ("How much plastic in the US is actually recycled?", Expects.NUMBER, None),
        ("Why were some Kia and Hyundai SUVs recalled this week?", Expects.OTHER, None),
        ("What did the images show?", Expects.OTHER, None),
        ("What country announced a crackdown on rainbow-colored toys?", Expects.PLACE, "country"),
        ("Which food chain launched a redesigned menu?", Expects.NAME, "chain"),
        ("Which wildly popular show was green lit?", Expects.NAME, "show"),
        ("Liz Truss became premier of which country this week?", Expects.PLACE, "country"),
        ("A quake hit Afghanistan. What was its magnitude?", Expects.NUMBER, "magnitude"),
        ("The GOP critic was booted from her seat. What is her name?", Expects.NAME, "name"),
        ("In what year did the war end?", Expects.TIME, "year"),
        ("Which superstar athlete teased a return?", Expects.PERSON, "athlete"),
        ("Tell me about the floods", Expects.OTHER, None),
        ("France lacks which condiment, sparking outrage?", Expects.NAME, "condiment"),
        ("What happened during the plugs-out test?", Expects.OTHER, None),
        ("What caused the fire?", Expects.OTHER, None),
        ("What other European leader was educated in Paris?", Expects.PERSON, "leader"),
        ("Which city council voted?", Expects.NAME, "council"),
        ("What United States agency said so?", Expects.NAME, "agency"),
        ("What percentage of the global population saw it?", Expects.NUMBER, "percentage"),
        ("What kind of show is it?", Expects.NAME, "show"),
        ("Which of the following countries joined?", Expects.PLACE, "countries"),
        ("Which nation contains the majority of the forest?", Expects.PLACE, "nation"),
    ],
)  # fmt: skip
def test_what_a_question_asks_for(question: str, expects: Expects, focus: str | None) -> None:
    frame = analyse_question(question)
    assert (frame.expects, frame.focus) == (expects, focus)


def phrases(sentence: str) -> list[tuple[str, PhraseKind]]:
    return [(sentence[p.start : p.end], p.kind) for p in find_phrases(sentence)]


NAME, NUMBER, TIME = PhraseKind.NAME, PhraseKind.NUMBER, PhraseKind.TIME


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        (
            "The Reuters image taken on Monday depicts a Mexican National Guard soldier.",
            [("Reuters", NAME), ("Monday", TIME), ("Mexican National Guard", NAME)],
        ),
        (
            "Joey Chestnut ate 63 hot dogs on July 4, 2022, winning his 15th title.",
            [("Joey Chestnut", NAME), ("63", NUMBER), ("July 4, 2022", TIME), ("15", NUMBER)],
        ),
        ("“Squid Game” is officially coming back.", [("Squid Game", NAME)]),
        (
            "About 2.5 million lost power, 40% up on last week.",
            [("2.5 million", NUMBER), ("40%", NUMBER), ("last week", TIME)],
        ),
        (
            "Sales were $3.2 billion, or 9 percent of the total, in 2021.",
            [("$3.2 billion", NUMBER), ("9 percent", NUMBER), ("2021", TIME)],
        ),
        (
            "He said the Los Angeles Dodgers and Blink-182 would tour next year.",
            [("Los Angeles Dodgers", NAME), ("Blink-182", NAME), ("next year", TIME)],
        ),
        (
            '"Let me pass, I beg of you," Pérez begged, as reported by NPR.',
            [("Pérez", NAME), ("NPR", NAME)],
        ),
        ("The storm hit twelve towns.", [("twelve", NUMBER)]),
        # A fraction in words is one number.
        ("Two-thirds of them, one-half of us and three quarters of all.",
         [("Two-thirds", NUMBER), ("one-half", NUMBER), ("three quarters", NUMBER)]),
        # Commas between digits belong to a number, a comma after it does not.
        ("It had 17,786,419, in all.", [("17,786,419", NUMBER)]),
        # A capitalised number word inside a sentence is part of a name.
        ("Five fled to Thousand Oaks.", [("Five", NUMBER), ("Thousand Oaks", NAME)]),
        # Lower-case "may" and "march" are verbs, not months.
        ("They may march on Sunday, May 3.", [("Sunday", TIME), ("May 3", TIME)]),
        ("“I’m alone and no one is helping me,” one of them said.", []),
        ("He scored one goal, one in five of his shots.", [("one", NUMBER), ("one", NUMBER),
                                                           ("five", NUMBER)]),
    ],
)  # fmt: skip
def test_phrases_of_a_sentence(sentence: str, expected: list[tuple[str, PhraseKind]]) -> None:
    assert phrases(sentence) == expected


def test_a_lone_first_word_is_a_name_when_its_article_names_it_inside_a_sentence() -> None:
    article = "Subway is changing its menu. Fans of Subway were told on Monday."
    sentence = "Subway is changing its menu."
    assert phrases(sentence) == []
    known = names_within_sentences(article)
    assert [sentence[p.start : p.end] for p in find_phrases(sentence, known)] == ["Subway"]
    assert [(p.start, p.end) for p in find_phrases("NASA waited.")] == [(0, 4)]


def test_new_phrases_leave_out_what_the_question_names() -> None:
    sentence = "On Sunday Netflix said Squid Game will return, Hwang Dong-hyuk wrote."
    asked = folded_words("When will Squid Game return?")
    found = new_phrases(sentence, find_phrases(sentence), asked)
    assert [sentence[p.start : p.end] for p in found] == ["Sunday", "Netflix", "Hwang Dong-hyuk"]


@pytest.mark.parametrize(
    ("question", "unit"),
    [
        ("Of Warsaw's inhabitants in 1901, what percentage was Catholic?", Unit.PERCENT),
        ("What was the percentage of a female householder?", Unit.PERCENT),
        ("What percentage of the global population will see the eclipse?", Unit.PERCENT),
        ("What share of voters backed him?", None),
        ("How much was Trump fined Tuesday?", Unit.MONEY),
        ("Beyoncé was reportedly paid how much to perform in Dubai?", Unit.MONEY),
        ("How much is his pay package worth?", Unit.MONEY),
        ("How much plastic in the US is actually recycled?", None),
        ("How many people were arrested?", None),
        ("Who paid the fine?", None),
        ("How old was Peyton Manning when he played in Super Bowl 50?", Unit.AGE),
        ("At what age did she retire?", Unit.AGE),
    ],
)
def test_the_unit_a_number_is_asked_in(question: str, unit: Unit | None) -> None:
    assert analyse_question(question).unit == unit


def test_an_age_is_told_by_the_words_around_it() -> None:
    sentence = "Cavalcante, 34, a 39-year-old and two men aged 51 and 60 years old fled at 3 a.m."
    found = {
        sentence[p.start : p.end]: counts_in(sentence, p, Unit.AGE)
        for p in find_phrases(sentence)
        if p.kind is PhraseKind.NUMBER
    }
    assert found == {"34": True, "39-year": True, "two": False, "51": True, "60": True, "3": False}


def test_a_percentage_or_money_is_told_by_its_sign_or_word() -> None:
    sentence = (
        "Sales rose $3.2 billion, or 9 percent, up 0.75 percentage points and 12 million"
        " dollars, 40% more than 20 years ago."
    )
    found = {
        sentence[p.start : p.end]: (
            counts_in(sentence, p, Unit.PERCENT),
            counts_in(sentence, p, Unit.MONEY),
        )
        for p in find_phrases(sentence)
        if p.kind is PhraseKind.NUMBER
    }
    assert found == {
        "$3.2 billion": (False, True),
        "9 percent": (True, False),
        "0.75 percentage points": (True, False),
        "12 million": (False, True),
        "40%": (True, False),
        "20": (False, False),
    }


@pytest.mark.parametrize(
    ("sentence", "noun", "expected"),
    [
        ("The wildly popular South Korean show is back.", "show", {"South Korean": True}),
        ("The British companies and Shell bid.", "company", {"British": True, "Shell": False}),
        ("Viewers said Netflix renewed the show.", "show", {"Netflix": False}),
        ("The Showtime series ended.", "show", {"Showtime": False}),
    ],
)
def test_a_name_right_before_the_asked_for_noun_describes_it(
    sentence: str, noun: str, expected: dict[str, bool]
) -> None:
    known = names_within_sentences(sentence)
    found = {
        sentence[p.start : p.end]: modifies(sentence, p, noun)
        for p in find_phrases(sentence, known)
    }
    assert found == expected


@given(st.text(max_size=300))
def test_phrases_are_ordered_disjoint_spans_of_the_sentence(sentence: str) -> None:
    found = find_phrases(sentence)
    for phrase in found:
        assert 0 <= phrase.start < phrase.end <= len(sentence)
        assert sentence[phrase.start : phrase.end].strip() == sentence[phrase.start : phrase.end]
    for before, after in itertools.pairwise(found):
        assert before.end <= after.start


@given(st.text(max_size=300))
def test_any_question_gets_a_frame(question: str) -> None:
    assert analyse_question(question).expects in set(Expects)


@pytest.mark.parametrize(
    ("kind", "phrase", "expected"),
    [
        ("country", "Mexico", True),
        ("country", "the Netherlands", True),
        ("country", "U.S", True),
        ("country", "Britain", True),
        ("country", "Nayarit", False),
        ("country", "Santa Cruz", False),
        ("us_state", "California", True),
        ("us_state", "new york", True),
        ("us_state", "Spain", False),
    ],
)
def test_places_of_a_kind(kind: str, phrase: str, expected: bool) -> None:
    assert is_place(kind, phrase) is expected


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Hurricane Roslyn made landfall in which country this week?", "country"),
        ("Which state has the most confirmed cases of monkeypox?", "us_state"),
        ("Which countries signed the treaty?", "country"),
        ("Which city hosted the games?", None),
        ("Where was the photo taken?", None),
    ],
)
def test_which_kind_of_place_a_question_asks_for(question: str, kind: str | None) -> None:
    assert place_kind(analyse_question(question).focus) == kind
