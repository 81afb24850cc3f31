"""`citebot serve` through Starlette's test client: every page and its JSON twin, the API
equal to the command line's `--json`, escaping of hostile article text, the security headers,
the rate limit, the question bound, errors, and a rebuilt index picked up between requests."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from bot.cli import cli
from bot.format import format_answer
from bot.web.app import create_app
from bot.web.errors import UNEXPECTED
from bot.web.headers import CONTENT_SECURITY_POLICY, HEADERS
from bot.web.limits import RateLimit
from bot.web.pages import marked
from index.build import build_index
from index.config import Settings
from index.engine import Engine
from tests.support.corpora import ARTICLES, write_corpus
from tests.support.embedder import FakeEmbedder
from tests.support.indexes import fake_engine_over

HOSTILE = {
    "id": "hostile",
    "title": '<script>alert("title")</script> Marina <b>pontoon</b> news',
    "text": (
        "The marina of Vigo opened a new pontoon with <img src=x onerror=alert(1)> fanfare.\n\n"
        'Sailors cheered the "pontoon" & the </p><script>alert(2)</script> mayor.'
    ),
    "published": "2019-03-01",
    "source": "<i>Vigo Times</i>",
    "author": "<u>Ana</u>",
    "url": "javascript:alert(3)",
}
CORPUS = [HOSTILE, *ARTICLES]
QUESTION = "which pontoon opened in the marina of Vigo?"
# What no page may hold: live markup or a script address from an article.
LIVE = ("<script", "<img", "<b>", "<i>", "<u>", "javascript:")


def engine_over(root: Path, **setting: object) -> Engine:
    """An engine over CORPUS, indexed in `root` with the fake embedder."""
    return fake_engine_over(CORPUS, root, **setting)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return engine_over(tmp_path_factory.mktemp("web"))


@pytest.fixture
def client(engine: Engine) -> TestClient:
    """A fresh application (and so a fresh rate limit) over the module's index."""
    return TestClient(create_app(engine))


def cited_id(client: TestClient, question: str = QUESTION) -> str:
    """The id of the first citation of the answer to `question`."""
    answer = client.get("/api/ask", params={"q": question}).json()
    return str(answer["citations"][0]["id"])


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/", "text/html"),
        (f"/ask?q={QUESTION}", "text/html"),
        (f"/api/ask?q={QUESTION}", "application/json"),
        ("/search?q=pier&k=3", "text/html"),
        ("/api/search?q=pier&k=3", "application/json"),
        ("/articles?outlet=bbc", "text/html"),
        (f"/ask?q={QUESTION}&since=&until=&outlet=", "text/html"),
        ("/api/articles?since=2020", "application/json"),
        ("/api/openapi.json", "application/json"),
        ("/static/citebot.css", "text/css"),
    ],
)
def test_every_page_and_its_json_twin(client: TestClient, path: str, kind: str) -> None:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(kind)
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_the_policy_allows_no_script_and_the_pages_have_none(client: TestClient) -> None:
    assert "script-src" not in CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY
    cited = cited_id(client)
    for path in ("/", f"/ask?q={QUESTION}", "/search?q=pier", f"/source/{cited}", "/nowhere"):
        response = client.get(path)
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "<script" not in response.text and " on" + "click" not in response.text
        assert 'style="' not in response.text, "no inline style either"


def test_hostile_titles_quotes_and_links_are_shown_as_text(client: TestClient) -> None:
    answer = client.get("/api/ask", params={"q": QUESTION}).json()
    assert answer["citations"][0]["article_id"] == "hostile", "the test asks about it"
    hostile = client.get(f"/api/source/{answer['citations'][0]['id']}").json()
    assert "<script>alert(2)</script>" in hostile["article_text"], "stored as written"
    key = hostile["id"].split("-")[0]
    pages = [
        f"/ask?q={QUESTION}",
        f"/source/{hostile['id']}",
        f"/article/{key}",
        "/search?q=pontoon mayor",
        "/articles",
    ]
    for path in pages:
        page = client.get(path).text
        assert not [live for live in LIVE if live in page], path
        assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt; Marina" in page, path
    source = client.get(f"/source/{hostile['id']}").text
    assert "&lt;img src=x onerror=alert(1)&gt;" in source
    assert "&lt;/p&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in source
    assert "&lt;i&gt;Vigo Times&lt;/i&gt; · 2019-03-01 · &lt;u&gt;Ana&lt;/u&gt;" in source
    assert "Original article" not in source, "a javascript: address is not linked"


