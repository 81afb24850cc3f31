"""The facts of articles (names, stems, phrases) are worked out once and kept for the
articles used last; keeping them never changes an answer."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from index.answer import ArticleFactsCache
from index.engine import Engine
from index.records import StoredArticle
from tests.support.embedder import FakeEmbedder
from tests.support.indexes import fake_engine_over


def article(
    key: str, text: str = "Ferries left the harbour on Monday with 40 passengers."
) -> StoredArticle:
    return StoredArticle(
        key, key, f"Harbour {key}", text, ((0, len(text)),), None, None, None, None, {}, key
    )


def test_facts_are_worked_out_once_and_the_least_used_go_first() -> None:
    cache = ArticleFactsCache(capacity=2)
    a, b, c = article("a"), article("b"), article("c")
    first = cache.of({"a": a, "b": b})
    assert cache.of({"a": a})["a"] is first["a"]  # "a" is now the most recently used
    cache.of({"c": c})  # over capacity: "b", the least recently used, goes
    assert cache.of({"a": a})["a"] is first["a"]
    assert cache.of({"b": b})["b"] is not first["b"]


def test_facts_of_a_sentence_are_its_own() -> None:
    facts = ArticleFactsCache().of({"a": article("a")})["a"]
    phrases = facts.phrases(0, len(facts.article.text))
    assert [facts.article.text[p.start : p.end] for p in phrases] == ["Monday", "40"]
    assert facts.stems(0, 7) == {"ferri"} and facts.title_words == {"harbour"}


def test_threads_sharing_the_cache_get_whole_facts() -> None:
    cache = ArticleFactsCache(capacity=3)
    articles = {key: article(key) for key in "abcdefgh"}
    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(lambda key: cache.of({key: articles[key]})[key], list("abcdefgh") * 20)
        )
    assert all(facts.article is articles[facts.article.id] for facts in results)
    assert all(facts.phrases(0, 10) == [] for facts in results)


ARTICLES = [
    {"id": f"port-{n}", "title": f"Port {n}", "published": f"2022-06-{n + 10}",
     "text": f"The port of Dover reopened on Monday after {n + 2} days. Ferries left at dawn."
             f"\n\nHarbour master Ann Lee said {n * 100} trucks waited."}
    for n in range(6)
]  # fmt: skip


def test_answers_are_the_same_with_kept_facts(tmp_path: Path) -> None:
    questions = ["When did the port of Dover reopen?", "Who is the harbour master?",
                 "How many trucks waited?", "When did the port of Dover reopen?"]  # fmt: skip
    engine = fake_engine_over(ARTICLES, tmp_path, min_score=0.0)
    kept = [engine.ask(q).as_json() for q in questions]
    fresh = [Engine(engine.settings, embedder=FakeEmbedder()).ask(q).as_json() for q in questions]
    for answer in (*kept, *fresh):
        answer.pop("took_ms")
    assert kept == fresh
    assert not kept[0]["abstained"]
