""" "Who is X?" answers: what the articles say about a person, and several people of one name
told apart (`index.profile`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.engine import Engine
from index.profile import defines_person
from index.question import asked_name
from index.records import Answer
from tests.support.embedder import FakeEmbedder
from tests.support.indexes import fake_engine_over
from tests.support.judge import Judge

ARTICLES = [
    {
        "id": "border",
        "title": "Photo of a migrant mother goes viral",
        "text": (
            "A photo from the border went viral this week.\n\n"
            "Guatemalan migrant Lety Pérez crouches in front of the soldier, holding on to her"
            " young son, Anthony.\n\n"
            '"Let me pass," Pérez begged the soldiers.'
        ),
    },
    {
        "id": "shelter",
        "title": "Migrants wait at a shelter in Juárez",
        "text": (
            "Hundreds of families wait at the shelter.\n\n"
            "Lety Pérez, a mother of two from Guatemala, arrived there in June.\n\n"
            "The shelter is full."
        ),
    },
    {
        "id": "basketball",
        "title": "Veteran scores 30",
        "text": (
            "Carmelo Anthony scored 30 points on Tuesday night.\n\n"
            "Anthony, 38, has played for six teams."
        ),
    },
    {
        "id": "draft",
        "title": "Draft pick struggles",
        "text": "Anthony Bennett, the first pick of the 2013 draft, was waived on Monday.",
    },
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The first stage's profiles (the reranker off); `_judged_by` adds a stand-in one."""
    return fake_engine_over(ARTICLES, tmp_path_factory.mktemp("profile"), reranker=False)


@pytest.mark.parametrize(
    ("question", "name"),
    [
        ("who is Lety Pérez?", "Lety Pérez"),
        ("Who's Anthony", "Anthony"),
        ("tell me about ana de armas", "ana de armas"),
        ("Who is the president of Mexico?", None),
        ("who is in charge of the shelter?", None),
        ("who won the match?", None),
        ("who is Mr.?", None),
        ("who is ’s", None),
        ("Who is King Charles?", "King Charles"),
        ("Who is a good person to ask about the border crisis today?", None),
    ],
)
def test_a_profile_question_names_someone(question: str, name: str | None) -> None:
    assert asked_name(question) == name


def test_who_is_gathers_defining_facts_across_articles(engine: Engine) -> None:
    answer = engine.ask("who is Lety Pérez?")
    assert not answer.abstained and answer.people == []
    quoted = [part.text for part in answer.answer]
    assert quoted[0].startswith(("Guatemalan migrant Lety Pérez", "Lety Pérez, a mother"))
    assert {c.article_id for c in answer.citations[:2]} == {"border", "shelter"}
    for part in answer.answer:  # the name is marked, not another person's ("Anthony")
        assert part.highlight is not None
        assert part.text[slice(*part.highlight)] in ("Lety Pérez", "Pérez")
    for citation in answer.citations:
        article = engine.reader().article(citation.article_id)
        assert article is not None
        assert article.text[citation.start : citation.end] == citation.quote


def test_a_short_form_counts_for_the_article_that_gave_the_full_name(engine: Engine) -> None:
    answer = engine.ask("who is Pérez?")
    assert answer.people == []
    assert any("Pérez begged" in part.text for part in answer.answer) or len(answer.answer) == 3


def test_one_name_of_several_people_lists_them_each_cited(engine: Engine) -> None:
    answer = engine.ask("Who is Anthony?")
    assert not answer.abstained
    assert sorted(answer.people) == ["Anthony", "Anthony Bennett", "Carmelo Anthony"]
    articles = {"Carmelo Anthony": "basketball", "Anthony Bennett": "draft", "Anthony": "border"}
    for person, part in zip(answer.people, answer.answer, strict=True):
        assert "Anthony" in part.text and len(part.citations) == 1
        assert part.highlight is not None
        assert "Anthony" in part.text[slice(*part.highlight)]
        assert answer.citations[part.citations[0] - 1].article_id == articles[person]


def _judged_by(engine: Engine, judge: Judge) -> Engine:
    settings = engine.settings.model_copy(update={"reranker": True})
    return Engine(settings, embedder=FakeEmbedder(), reranker=judge)


def test_the_reranker_picks_the_defining_sentences(engine: Engine) -> None:
    judge = Judge("a mother of two")
    answer = _judged_by(engine, judge).ask("who is Lety Pérez?")
    assert (
        answer.answer[0].text
        == "Lety Pérez, a mother of two from Guatemala, arrived there in June."
    )
    question, read = judge.read[0]
    assert question == "who is Lety Pérez?" and len(read) > 1


