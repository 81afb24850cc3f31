"""Properties of cleaning, segmentation and chunking, on the seed, on BBC text and on fuzz."""

from __future__ import annotations

import json
import re
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

from index.chunk import chunk_article
from index.clean import clean_body
from index.embed.model import count_tokens, load_tokenizer, resolve_model
from index.segment import sentence_spans
from tests.support.paths import BBC, SEED_ARTICLE

MAX_TOKENS = 64


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return load_tokenizer(resolve_model("all-MiniLM-L6-v2").path)


# Text built from pieces that stress the pipeline: sentence ends, abbreviations, quotes,
# RTL marks, zero-width joiners, combining marks, emoji, NUL, long words, blank lines.
PIECES = st.sampled_from(
    [
        "Mr. Smith went to Washington.",
        " The U.S. economy grew 1.5 percent.",
        ' "Why not?" she asked.',
        " “What a shame!”",
        " עברית\u200f טקסט.",
        " e\u0301te\u0301",
        " 👩\u200d👩\u200d👧 family",
        " \x00",
        "\n\n",
        "\n",
        " ADVERTISEMENT",
        "\n\nADVERTISEMENT\n\n",
        " " + "x" * 300,
        " word" * 80,
        "\t\u00a0 ",
        "¿Qué?",
    ]
)
TEXTS = st.one_of(
    st.lists(PIECES, max_size=40).map("".join),
    st.text(max_size=400),
)


def check_passages(
    text: str, paragraphs: tuple[tuple[int, int], ...], tokenizer: Tokenizer
) -> None:
    """Every invariant the chunker promises, for one cleaned text."""
    passages = chunk_article(text, paragraphs, tokenizer, MAX_TOKENS)
    covered = [False] * len(text)
    previous_end = 0
    for passage in passages:
        body = text[passage.start : passage.end]
        assert body == body.strip() and body, "a passage starts and ends with text"
        assert passage.start >= previous_end, "passages are in order and do not overlap"
        previous_end = passage.end
        assert count_tokens(tokenizer, [body])[0] <= MAX_TOKENS
        assert 1 <= passage.paragraph_first <= passage.paragraph_last <= len(paragraphs)
        first_start, _ = paragraphs[passage.paragraph_first - 1]
        _, last_end = paragraphs[passage.paragraph_last - 1]
        assert first_start <= passage.start and passage.end <= last_end
        sentence_end = passage.start
        for start, end in passage.sentences:
            assert sentence_end <= start < end <= passage.end
            sentence_end = end
        for position in range(passage.start, passage.end):
            covered[position] = True
    missing = [i for i, c in enumerate(text) if not c.isspace() and not covered[i]]
    assert not missing, f"text outside every passage: {text[missing[0] : missing[0] + 20]!r}"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=TEXTS)
def test_chunks_slice_cover_and_fit_for_any_text(raw: str, tokenizer: Tokenizer) -> None:
    cleaned = clean_body(raw)
    check_passages(cleaned.text, cleaned.paragraphs, tokenizer)


@settings(max_examples=150, deadline=None)
@given(raw=TEXTS)
def test_cleaning_only_deletes_and_normalises(raw: str) -> None:
    cleaned = clean_body(raw)
    # Cleaning deletes characters and rewrites whitespace, nothing else: what is left, without
    # its whitespace, is a subsequence of the (NFC) input without its whitespace.
    source = iter("".join(unicodedata.normalize("NFC", raw).split()))
    assert all(character in source for character in "".join(cleaned.text.split()))
    assert "\x00" not in cleaned.text
    assert cleaned.text == unicodedata.normalize("NFC", cleaned.text)
    for start, end in cleaned.paragraphs:
        paragraph = cleaned.text[start:end]
        assert paragraph and "\n" not in paragraph and paragraph == paragraph.strip()


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=300))
def test_sentence_spans_partition_the_text(text: str) -> None:
    spans = sentence_spans(text, 0, len(text))
    position = 0
    for start, end in spans:
        assert position <= start < end <= len(text)
        assert text[start:end] == text[start:end].strip()
        assert not text[position:start].strip(), "no text is skipped between sentences"
        position = end
    assert not text[position:].strip()


@pytest.mark.parametrize(
    "text",
    [
        "Mr. Smith met Dr. Jones at 10 a.m. in the U.S. capital.",
        'He asked, "Are you coming?" and then waited for the reply.',
        "Rates rose 1.5 percent to 4.75% this year.",
        "The U.S. and U.K. signed it.",
    ],
)
def test_segmenter_keeps_abbreviations_quotes_and_numbers_in_one_sentence(text: str) -> None:
    assert sentence_spans(text, 0, len(text)) == [(0, len(text))]


def test_segmenter_splits_real_sentence_ends() -> None:
    text = 'Markets fell. "Let me pass," she said. Prices rose 1.5 percent.'
    spans = [text[s:e] for s, e in sentence_spans(text, 0, len(text))]
    assert spans == ["Markets fell.", '"Let me pass," she said.', "Prices rose 1.5 percent."]


def test_opening_quote_belongs_to_the_sentence_it_opens() -> None:
    text = "He begged, as reported by NPR. \"Don't send me back. I want a life.”"
    spans = [text[s:e] for s, e in sentence_spans(text, 0, len(text))]
    assert spans[1].startswith('"Don')


def test_seed_is_cleaned_of_named_boilerplate(tokenizer: Tokenizer) -> None:
    body = SEED_ARTICLE.read_text("utf-8").split("\n", 1)[1]
    cleaned = clean_body(body)
    assert cleaned.removed == {"advertisement-marker": 1, "link-hover-card": 1}
    assert "ADVERTISEMENT" not in cleaned.text
    assert "President Trump had threatened to hit Mexico" in cleaned.text
    assert not re.search(r"Sanders|impeachment|Barr|MORE", cleaned.text)
    check_passages(cleaned.text, cleaned.paragraphs, tokenizer)


def test_first_bbc_articles_chunk_within_limits(tokenizer: Tokenizer) -> None:
    with BBC.open(encoding="utf-8") as lines:
        for _, line in zip(range(60), lines, strict=False):
            cleaned = clean_body(json.loads(line)["text"])
            check_passages(cleaned.text, cleaned.paragraphs, tokenizer)


@pytest.mark.parametrize("separator", ["\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\u2028", "\u00a0"])
def test_whitespace_like_control_characters_still_separate_words(separator: str) -> None:
    assert clean_body(f"one{separator}two").text in {"one two", "one\n\ntwo"}


def test_invisible_characters_are_deleted_inside_words() -> None:
    assert clean_body("zero\u200bwidth soft\u00adhyphen\x00").text == "zerowidth softhyphen"
