"""The answer engine: one loaded index, shared by threads, answering and searching.

`Engine` opens the live generation once and checks, before each request, whether a build has
published a newer one; if so it switches between requests. The bot and the CLI both use it;
`Engine.sources` looks up citation ids and titles in the same generation (`index.sources`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
from numpy.typing import NDArray

from index.answer import (
    RERANK_BAND,
    ArticleFactsCache,
    ScoredSentence,
    candidate_sentences,
    compose_answer,
    rerank_sentences,
    score_sentences,
    select_quotes,
    word_weights,
)
from index.clean import normalise_line
from index.config import Retriever, Settings
from index.embed import Embedder, load_embedder
from index.embed.model import resolve_model
from index.errors import InputError, ModelMismatchError
from index.fullname import named_in_full
from index.interfaces import IndexSource
from index.lru import LeastRecentlyUsed
from index.period import asked_year, of_another_year, published_until
from index.profile import Profile, choose, judged, mentions, name_words, names_surname
from index.question import read_question
from index.records import (
    Answer,
    ArticleFilter,
    ClosestArticle,
    IndexStats,
    Question,
    SearchResult,
    StoredArticle,
    StoredPassage,
    citation_id,
)
from index.rerank.model import Judge, Reranker
from index.seam import live_index
from index.search import Hits, find_passages, phrase_search
from index.sources import Sources
from index.words import query_words

log = logging.getLogger(__name__)

# Best fused passages whose sentences are scored for the answer: 6 answered as well as 8 on
# news_dev and XQuAD (one to three questions better), in about 15% less time
# (docs/calibration.md).
PASSAGES_READ = 6
# For "who is X?": passages naming X that are read, and articles read whole for later mentions.
PROFILE_PASSAGES = 30
PROFILE_ARTICLES = 5
# Article titles offered when the engine abstains.
CLOSEST_TITLES = 3
# Days asked on whose news day (`_Snapshot.news_day`) a generation keeps.
NEWS_DAYS_KEPT = 64
# Threads the model may use to embed one question. A question is a few words: splitting it
# over cores gains little, and with several askers at once the threads of each would fight
# for the cores (measured in docs/benchmarks.md). Concurrency comes from the askers.
QUESTION_THREADS = 1


@dataclass(frozen=True, slots=True)
class RankedSentences:
    """Candidate sentences scored for a question, best first, and where they come from."""

    sentences: list[ScoredSentence]
    passages: list[StoredPassage]
    articles: dict[str, StoredArticle]


class Engine:
    """Answers questions from the index at `settings.index_dir`; safe to call from threads."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        reranker: Judge | None = None,
        *,
        rerank_band: tuple[float, float] = RERANK_BAND,
    ) -> None:
        """`rerank_band`: the first stage's best probabilities at which the reranker (when
        on) reads a question's ten best candidates, and above which its best two, or ten
        when it rejects both (`index.answer.reranked_count`, `index.answer.reads_on`)."""
        self.settings = settings
        self.rerank_band = rerank_band
        self._index = live_index(settings)
        self._injected_embedder = embedder
        self._reranker = (reranker or Reranker()) if settings.reranker else None
        self._snapshot: _Snapshot | None = None
        self._lock = threading.Lock()
        # Citation ids and titles looked up in the live generation (`index.sources`).
        self.sources = Sources(self.reader)

    # -- the index -------------------------------------------------------------------------

    def _current(self) -> _Snapshot:
        """The live generation with its embedder, reopened if a build published a newer one.

        A request takes one snapshot and uses it throughout, so a switch between two of its
        steps can never mix passages of two generations.
        """
        live = self._index.live()
        snapshot = self._snapshot
        if snapshot is not None and live == snapshot.reader.generation:
            return snapshot
        # One thread opens the new generation; meanwhile the others keep the one they have.
        if snapshot is None:
            self._lock.acquire()
        elif not self._lock.acquire(blocking=False):
            return snapshot
        try:
            current = self._snapshot
            if current is not None and live == current.reader.generation:
                return current
            return self._open(current)
        finally:
            self._lock.release()

    def _open(self, previous: _Snapshot | None) -> _Snapshot:
        """Open the live generation as the current snapshot; the caller holds `_lock`."""
        reader = self._index.open()
        embedder = previous.loaded_embedder if previous else None
        if previous is not None:
            log.info("switched to index generation %s", reader.manifest.generation)
        snapshot = self._snapshot = _Snapshot(reader, lambda: self._embedder_for(reader, embedder))
        return snapshot

    def reader(self) -> IndexSource:
        """The live generation, reopened if a build has published a newer one."""
        return self._current().reader

    def embedder(self) -> Embedder:
        """The embedder questions to the live generation need."""
        return self._current().embedder

    def reload(self) -> str:
        """Reopen the index now; return the live generation's name. Requests meanwhile use
        the generation they had."""
        with self._lock:
            return self._open(self._snapshot).reader.manifest.generation

    def stats(self) -> IndexStats:
        """What the index holds."""
        return self.reader().stats(self.settings.index_dir)

    def warm_up(self) -> None:
        """Open the index and load the models now, so the first question is fast."""
        self._current().embedder.embed(["warm up"])
        if self._reranker is not None:
            self._reranker.logits("warm up", ["warm up"])

    def _embedder_for(self, reader: IndexSource, current: Embedder | None) -> Embedder:
        """Embed questions exactly as the index's passages were embedded."""
        manifest = reader.manifest
        current = current or self._injected_embedder
        if current is not None and (current.name, current.backend) == (
            manifest.model,
            manifest.backend,
        ):
            return current
        if self._injected_embedder is not None:
            injected = self._injected_embedder
            raise ModelMismatchError(
                f"the index was built with {manifest.model} ({manifest.backend}), not"
                f" {injected.name} ({injected.backend}); rebuild it with"
                " `citebot build --full`"
            )
        try:
            return load_embedder(
                resolve_model(manifest.model),
                manifest.backend,
                batch_size=self.settings.embed_batch_size,
                cache_dir=self.settings.cache_dir,
                threads=QUESTION_THREADS,
            )
        except InputError as error:
            raise ModelMismatchError(
                f"the index was built with {manifest.model} ({manifest.backend}), which is not"
                " available here; rebuild it with the configured model and backend:"
                " `citebot build --full`"
            ) from error

    # -- questions -------------------------------------------------------------------------

    def clean_question(self, question: str) -> tuple[str, str | None]:
        """The question without control characters, cut to the limit; and a notice if cut."""
        text = normalise_line(question, control_replacement=" ")
        if not text:
            raise InputError("the question is empty; ask something, like `who is Lety Pérez?`")
        limit = self.settings.max_question_chars
        if len(text) > limit:
            return text[:limit], f"Your question was cut to its first {limit:,} characters."
        return text, None

    def retrieve(self, question: str, retriever: Retriever, k: int) -> tuple[Hits, Hits, Hits]:
        """(fused, dense, lexical) hits for a cleaned question."""
        snapshot = self._current()
        vector = snapshot.embedder.embed([question])[0] if retriever != "lexical" else None
        words = query_words(question)
        return find_passages(snapshot.reader, words, vector, retriever, k, self.settings.fusion)

    def ask(
        self,
        question: str,
        *,
        retriever: Retriever | None = None,
        article_filter: ArticleFilter | None = None,
        asked_on: date | None = None,
    ) -> Answer:
        """Answer with one to three verified quotes, or abstain with the closest titles.

        `retriever` defaults to the configured one (CITEBOT_RETRIEVER); `article_filter`
        limits the articles quoted (by date and outlet); `asked_on`, the day the question is
        asked, limits "this week" and the like to the articles of that period, and says so
        when none of them answers (`index.period`). With CITEBOT_PUBLIC_URL set, each
        citation's `url` is its page there (`citebot serve`'s /source/{id}).
        """
        started = time.perf_counter()
        text, notice = self.clean_question(question)
        snapshot = self._current()
        asked = self._read_question(snapshot, text, asked_on, article_filter)
        profile = self._profile(snapshot, asked, asked.name, article_filter) if asked.name else None
        if profile is not None:
            ranked, found = profile
            chosen, people = found.chosen, found.people
        else:
            ranked = self._rank_sentences(snapshot, asked, retriever)
            chosen = select_quotes(ranked.sentences, self.settings.min_score, ranked.articles)
            chosen = named_in_full(chosen, ranked.articles, asked.frame.expects)
            people = []
        answer = compose_answer(text, chosen, ranked.articles, snapshot.reader)
        answer.people = people
        answer.citations = [
            replace(citation, url=self.link(citation.id, citation.url))
            for citation in answer.citations
        ]
        if answer.abstained:
            answer.closest = self._closest(ranked)
            answer.closest_titles = [article.title for article in answer.closest]
            # A profile searches every period; a question read within one says which.
            period, article_filter = asked.period, asked.article_filter
            if (
                profile is None
                and period is not None
                and period.strict
                and article_filter is not None
            ):
                undated = " or of unknown date" if article_filter.undated else ""
                read = f"Only articles published {period.since} to {period.until}{undated} were"
                notice = " ".join(filter(None, [notice, f"{read} read, for “{period.words}”."]))
        answer.notice = notice
        answer.took_ms = round((time.perf_counter() - started) * 1000, 1)
        return answer

    def link(self, identifier: str, url: str | None) -> str | None:
        """Where the span a citation id names opens: its page at CITEBOT_PUBLIC_URL (`citebot
        serve`'s /source/{id}) when that is set, else its article's own address `url` (None:
        it has none)."""
        public_url = self.settings.public_url
        return f"{public_url}/source/{identifier}" if public_url else url

    def _closest(self, ranked: RankedSentences) -> list[ClosestArticle]:
        """The articles of the passages found, best first, one per title, at most
        CLOSEST_TITLES: what an abstention offers, each with its best passage's id."""
        closest: dict[str, ClosestArticle] = {}
        for passage in ranked.passages:
            article = ranked.articles[passage.article_id]
            if article.title not in closest:
                found = citation_id(article, passage.start, passage.end)
                closest[article.title] = ClosestArticle(
                    article.title, found, self.link(found, article.url)
                )
        return list(closest.values())[:CLOSEST_TITLES]

    def rank_sentences(
        self,
        question: str,
        *,
        retriever: Retriever | None = None,
        article_filter: ArticleFilter | None = None,
        asked_on: date | None = None,
    ) -> RankedSentences:
        """The scored candidate sentences for `question`, best first, with their passages and
        articles: what `ask` chooses its quotes from."""
        text, _ = self.clean_question(question)
        snapshot = self._current()
        asked = self._read_question(snapshot, text, asked_on, article_filter)
        return self._rank_sentences(snapshot, asked, retriever)

    @staticmethod
    def _read_question(
        snapshot: _Snapshot,
        text: str,
        asked_on: date | None,
        article_filter: ArticleFilter | None,
    ) -> Question:
        """The question read once, knowing whether the index holds news dated by the day
        asked (a period then reads dated articles alone: `read_question`)."""
        dated_news = snapshot.news_day(asked_on) is not None
        return read_question(text, asked_on, article_filter, dated_news=dated_news)

    def _rank_sentences(
        self, snapshot: _Snapshot, question: Question, retriever: Retriever | None
    ) -> RankedSentences:
        question_vector = snapshot.embedder.embed([question.text])[0]
        fused, _, _ = find_passages(
            snapshot.reader,
            question.searched,
            question_vector,
            retriever or self.settings.retriever,
            PASSAGES_READ,
            self.settings.fusion,
            question.article_filter,
        )
        reader = snapshot.reader
        ids = fused.ids.tolist()
        by_id = reader.passages(ids) if ids else {}
        passages = [by_id[i] for i in ids if i in by_id]
        articles = reader.articles(sorted({p.article_id for p in passages})) if passages else {}
        period = question.period
        if period is None or period.strict:
            return self._score(snapshot, question, question_vector, passages, articles, rerank=True)
        # Articles of the year or the last month go first (stable sorts): their passages
        # among those retrieved, and their sentences among those good enough to quote; a
        # sentence of another year's news answers no question about a year.
        in_period = {key for key, article in articles.items() if period.holds(article.published)}
        passages.sort(key=lambda passage: passage.article_id not in in_period)
        ranked = self._score(snapshot, question, question_vector, passages, articles, rerank=True)
        year = asked_year(question.text, question.asked_on)
        if year is not None:
            ranked.sentences[:] = [
                s
                for s in ranked.sentences
                if not of_another_year(year, *_sentence_and_title(s, articles))
            ]
        min_score = self.settings.min_score
        ranked.sentences.sort(
            key=lambda s: not (s.score >= min_score and s.candidate.article_id in in_period)
        )
        return ranked

    def _profile(
        self,
        snapshot: _Snapshot,
        question: Question,
        name: str,
        article_filter: ArticleFilter | None,
    ) -> tuple[RankedSentences, Profile] | None:
        """The sentences about the person `name` (whom the question asks about) across the
        articles that name them (those `article_filter` lets through), or None when no
        article does (`index.profile`)."""
        reader = snapshot.reader
        hits = phrase_search(reader, name_words(name), PROFILE_PASSAGES, article_filter)
        passages = reader.passages(hits.ids.tolist()) if len(hits.ids) else {}
        named = list(dict.fromkeys(passages[i].article_id for i in hits.ids.tolist()))
        articles = reader.articles(named) if named else {}
        # The best articles are read whole (a later mention may give the last name alone);
        # of the others, the passages naming the person in full.
        naming = [
            p
            for article_id in named[:PROFILE_ARTICLES]
            for p in reader.passages_of(article_id)
            if names_surname(articles[article_id].text[p.start : p.end], name)
        ]
        read_whole = set(named[:PROFILE_ARTICLES])
        naming += [p for p in passages.values() if p.article_id not in read_whole]
        if not naming:
            return None
        question_vector = snapshot.embedder.embed([question.text])[0]
        # A profile quotes the sentences that name the person, each alone.
        ranked = self._score(
            snapshot, question, question_vector, naming, articles, quote_beside=False
        )
        found = mentions(name, ranked.sentences, ranked.articles)
        if not found:
            return None
        if self._reranker is not None:
            found = judged(question.text, found, ranked.articles, self._reranker)
        return ranked, choose(
            found, name, ranked.articles, described_only=self._reranker is not None
        )

    def _score(
        self,
        snapshot: _Snapshot,
        question: Question,
        question_vector: NDArray[np.float32],
        passages: list[StoredPassage],
        articles: dict[str, StoredArticle],
        *,
        quote_beside: bool = True,
        rerank: bool = False,
    ) -> RankedSentences:
        """Every sentence of `passages` (best first; their `articles` given) scored for
        `question`; `quote_beside` as `candidate_sentences` takes it. With `rerank` and the
        reranker on, the best of them scored again with the reranker: how many, the first
        stage's surety says (`rerank_band`)."""
        reader = snapshot.reader
        candidates = candidate_sentences(
            question,
            passages,
            reader.cosines([p.id for p in passages], question_vector),
            snapshot.article_facts.of(articles),
            word_weights(reader, question.content, snapshot.word_weights),
            snapshot.news_day(question.asked_on),
            quote_beside=quote_beside,
        )
        scored = score_sentences(candidates, question_vector, reader)
        if rerank and self._reranker is not None:
            scored = rerank_sentences(
                question.text, scored, articles, self._reranker, self.rerank_band
            )
        return RankedSentences(scored, passages, articles)

    def search(
        self,
        query: str,
        *,
        k: int = 10,
        retriever: Retriever | None = None,
        article_filter: ArticleFilter | None = None,
    ) -> list[SearchResult]:
        """The best passages for `query` among the articles `article_filter` lets through;
        passages of one article that sit side by side are merged into one result."""
        retriever = retriever or self.settings.retriever
        text, _ = self.clean_question(query)
        snapshot = self._current()
        reader = snapshot.reader
        vector = snapshot.embedder.embed([text])[0] if retriever != "lexical" else None
        fused, dense, lexical = find_passages(
            reader,
            query_words(text),
            vector,
            retriever,
            2 * k,
            self.settings.fusion,
            article_filter,
        )
        dense_ranks = {int(i): r for r, i in enumerate(dense.ids.tolist(), start=1)}
        lexical_ranks = {int(i): r for r, i in enumerate(lexical.ids.tolist(), start=1)}
        passages = reader.passages(fused.ids.tolist()) if len(fused.ids) else {}
        articles = reader.articles(sorted({p.article_id for p in passages.values()}))
        groups: list[list[tuple[StoredPassage, float]]] = []
        for passage_id, score in zip(fused.ids.tolist(), fused.scores.tolist(), strict=True):
            passage = passages[passage_id]
            neighbours = next(
                (
                    group
                    for group in groups
                    if group[0][0].article_id == passage.article_id
                    and any(abs(p.ordinal - passage.ordinal) <= 1 for p, _ in group)
                ),
                None,
            )
            if neighbours is not None:
                neighbours.append((passage, score))
            elif len(groups) < k:
                groups.append([(passage, score)])
        return [
            self._search_result(rank, group, articles, dense_ranks, lexical_ranks)
            for rank, group in enumerate(groups, start=1)
        ]

    @staticmethod
    def _search_result(
        rank: int,
        group: list[tuple[StoredPassage, float]],
        articles: dict[str, StoredArticle],
        dense_ranks: dict[int, int],
        lexical_ranks: dict[int, int],
    ) -> SearchResult:
        """One result from adjacent passages of one article, scored by its best passage."""
        article = articles[group[0][0].article_id]
        start = min(p.start for p, _ in group)
        end = max(p.end for p, _ in group)
        found_dense = [dense_ranks[p.id] for p, _ in group if p.id in dense_ranks]
        found_lexical = [lexical_ranks[p.id] for p, _ in group if p.id in lexical_ranks]
        return SearchResult(
            rank=rank,
            id=citation_id(article, start, end),
            article_id=article.id,
            title=article.title,
            paragraph_first=min(p.paragraph_first for p, _ in group),
            paragraph_last=max(p.paragraph_last for p, _ in group),
            start=start,
            end=end,
            text=article.text[start:end],
            score=round(max(score for _, score in group), 5),
            dense_rank=min(found_dense, default=None),
            lexical_rank=min(found_lexical, default=None),
        )