def test_with_the_reranker_only_people_the_articles_describe_are_namesakes(
    engine: Engine,
) -> None:
    answer = _judged_by(engine, Judge("young son", "first pick")).ask("Who is Anthony?")
    assert sorted(answer.people) == ["Anthony", "Anthony Bennett"]
    only_one = _judged_by(engine, Judge("young son")).ask("Who is Anthony?")
    assert only_one.people == []
    assert all("Anthony" in part.text for part in only_one.answer)
    assert only_one.answer[0].text.endswith("her young son, Anthony.")
    nobody = _judged_by(engine, Judge("nothing said")).ask("Who is Anthony?")
    assert sorted(nobody.people) == ["Anthony", "Anthony Bennett", "Carmelo Anthony"]


def test_a_sentence_the_rules_read_as_defining_stands_unless_the_reranker_is_sure(
    engine: Engine,
) -> None:
    # "her young son, Anthony." and "Anthony, 38, has played ..." both define by the rules;
    # the reranker doubts the first (it stands) and rejects the second.
    judge = Judge("first pick", unsure=("young son",))
    answer = _judged_by(engine, judge).ask("Who is Anthony?")
    assert answer.people == ["Anthony", "Anthony Bennett"]


def test_a_name_no_article_gives_falls_back_to_an_ordinary_answer(engine: Engine) -> None:
    answer = engine.ask("who is Zebulon Quixote?")
    assert answer.people == []
    assert all("Zebulon" not in part.text for part in answer.answer)


def test_a_title_a_possessive_or_an_opening_word_is_no_part_of_the_name(tmp_path: Path) -> None:
    articles = [
        ("speech", "President Joe Biden spoke on Monday.\n\nBiden said the economy was strong."),
        ("profile", "Joe Biden, the 46th president, turned 81 this week."),
        ("family", "Hunter Biden, the president’s son, testified on Tuesday."),
        ("home", "Crowds gathered outside Joe Biden’s Delaware Home on Sunday."),
        ("rally", "It was a loud rally in a critical year. While Joe Biden spoke, people sang."),
        ("show", "The show, “My View with Hunter Biden,” airs after Biden' visit to Ohio."),
    ]
    engine = fake_engine_over(
        [{"id": i, "title": i, "text": text} for i, text in articles], tmp_path, reranker=False
    )
    assert sorted(engine.ask("Who is Biden?").people) == ["Hunter Biden", "Joe Biden"]


def test_a_short_name_its_article_gives_several_people_is_no_namesake(tmp_path: Path) -> None:
    # "Biden's" in an article naming Joe and Hunter Biden is neither in particular, though the
    # sentence reads as defining by the rules ("Biden's, also ..."); before, "Biden" was
    # listed as a third person.
    convention = (
        "Joe Biden, the president, spoke on Monday.\n\n"
        "Hunter Biden, his son, sat in the front row.\n\n"
        "Beatty, a staunch supporter of Biden's, also touted the jobs act."
    )
    engine = fake_engine_over(
        [{"id": "convention", "title": "Convention replay", "text": convention}],
        tmp_path,
        reranker=False,
    )
    answer = engine.ask("Who is Biden?")
    assert sorted(answer.people) == ["Hunter Biden", "Joe Biden"]
    assert all("Beatty" not in part.text for part in answer.answer)


def _asked_over(texts: list[str], question: str, tmp_path: Path) -> Answer:
    """`question` answered by the first stage over one article for each of `texts`."""
    articles = [{"id": f"a{i}", "title": f"News {i}", "text": t} for i, t in enumerate(texts)]
    return fake_engine_over(articles, tmp_path, reranker=False).ask(question)


@pytest.mark.parametrize(
    ("question", "texts", "people"),
    [
        (  # words before a name that are no part of it: an acronym, a sentence's end
            "Who is Musk?",
            [
                "Tesla CEO Elon Musk bought the company.",
                "Elon Musk, the billionaire, spoke on Monday.",
                "Musk said nothing more.",
            ],
            [],
        ),
        (
            "Who is Netanyahu?",
            [
                "Leaders met in Athens, Greece. And Israel's Benjamin Netanyahu spoke last.",
                "Benjamin Netanyahu, the prime minister, flew home.",
            ],
            [],
        ),
        (
            "Who is Charles?",
            [
                "Thirty-five-year-old Daniel Charles was hired on Monday.",
                "Daniel Charles, a chef, opened a restaurant.",
            ],
            [],
        ),
        (  # nor what goes on after it; initials written either way are one person
            "Who is Vance?",
            [
                "The senator is JD Vance of Ohio.",
                "JD Vance, the senator, spoke.",
                "J.D. Vance, a senator, voted.",
            ],
            [],
        ),
        (  # a thing named after a person is no namesake, nor is an acronym
            "Who is Trump?",
            [
                "Allen Weisselberg, former CFO for the Trump Organization, and Jeff McConney"
                " are also named.",
                "Donald Trump, the former president, spoke.",
                "Lara Trump, a television host, spoke.",
            ],
            ["Donald Trump", "Lara Trump"],
        ),
        (
            "Who is Swift?",
            ["SWIFT, a European company, links banks.", "Taylor Swift, the singer, sang."],
            [],
        ),
        (  # a pairing of names is no person
            "Who is Walz?",
            ["The first Harris-Walz rally was loud.", "Tim Walz, the governor, spoke."],
            [],
        ),
        (  # a describing word the rules keep is dropped where the name comes without it
            "Who is Harris?",
            [
                "Democrat Kamala Harris spoke in Ohio.",
                "Kamala Harris, the vice president, spoke.",
                "Franco Harris, the running back, died.",
            ],
            ["Franco Harris", "Kamala Harris"],
        ),
        (  # a chair's title, written either way, is no part of the name
            "Who is Powell?",
            [
                "Fed Chairman Jerome Powell raised rates.",
                "Chair Jerome Powell spoke on Friday.",
            ],
            [],
        ),
    ],
)
def test_a_name_is_read_as_the_person_it_names(
    tmp_path: Path, question: str, texts: list[str], people: list[str]
) -> None:
    answer = _asked_over(texts, question, tmp_path)
    assert sorted(answer.people) == people
    asked = question.removeprefix("Who is ").rstrip("?")
    assert answer.answer and all(asked in part.text for part in answer.answer)
    assert all(asked.upper() not in part.text for part in answer.answer)


