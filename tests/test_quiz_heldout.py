"""The held-out quiz set: pages dated by their address, questions kept when a page of the
week before their quiz day answers them."""

from __future__ import annotations

from datetime import date

from bench.quiz_heldout import address_date, article_rows, question_rows
from train.pairs import Quiz

WEEK_PAGE = "https://www.cnn.com/2023/03/14/world/oscars-winners/index.html"
OLD_PAGE = "https://www.cnn.com/2022/02/07/world/oscars-history/index.html"
UNDATED_PAGE = "https://theweek.com/culture/oscars"
PAGES = {
    WEEK_PAGE: ("Oscars", "“Everything Everywhere All at Once” swept the Oscars on Sunday."),
    OLD_PAGE: ("History", "Ceremonies past: Everything Everywhere All at Once was not yet made."),
    UNDATED_PAGE: ("Oscars", "Everything Everywhere All at Once won best picture."),
}


def quiz(number: int, pages: tuple[str, ...]) -> Quiz:
    return Quiz(
        f"q{number}",
        "2023/03/16",
        "Which film swept several major categories at the Oscars?",
        ('"Everything Everywhere All at Once"',),
        ("Tár",),
        "",
        pages,
    )


def test_a_page_is_dated_by_its_address_when_it_holds_a_real_date() -> None:
    assert address_date(WEEK_PAGE) == date(2023, 3, 14)
    assert address_date("https://example.com/2023/13/40/story") is None
    assert address_date(UNDATED_PAGE) is None
    rows = {row["id"]: row for row in article_rows(PAGES)}
    assert rows[WEEK_PAGE]["published"] == "2023-03-14"
    assert "published" not in rows[UNDATED_PAGE]


def test_a_question_is_kept_only_when_a_page_of_its_week_answers_it() -> None:
    quizzes = [quiz(1, (OLD_PAGE, WEEK_PAGE)), quiz(2, (OLD_PAGE,)), quiz(3, (UNDATED_PAGE,))]
    rows = list(question_rows(quizzes, PAGES))
    assert rows == [
        {
            "question": "Which film swept several major categories at the Oscars?",
            "answers": ["Everything Everywhere All at Once"],
            "asked_on": "2023-03-16",
        }
    ]
