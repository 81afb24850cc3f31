"""Reading articles from files: `.txt`, `.md`, `.jsonl`, `.html`/`.htm`, or directories of them.

Problems with one file or one line are collected (as `path:line: what`) and reading goes on;
with `strict=True` the first problem stops the build instead. Text that is not UTF-8 is read
as Windows-1252 (then Latin-1, which never fails), and the summary says so.

Article ids: the record's `id`, else its url, else its path relative to the root given (with
`:line` for a JSONL record). When two articles share an id, the first one read is kept
(files in sorted path order, lines in file order) and the other is reported.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from index.clean import normalise_line
from index.errors import InputError
from index.records import SourceArticle

TEXT_SUFFIXES = frozenset({".txt", ".md"})
JSONL_SUFFIXES = frozenset({".jsonl"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | JSONL_SUFFIXES | HTML_SUFFIXES
FALLBACK_ENCODING = "cp1252"
_JSONL_FIELDS = ("id", "title", "text", "url", "published", "source", "author")


@dataclass
class Corpus:
    """What was read: articles by id, files skipped as unsupported, and problems met.

    `skipped_records` counts files and records left out because of a problem.
    """

    articles: dict[str, SourceArticle] = field(default_factory=dict)
    skipped_files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped_records: int = 0


class _Reader:
    """Reads one build's inputs into a `Corpus`, honouring `strict` and `max_chars`."""

    def __init__(self, max_chars: int, strict: bool) -> None:
        self.max_chars = max_chars
        self.strict = strict
        self.corpus = Corpus()

    def problem(self, message: str, *, skipped: bool = True) -> None:
        if self.strict:
            raise InputError(f"{message} (stopped by --strict)")
        self.corpus.problems.append(message)
        self.corpus.skipped_records += skipped

    def add(self, article: SourceArticle) -> None:
        kept = self.corpus.articles.get(article.id)
        if kept is not None:
            self.problem(
                f"{article.origin}: duplicate id {article.id!r}, kept the one at {kept.origin}"
            )
            return
        self.corpus.articles[article.id] = article

    def read_path(self, path: Path) -> None:
        if not path.exists():
            raise InputError(f"{path}: no such file or directory")
        if path.is_dir():
            for file in sorted(_walk(path)):
                self.read_file(file, path)
        else:
            self.read_file(path, path.parent)

    def read_file(self, file: Path, root: Path) -> None:
        suffix = file.suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            self.corpus.skipped_files.append(str(file))
            return
        relative = file.relative_to(root).as_posix()
        try:
            size = file.stat().st_size
            if size == 0:
                self.problem(f"{file}: empty file, skipped")
                return
            if suffix in JSONL_SUFFIXES:
                for record in self._jsonl_articles(file, relative):
                    self.add(record)
                return
            # A character is at most 4 bytes of UTF-8, so larger files cannot fit.
            if size > 4 * self.max_chars + 4096:
                self.problem(f"{file}: {size / 1e6:.1f} MB is over the article size limit, skipped")
                return
            text = self._decode(file.read_bytes(), str(file))
        except OSError as error:
            self.problem(f"{file}: cannot be read ({error.strerror or error}), skipped")
            return
        if text is None:
            return
        article: SourceArticle | None = (
            _html_article(text, relative, str(file))
            if suffix in HTML_SUFFIXES
            else _text_article(text, relative, str(file))
        )
        if article is None:
            self.problem(f"{file}: no title and text found, skipped")
        elif self._fits(article):
            self.add(article)

    def _fits(self, article: SourceArticle) -> bool:
        if len(article.text) > self.max_chars:
            self.problem(
                f"{article.origin}: {len(article.text):,} characters is over the limit of"
                f" {self.max_chars:,} (CITEBOT_MAX_ARTICLE_CHARS), skipped"
            )
            return False
        return True

    def _decode(self, data: bytes, origin: str) -> str | None:
        if b"\x00" in data[:8192]:
            self.problem(f"{origin}: binary file, skipped")
            return None
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass
        self.corpus.problems.append(f"{origin}: not valid UTF-8, read as Windows-1252")
        try:
            return data.decode(FALLBACK_ENCODING)
        except UnicodeDecodeError:
            return data.decode("latin-1")

    def _jsonl_articles(self, file: Path, relative: str) -> Iterator[SourceArticle]:
        with file.open("rb") as handle:
            for number, raw_line in enumerate(handle, start=1):
                origin = f"{file}:{number}"
                if not raw_line.strip():
                    continue
                if len(raw_line) > 4 * self.max_chars + 65536:
                    self.problem(f"{origin}: line is over the article size limit, skipped")
                    continue
                line = self._decode(raw_line, origin)
                if line is None:
                    continue
                article = self._jsonl_article(line, origin, f"{relative}:{number}")
                if article is not None and self._fits(article):
                    yield article

    def _jsonl_article(self, line: str, origin: str, fallback_id: str) -> SourceArticle | None:
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            self.problem(f"{origin}: not valid JSON ({error.msg}), skipped")
            return None
        if not isinstance(record, dict):
            self.problem(f"{origin}: a JSON object was expected, skipped")
            return None
        for required in ("title", "text"):
            value = record.get(required)
            if not isinstance(value, str) or not value.strip():
                self.problem(f"{origin}: missing {required!r}, skipped")
                return None
        optional = {name: _optional_str(record.get(name)) for name in _JSONL_FIELDS[3:]}
        published = optional.pop("published")
        if published is not None:
            normalised = normalise_date(published)
            if normalised is None:
                self.problem(
                    f"{origin}: 'published' is not an ISO 8601 date, ignored", skipped=False
                )
            published = normalised
        url = optional.pop("url")
        return SourceArticle(
            id=_optional_str(record.get("id")) or (normalise_url(url) if url else fallback_id),
            title=normalise_line(record["title"]),
            text=record["text"],
            origin=origin,
            url=url,
            published=published,
            metadata={k: v for k, v in record.items() if k not in _JSONL_FIELDS},
            **optional,
        )


