"""Property tests of the command line under hostile input: file names, JSONL values and index
paths from hypothesis. Whatever they are, a build never ends in a traceback, never loses the
index it had, and bad input is exit code 2 with one line."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli import cli
from index.errors import InputError
from index.records import ArticleFilter

GOOD = "Harbour\n\nThe harbour of Valletta reopened to ferries on Monday."
ENV = {"CITEBOT_MAX_ARTICLE_CHARS": "1000"}  # small, so huge lines are cheap to make
SUFFIXES = st.sampled_from([".txt", ".md", ".jsonl", ".html", ".htm", ".pdf", ""])
# File and directory names as the file system holds them: any bytes but '/' and NUL.
NAME_BYTES = (
    st.binary(min_size=1, max_size=40)
    .map(lambda raw: raw.replace(b"/", b"_").replace(b"\x00", b"_"))
    .filter(lambda raw: raw not in (b".", b".."))
)
HOSTILE_PIECES = st.sampled_from(
    ["\ud800", "\udfff", "\udc80", "\x00", "\x1b[31m", "\x07", "\u202e", "\ufeff", "\u200b",
     "\r\n", "\n", "\t", "\x85", "\u2028", "MORE", "XaXa", " ", "#", "?", "%", "é", "👩\u200d👩"]
)  # fmt: skip
HOSTILE_TEXT = st.lists(st.one_of(st.text(max_size=8), HOSTILE_PIECES), max_size=12).map("".join)
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), HOSTILE_TEXT),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(HOSTILE_TEXT, inner, max_size=3)
    ),
    max_leaves=8,
)
RECORDS = st.fixed_dictionaries(
    {},
    optional={
        "title": st.one_of(HOSTILE_TEXT, JSON_VALUES),
        "text": st.one_of(HOSTILE_TEXT, JSON_VALUES, st.sampled_from(["x" * 5_000])),
        "id": JSON_VALUES,
        "url": JSON_VALUES,
        "published": st.one_of(HOSTILE_TEXT, JSON_VALUES),
        "source": JSON_VALUES,
        "extra": JSON_VALUES,
    },
)


@st.composite
def jsonl_lines(draw: st.DrawFn) -> bytes:
    """One JSONL line: a record written escaped or raw (lone surrogates then become bytes
    that are not UTF-8), a line of garbage, or one far over the size limit."""
    kind = draw(st.sampled_from(["escaped", "raw", "garbage", "huge"]))
    if kind == "garbage":
        return draw(st.binary(max_size=60)).replace(b"\n", b" ")
    if kind == "huge":
        return b'{"title": "Huge", "text": "' + b"y" * 80_000 + b'"}'
    record = json.dumps(draw(RECORDS), ensure_ascii=kind == "escaped")
    return record.encode("utf-8", "surrogatepass")


@st.composite
def hostile_files(draw: st.DrawFn) -> list[tuple[bytes, bytes]]:
    """(relative path, content) of a few files with hostile names and contents."""
    files = []
    for _ in range(draw(st.integers(1, 3))):
        name = draw(NAME_BYTES) + draw(SUFFIXES).encode()
        if draw(st.booleans()):
            name = draw(NAME_BYTES) + b"/" + name
        if name.endswith(b".jsonl"):
            content = b"\n".join(draw(st.lists(jsonl_lines(), min_size=1, max_size=4)))
        else:
            content = draw(
                st.one_of(
                    HOSTILE_TEXT.map(lambda text: text.encode("utf-8", "surrogatepass")),
                    st.binary(max_size=200),
                    st.just(b"\xff\xfe" + "Title\n\nUTF-16 body.".encode("utf-16-le")),
                )
            )
        files.append((name, content))
    return files


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=ENV)


def assert_clean_exit(result: Result) -> None:
    """Exit 0, or 2 with one line for bad input: never a traceback, never an exception."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert len(result.output.strip().splitlines()) == 1, result.output
        assert result.output.startswith("Error: ")


