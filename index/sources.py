"""Looking things up in the index without asking it anything: the span a citation id names
(`citebot source`, the bot's /source and passage buttons, the web's /source pages), articles by
title (the bot's /article and its autocomplete), and articles by date and outlet (the web's
/articles). None of it needs the model.

`Sources` reads the generation the engine gives it (`Engine.sources`): each lookup takes one
reader and uses it throughout, as a question does.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Callable

from index.errors import UnknownCitationError
from index.interfaces import IndexSource
from index.records import (
    ArticleFilter,
    ArticleHeading,
    SourceParagraph,
    SourceView,
    StoredArticle,
    citation_id,
    parse_citation_id,
)
from index.words import fold

# Keys on each side of an unknown citation id's key that are compared with it: a bounded
# fuzzy match (an index seek and 2 x this many comparisons), however many articles there are.
KEYS_COMPARED = 200

# An article's folded title, and its heading.
_Title = tuple[str, ArticleHeading]


class Sources:
    """Citation ids and titles looked up in the generation `reader()` gives (the live one,
    reopened when a build has published a newer one); safe to call from threads."""

    def __init__(self, reader: Callable[[], IndexSource]) -> None:
        self._reader = reader
        # The headings of one generation, by its name: read and folded once per generation.
        self._titles: tuple[str, list[_Title]] | None = None
        self._titles_lock = threading.Lock()

    def source(self, identifier: str, *, context: int = 1) -> SourceView:
        """The span a citation id names, with `context` paragraphs each side."""
        reader = self._reader()
        parsed = parse_citation_id(identifier)
        if parsed is None:
            shown = identifier.strip()[:40]
            raise UnknownCitationError(
                f"{shown!r} is not a citation id (they look like 3f9a0c2b7d11-120-231)",
                closest_ids(reader, identifier),
            )
        key, start, end = parsed
        article = reader.article_by_key(key)
        if article is None or not 0 <= start < end <= len(article.text):
            raise UnknownCitationError(
                f"no indexed article has the citation id {identifier.strip()!r}"
                " (it may have changed since it was cited)",
                closest_ids(reader, identifier),
            )
        first = article.paragraph_of(start)
        last = article.paragraph_of(max(start, end - 1))
        low, high = max(1, first - context), min(len(article.paragraphs), last + context)
        return SourceView(
            id=citation_id(article, start, end),
            article_id=article.id,
            title=article.title,
            source=article.source,
            published=article.published,
            url=article.url,
            author=article.author,
            start=start,
            end=end,
            quote=article.text[start:end],
            paragraph=first,
            paragraphs=[
                SourceParagraph(
                    number=number,
                    start=article.paragraphs[number - 1][0],
                    end=article.paragraphs[number - 1][1],
                    text=article.paragraph_text(number),
                    cited=first <= number <= last,
                )
                for number in range(low, high + 1)
            ],
            article_text=article.text,
        )

    def titles_matching(self, typed: str, limit: int) -> list[tuple[str, str]]:
        """(article key, title) of articles whose title contains `typed`, ignoring case and
        accents; titles starting with it first."""
        wanted = fold(typed.strip())
        matches = [
            (not folded.startswith(wanted), heading.title, heading.key)
            for folded, heading in self._titles_of(self._reader())
            if wanted in folded
        ]
        return [(key, title) for _, title, key in sorted(matches)[:limit]]

    def listing(self, article_filter: ArticleFilter | None) -> list[ArticleHeading]:
        """The articles `article_filter` lets through (all when None), newest first, those
        of unknown date last; by title within a day."""
        headings = [
            heading
            for _, heading in self._titles_of(self._reader())
            if article_filter is None or article_filter.admits(heading.published, heading.source)
        ]
        # Stable sorts: by title (as read), then newest first.
        return sorted(headings, key=lambda heading: (heading.published or "")[:10], reverse=True)

    def find_article(self, key_or_title: str) -> StoredArticle | None:
        """An article by the key autocomplete gives, else by its exact title."""
        reader = self._reader()
        found = reader.article_by_key(key_or_title.strip().lower())
        if found is not None:
            return found
        wanted = fold(key_or_title.strip())
        for folded, heading in self._titles_of(reader):
            if folded == wanted:
                return reader.article(heading.id)
        return None

    def _titles_of(self, reader: IndexSource) -> list[_Title]:
        """The folded title and heading of every article of `reader`'s generation, by title,
        read and folded once per generation: autocomplete scans them at every key press."""
        with self._titles_lock:
            if self._titles is None or self._titles[0] != reader.generation:
                titles = [(fold(heading.title), heading) for heading in reader.titles()]
                self._titles = (reader.generation, titles)
            return self._titles[1]


def closest_ids(reader: IndexSource, identifier: str) -> list[str]:
    """Passage ids of the articles whose keys look most like the one given, among the keys
    that sort near it."""
    guess = identifier.strip().lower()[:12]
    keys = reader.keys_around(guess, KEYS_COMPARED)
    close = difflib.get_close_matches(guess, keys, n=3, cutoff=0.0)
    suggestions: list[str] = []
    for key in close:
        article = reader.article_by_key(key)
        passages = reader.passages_of(article.id) if article else []
        if article is not None and passages:
            suggestions.append(citation_id(article, passages[0].start, passages[0].end))
    return suggestions