def load_corpus(paths: Sequence[Path], *, max_chars: int, strict: bool = False) -> Corpus:
    """Read every article under `paths`. Raises `InputError` for a path that does not exist."""
    reader = _Reader(max_chars=max_chars, strict=strict)
    for path in paths:
        reader.read_path(path)
    return reader.corpus


def _walk(root: Path) -> Iterator[Path]:
    """Files under `root`, skipping hidden files and directories (names starting with '.')."""
    for path in root.iterdir():
        if path.name.startswith("."):
            continue
        if path.is_dir():
            yield from _walk(path)
        elif path.is_file():
            yield path


def _text_article(text: str, relative: str, origin: str) -> SourceArticle | None:
    """`.txt`/`.md`: the first non-empty line is the title (leading '#' removed), then the body."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.strip():
            title = normalise_line(line.lstrip().lstrip("#"))
            body = "\n".join(lines[index + 1 :])
            if title and body.strip():
                return SourceArticle(id=relative, title=title, text=body, origin=origin)
            return None
    return None


def _html_article(html: str, relative: str, origin: str) -> SourceArticle | None:
    """A saved news page: title, text, date, url, outlet and author extracted by trafilatura."""
    import trafilatura
    from trafilatura.settings import Document

    document = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False)
    if not isinstance(document, Document):
        return None
    title = normalise_line(document.title or "")
    # trafilatura puts one paragraph on each line, often starting with the headline again.
    paragraphs = [line for line in (document.text or "").splitlines() if line.strip()]
    if paragraphs and normalise_line(paragraphs[0]) == title:
        paragraphs = paragraphs[1:]
    text = "\n\n".join(paragraphs)
    if not title or not text:
        return None
    url = _optional_str(document.url)
    return SourceArticle(
        id=normalise_url(url) if url else relative,
        title=title,
        text=text,
        origin=origin,
        url=url,
        published=normalise_date(document.date) if document.date else None,
        source=_optional_str(document.sitename),
        author=_optional_str(document.author),
    )


def _optional_str(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float | str):
        text = normalise_line(str(value))
        return text or None
    return None


def normalise_url(url: str) -> str:
    """A url as an article id: scheme and host lower-cased, no fragment, no trailing slash."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/") or ""
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


def normalise_date(value: str) -> str | None:
    """An ISO 8601 date or datetime, normalised; None when it is not one."""
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text).isoformat()
        return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()
    except ValueError:
        return None
