"""The pages in a real browser (headless Chromium, `tests.support.web`): they render with
their stylesheet and nothing blocked, fit a phone's width, the cited span is marked and
scrolled into view, and the question form works with JavaScript turned off."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from bot.web.app import create_app
from index.engine import Engine
from tests.support.corpora import ARTICLES
from tests.support.indexes import fake_engine_over
from tests.support.web import DESKTOP, PHONE, chromium, served

FILLER = "\n\n".join(f"Paragraph {n} says little about the weather in town." for n in range(40))
LONG = {
    "id": "long",
    "title": "A long article about the town",
    "text": f"{FILLER}\n\nThe mayor of Lugo opened the new bridge on Friday.\n\n{FILLER}",
    "published": "2022-01-01",
    "source": "BBC",
}
QUESTION = "when did the mayor of Lugo open the new bridge?"
QUOTE = "The mayor of Lugo opened the new bridge on Friday."


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return fake_engine_over([LONG, *ARTICLES], tmp_path_factory.mktemp("browser"))  # type: ignore[list-item]


@pytest.fixture(scope="module")
def site(engine: Engine) -> Iterator[str]:
    with served(create_app(engine)) as base:
        yield base


@pytest.fixture(scope="module", params=[DESKTOP, PHONE], ids=["desktop", "phone"])
def browser(request: pytest.FixtureRequest) -> Iterator[webdriver.Chrome]:
    with chromium(request.param) as driver:
        yield driver


def cited_id(engine: Engine) -> str:
    """The citation id of the quote the question is answered with."""
    answer = engine.ask(QUESTION)
    assert [part.text for part in answer.answer] == [QUOTE]
    return answer.citations[0].id


def problems(driver: webdriver.Chrome) -> list[str]:
    """What the browser logged as errors since it was last asked (blocked loads included)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def test_the_pages_render_with_their_stylesheet_and_fit_the_width(
    browser: webdriver.Chrome, site: str, engine: Engine
) -> None:
    for path in ("/", f"/ask?q={QUESTION}", "/search?q=bridge", "/articles", "/nowhere"):
        browser.get(site + path)
        width = browser.execute_script("return window.innerWidth")
        assert width in (DESKTOP[0], PHONE[0]), "the page is laid out for the screen"
        assert browser.title.endswith("citebot"), path
        brand = browser.find_element(By.CSS_SELECTOR, "header.site .brand")
        assert brand.value_of_css_property("font-weight") == "700", "the stylesheet applies"
        overflow = browser.execute_script("return document.documentElement.scrollWidth")
        assert overflow <= width, f"{path} is wider than the screen"
        assert [p for p in problems(browser) if "/nowhere" not in p] == [], path
    browser.get(f"{site}/ask?q={QUESTION}")
    quote = browser.find_element(By.CSS_SELECTOR, ".answer blockquote p")
    assert quote.text.startswith(f"“{QUOTE}”")
    assert browser.find_element(By.CSS_SELECTOR, ".answer strong").text == "Friday"


def test_the_cited_span_is_marked_and_scrolled_into_view(
    browser: webdriver.Chrome, site: str, engine: Engine
) -> None:
    browser.get(f"{site}/source/{cited_id(engine)}")
    mark = browser.find_element(By.CSS_SELECTOR, "mark#cited")
    assert mark.text == QUOTE
    top, bottom, height, scrolled = browser.execute_script(
        "const box = arguments[0].getBoundingClientRect();"
        "return [box.top, box.bottom, window.innerHeight, window.scrollY];",
        mark,
    )
    assert scrolled > height, "the span is far down the article"
    assert top >= 0 and bottom <= height, "and the page opens on it"


def test_the_question_form_works_without_javascript(site: str, engine: Engine) -> None:
    with chromium(PHONE, javascript=False) as driver:
        driver.get(site)
        driver.find_element(By.ID, "q").send_keys(QUESTION)
        driver.find_element(By.CSS_SELECTOR, "form.question button").click()
        WebDriverWait(driver, 10).until(expected_conditions.url_contains("/ask?q="))
        quote = driver.find_element(By.CSS_SELECTOR, ".answer blockquote p")
        assert quote.text.startswith(f"“{QUOTE}”")
        driver.find_element(By.CSS_SELECTOR, "a.cite").click()
        WebDriverWait(driver, 10).until(expected_conditions.url_contains("/source/"))
        assert driver.find_element(By.CSS_SELECTOR, "mark#cited").text == QUOTE
        assert driver.current_url == f"{site}/source/{cited_id(engine)}"