def test_the_answer_page_shows_quotes_bold_phrases_and_numbered_sources(
    client: TestClient,
) -> None:
    question = "where did engineers repair the old bridge?"
    answer = client.get("/api/ask", params={"q": question}).json()
    page = client.get("/ask", params={"q": question}).text
    part, citation = answer["answer"][0], answer["citations"][0]
    start, end = part["highlight"]
    text = part["text"]
    assert text[start:end] == "Porto"
    assert f"“{text[:start]}<strong>Porto</strong>{text[end:]}”" in page
    assert f'<a class="cite" href="/source/{citation["id"]}">[1]</a>' in page
    assert f'<li value="1"><a href="/source/{citation["id"]}">Bridge news</a>' in page
    assert "BBC · 2021-06-01 · ¶1" in page
    assert 'href="/api/ask?q=where+did+engineers+repair+the+old+bridge%3F"' in page


def test_an_abstention_offers_the_closest_articles(client: TestClient) -> None:
    question = {"q": "What is the capital of Australia?"}
    answer = client.get("/api/ask", params=question).json()
    page = client.get("/ask", params=question).text
    assert answer["abstained"] and "I couldn&#39;t find that in the articles." in page
    assert "The closest articles I have:" in page
    for article in answer["closest"]:
        assert f'<li><a href="/source/{article["id"]}">' in page


