"""Stems let the answer scorer meet a question's words in another form."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from index.words import content_stems, stem_weights
from tests.support.paths import SEED_ARTICLE


def test_forms_of_a_word_share_a_stem() -> None:
    assert content_stems("How many balls did Josh Norman intercept?") >= {"intercept"}
    assert "intercept" in content_stems("He had four interceptions.")
    assert content_stems("Who registered the most sacks?") & content_stems("He led in sacks")


def test_words_of_one_stem_weigh_as_the_heaviest() -> None:
    assert stem_weights({"sacks": 2.0, "sack": 3.0, "team": 1.0}) == {"sack": 3.0, "team": 1.0}


def test_threads_stem_as_one_thread_does() -> None:
    """Each thread has its own stemmer: PyStemmer's are not safe to share."""
    paragraphs = SEED_ARTICLE.read_text("utf-8").split("\n") * 20
    alone = [content_stems(p) for p in paragraphs]
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(content_stems, paragraphs)) == alone
