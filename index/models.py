"""The records that flow through the pipeline: parsed articles, cleaned articles, passages."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

Span = tuple[int, int]


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


def article_key(article_id: str, content_hash: str) -> str:
    """The short key that citation ids start with.

    It changes whenever the article's content does, so an old citation id can never point at
    text that has moved.
    """
    digest = hashlib.sha256(f"{article_id}\0{content_hash}".encode()).hexdigest()
    return digest[:12]
