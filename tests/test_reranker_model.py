"""The shipped answer reranker: its files are the ones its card names, it judges plain cases
right, and its int8 weights agree with the fp32 model it was quantised from."""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pytest

from index.rerank.model import MODEL_FILE, TOKENIZER_FILE, WEIGHTS, Reranker
from index.rerank.pair import candidate_text
from tests.support.paths import SHARED
from train.pairs import trecqa_pairs

CARD = WEIGHTS / "MODEL_CARD.md"
NEWS_DEV = SHARED / "data" / "news_dev"
pytestmark = pytest.mark.slow
# The fp32 model's logits on TrecQA DEV, written by `python -m train.export`.
FP32_REFERENCE = WEIGHTS / "fp32-reference-trecqa-dev.json"
# How far the int8 model may stray from the fp32 one, in logits on TrecQA DEV's 1,148 pairs
# (measured at export: Pearson 0.984, mean difference 0.41, 99th percentile 2.70, largest
# 4.41; MODEL_CARD.md). The int8 model ranks as well as the fp32 one (the card's figures); a
# broken quantisation falls far below these.
LEAST_PEARSON = 0.98
MEAN_DIFFERENCE = 0.45
DIFFERENCE_99TH_PERCENTILE = 3.0
LARGEST_DIFFERENCE = 5.0


def test_the_shipped_files_are_those_the_card_names() -> None:
    card = CARD.read_text("utf-8")
    for name in (MODEL_FILE, TOKENIZER_FILE, FP32_REFERENCE.name):
        digest = hashlib.sha256((WEIGHTS / name).read_bytes()).hexdigest()
        assert re.search(rf"`{re.escape(name)}`[^\n]*`{digest}`", card), name


@pytest.fixture(scope="module")
def reranker() -> Reranker:
    return Reranker()


@pytest.mark.parametrize(
    ("question", "answering", "restating"),
    [
        (
            "What is the capital of Australia?",
            candidate_text("Canberra is the capital of Australia.", "Australia"),
            candidate_text("Pago Pago, the capital of American Samoa, lies on Tutuila.", "Samoa"),
        ),
        (
            "Who won the 2018 FIFA World Cup?",
            candidate_text(
                "France won the 2018 FIFA World Cup, beating Croatia 4-2 in the final.",
                "France are world champions",
            ),
            candidate_text(
                "The 2022 FIFA World Cup will be held in Qatar, four years after the 2018 one.",
                "Qatar prepares for the World Cup",
            ),
        ),
        (
            "How many people were killed in the explosion?",
            candidate_text(
                "At least 19 people were killed and more than 100 injured in the blast.",
                "Explosion hits the port",
            ),
            candidate_text(
                "The explosion was heard across the city on Tuesday night.",
                "Explosion hits the port",
            ),
        ),
    ],
)
def test_the_sentence_that_answers_outscores_the_one_that_restates(
    reranker: Reranker, question: str, answering: str, restating: str
) -> None:
    answers, restates = reranker.logits(question, [answering, restating])
    assert answers > restates


def test_a_dateline_title_does_not_hide_the_answer(reranker: Reranker) -> None:
    """news_dev's baby wipes page is titled "CNN —": read under that title, the model scored
    its answering lead -3.3 (bare, +5.8), and citebot abstained."""
    question = next(
        record
        for line in (NEWS_DEV / "questions.jsonl").read_text("utf-8").splitlines()
        if (record := json.loads(line))["answers"] == ["Baby wipes"]
    )
    article = next(
        record
        for line in (NEWS_DEV / "articles.jsonl").read_text("utf-8").splitlines()
        if (record := json.loads(line))["id"] == question["article_id"]
    )
    assert article["title"] == "CNN —"
    lead = article["text"].split("\n\n")[1]
    assert lead.startswith("A shipment of baby wipes")
    (logit,) = reranker.logits(question["question"], [candidate_text(lead, article["title"])])
    assert logit > 0


def test_a_candidates_logit_does_not_depend_on_the_others_read_with_it(
    reranker: Reranker,
) -> None:
    # Batched, the int8 model scaled its activations over the whole batch: one pair's logit
    # moved by up to 4.1 with the candidates beside it.
    question = "How many people were killed in the explosion?"
    candidates = [
        candidate_text("At least 19 people were killed and more than 100 injured.", "Blast"),
        candidate_text("The explosion was heard across the city on Tuesday night.", "Blast"),
        candidate_text(" ".join(["The port had been busy for weeks before it."] * 12), "Port"),
    ]
    together = reranker.logits(question, candidates)
    alone = [reranker.logits(question, [candidate])[0] for candidate in candidates]
    assert together.tolist() == alone


def test_int8_agrees_with_the_fp32_model() -> None:
    reference = json.loads(FP32_REFERENCE.read_text("utf-8"))
    pairs = trecqa_pairs(SHARED / "data" / "answer_train" / "trecqa" / "DEV.xml")
    assert len(pairs) == len(reference["logits"])
    reranker = Reranker()
    int8 = np.array([reranker.logits(p.question, [p.candidate])[0] for p in pairs])
    fp32 = np.array(reference["logits"])
    assert np.corrcoef(int8, fp32)[0, 1] >= LEAST_PEARSON
    assert np.abs(int8 - fp32).mean() <= MEAN_DIFFERENCE
    assert np.percentile(np.abs(int8 - fp32), 99) <= DIFFERENCE_99TH_PERCENTILE
    assert np.abs(int8 - fp32).max() <= LARGEST_DIFFERENCE