def assert_still_answers(index: Path) -> None:
    result = invoke("search", "harbour Valletta", "--index", str(index), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["article_id"] == "good.txt"


def write(root: Path, files: list[tuple[bytes, bytes]]) -> None:
    for name, content in files:
        path = Path(os.fsdecode(os.fsencode(root) + b"/" + name))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            continue  # one name is another's directory: keep the first


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(files=hostile_files(), strict=st.booleans())
def test_hostile_files_never_break_a_build_or_the_index(
    fake_model: None, files: list[tuple[bytes, bytes]], strict: bool
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        corpus, index = Path(scratch) / "corpus", Path(scratch) / "index"
        corpus.mkdir()
        (corpus / "good.txt").write_text(GOOD, "utf-8")
        assert invoke("build", str(corpus), "--index", str(index)).exit_code == 0
        write(corpus, files)
        for extra in (["--dry-run"], ["--strict"] if strict else [], ["--json"]):
            assert_clean_exit(invoke("build", str(corpus), "--index", str(index), *extra))
            assert_still_answers(index)
        hostile = [Path(os.fsdecode(os.fsencode(corpus) + b"/" + name)) for name, _ in files]
        for path in hostile:
            result = invoke("build", str(path), "--index", str(Path(scratch) / "other"))
            assert_clean_exit(result)


# Index directory names a user might type: URI characters, spaces, escapes, other scripts,
# and bytes that are not UTF-8.
INDEX_NAMES = st.one_of(
    st.lists(
        st.one_of(st.sampled_from(["#", "?", "%", "%41", "&", "=", " ", "mode=rw", "é", "\x1b"]),
                  st.text(st.characters(exclude_characters="/\x00"), max_size=4)),
        min_size=1, max_size=6,
    ).map("".join).map(os.fsencode),
    NAME_BYTES,
).filter(lambda raw: raw not in (b"", b".", b"..") and len(raw) < 200)  # fmt: skip


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=INDEX_NAMES)
def test_any_index_path_builds_answers_and_is_reused(fake_model: None, name: bytes) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        corpus = Path(scratch) / "corpus"
        corpus.mkdir()
        (corpus / "good.txt").write_text(GOOD, "utf-8")
        index = Path(os.fsdecode(os.fsencode(scratch) + b"/" + name))
        built = invoke("build", str(corpus), "--index", str(index))
        assert_clean_exit(built)
        try:
            name.decode("utf-8")
        except UnicodeDecodeError:
            assert built.exit_code == 2 and "must be UTF-8" in built.output
            assert not index.exists()
            return
        assert built.exit_code == 0, built.output
        assert_still_answers(index)
        stats = invoke("stats", "--index", str(index), "--json")
        assert stats.exit_code == 0, stats.output
        again = invoke("build", str(corpus), "--index", str(index), "--json")
        assert json.loads(again.output)["up_to_date"], "the index is read back, not rebuilt"
        assert sorted(os.fsencode(p.name) for p in Path(scratch).iterdir()) == sorted(
            [b"corpus", name]
        )


# Dates as a user might type them: digits of any script, separators that look like '-'.
DIGITS = st.characters(categories=["Nd"])
DATE_TEXT = st.one_of(
    st.lists(st.one_of(DIGITS, st.sampled_from(["-", "‐", "－", "/", " ", "²", "0", "1"])),
             max_size=12).map("".join),
    st.text(max_size=12),
)  # fmt: skip


@given(text=DATE_TEXT)
def test_a_date_filter_is_refused_or_plain_ascii_digits(text: str) -> None:
    """Whatever is typed after --since or --until, the filter holds ASCII digits and dashes
    or there is no filter: never a date that silently matches nothing."""
    try:
        article_filter = ArticleFilter.of(since=text)
    except InputError as error:
        assert "\n" not in str(error)
        return
    if article_filter is None:
        assert text == ""
        return
    assert article_filter.since is not None
    assert article_filter.since.isascii() and len(article_filter.since) in (4, 7, 10)
    assert all(c.isdigit() or c == "-" for c in article_filter.since)


@given(date=st.dates(), digits=DIGITS)
def test_a_date_in_any_script_is_that_date(date: object, digits: str) -> None:
    zero = ord(digits) - int(digits)
    written = "".join(chr(zero + int(c)) if c.isdigit() else c for c in str(date))
    assert ArticleFilter.of(until=written) == ArticleFilter.of(until=str(date))
