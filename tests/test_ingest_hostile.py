"""Reading articles a careless or hostile user left: odd strings and file names, symbolic
link loops, unreadable places, files that only look like text (or do not look like it)."""

from __future__ import annotations

import json
import os
import random
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli import cli
from index.build import build_index
from index.config import Settings
from index.errors import InputError
from index.ingest import load_corpus
from index.local.reader import IndexReader
from tests.support.embedder import FakeEmbedder

LIMIT = 100_000


def article(title: str = "Title", text: str = "Some text about harbours.", **extra: object) -> str:
    return json.dumps({"title": title, "text": text, **extra})


@pytest.mark.parametrize(
    "record",
    [
        article(text="x \ud800 y harbours"),
        article(title="Ti\udfff tle"),
        article(id="id-\ud800"),
        article(category="a \udc80 b", nested={"k\ud801": ["v\udbff"]}),
    ],
)
def test_a_lone_surrogate_in_any_jsonl_value_is_dropped_not_fatal(
    tmp_path: Path, settings: Settings, record: str
) -> None:
    path = tmp_path / "news.jsonl"
    path.write_text(record + "\n" + article(title="Other", text="Other words.") + "\n", "utf-8")
    summary = build_index([path], settings, embedder=FakeEmbedder())
    assert summary.articles == 2
    reader = IndexReader.open(settings.index_dir)
    for stored_id in reader.article_hashes():
        stored = reader.article(stored_id)
        assert stored is not None
        json.dumps([stored.id, stored.title, stored.text, stored.metadata]).encode("utf-8")


def test_a_file_name_that_is_not_utf8_is_indexed_under_an_escaped_id(
    tmp_path: Path, settings: Settings
) -> None:
    root = tmp_path / "corpus"
    root.mkdir()
    (Path(os.fsdecode(bytes(root) + b"/bad\xff\xfe.txt"))).write_text("Bad\n\nA name.", "utf-8")
    (root / "good.txt").write_text("Good\n\nAnother.", "utf-8")
    build_index([root], settings, embedder=FakeEmbedder())
    assert set(IndexReader.open(settings.index_dir).article_hashes()) == {
        "bad\\xff\\xfe.txt",
        "good.txt",
    }


def test_terminal_escapes_in_file_names_never_reach_the_terminal(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "\x1b[31mred\x07.txt").write_text("", "utf-8")
    (root / "\x1b]0;title\x07.pdf").write_text("x", "utf-8")
    (root / "ok.txt").write_text("Fine\n\nText.", "utf-8")
    result = CliRunner().invoke(
        cli, ["build", str(root), "--dry-run", "--index", str(tmp_path / "ix")]
    )
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "\\x1b[31mred\\x07.txt: empty file" in result.output


def test_a_symbolic_link_loop_is_read_once(tmp_path: Path, settings: Settings) -> None:
    root = tmp_path / "corpus"
    (root / "sub").mkdir(parents=True)
    (root / "one.txt").write_text("One\n\nThe only article.", "utf-8")
    (root / "sub" / "up").symlink_to("..")
    (root / "sub" / "again.txt").symlink_to("../one.txt")
    summary = build_index([root], settings, embedder=FakeEmbedder())
    assert summary.articles == 1
    assert any("sub/up: already read" in p for p in summary.problems)