@pytest.mark.parametrize(
    ("question", "texts", "people"),
    [
        (  # the asked name's last word in someone else's name is someone else
            "Who is Kevin McCarthy?",
            [
                "Kevin McCarthy, the speaker, spoke.\n\nTom McCarthy, a deputy, resigned.",
                "McCarthy said little.",
            ],
            [],
        ),
        (
            "Who is Joe Biden?",
            [
                "Joe Biden, the president, spoke.\n\nHunter Biden, his son, testified.\n\n"
                "Jill Biden, the first lady, visited a school."
            ],
            [],
        ),
        (  # a name running on into a thing is the person asked; a suffix is another person
            "Who is Donald Trump?",
            [
                "Donald Trump, the former president, spoke.",
                "A Donald Trump T-shirt sold out.",
                "Donald Trump Jr., his son, spoke.",
            ],
            ["Donald Trump", "Donald Trump Jr"],
        ),
    ],
)
def test_a_full_name_asked_is_that_person_and_namesakes_share_it(
    tmp_path: Path, question: str, texts: list[str], people: list[str]
) -> None:
    answer = _asked_over(texts, question, tmp_path)
    assert sorted(answer.people) == people
    others = ("Tom", "Hunter", "Jill", "T-shirt")
    assert answer.answer and not any(o in part.text for part in answer.answer for o in others)


def test_a_reprinted_sentence_is_quoted_once(tmp_path: Path) -> None:
    reprint = {**ARTICLES[1], "id": "reprint", "title": "Shelter full, families wait"}
    answer = fake_engine_over([*ARTICLES, reprint], tmp_path, reranker=False).ask(
        "who is Lety Pérez?"
    )
    texts = [part.text for part in answer.answer]
    assert len(texts) == len(set(texts)) > 1


def test_someone_known_by_the_asked_name_alone_is_listed_first(tmp_path: Path) -> None:
    lakers = "Anthony Davis, the Lakers star, scored 40.\n\nAnthony Davis said he was tired."
    articles = [*ARTICLES, {"id": "lakers", "title": "Lakers win", "text": lakers}]
    engine = fake_engine_over(articles, tmp_path, reranker=False)
    answer = engine.ask("Who is Anthony?")
    assert len(answer.people) == 3 and answer.people[0] == "Anthony"
    assert answer.answer[0].text.endswith("her young son, Anthony.")


@pytest.mark.parametrize(
    ("sentence", "name", "defining"),
    [
        (
            "Guatemalan migrant Lety Pérez crouches, holding her young son, Anthony.",
            "Anthony",
            True,
        ),
        ("His lawyer, Andino Reynal, spoke first.", "Andino Reynal", True),
        ("Her son, Anthony scored twice.", "Anthony", False),
        ("Lety Pérez, a mother of two, arrived in June.", "Lety Pérez", True),
        ("Anita Dunn, former senior advisor, spoke.", "Anita Dunn", True),
        ("Beatty, a supporter of Biden's, also touted the act.", "Biden", False),
        ("It was Biden, and then Harris, who spoke.", "Biden", False),
        ("“Let me pass,” Pérez begged the soldiers.", "Pérez", False),
        # a role or a title right before the name; not a verb, a count or a courtesy title
        ("Florida Gov. Ron DeSantis signed the bill.", "Ron DeSantis", True),
        ("With the help of SpaceX founder Elon Musk, he spoke.", "Elon Musk", True),
        ("Trump kept knocking Ron DeSantis in Iowa.", "Ron DeSantis", False),
        ("More: 5 times Ron DeSantis took aim at Trump.", "Ron DeSantis", False),
        ("Reporters asked Mr. Johnson about it.", "Johnson", False),
    ],
)
def test_a_sentence_defines_a_person_by_how_it_names_them(
    sentence: str, name: str, defining: bool
) -> None:
    start = sentence.index(name)
    assert defines_person(sentence, start, start + len(name)) is defining
