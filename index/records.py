"""Every record the library hands out, in one place.

Articles in (`SourceArticle`) and their passages (`Passage`), embedded as a build writes them
(`EmbeddedArticle`); articles and passages as stored (`StoredArticle`, `StoredPassage`);
answers (`Answer`, `AnswerPart`, `Citation`), search results, sources with their paragraphs,
index stats, build summaries, feedback entries and evaluation reports. Each record with a
`--json` form has an `as_json` method giving exactly the documented schema.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray

from index.errors import InputError

Span = tuple[int, int]
# (passage ids, scores) a store's search gives, best first; higher scores are better.
Matches = tuple[NDArray[np.int64], NDArray[np.float32]]

ABSTAIN_MESSAGE = "I couldn't find that in the articles."

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CITATION_ID = re.compile(r"^(?P<key>[0-9a-f]{12})-(?P<start>\d{1,9})-(?P<end>\d{1,9})$")


def no_matches() -> Matches:
    """No passages."""
    return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)


class JsonRecord:
    """A dataclass record whose `--json` form is its fields, as they are."""

    __slots__ = ()

    def as_json(self) -> dict[str, Any]:
        """The record as a JSON-ready dict."""
        return asdict(self)  # type: ignore[call-overload, no-any-return]


# -- articles in -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceArticle:
    """An article as read from a file, before cleaning.

    `origin` says where it came from (`path` or `path:line`), for messages.
    """

    id: str
    title: str
    text: str
    origin: str
    url: str | None = None
    published: str | None = None
    source: str | None = None
    author: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        """A hash of everything stored about the article: it changes when the article does."""
        payload = json.dumps(
            [
                self.title,
                self.text,
                self.url,
                self.published,
                self.source,
                self.author,
                self.metadata,
            ],
            ensure_ascii=False,
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Passage:
    """A span of an article's cleaned text: `text[start:end]` is the passage, always.

    Paragraph numbers are 1-based; `sentences` are absolute offsets into the same text.
    """

    ordinal: int
    start: int
    end: int
    paragraph_first: int
    paragraph_last: int
    sentences: tuple[Span, ...]
    tokens: int


@dataclass(frozen=True, slots=True, eq=False)
class EmbeddedArticle:
    """A new or changed article as a build adds it to a generation: `text` is its cleaned
    body, cut into `paragraphs` and `passages`; `key` starts its citation ids; `vectors` holds
    one row per passage and `sentence_vectors` one per sentence of its passages, in order."""

    article: SourceArticle
    key: str
    text: str
    paragraphs: tuple[Span, ...]
    passages: list[Passage]
    vectors: NDArray[np.float32]
    sentence_vectors: NDArray[np.floating[Any]]

    def __post_init__(self) -> None:
        sentences = sum(len(passage.sentences) for passage in self.passages)
        if len(self.vectors) != len(self.passages) or len(self.sentence_vectors) != sentences:
            raise AssertionError(
                f"{len(self.vectors)} vectors for {len(self.passages)} passages,"
                f" {len(self.sentence_vectors)} for {sentences} sentences"
            )


def article_key(article_id: str, content_hash: str) -> str:
    """The short key that citation ids start with.

    It changes whenever the article's content does, so an old citation id can never point at
    text that has moved.
    """
    digest = hashlib.sha256(f"{article_id}\0{content_hash}".encode()).hexdigest()
    return digest[:12]


def citation_id(article: StoredArticle, start: int, end: int) -> str:
    """The stable id of a span, `KEY-START-END`: it survives rebuilds while the article is
    unchanged."""
    return f"{article.key}-{start}-{end}"


def parse_citation_id(text: str) -> tuple[str, int, int] | None:
    """(article key, start, end) of a well-formed citation id, else None."""
    match = _CITATION_ID.fullmatch(text.strip().lower())
    if match is None:
        return None
    return match["key"], int(match["start"]), int(match["end"])


# -- articles as stored ------------------------------------------------------------------


_PARTIAL_DATE = re.compile(r"[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?")


@dataclass(frozen=True, slots=True)
class ArticleFilter:
    """Which articles a question or search may use: published in `since`..`until` (ISO
    dates, a year or a month meaning all of it, both ends included) and from an outlet whose
    name contains `outlet` (ignoring case). Articles without a date fail a date filter,
    unless `undated` lets them through (a period a question names: an article of unknown
    date is not known to be of another time)."""

    since: str | None = None
    until: str | None = None
    outlet: str | None = None
    undated: bool = False

    @classmethod
    def of(
        cls, since: str | None = None, until: str | None = None, outlet: str | None = None
    ) -> ArticleFilter | None:
        """A checked filter, or None when nothing is filtered; `InputError` for a date
        that is not YYYY, YYYY-MM or YYYY-MM-DD, or a range that ends before it starts.
        Digits of any script ("２０２２", "٢٠٢٢-٠١") are read as the ASCII digits they are."""
        since, until = ascii_digits(since), ascii_digits(until)
        for name, value in (("since", since), ("until", until)):
            if value is not None and not _is_partial_date(value):
                raise InputError(f"{name} {value!r} is not a date; use YYYY-MM-DD, YYYY-MM or YYYY")
        if since and until and since > until and not since.startswith(until):
            raise InputError(f"since {since} is after until {until}: no article can match")
        outlet = outlet.strip() if outlet else None
        if not (since or until or outlet):
            return None
        return cls(since or None, until or None, outlet)

    def admits(self, published: str | None, source: str | None) -> bool:
        """Whether an article published on `published` (ISO) by the outlet `source` passes,
        as the stores' own filters read it (`until` keeps every date its prefix names)."""
        if self.outlet and self.outlet.lower() not in (source or "").lower():
            return False
        if not (self.since or self.until):
            return True
        if not published:
            return self.undated
        after = not self.since or published >= self.since
        return after and (not self.until or published[: len(self.until)] <= self.until)


