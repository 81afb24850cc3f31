"""Reading articles from files: `.txt`, `.md`, `.jsonl`, `.html`/`.htm`, or directories of them.

Problems with one file or one line are collected (as `path:line: what`) and reading goes on;
with `strict=True` the first problem stops the build instead. Text that is not UTF-8 is read
as Windows-1252 (then Latin-1, which never fails), and the summary says so.

Article ids: the record's `id`, else its url, else its path relative to the root given (with
`:line` for a JSONL record). When two articles share an id, the first one read is kept
(files in sorted path order, lines in file order) and the other is reported.

Whatever is read is made safe here, at the boundary: file names that are not UTF-8 or hold
characters a terminal acts on become escapes (`path_text`), and every string of an article
loses its lone surrogates (a JSON escape such as "\\ud800" makes one, and no UTF-8 can hold
it). Directories are walked once each, however symbolic links reach them.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import json
import os
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

from index.clean import normalise_line, remove_control_characters
from index.errors import InputError
from index.files import path_text
from index.markup import declared_charset, front_matter, is_rule, without_templates
from index.records import SourceArticle

TEXT_SUFFIXES = frozenset({".txt", ".md"})
JSONL_SUFFIXES = frozenset({".jsonl"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | JSONL_SUFFIXES | HTML_SUFFIXES
FALLBACK_ENCODING = "cp1252"
_JSONL_FIELDS = ("id", "title", "text", "url", "published", "source", "author")
_LONE_SURROGATES = re.compile("[\ud800-\udfff]")
_YEAR_FIRST_DATE = re.compile(r"(\d{4})[/.](\d{1,2})[/.](\d{1,2})")
# The year of an e-mail or RSS date ("Sun, 12 Jun 2022 ..."): after the day and the month.
_RFC_DATE_YEAR = re.compile(r"\b\d{1,2}[\s-]+[A-Za-z]{3,}\.?[\s-]+(\d+)\b")
# Byte order marks that say a file is UTF-32 or UTF-16 (UTF-32's first: it starts with UTF-16's).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Bytes no text file holds (controls other than tab, line breaks, form feed and escape).
_CONTROL_BYTES = bytes([*range(0x09), *range(0x0E, 0x1B), *range(0x1C, 0x20), 0x7F])
_SNIFF_BYTES = 8192


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
        self.visited: set[str] = set()

    def problem(self, message: str, *, skipped: bool = True) -> None:
        if self.strict:
            raise InputError(f"{message} (stopped by --strict)")
        self.corpus.problems.append(message)
        self.corpus.skipped_records += skipped

    def note(self, message: str) -> None:
        """Something worth saying that is not a problem with the input (never stops a build)."""
        self.corpus.problems.append(message)

    def add(self, article: SourceArticle) -> None:
        article = _sanitised(article)
        kept = self.corpus.articles.get(article.id)
        if kept is not None:
            self.problem(
                f"{article.origin}: duplicate id {article.id!r}, kept the one at {kept.origin}"
            )
            return
        self.corpus.articles[article.id] = article

    def read_path(self, path: Path) -> None:
        try:
            is_dir = path.is_dir()
            exists = is_dir or path.exists()
        except OSError as error:
            raise InputError(f"{path_text(path)}: cannot be read ({_reason(error)})") from error
        if not exists:
            raise InputError(f"{path_text(path)}: no such file or directory")
        if not is_dir:
            if self._first_visit(path):
                self.read_file(path, path.parent)
        elif self._first_visit(path):
            for file in self._walk(path):
                self.read_file(file, path)

    def _first_visit(self, path: Path) -> bool:
        """True the first time a file or directory is reached, by any path or link."""
        real = os.path.realpath(path)
        if real in self.visited:
            self.note(f"{path_text(path)}: already read by another path (a link?), skipped")
            return False
        self.visited.add(real)
        return True

    def _walk(self, root: Path) -> Iterator[Path]:
        """Files under `root` in sorted path order, skipping hidden files and directories
        (names starting with '.') and what was already read; unreadable directories are
        reported and skipped."""
        pending = [self._entries(root)]
        while pending:
            path = next(pending[-1], None)
            if path is None:
                pending.pop()
            elif path.name.startswith("."):
                continue
            elif _is(path, Path.is_dir):
                if self._first_visit(path):
                    pending.append(self._entries(path))
            elif _is(path, Path.is_file):
                if self._first_visit(path):
                    yield path
            else:
                self._unreachable(path)

    def _unreachable(self, path: Path) -> None:
        """Report a path that is neither a directory nor a file because it cannot be looked
        at (deeper than the system's path limit, say); a broken link or a socket is passed
        over."""
        try:
            path.stat()
        except FileNotFoundError:
            return
        except OSError as error:
            self.problem(f"{path_text(path)}: cannot be read ({_reason(error)}), skipped")

    def _entries(self, directory: Path) -> Iterator[Path]:
        try:
            return iter(sorted(directory.iterdir()))
        except OSError as error:
            self.problem(f"{path_text(directory)}: cannot be read ({_reason(error)}), skipped")
            return iter(())

    def read_file(self, file: Path, root: Path) -> None:
        name = path_text(file)
        suffix = file.suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            self.corpus.skipped_files.append(name)
            return
        relative = path_text(file.relative_to(root).as_posix())
        try:
            size = file.stat().st_size
            if size == 0:
                self.problem(f"{name}: empty file, skipped")
                return
            if suffix in JSONL_SUFFIXES:
                for record in self._jsonl_articles(file, name, relative):
                    self.add(record)
                return
            # A character is at most 4 bytes of UTF-8, so larger files cannot fit.
            if size > 4 * self.max_chars + 4096:
                self.problem(f"{name}: {size / 1e6:.1f} MB is over the article size limit, skipped")
                return
            data = file.read_bytes()
            declared = declared_charset(data) if suffix in HTML_SUFFIXES else None
            text = self._decode(data, name, declared)
        except OSError as error:
            self.problem(f"{name}: cannot be read ({_reason(error)}), skipped")
            return
        except UnicodeDecodeError as error:
            self.problem(f"{name}: not valid {error.encoding.upper()}, the rest skipped")
            return
        if text is None:
            return
        article: SourceArticle | None = (
            _html_article(text, relative, name)
            if suffix in HTML_SUFFIXES
            else _text_article(text, relative, name)
        )
        if article is None:
            self.problem(f"{name}: no title and text found, skipped")
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

    def _decode(self, data: bytes, origin: str, declared: str | None = None) -> str | None:
        """Bytes as text: UTF-32 or UTF-16 when a byte order mark says so, else UTF-8, else
        the `declared` character set (a page's own `<meta charset>`), else Windows-1252
        (noted); None, reported, for what is not text."""
        encoding = _bom_encoding(data)
        if encoding is not None:
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                self.problem(f"{origin}: not valid {encoding.upper()}, skipped")
                return None
        head = data[:_SNIFF_BYTES]
        if b"\x00" in head:
            self.problem(f"{origin}: binary file, skipped")
            return None
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass
        if sum(head.count(byte) for byte in _CONTROL_BYTES) * 100 > len(head):
            self.problem(f"{origin}: binary file, skipped")
            return None
        if declared is not None:
            with contextlib.suppress(UnicodeDecodeError, LookupError):
                return data.decode(declared)
        self.note(f"{origin}: not valid UTF-8, read as Windows-1252")
        try:
            return data.decode(FALLBACK_ENCODING)
        except UnicodeDecodeError:
            return data.decode("latin-1")

    def _jsonl_articles(self, file: Path, name: str, relative: str) -> Iterator[SourceArticle]:
        limit = 4 * self.max_chars + 65536
        for number, line in _numbered_lines(file, limit):
            origin = f"{name}:{number}"
            if line is None:
                self.problem(f"{origin}: line is over the article size limit, skipped")
                continue
            if not line.strip():
                continue
            text = line if isinstance(line, str) else self._decode(line, origin)
            article = (
                None if text is None else self._jsonl_article(text, origin, f"{relative}:{number}")
            )
            if article is not None and self._fits(article):
                yield article

    def _jsonl_article(self, line: str, origin: str, fallback_id: str) -> SourceArticle | None:
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            self.problem(f"{origin}: not valid JSON ({error.msg}), skipped")
            return None
        except (ValueError, RecursionError):
            self.problem(f"{origin}: JSON nested too deeply or with too long a number, skipped")
            return None
        if not isinstance(record, dict):
            self.problem(f"{origin}: a JSON object was expected, skipped")
            return None
        title, text = record.get("title"), record.get("text")
        if not isinstance(title, str) or not _has_text(title):
            self.problem(f"{origin}: missing 'title', skipped")
            return None
        if not isinstance(text, str) or not _has_text(text):
            self.problem(f"{origin}: missing 'text', skipped")
            return None
        optional = {name: _optional_str(record.get(name)) for name in _JSONL_FIELDS[3:]}
        published = optional.pop("published")
        if published is not None:
            normalised = normalise_date(published)
            if normalised is None:
                self.problem(
                    f"{origin}: 'published' is not a date (use YYYY-MM-DD), ignored", skipped=False
                )
            published = normalised
        url = optional.pop("url")
        if url is not None and not _is_url(url):
            self.problem(f"{origin}: 'url' is not a valid URL, skipped")
            return None
        return SourceArticle(
            id=_optional_str(record.get("id")) or (normalise_url(url) if url else fallback_id),
            title=normalise_line(title),
            text=text,
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


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


def _is(path: Path, test: Callable[[Path], bool]) -> bool:
    """`test(path)` (is it a directory, a file), False when the path cannot be examined."""
    try:
        return test(path)
    except OSError:
        return False


def _numbered_lines(file: Path, limit: int) -> Iterator[tuple[int, bytes | str | None]]:
    """The lines of a file numbered from 1: text when a byte order mark says the file is
    UTF-32 or UTF-16 (`UnicodeDecodeError` where it stops being so), else bytes; None for a
    line longer than `limit` (bytes, or characters), which is read past `limit` at a time and
    never held whole."""
    with file.open("rb") as handle:
        encoding = _bom_encoding(handle.read(4))
        handle.seek(0)
        lines: IO[Any] = handle if encoding is None else io.TextIOWrapper(handle, encoding=encoding)
        number = 0
        while line := lines.readline(limit + 1):
            number += 1
            if len(line) <= limit or line[-1:] in ("\n", b"\n"):
                yield number, line
                continue
            while (rest := lines.readline(limit + 1)) and rest[-1:] not in ("\n", b"\n"):
                pass
            yield number, None


def _bom_encoding(data: bytes) -> str | None:
    """The encoding (utf-32 or utf-16) whose byte order mark `data` starts with, else None."""
    return next((encoding for bom, encoding in _BOMS if data.startswith(bom)), None)


def _has_text(text: str) -> bool:
    """True when `text` holds something besides whitespace and characters that carry none."""
    return any(unicodedata.category(c)[0] in "LNPS" for c in remove_control_characters(text))


def _sanitised(article: SourceArticle) -> SourceArticle:
    """The article with lone surrogates deleted from every string in it (keys too)."""
    return replace(
        article, **{f.name: _without_surrogates(getattr(article, f.name)) for f in fields(article)}
    )


def _without_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATES.sub("", value)
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_surrogates(item) for item in value]
    return value


def _text_article(text: str, relative: str, origin: str) -> SourceArticle | None:
    """`.txt`/`.md`: the first line with text is the title (leading '#' removed; a rule line,
    or a heading's underline after it, is neither title nor body), then the body. Markdown
    front matter is not text: its title, date and author are the article's."""
    lines = text.splitlines()
    fields, start = front_matter(lines)
    published = normalise_date(fields["date"]) if fields.get("date") else None
    title = normalise_line(fields.get("title", ""))
    if not _has_text(title):
        for index in range(start, len(lines)):
            title = "" if is_rule(lines[index]) else normalise_line(lines[index].lstrip("# \t"))
            if _has_text(title):
                start = index + 1
                if start < len(lines) and is_rule(lines[start]):
                    start += 1  # the title's underline
                break
    body = "\n".join(lines[start:])
    if not _has_text(title) or not _has_text(body):
        return None
    return SourceArticle(
        id=relative,
        title=title,
        text=body,
        origin=origin,
        published=published,
        author=_optional_str(fields.get("author")),
    )


def _html_article(html: str, relative: str, origin: str) -> SourceArticle | None:
    """A saved news page: title, text, date, url, outlet and author extracted by trafilatura."""
    import trafilatura
    from trafilatura.settings import Document

    document = trafilatura.bare_extraction(
        without_templates(html), with_metadata=True, include_comments=False
    )
    if not isinstance(document, Document):
        return None
    title = normalise_line(document.title or "")
    # trafilatura puts one paragraph on each line, often starting with the headline again.
    paragraphs = [line for line in (document.text or "").splitlines() if line.strip()]
    if paragraphs and normalise_line(paragraphs[0]) == title:
        paragraphs = paragraphs[1:]
    text = "\n\n".join(paragraphs)
    if not _has_text(title) or not _has_text(text):
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


def _is_url(url: str) -> bool:
    """True when `url` splits into its parts (a malformed host, "http://[::1", does not)."""
    try:
        urlsplit(url.strip())
    except ValueError:
        return False
    return True


def normalise_url(url: str) -> str:
    """A url as an article id: scheme and host lower-cased, no fragment, no trailing slash."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/") or ""
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


def normalise_date(value: str) -> str | None:
    """A date as ISO 8601 (a datetime keeps its time), from ISO 8601 itself, a year-first
    date with slashes or dots ("2022/06/12", as many news sites print it) or an e-mail and
    RSS date ("Sun, 12 Jun 2022 10:00:00 GMT"); None when it is none of these."""
    text = value.strip()
    slashed = _YEAR_FIRST_DATE.fullmatch(text)
    try:
        if slashed:
            return date(*(int(part) for part in slashed.groups())).isoformat()
        if len(text) == 10:
            return date.fromisoformat(text).isoformat()
        return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()
    except ValueError:
        pass
    try:
        parsed = parsedate_to_datetime(text)
        # The e-mail parser reads a year under 100 as 19xx or 20xx, even one written "0001".
        written = _RFC_DATE_YEAR.search(text)
        if written and len(written[1]) > 2 and parsed.year != int(written[1]):
            parsed = parsed.replace(year=int(written[1]))
        return parsed.isoformat()
    except (TypeError, ValueError, IndexError):
        return None