def test_the_api_answer_is_ask_json(
    engine: Engine, client: TestClient, fake_model: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(engine.settings.index_dir.parent)  # no .env of the repository's
    for question, filters in [
        (QUESTION, []),
        ("who repaired the bridge?", ["--since", "2021", "--outlet", "bbc"]),
        ("What is the capital of Australia?", []),
    ]:
        args = ["ask", question, "--index", str(engine.settings.index_dir), "--json", *filters]
        printed = CliRunner().invoke(cli, args)
        assert printed.exit_code == 0, printed.output
        params = {"q": question, **dict(zip(filters[::2], filters[1::2], strict=True))}
        served = client.get("/api/ask", params={k.lstrip("-"): v for k, v in params.items()})
        expected, got = json.loads(printed.stdout), served.json()
        assert expected.pop("took_ms") >= 0 and got.pop("took_ms") >= 0
        assert got == expected


def test_search_and_source_are_their_commands_json(
    engine: Engine, client: TestClient, fake_model: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(engine.settings.index_dir.parent)
    index = ["--index", str(engine.settings.index_dir), "--json"]
    runner = CliRunner()
    searched = json.loads(runner.invoke(cli, ["search", "pier", "--k", "3", *index]).stdout)
    assert client.get("/api/search", params={"q": "pier", "k": 3}).json() == searched
    cited = searched[0]["id"]
    shown = json.loads(runner.invoke(cli, ["source", cited, "--context", "0", *index]).stdout)
    assert client.get(f"/api/source/{cited}", params={"context": 0}).json() == shown


def test_with_a_public_url_every_citation_links_to_its_source_page(
    tmp_path: Path, fake_model: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    public = "https://news.example.org/citebot"
    engine = engine_over(tmp_path, public_url=public + "/")
    answer = engine.ask(QUESTION)
    assert answer.citations
    for citation in answer.citations:
        assert citation.url == f"{public}/source/{citation.id}"
    assert f"<{public}/source/{answer.citations[0].id}>" in format_answer(answer)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CITEBOT_PUBLIC_URL", public)
    printed = CliRunner().invoke(cli, ["ask", QUESTION, "--index", str(tmp_path / "index")])
    assert f"    {public}/source/{answer.citations[0].id}" in printed.stdout.splitlines()
    served = TestClient(create_app(engine)).get("/api/ask", params={"q": QUESTION}).json()
    assert [c["url"] for c in served["citations"]] == [c.url for c in answer.citations]


@pytest.mark.parametrize(
    "value", ["ftp://example.org", "example.org", "https://", "https://a.org/?x=1", "http://[::1"]
)
def test_a_public_url_that_is_no_web_address_is_refused(tmp_path: Path, value: str) -> None:
    result = CliRunner().invoke(
        cli, ["stats", "--index", str(tmp_path / "ix")], env={"CITEBOT_PUBLIC_URL": value}
    )
    assert result.exit_code == 2
    assert result.output.startswith("Error: CITEBOT_PUBLIC_URL=")
    assert "give the http(s) address the web pages are reached at" in result.output


def test_questions_past_the_rate_are_refused_with_retry_after(tmp_path: Path) -> None:
    client = TestClient(create_app(engine_over(tmp_path, web_questions_per_minute=2)))
    assert client.get("/api/ask", params={"q": QUESTION}).status_code == 200
    assert client.get("/search", params={"q": "pier"}).status_code == 200
    refused = client.get("/api/ask", params={"q": QUESTION})
    assert refused.status_code == 429
    assert refused.json()["error"].startswith("Too many questions from your address")
    assert int(refused.headers["retry-after"]) == 30
    page = client.get("/ask", params={"q": QUESTION})
    assert page.status_code == 429 and "try again in 30 s" in page.text
    assert client.get("/articles").status_code == 200, "lookups are not counted"
    other = TestClient(client.app, client=("192.0.2.7", 50000))
    assert other.get("/api/ask", params={"q": QUESTION}).status_code == 200


def test_the_bucket_refills_at_the_rate() -> None:
    now = [0.0]
    limit = RateLimit(6, clock=lambda: now[0], addresses=2)
    assert [limit.retry_after("a") for _ in range(6)] == [0.0] * 6
    assert limit.retry_after("a") == pytest.approx(10.0)
    now[0] = 10.0
    assert limit.retry_after("a") == 0.0
    assert limit.retry_after("a") == pytest.approx(10.0)
    limit.retry_after("b")
    limit.retry_after("c")
    assert limit.retry_after("a") == 0.0, "a forgotten address starts again full"


def test_a_question_longer_than_the_limit_is_refused(client: TestClient) -> None:
    limit = 1000  # CITEBOT_MAX_QUESTION_CHARS's default
    longest = ("pier " * limit)[:limit]
    assert client.get("/api/ask", params={"q": longest}).status_code == 200
    for path in ("/api/ask", "/ask", "/api/search"):
        refused = client.get(path, params={"q": longest + "x"})
        assert refused.status_code == 400
        assert "longer than 1,000 characters" in refused.text
    assert 'maxlength="1000"' in client.get("/").text


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/api/source/not-an-id", 404, "is not a citation id"),
        ("/api/source/0123456789ab-0-10", 404, "no indexed article has the citation id"),
        ("/api/ask?q=pier&since=last+week", 400, "is not a date"),
        ("/api/ask?q=", 400, "the question is empty"),
        ("/api/search?q=pier&k=1000", 400, "k must be a whole number from 1 to 100"),
        ("/api/source/x?context=-1", 400, "context must be a whole number from 0 to 50"),
        ("/api/articles?page=2", 400, "page must be a whole number from 1 to 1"),
        ("/api/nowhere", 404, "Not Found"),
    ],
)
def test_api_errors_are_json_with_their_status(
    client: TestClient, path: str, status: int, message: str
) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert message in response.json()["error"]


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/source/not-an-id", 404, "is not a citation id"),
        ("/source/0123456789ab-0-10", 404, "no indexed article has the citation id"),
        ("/article/0123456789ab", 404, "No indexed article has the key"),
        ("/ask?q=pier&since=last+week", 400, "is not a date"),
        ("/search?q=pier&k=0", 400, "k must be a whole number from 1 to 100"),
        ("/articles?page=2", 400, "page must be a whole number from 1 to 1"),
        ("/nowhere", 404, "Not Found"),
    ],
)
def test_page_errors_are_pages_with_their_status_and_the_question_box(
    client: TestClient, path: str, status: int, message: str
) -> None:
    page = client.get(path)
    assert page.status_code == status
    assert page.headers["content-type"].startswith("text/html")
    assert '<p class="error">' in page.text and message in page.text
    assert '<form class="question" action="/ask"' in page.text


def test_an_index_that_cannot_be_read_is_503_without_its_path(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, index_dir=tmp_path / "secret-place")  # type: ignore[call-arg]
    client = TestClient(create_app(Engine(settings, embedder=FakeEmbedder())))
    for path in ("/api/ask?q=pier", "/", "/source/0123456789ab-0-10"):
        response = client.get(path)
        assert response.status_code == 503
        assert "citebot build --full" in response.text and "secret-place" not in response.text