def ascii_digits(text: str | None) -> str | None:
    """`text` with the decimal digits of every script (fullwidth, Arabic-Indic, Devanagari
    ...) as ASCII digits; any other character as it is."""
    if text is None or text.isascii():
        return text
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)


def _is_partial_date(text: str) -> bool:
    """True for a valid YYYY, YYYY-MM or YYYY-MM-DD."""
    if not _PARTIAL_DATE.fullmatch(text):
        return False
    year, month, day = [*text.split("-"), "01", "01"][:3]
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return False
    return True


# -- questions -----------------------------------------------------------------------------


class Expects(StrEnum):
    """The kind of phrase that answers a question."""

    PERSON = "person"
    PLACE = "place"
    TIME = "time"
    NUMBER = "number"
    NAME = "name"  # a named thing: a show, a company, a team, an agency ...
    OTHER = "other"  # why, how, what happened: no one kind of phrase answers


class Unit(StrEnum):
    """What an asked-for number counts in, when the question says."""

    PERCENT = "percent"
    MONEY = "money"
    AGE = "age"


@dataclass(frozen=True, slots=True)
class QuestionFrame:
    """A question's asked-for kind, the noun it names ("country" in "which country") and,
    for a number, its unit when the question says."""

    expects: Expects
    focus: str | None = None
    unit: Unit | None = None


@dataclass(frozen=True, slots=True)
class Period:
    """Days `since` to `until`, both included, named by `words` of the question; `strict`
    for a calendar period counted from the day asked (a filter), not for a year or "the
    latest" (a preference)."""

    since: date
    until: date
    words: str
    strict: bool

    def holds(self, published: str | None) -> bool:
        """Whether an article published on `published` (ISO, time allowed) is in the
        period; an unknown or unreadable date is not."""
        day = published_day(published)
        return day is not None and self.since <= day <= self.until


def published_day(published: str | None) -> date | None:
    """The day of an ISO `published` value ("2022-08-08", "2022-08-08T10:00:00Z")."""
    if not published or not _ISO_DATE.match(published):
        return None
    try:
        return date.fromisoformat(published[:10])
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Question:
    """A question read once (by `index.question.read_question`), as every step below the
    engine takes it: its text, its words (folded; `searched`: the content words, or every
    word when it has none; `stems` of the content words), what it asks for, the name a
    "who is X?" question asks about, the period it names, the filter it is answered within
    (the user's, narrowed to a calendar period it names), and the day it is asked, if
    known."""

    text: str
    searched: tuple[str, ...]
    content: tuple[str, ...]
    folded: frozenset[str]
    stems: frozenset[str]
    frame: QuestionFrame
    name: str | None = None
    period: Period | None = None
    article_filter: ArticleFilter | None = None
    asked_on: date | None = None


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """An article as stored: `text` is the cleaned body every offset refers to."""

    id: str
    key: str
    title: str
    text: str
    paragraphs: tuple[Span, ...]
    url: str | None
    published: str | None
    source: str | None
    author: str | None
    metadata: dict[str, Any]
    content_hash: str

    def paragraph_of(self, offset: int) -> int:
        """The 1-based number of the paragraph holding character `offset`."""
        return max(1, bisect.bisect_right([start for start, _ in self.paragraphs], offset))

    def paragraph_text(self, number: int) -> str:
        """The text of paragraph `number` (1-based)."""
        start, end = self.paragraphs[number - 1]
        return self.text[start:end]


@dataclass(frozen=True, slots=True)
class ArticleHeading(JsonRecord):
    """An article as a list of articles shows it: its id, the key its citation ids start
    with, its title, date and outlet."""

    id: str
    key: str
    title: str
    published: str | None
    source: str | None


@dataclass(frozen=True, slots=True)
class StoredPassage(Passage):
    """A stored passage of the article `article_id`: `id` is also its row in the FAISS index,
    and its sentences' vectors are the rows from `sentence_row` on of the sentence vectors."""

    id: int
    article_id: str
    sentence_row: int


