"""Reading articles a careless or hostile user left: odd strings and file names, symbolic
link loops, unreadable places, files that only look like text (or do not look like it)."""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

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