@pytest.mark.parametrize("path", ["/api/ask", "/ask"])
def test_an_unexpected_error_is_500_with_the_security_headers(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """Starlette answers unexpected errors outside the application's middleware: the 500
    came without the Content-Security-Policy and the other headers."""

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("a bug in /var/secret/place")

    monkeypatch.setattr(engine, "ask", broken)
    client = TestClient(create_app(engine), raise_server_exceptions=False)
    response = client.get(path, params={"q": QUESTION})
    assert response.status_code == 500
    assert UNEXPECTED in response.text and "secret" not in response.text
    assert {name: response.headers.get(name) for name in HEADERS} == HEADERS


def test_a_rebuilt_index_is_picked_up_and_old_ids_are_outdated(tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    settings = Settings(_env_file=None, index_dir=tmp_path / "index")  # type: ignore[call-arg]
    build_index([write_corpus(tmp_path / "c", ARTICLES)], settings, embedder=embedder)
    client = TestClient(create_app(Engine(settings, embedder=embedder)))
    before = cited_id(client, "who repaired the bridge in Porto?")
    assert client.get(f"/source/{before}").status_code == 200
    changed = {**ARTICLES[1], "text": "Engineers in Braga rebuilt the old bridge over the river."}
    build_index([write_corpus(tmp_path / "c", [ARTICLES[0], changed])], settings, embedder=embedder)
    answer = client.get("/api/ask", params={"q": "who rebuilt the bridge in Braga?"}).json()
    assert "Braga" in answer["answer"][0]["text"]
    outdated = client.get(f"/source/{before}")
    assert outdated.status_code == 404
    assert "it may have changed since it was cited" in outdated.text
    assert client.get("/api/articles").json()["total"] == 2


def test_the_articles_are_listed_newest_first_a_page_at_a_time(tmp_path: Path) -> None:
    many = [
        {"id": f"a{n}", "title": f"Day {n}", "text": f"News of day {n}.", "source": "BBC",
         "published": f"2022-01-{n:02d}"}
        for n in range(1, 31)
    ] + [
        {"id": f"b{n}", "title": f"Night {n}", "text": f"News of night {n}.", "source": "CNN",
         "published": f"2021-12-{n:02d}"}
        for n in range(1, 31)
    ]  # fmt: skip
    client = TestClient(create_app(fake_engine_over(many, tmp_path)))
    first = client.get("/api/articles").json()
    assert (first["total"], first["page"], first["pages"]) == (60, 1, 2)
    assert [a["title"] for a in first["articles"][:2]] == ["Day 30", "Day 29"]
    assert client.get("/api/articles?page=2").json()["articles"][-1]["title"] == "Night 1"
    cnn = client.get("/api/articles", params={"outlet": "cnn", "since": "2021-12-20"}).json()
    assert [a["title"] for a in cnn["articles"]] == [f"Night {n}" for n in range(30, 19, -1)]
    page = client.get("/articles", params={"outlet": "bbc"}).text
    assert "30 articles, newest first" in page
    assert '<a href="/articles?since=2022-01&amp;until=2022-01">2022-01-30</a>' in page
    assert 'href="/articles?outlet=BBC">BBC</a>' in page
    assert 'rel="next"' not in page
    assert 'rel="next" href="/articles?page=2"' in client.get("/articles").text


def test_the_api_is_described_for_openapi(client: TestClient) -> None:
    schema = client.get("/api/openapi.json").json()
    assert set(schema["paths"]) == {"/api/ask", "/api/search", "/api/source/{id}", "/api/articles"}
    asked = schema["paths"]["/api/ask"]["get"]
    assert {"$ref": "#/components/parameters/q"} in asked["parameters"]
    assert set(asked["responses"]) == {"200", "400", "429"}


def test_a_cited_span_across_paragraphs_is_marked_in_each_and_scrolled_to_once() -> None:
    text = "One two.\n\nThree four.\n\nFive."
    paragraphs = [(1, 0, 8), (2, 10, 21), (3, 23, 28)]
    shown = marked(text, paragraphs, (4, 15))
    assert [[(run.text, run.marked, run.first) for run in p.runs] for p in shown] == [
        [("One ", False, False), ("two.", True, True)],
        [("Three", True, False), (" four.", False, False)],
        [("Five.", False, False)],
    ]


def test_serve_without_an_index_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["serve", "--index", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert "run `citebot build` first" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "[default: 127.0.0.1]" in CliRunner().invoke(cli, ["serve", "--help"]).output


def test_serve_on_a_port_in_use_is_one_line(seed_settings: Settings) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        arguments = ["serve", "--index", str(seed_settings.index_dir), "--port", str(port)]
        result = CliRunner().invoke(cli, arguments)
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port} (Address already in use)" in result.output
    assert len(result.output.strip().splitlines()) == 1