def test_two_link_loops_do_not_make_the_walk_explode(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        (root / name / "up").symlink_to("..")
        (root / name / "side").symlink_to("../a" if name == "b" else "../b")
    (root / "one.txt").write_text("One\n\nThe only article.", "utf-8")
    started = time.monotonic()
    corpus = load_corpus([root], max_chars=LIMIT)
    assert time.monotonic() - started < 5
    assert list(corpus.articles) == ["one.txt"]


def test_an_unreadable_subdirectory_is_reported_and_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "corpus"
    (root / "locked").mkdir(parents=True)
    (root / "locked" / "hidden.txt").write_text("Hidden\n\nText.", "utf-8")
    (root / "ok.txt").write_text("Fine\n\nText.", "utf-8")
    real_iterdir = Path.iterdir

    def iterdir(path: Path):  # type: ignore[no-untyped-def]
        if path.name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_iterdir(path)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    corpus = load_corpus([root], max_chars=LIMIT)
    assert list(corpus.articles) == ["ok.txt"]
    assert f"{root / 'locked'}: cannot be read (Permission denied), skipped" in corpus.problems


def test_a_file_under_an_unsearchable_directory_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "locked" / "a.txt"
    real_stat = Path.stat

    def stat(path: Path, **kwargs: bool) -> os.stat_result:
        if "locked" in path.parts:
            raise PermissionError(13, "Permission denied", str(path))
        return real_stat(path, **kwargs)

    monkeypatch.setattr(Path, "stat", stat)
    result = CliRunner().invoke(cli, ["build", str(target), "--index", str(tmp_path / "ix")])
    assert result.exit_code == 2
    assert result.output == f"Error: {target}: cannot be read (Permission denied)\n"


def test_binary_without_a_nul_is_not_text(tmp_path: Path) -> None:
    noise = bytes(b for b in random.Random(7).randbytes(20_000) if b)
    (tmp_path / "noise.txt").write_bytes(b"Title\n\n" + noise)
    corpus = load_corpus([tmp_path / "noise.txt"], max_chars=LIMIT)
    assert not corpus.articles
    assert corpus.problems == [f"{tmp_path / 'noise.txt'}: binary file, skipped"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_a_byte_order_mark_are_text(tmp_path: Path, encoding: str) -> None:
    bom = {"utf-16-be": b"\xfe\xff"}.get(encoding, b"")
    (tmp_path / "a.txt").write_bytes(bom + "Café\n\nÀ Zürich, harbours.".encode(encoding))
    (tmp_path / "b.jsonl").write_bytes(
        bom + (article("Über", "Straße.") + "\n" + article("Zwei", "Zwei.") + "\n").encode(encoding)
    )
    corpus = load_corpus([tmp_path], max_chars=LIMIT)
    assert corpus.problems == []
    assert corpus.articles["a.txt"].text.strip() == "À Zürich, harbours."
    assert [corpus.articles[i].title for i in ("b.jsonl:1", "b.jsonl:2")] == ["Über", "Zwei"]


def test_no_articles_found_says_why_for_each_file(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01")
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(InputError) as raised:
        build_index([tmp_path], Settings(_env_file=None, index_dir=tmp_path / "ix"))  # type: ignore[call-arg]
    message = str(raised.value)
    assert "no articles found in" in message and "\n" not in message
    assert "binary.txt: binary file, skipped" in message
    assert "empty.txt: empty file, skipped" in message
    assert "1 file(s) of another type" in message


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("a.jsonl", article(title="\x01\x02\u200b"), "a.jsonl:1: missing 'title'"),
        ("b.jsonl", article(text="\x00\x7f\ufeff "), "b.jsonl:1: missing 'text'"),
        ("c.txt", "\x01\x02\n\n\x03\x04", "c.txt: no title and text found"),
        ("d.txt", "Title\n\n\x03\x04\u200b", "d.txt: no title and text found"),
    ],
)
def test_a_title_or_body_of_control_characters_only_is_missing(
    tmp_path: Path, name: str, content: str, problem: str
) -> None:
    (tmp_path / name).write_text(content, "utf-8")
    corpus = load_corpus([tmp_path / name], max_chars=LIMIT)
    assert not corpus.articles
    assert any(problem in p for p in corpus.problems), corpus.problems


def test_a_title_line_of_controls_is_passed_over_for_the_next(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("\x01\x02\nReal title\n\nBody.", "utf-8")
    corpus = load_corpus([tmp_path / "a.txt"], max_chars=LIMIT)
    assert corpus.articles["a.txt"].title == "Real title"


MALFORMED_URLS = [
    "http://[::1",
    "https://example.com]/news",
    "http://[not-an-address]/a",
    "http://ex\uff03ample.com/story",
    "//[",
]


@pytest.mark.parametrize("url", MALFORMED_URLS)
def test_a_malformed_url_skips_its_line_and_says_where(tmp_path: Path, url: str) -> None:
    path = tmp_path / "news.jsonl"
    lines = [article("Good", "Harbours."), article("Bad", "Words.", url=url)]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    corpus = load_corpus([path], max_chars=LIMIT)
    assert [a.title for a in corpus.articles.values()] == ["Good"]
    assert corpus.skipped_records == 1
    assert corpus.problems == [f"{path}:2: 'url' is not a valid URL, skipped"]


def test_a_malformed_url_stops_a_strict_build_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "news.jsonl"
    path.write_text(article(url="http://[::1") + "\n", "utf-8")
    with pytest.raises(InputError, match=r"news\.jsonl:1: 'url' is not a valid URL"):
        load_corpus([path], max_chars=LIMIT, strict=True)


URL_PIECES = st.sampled_from(["http://", "https://", "//", "[", "]", "::1", ":", "@", "/", "%"])
URLS = st.lists(st.one_of(URL_PIECES, st.text(max_size=6)), max_size=8).map("".join)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(url=URLS)
def test_any_url_is_kept_or_its_line_is_reported(tmp_path: Path, url: str) -> None:
    path = tmp_path / "news.jsonl"
    path.write_text(article(url=url) + "\n", "utf-8")
    corpus = load_corpus([path], max_chars=LIMIT)
    assert len(corpus.articles) == 1 or any(p.startswith(f"{path}:1: ") for p in corpus.problems)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_a_huge_jsonl_line_is_skipped_without_being_held_whole(
    tmp_path: Path, encoding: str
) -> None:
    import tracemalloc

    path = tmp_path / "big.jsonl"
    huge = article(text="harbour " * 2_500_000)  # 20 MB (40 MB in UTF-16)
    path.write_text("\n".join([article(title="First"), huge, article(title="Last")]), encoding)
    del huge
    tracemalloc.start()
    try:
        corpus = load_corpus([path], max_chars=1_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [a.title for a in corpus.articles.values()] == ["First", "Last"]
    assert corpus.problems == [f"{path}:2: line is over the article size limit, skipped"]
    assert peak < 2_000_000, f"{peak:,} bytes held to skip one line"


@given(lengths=st.lists(st.integers(0, 300), min_size=1, max_size=6), limit=st.integers(1, 50))
def test_bounded_lines_are_the_lines_or_none_when_too_long(lengths: list[int], limit: int) -> None:
    from index.ingest import _numbered_lines

    lines = [b"x" * n for n in lengths]
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "lines.jsonl"
        path.write_bytes(b"\n".join(lines))
        read = list(_numbered_lines(path, limit))
    expected = [
        (number, line + (b"\n" if number < len(lines) else b"") if len(line) <= limit else None)
        for number, line in enumerate(lines, start=1)
    ]
    if lines[-1] == b"":
        expected.pop()  # a file ending in a newline has no empty last line
    assert read == expected


@pytest.mark.parametrize("body", ["\u200c", "\u200d\u200c \u200d", "\u200d\n\n\u2063\u200e"])
def test_a_body_of_only_joiners_and_marks_is_missing(tmp_path: Path, body: str) -> None:
    (tmp_path / "a.jsonl").write_text(article(text=body) + "\n", "utf-8")
    (tmp_path / "b.txt").write_text(f"Title\n\n{body}", "utf-8")
    (tmp_path / "c.jsonl").write_text(article(title=body) + "\n", "utf-8")
    corpus = load_corpus([tmp_path], max_chars=LIMIT)
    assert corpus.articles == {}
    assert sorted(corpus.problems) == [
        f"{tmp_path / 'a.jsonl'}:1: missing 'text', skipped",
        f"{tmp_path / 'b.txt'}: no title and text found, skipped",
        f"{tmp_path / 'c.jsonl'}:1: missing 'title', skipped",
    ]


@pytest.mark.parametrize(
    ("front", "title"),
    [
        ('---\ntitle: "Harbour reopens"\ndate: 2022-06-12\nauthor: Ana\n---\n', "Harbour reopens"),
        ("---\nlayout: post\n---\n\n# Harbour reopens\n", "Harbour reopens"),
        ("+++\ntitle = 'Harbour reopens'\n+++\n", "Harbour reopens"),
        ("***\nHarbour reopens\n=====\n", "Harbour reopens"),
    ],
)
def test_markdown_front_matter_and_rules_are_not_the_title_or_the_text(
    tmp_path: Path, front: str, title: str
) -> None:
    (tmp_path / "story.md").write_text(front + "\nThe harbour reopened on Monday.\n", "utf-8")
    (story,) = load_corpus([tmp_path], max_chars=LIMIT).articles.values()
    assert story.title == title
    assert story.text.strip() == "The harbour reopened on Monday."
    if "date:" in front:
        assert (story.published, story.author) == ("2022-06-12", "Ana")


def test_template_text_is_not_part_of_a_page(tmp_path: Path) -> None:
    paragraphs = "".join(
        f"<p>The harbour of Valletta reopened to ferries on Monday, paragraph {n}, after a"
        " long winter of repairs to the breakwater and the quays.</p>"
        for n in range(6)
    )
    page = (
        "<html><head><title>Harbour reopens</title></head><body><article>"
        f"<h1>Harbour reopens</h1>{paragraphs}"
        "<template id='t'><p>TEMPLATE SECRET paragraph that is never shown on the page but"
        " is long enough to look like an article paragraph to an extractor.</p></template>"
        "<TEMPLATE><div><p>ANOTHER HIDDEN paragraph inside a second template element that"
        " nobody sees in a browser either.</p></div></TEMPLATE>"
        "</article></body></html>"
    )
    (tmp_path / "page.html").write_text(page, "utf-8")
    (story,) = load_corpus([tmp_path], max_chars=LIMIT).articles.values()
    assert "paragraph 5" in story.text
    assert "SECRET" not in story.text and "HIDDEN" not in story.text


@pytest.mark.parametrize(
    "control",
    ["\u202e", "\u202d", "\u202a", "\u202b", "\u202c", "\u2066", "\u2067", "\u2068", "\u2069"],
)
def test_bidirectional_overrides_are_not_kept_in_titles_or_outlets(
    tmp_path: Path, control: str
) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(
        article(title=f"Harbour {control}snepoer", source=f"BBC{control} News") + "\n", "utf-8"
    )
    (story,) = load_corpus([path], max_chars=LIMIT).articles.values()
    assert (story.title, story.source) == ("Harbour snepoer", "BBC News")


@pytest.mark.parametrize(
    ("meta", "encoding", "words"),
    [
        ('<meta charset="Shift_JIS">', "shift_jis", "港は月曜日に再開しました"),
        (
            "<meta http-equiv='Content-Type' content='text/html; charset=euc-jp'>",
            "euc-jp",
            "港は再開",
        ),
        ("<META CHARSET=windows-1251>", "cp1251", "Гавань снова открылась"),
    ],
)
def test_a_page_is_read_in_the_character_set_it_declares(
    tmp_path: Path, meta: str, encoding: str, words: str
) -> None:
    paragraphs = "".join(f"<p>{words}, {n}: {words}, {words}.</p>" for n in range(8))
    page = (
        f"<html><head>{meta}<title>{words}</title></head><body><article>"
        f"<h1>{words}</h1>{paragraphs}</article></body></html>"
    )
    (tmp_path / "page.html").write_bytes(page.encode(encoding))
    corpus = load_corpus([tmp_path], max_chars=LIMIT)
    (story,) = corpus.articles.values()
    assert story.title == words and words in story.text
    assert corpus.problems == [], "nothing was read as Windows-1252"


def test_a_page_that_lies_about_its_character_set_is_still_read(tmp_path: Path) -> None:
    paragraphs = "".join(f"<p>Lety Pérez crossed the river, paragraph {n}.</p>" for n in range(8))
    page = f"<html><head><meta charset='iso-8859-1'><title>Pérez</title></head><body>{paragraphs}"
    (tmp_path / "utf8.html").write_bytes(page.encode("utf-8"))
    (tmp_path / "unknown.html").write_bytes(
        page.replace("iso-8859-1", "x-no-such-set").encode("cp1252")
    )
    corpus = load_corpus([tmp_path], max_chars=LIMIT)
    assert [a.title for a in corpus.articles.values()] == ["Pérez", "Pérez"]


def test_files_deeper_than_the_path_limit_are_reported(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "near.txt").write_text("Near\n\nThe harbour reopened.", "utf-8")
    descriptor = os.open(root, os.O_RDONLY)
    try:
        for _ in range(24):  # 24 directories of 200 characters: past PATH_MAX (4,096)
            os.mkdir("d" * 200, dir_fd=descriptor)
            deeper = os.open("d" * 200, os.O_RDONLY, dir_fd=descriptor)
            os.close(descriptor)
            descriptor = deeper
        file = os.open("deep.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=descriptor)
        os.write(file, b"Deep\n\nThe deep harbour reopened.")
        os.close(file)
    finally:
        os.close(descriptor)
    corpus = load_corpus([root], max_chars=LIMIT)
    assert [a.title for a in corpus.articles.values()] == ["Near"]
    assert corpus.skipped_records == 1
    (problem,) = corpus.problems
    assert problem.endswith(": cannot be read (File name too long), skipped")
    assert problem.startswith(str(root / ("d" * 200)))