# -- answers -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Citation:
    """One numbered source of a quote."""

    n: int
    id: str
    article_id: str
    title: str
    source: str | None
    published: str | None
    url: str | None
    paragraph: int
    start: int
    end: int
    quote: str
    score: float


@dataclass(frozen=True, slots=True)
class AnswerPart:
    """A quoted sentence, the numbers of the citations it rests on, and the [start, end) of
    the phrase in it that answers (offsets into `text`), when there is one."""

    text: str
    citations: list[int]
    highlight: list[int] | None = None


@dataclass(frozen=True, slots=True)
class ClosestArticle:
    """An article close to a question nothing answered: its title, the citation id of its
    passage closest to the question, and where it opens (None: nowhere but /source)."""

    title: str
    id: str
    url: str | None


@dataclass
class Answer(JsonRecord):
    """The answer to one question; `as_json` is the documented `--json` schema."""

    question: str
    abstained: bool
    answer: list[AnswerPart] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    took_ms: float = 0.0
    notice: str | None = None
    # For an abstention: the nearest articles' titles, and those articles.
    closest_titles: list[str] = field(default_factory=list)
    closest: list[ClosestArticle] = field(default_factory=list)
    # For "who is X?" when X names several people: who each quote is about, in order.
    people: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SearchResult(JsonRecord):
    """One ranked passage, with the ranks each retriever gave it (None: not found by it)."""

    rank: int
    id: str
    article_id: str
    title: str
    paragraph_first: int
    paragraph_last: int
    start: int
    end: int
    text: str
    score: float
    dense_rank: int | None
    lexical_rank: int | None


@dataclass(frozen=True, slots=True)
class SourceParagraph:
    """A paragraph shown around a cited span; `cited` when the span is in it."""

    number: int
    start: int
    end: int
    text: str
    cited: bool


@dataclass
class SourceView(JsonRecord):
    """A cited span in its article, with paragraphs around it (`context` each side)."""

    id: str
    article_id: str
    title: str
    author: str | None
    source: str | None
    published: str | None
    url: str | None
    start: int
    end: int
    quote: str
    paragraph: int
    paragraphs: list[SourceParagraph] = field(default_factory=list)
    article_text: str = ""


# -- the index and its use ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IndexStats(JsonRecord):
    """Counts, outlets, date range, model and build time of the live index."""

    index_dir: str
    generation: str
    articles: int
    passages: int
    outlets: list[str]
    first_published: str | None
    last_published: str | None
    model: str
    backend: str
    dimension: int
    size_bytes: int
    built_at: str


@dataclass(frozen=True, slots=True)
class VoteCounts(JsonRecord):
    """The votes on one answer: how many users found it helpful, how many did not (each
    user's latest vote)."""

    helpful: int
    unhelpful: int


@dataclass(frozen=True, slots=True)
class FeedbackEntry(JsonRecord):
    """One recorded vote."""

    id: int
    at: str
    user_hash: str
    helpful: bool
    question: str
    answer: str
    citation_ids: list[str]


@dataclass
class BuildSummary(JsonRecord):
    """What a build did; `as_json` is the `--json` output."""

    index_dir: str
    dry_run: bool = False
    up_to_date: bool = False
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: int = 0
    articles: int = 0
    passages: int = 0
    embedded: int = 0
    seconds: float = 0.0
    passages_per_second: float = 0.0
    full_rebuild_reason: str | None = None
    generation: str | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    skipped_files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class RetrieverReport:
    """Quality and speed of one retriever over a question set."""

    questions: int
    hits: dict[int, float]
    mrr_at_10: float
    answer_at_1: float
    answer_at_3: float
    abstain_precision: float | None
    abstain_recall: float | None
    p50_ms: float
    p95_ms: float

    def as_json(self) -> dict[str, float | None]:
        """The report under the documented keys."""
        return {
            **{f"hit@{k}": round(v, 4) for k, v in self.hits.items()},
            "mrr@10": round(self.mrr_at_10, 4),
            "answer@1": round(self.answer_at_1, 4),
            "answer@3": round(self.answer_at_3, 4),
            "abstain_precision": _round(self.abstain_precision),
            "abstain_recall": _round(self.abstain_recall),
            "p50_ms": round(self.p50_ms, 1),
            "p95_ms": round(self.p95_ms, 1),
        }


@dataclass
class EvalRun:
    """An evaluation: how many questions, with which backend, and a report per row
    (a retriever, or `retriever:backend` for the other backends of a comparison)."""

    questions: int
    backend: str
    reports: dict[str, RetrieverReport]

    def as_json(self) -> dict[str, Any]:
        """The documented `citebot eval --json` object."""
        return {
            "questions": self.questions,
            "backend": self.backend,
            "retrievers": {name: report.as_json() for name, report in self.reports.items()},
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
