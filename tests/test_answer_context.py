"""A sentence that does not name what answers is quoted with the neighbour that does (issue
#11: "the show", "he" and "they" name their subject in the sentence before or after)."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.answer import ScoredSentence, asks, introduces
from index.engine import Engine
from tests.support.indexes import fake_engine_over

ARTICLES = [
    {
        "id": "show",
        "title": "Streaming news",
        "text": "“Squid Game” is officially coming back. The streaming service announced on"
        " Sunday that the wildly popular South Korean show is green lit for a second season.",
    },
    {
        "id": "quarterback",
        "title": "Records",
        "text": "Peyton Manning led the Broncos to the title. He is the oldest quarterback to"
        " play in a Super Bowl. The past record was held by John Elway.",
    },
    {
        "id": "storm",
        "title": "Storm report",
        "text": "Roslyn made landfall near Santa Cruz in northern Nayarit state. Hurricane"
        " Roslyn slammed into west-central Mexico on Sunday.",
    },
    {
        "id": "team",
        "title": "Baseball",
        "text": "The Athletics appear one step closer to leaving Oakland. The team has signed a"
        " purchase agreement for land near the Las Vegas Strip, the Las Vegas Review-Journal"
        " reported.",
    },
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return fake_engine_over(ARTICLES, tmp_path_factory.mktemp("context"))


def candidate_containing(engine: Engine, question: str, sentence: str) -> tuple[str, str, dict]:
    """(quoted text, highlighted text, signals) of the candidate built on `sentence`."""
    ranked = engine.rank_sentences(question)
    for scored in ranked.sentences:
        quote, highlight = _texts(ranked.articles[scored.candidate.article_id].text, scored)
        if sentence in quote:
            return quote, highlight, dict(scored.signals)
    raise AssertionError(f"no candidate holds {sentence!r}")


def candidate_quotes(engine: Engine, question: str) -> list[str]:
    """What each candidate for `question` would quote, best first."""
    ranked = engine.rank_sentences(question)
    return [
        ranked.articles[s.candidate.article_id].text[s.candidate.start : s.candidate.end]
        for s in ranked.sentences
    ]


def _texts(text: str, scored: ScoredSentence) -> tuple[str, str]:
    candidate = scored.candidate
    assert candidate.highlight is not None
    start, end = candidate.highlight
    assert candidate.start <= start < end <= candidate.end
    return text[candidate.start : candidate.end], text[start:end]


def test_the_sentence_before_names_what_the_question_asks_for(engine: Engine) -> None:
    quote, highlight, signals = candidate_containing(
        engine,
        "Which wildly popular show was recently green lit for a new season?",
        "the wildly popular South Korean show is green lit",
    )
    assert quote == ARTICLES[0]["text"]
    # "South Korean" describes the show the question asks about: it does not name it.
    assert highlight == "Squid Game"
    assert (signals["answer_beside"], signals["type_match"]) == (1.0, 0.0)


def test_the_sentence_before_wins_over_the_one_after(engine: Engine) -> None:
    quote, highlight, _ = candidate_containing(
        engine, "Who is the oldest quarterback to play in a Super Bowl?", "He is the oldest"
    )
    assert highlight == "Peyton Manning"
    assert quote.endswith("in a Super Bowl.")
    assert "Elway" not in quote


def test_a_sentence_with_its_own_answer_is_quoted_alone(engine: Engine) -> None:
    quote, highlight, signals = candidate_containing(
        engine, "Who held the past record?", "The past record was held"
    )
    assert quote == "The past record was held by John Elway."
    assert highlight == "John Elway"
    assert (signals["answer_beside"], signals["type_match"]) == (0.0, 1.0)


def test_the_asked_noun_named_before_is_answered_by_the_sentence_before(engine: Engine) -> None:
    # "The team" is the one named before: the newspaper named in the sentence answers no
    # "which team".
    quote, highlight, signals = candidate_containing(
        engine, "Which team signed a purchase agreement for land?", "The team has signed"
    )
    assert quote == ARTICLES[3]["text"]
    assert highlight in ("Athletics", "The Athletics")
    assert signals["answer_beside"] == 1.0
    # Asked for a newspaper, the same sentence answers itself.
    quote, highlight, _ = candidate_containing(
        engine, "Which newspaper reported the purchase agreement?", "The team has signed"
    )
    assert highlight.startswith("Las Vegas")
    assert quote.startswith("The team has signed")


def test_which_country_wants_a_country_not_any_place(engine: Engine) -> None:
    quote, highlight, signals = candidate_containing(
        engine, "Hurricane Roslyn made landfall in which country?", "near Santa Cruz"
    )
    assert highlight == "Mexico"
    assert quote == ARTICLES[2]["text"]
    assert signals["answer_beside"] == 1.0


def test_every_candidate_quote_is_the_article_text_at_its_offsets(engine: Engine) -> None:
    for question in ["Which show is coming back?", "Who is the oldest quarterback?", "Mexico"]:
        answer = engine.ask(question)
        for citation, part in zip(answer.citations, answer.answer, strict=True):
            article = engine.reader().article(citation.article_id)
            assert article is not None
            assert article.text[citation.start : citation.end] == part.text == citation.quote


def test_a_question_in_an_article_is_quoted_only_with_its_answer_after_it(
    tmp_path: Path,
) -> None:
    # A heading that asks what the reader asks, between a paragraph with a year and the one
    # that answers: it was quoted with the year's sentence before it, as if that answered.
    eclipse = {
        "id": "eclipse",
        "title": "Eclipse guide",
        "text": "Crowds gathered in Iowa in 2017.\n\nWhen is the next solar eclipse?\n\n"
        "The next total solar eclipse in the U.S. will be on Aug. 23, 2044.",
    }
    engine = fake_engine_over([eclipse], tmp_path)
    question = "When is the next solar eclipse?"
    quotes = candidate_quotes(engine, question)
    assert "Crowds gathered in Iowa in 2017." in quotes
    assert "When is the next solar eclipse?" not in quotes
    assert all(quote.endswith("2044.") for quote in quotes if "When is" in quote)
    assert engine.ask(question).answer[0].text.endswith("Aug. 23, 2044.")


def test_a_heading_is_quoted_with_what_follows_it_never_with_what_came_before(
    tmp_path: Path,
) -> None:
    # A section heading without an answer of its own was quoted with the sentence before
    # it, whose place answered nothing: "... at Gulfstream Park. Kentucky Derby 2023
    # pre-race reading".
    derby = {
        "id": "derby",
        "title": "Derby news",
        "text": "Forte won the Florida Derby at Gulfstream Park this year.\n\n"
        "Kentucky Derby 2023 pre-race reading\n\n"
        "The horses trained at Churchill Downs in Louisville on Friday.",
    }
    quotes = candidate_quotes(
        fake_engine_over([derby], tmp_path), "Where is the Kentucky Derby held?"
    )
    with_heading = [quote for quote in quotes if "pre-race reading" in quote]
    assert with_heading and all(
        quote.startswith("Kentucky Derby") and quote.endswith("Friday.") for quote in with_heading
    )


def test_a_question_lends_no_answer_to_the_sentence_before_it(tmp_path: Path) -> None:
    # A heading was quoted with the question heading after it, whose name seemed to answer
    # "who is the pope?": "What it means for the pope Where is Pope Leo traveling in Africa?".
    tour = {
        "id": "tour",
        "title": "Papal tour",
        "text": "What it means for the pope\n\nWhere is Pope Leo traveling in Africa?\n\n"
        "The pope lands in Algiers on Monday.",
    }
    quotes = candidate_quotes(fake_engine_over([tour], tmp_path), "Who is the pope?")
    assert "The pope lands in Algiers on Monday." in quotes
    assert not any(quote.startswith("What it means") and "Where is" in quote for quote in quotes)


def test_a_title_in_quotation_marks_is_no_person(tmp_path: Path) -> None:
    # A list of nominees lent "Poor Things" to the title before it as who directed a film.
    oscars = {
        "id": "oscars",
        "title": "Oscar nominations",
        "text": "Best picture nominees:\n\n“Oppenheimer”\n\n“Poor Things”\n\n"
        "Christopher Nolan directed “Oppenheimer” in 2023.",
    }
    ranked = fake_engine_over([oscars], tmp_path).rank_sentences("Who directed Oppenheimer?")
    text = oscars["text"]
    marked = {
        text[slice(*s.candidate.highlight)] for s in ranked.sentences if s.candidate.highlight
    }
    assert marked == {"Christopher Nolan"}


@pytest.mark.parametrize(
    ("sentence", "is_question", "is_heading_or_question"),
    [
        ("When is the next solar eclipse?", True, True),
        ('She asked: "Why now?"', True, True),
        ("Is it true? [12]", True, True),
        ("Kentucky Derby 2023 pre-race reading", False, True),
        ("Winner: Mage\n", False, True),
        ("It consumes 4 kg of steam per kWh.[not in citation given]", False, False),
        ("The race ended.”", False, False),
        ("[not in citation given]", False, False),
        ("“Will it be cloudy?” asked one viewer.", False, False),
    ],
)
def test_a_sentence_ends_as_a_question_a_heading_or_a_statement(
    sentence: str, is_question: bool, is_heading_or_question: bool
) -> None:
    assert asks(sentence) is is_question
    assert introduces(sentence) is is_heading_or_question