class _Snapshot:
    """One generation and the embedder its questions need, used whole by one request.

    The embedder is made on first use: sources and stats never need the model.
    """

    def __init__(self, reader: IndexSource, make_embedder: Callable[[], Embedder]) -> None:
        self.reader = reader
        self.word_weights: dict[str, float] = {}
        self.article_facts = ArticleFactsCache()
        self.loaded_embedder: Embedder | None = None
        self._make_embedder = make_embedder
        self._lock = threading.Lock()
        self._news_days: LeastRecentlyUsed[date, tuple[date | None]] = LeastRecentlyUsed(
            NEWS_DAYS_KEPT
        )

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self.loaded_embedder is None:
                self.loaded_embedder = self._make_embedder()
            return self.loaded_embedder

    def news_day(self, asked_on: date | None) -> date | None:
        """The day this generation's news reaches when a question is asked on `asked_on`: the
        newest article published by then (a day later, in its own time zone), at most that
        day; None when either is unknown."""
        if asked_on is None:
            return None
        kept = self._news_days.get(asked_on)
        if kept is None:
            newest = self.reader.newest_published(published_until(asked_on))
            kept = (min(newest, asked_on) if newest is not None else None,)
            self._news_days.put(asked_on, kept)
        return kept[0]


def _sentence_and_title(
    scored: ScoredSentence, articles: dict[str, StoredArticle]
) -> tuple[str | None, str, str]:
    """A scored sentence's article date, its text and its article's title."""
    candidate = scored.candidate
    article = articles[candidate.article_id]
    return article.published, article.text[candidate.start : candidate.end], article.title
