"""The reranker's training: labels of the distant pairs, the batches, the figures, and a run
stopped part way that goes on, with the same command, to the same model as one that never
stopped; a distilled run learns an exported reranker's logits."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from numpy.typing import NDArray
from safetensors.numpy import load_file

from index.rerank.model import WEIGHTS, Reranker
from index.rerank.pair import candidate_text
from tests.support.paths import REPO, SHARED
from train.export import REFERENCE_FILE
from train.pairs import (
    RECIPES,
    Pair,
    Quiz,
    Sentence,
    answer_variants,
    in_situ_pairs,
    in_situ_questions,
    questions_sampled,
    quiz_evidence_pairs,
    quiz_page_pairs,
    read_pairs,
    synthetic_pairs,
    synthetic_questions,
    titles_dropped,
    trecqa_pairs,
    who_is_pairs,
    write_pairs,
)
from train.reranker import (
    QUESTION_CHUNK,
    TEACHER_LOGITS,
    batches,
    listwise_loss,
    load_model,
    question_batches,
    ranking_figures,
    roc_auc,
    scores,
    teacher_logits,
)

TRECQA = SHARED / "data" / "answer_train" / "trecqa"


def test_answer_variants_cover_how_news_writes_an_answer() -> None:
    assert answer_variants("Beirut, Lebanon") == ["Beirut, Lebanon", "Beirut", "Lebanon"]
    assert "Alexei Navalny" in answer_variants("Russian opposition politician Alexei Navalny")
    assert "Buffalo Bills" in answer_variants("The Buffalo Bills")


def test_the_candidate_comes_first_then_its_title_and_the_sentence_before() -> None:
    assert candidate_text("It sank.", "Ferry lost", "A ferry left.") == (
        "It sank. | Ferry lost | A ferry left."
    )
    assert candidate_text("It sank.") == "It sank."


QUIZ = Quiz(
    question_id="q1",
    week="2024/05/03",
    question="Which city hosted the harbour festival this week?",
    answers=("Lisbon",),
    wrong_choices=("Porto", "Madrid"),
    evidence="",
    pages=("u",),
)


def test_distant_labels_need_the_answer_and_the_subject_and_skip_unclear_sentences() -> None:
    title = "Harbour festival draws crowds"
    sentences = [
        Sentence("Lisbon hosted the harbour festival on Saturday.", title, ""),
        Sentence("The harbour festival drew a record crowd this week.", title, ""),
        Sentence("Porto hosted a harbour festival last year.", title, ""),
        Sentence("Lisbon is the capital of Portugal, a country of ten million.", "Travel", ""),
        Sentence("It was the festival's tenth year in the city.", title, "Lisbon was ready."),
        Sentence("Tickets sold out within hours of going on sale.", "Lisbon harbour news", ""),
    ]
    pairs, answered = quiz_page_pairs(QUIZ, sentences, random.Random(0))
    assert answered
    labels = {pair.candidate.split(" | ")[0]: (pair.label, pair.origin) for pair in pairs}
    assert labels["Lisbon hosted the harbour festival on Saturday."] == (1, "quiz-page")
    assert labels["The harbour festival drew a record crowd this week."] == (0, "quiz-restating")
    assert labels["Porto hosted a harbour festival last year."] == (0, "quiz-wrong-choice")
    # The answer without the subject is no positive; beside an answer, no clean negative.
    assert "Lisbon is the capital of Portugal, a country of ten million." not in labels
    assert "It was the festival's tenth year in the city." not in labels
    assert "Tickets sold out within hours of going on sale." not in labels


def test_round_two_adds_sentences_of_the_answering_page_that_do_not_answer() -> None:
    title = "Harbour festival draws crowds"
    sentences = [
        Sentence("Lisbon hosted the harbour festival on Saturday.", title, ""),
        Sentence("Bands played until midnight by the water.", title, ""),
        Sentence("Bands played until dawn at another show.", "Elsewhere", ""),
    ]
    first, _ = quiz_page_pairs(QUIZ, sentences, random.Random(0), RECIPES["round-1"])
    second, _ = quiz_page_pairs(QUIZ, sentences, random.Random(0), RECIPES["round-2"])
    added = [pair for pair in second if pair.origin == "quiz-same-page"]
    assert not any(pair.origin == "quiz-same-page" for pair in first)
    assert [pair.candidate.split(" | ")[0] for pair in added] == [
        "Bands played until midnight by the water."
    ]
    assert all(pair.label == 0 for pair in added)


def test_round_three_adds_sentences_whose_context_names_the_answer_but_they_do_not() -> None:
    sentences = [
        Sentence("Lisbon hosted the harbour festival on Saturday.", "Harbour festival", ""),
        Sentence("The harbour festival drew a record crowd.", "Lisbon hosts festival", ""),
        Sentence("The festival's crowd was its largest yet.", "Harbour news", "Lisbon was full."),
        Sentence("Lisboners filled the harbour.", "Lisbon hosts festival", ""),
    ]
    second, _ = quiz_page_pairs(QUIZ, sentences, random.Random(0), RECIPES["round-2"])
    third, _ = quiz_page_pairs(QUIZ, sentences, random.Random(0), RECIPES["round-3"])
    added = [pair for pair in third if pair.origin == "quiz-context-only"]
    assert not any(pair.origin == "quiz-context-only" for pair in second)
    assert [pair.candidate.split(" | ")[0] for pair in added] == [
        "The harbour festival drew a record crowd.",
        "The festival's crowd was its largest yet.",
        "Lisboners filled the harbour.",
    ]
    assert all(pair.label == 0 for pair in added)
    assert [pair for pair in third if pair.origin != "quiz-context-only"] == second


def test_explanation_sentences_are_read_under_a_title_as_news_sentences_are() -> None:
    # Round 6 read the explanations bare and every page sentence under its title, and learned
    # that a sentence without a title answers: in the engine, every candidate has one.
    quiz = replace(QUIZ, evidence="The festival came to town. Lisbon hosted it this week.")
    others = [Sentence("A storm closed schools across the county.", "Storm closes schools", "")]
    pairs = quiz_evidence_pairs(quiz, others, random.Random(0), "Harbour festival draws crowds")
    assert [(pair.candidate, pair.label, pair.origin) for pair in pairs] == [
        (
            "Lisbon hosted it this week. | Harbour festival draws crowds"
            " | The festival came to town.",
            1,
            "quiz-evidence",
        ),
        ("A storm closed schools across the county. | Storm closes schools", 0, "quiz-week-other"),
    ]
    assert RECIPES["round-7"].evidence_titles and not RECIPES["round-6"].evidence_titles


def test_who_is_pairs_take_the_sentence_saying_who_a_person_is() -> None:
    title = "Alex Jones trial: the opening statements"
    texts = [
        "In his opening statement, Andino Reynal, an attorney for Jones, accused the lawyers.",
        "Evidence will show Jones did not cause the harassment, Reynal said.",
        "“He thought it was important coverage,” Reynal added.",
        "The verdict would do justice, said Mark Bankston, the attorney for the parents.",
        "The Grand Canyon, a national park, drew crowds on Monday.",
    ]
    sentences = [Sentence(text, title, "") for text in texts]
    for seed in range(6):
        pairs = who_is_pairs("g", sentences, random.Random(seed))
        asked = pairs[0].question
        assert any(name in asked for name in ("Andino Reynal", "Reynal", "Andino"))
        labelled = {pair.candidate.split(" | ")[0]: (pair.label, pair.origin) for pair in pairs}
        assert labelled == {
            texts[0]: (1, "who-is"),
            texts[1]: (0, "who-is-other-mention"),
            texts[2]: (0, "who-is-other-mention"),
            texts[3]: (0, "who-is-someone-else"),
        }
    # Nobody said to speak, and no one whose other mentions do not say who they are.
    assert who_is_pairs("g", sentences[3:], random.Random(0)) == []


def test_round_six_counts_a_describing_word_before_the_name() -> None:
    title = "Photo of a migrant mother goes viral"
    texts = [
        "Guatemalan migrant Lety Pérez crouches in front of the soldier.",
        "“Let me pass,” Pérez told the soldiers.",
        "The photo shows the work Pérez did.",
        "Crowds at the border await Pérez’s arrival.",
    ]
    sentences = [Sentence(text, title, "") for text in texts]
    assert who_is_pairs("g", sentences, random.Random(0)) == []
    for seed in range(6):
        pairs = who_is_pairs("g", sentences, random.Random(seed), roles=True)
        labelled = {pair.candidate.split(" | ")[0]: pair.label for pair in pairs}
        # Neither "the work Pérez did" nor a verb ("await Pérez’s arrival") says who she
        # is; both are unclear by the profile's rule: not pairs.
        assert labelled == {texts[0]: 1, texts[1]: 0}
    assert RECIPES["round-6"].who_is_roles and not RECIPES["round-5"].who_is_roles


def test_synthetic_questions_take_a_subject_person_or_a_count_out_of_a_sentence() -> None:
    texts = [
        "Hamlin stood up after the tackle in the first quarter, but collapsed again.",
        "The storm hit the island with maximum sustained winds of 85 miles an hour.",
        "Hamlin and his family thanked the hospital staff for their care on Sunday.",
        "“We are praying for him,” Hamlin said of his teammate after the game on Monday.",
        "Officials said the storm reached the island in 2022 and brought heavy rain.",
        "Too short.",
    ]
    sentences = [Sentence(text, "Bills player collapses", "") for text in texts]
    questions = synthetic_questions(sentences, ["Damar Hamlin"])
    # The clause after "but" goes (the sentence says more than the question asks); a name
    # before "and" is not a verb's subject; quotes and years give no question.
    assert [(q.question, q.answer, q.sentence.text) for q in questions] == [
        ("Who stood up after the tackle in the first quarter?", ("Hamlin", "Hamlin"), texts[0]),
        (
            "The storm hit the island with maximum sustained winds of how many miles an hour?",
            ("85",),
            texts[1],
        ),
    ]


def test_a_synthetic_questions_negatives_share_its_words_but_not_its_answer() -> None:
    title = "Hurricane Nicole nears Florida"
    texts = [
        "The storm hit the island with maximum sustained winds of 85 miles an hour.",
        "The island braced for the storm and its winds on Tuesday night, officials said.",
        "Winds of that strength were also recorded on the mainland overnight.",
        "The storm is expected to weaken as it moves over the island's mountains.",
        "Sustained winds at the coast knocked out power for thousands of homes.",
        "A school board meeting was postponed until next month.",
    ]
    sentences = [Sentence(text, title, "") for text in texts]
    pairs = synthetic_pairs("g", sentences, random.Random(0))
    assert [(pair.candidate.split(" | ")[0], pair.label) for pair in pairs] == [
        (texts[0], 1),
        (texts[1], 0),
        (texts[3], 0),
        (texts[4], 0),
    ]
    assert {pair.question for pair in pairs} == {
        "The storm hit the island with maximum sustained winds of how many miles an hour?"
    }
    assert RECIPES["round-8"].synthetic_questions and not RECIPES["round-7"].synthetic_questions


def test_questions_asked_in_place_take_a_country_state_count_sum_or_year() -> None:
    texts = [
        "The president flew to France on Tuesday for talks with European leaders.",
        "The storm left 3 million people without power in Florida on Thursday.",
        "The company paid $5 million to settle the case brought by Georgia regulators.",
        "A dozen protesters gathered outside the Vatican embassy in the capital city.",
        "Section 1983 of the law allows suits against officials who violate rights.",
        "Reporters from USA TODAY visited the plant in 2019 with the engineers.",
    ]
    questions = in_situ_questions([Sentence(text, "News", "") for text in texts])
    # Georgia is a country and a state; "a dozen", a name's "Vatican" and "USA", and a year
    # that no preposition introduces ("Section 1983") give no question.
    assert [(q.question, q.answer, q.sentence.text) for q in questions] == [
        (
            "The president flew to which country on Tuesday for talks with European leaders?",
            ("France",),
            texts[0],
        ),
        (
            "The storm left how many people without power in Florida on Thursday?",
            ("3 million",),
            texts[1],
        ),
        (
            "The storm left 3 million people without power in which state on Thursday?",
            ("Florida",),
            texts[1],
        ),
        (
            "The company paid how much to settle the case brought by Georgia regulators?",
            ("$5 million",),
            texts[2],
        ),
        (
            "Reporters from USA TODAY visited the plant in what year with the engineers?",
            ("2019",),
            texts[5],
        ),
    ]


def test_a_question_asked_in_place_has_a_negative_naming_another_of_its_kind() -> None:
    texts = [
        "The president flew to France on Tuesday for talks with European leaders.",
        "The president met European leaders on Tuesday to talk about trade.",
        "Talks with the leaders were expected to last until late Tuesday night.",
        "A school board meeting was postponed until next month.",
        "The president will travel to Germany next month for a summit.",
    ]
    sentences = [Sentence(text, "Summit", "") for text in texts]
    pairs = in_situ_pairs("g", sentences, random.Random(0))
    assert [(pair.candidate.split(" | ")[0], pair.label, pair.origin) for pair in pairs] == [
        (texts[4], 1, "in-situ"),
        (texts[3], 0, "in-situ-other"),
        (texts[1], 0, "in-situ-other"),
        (texts[0], 0, "in-situ-alike"),
    ]
    assert {pair.question for pair in pairs} == {
        "The president will travel to which country next month for a summit?"
    }
    assert RECIPES["round-9"].in_situ_questions and not RECIPES["round-8"].in_situ_questions


def test_trecqa_reads_as_plain_sentences_with_labels() -> None:
    pairs = trecqa_pairs(TRECQA / "DEV.xml")
    assert {pair.label for pair in pairs} == {0, 1}
    assert all("\t" not in pair.candidate and "-LRB-" not in pair.candidate for pair in pairs)
    assert len({pair.group for pair in pairs}) > 50


def test_batches_hold_every_pair_once_and_repeat_with_the_seed() -> None:
    pairs = [Pair(str(i), "q", "c" * (i % 37), i % 2, "t") for i in range(1000)]
    first = batches(pairs, 16, seed=3)
    assert sorted(i for batch in first for i in batch) == list(range(1000))
    assert first == batches(pairs, 16, seed=3)
    assert first != batches(pairs, 16, seed=4)


def test_a_replayed_share_keeps_whole_questions_in_their_order() -> None:
    pairs = [Pair(f"q{i % 40}", "q", f"c{i}", int(i < 40), "t") for i in range(200)]
    kept = questions_sampled(pairs, 0.5, random.Random(9))
    assert len({pair.group for pair in kept}) == 20
    assert all(sum(p.group == pair.group for p in kept) == 5 for pair in kept)
    assert kept == [pair for pair in pairs if pair in kept]
    assert RECIPES["round-11"].replay_share == 0.5
    assert replace(RECIPES["round-11"], replay_share=1.0) == RECIPES["round-7"]


def test_a_dropped_title_leaves_the_sentence_its_label_and_the_sentence_before() -> None:
    titled = candidate_text("Arthur formed on Wednesday.", "Storm season opens", "It rained.")
    dateline = candidate_text("Arthur formed on Wednesday.", "CNN —", "It rained.")
    bare = candidate_text("Arthur formed on Wednesday.")
    pairs = [
        Pair(f"q{i}", "Which storm?", text, i % 2, "t")
        for i in range(3)
        for text in (titled, dateline, bare)
    ]
    every = titles_dropped(pairs, 1.0, random.Random(6))
    assert [pair.candidate for pair in every[:3]] == [
        candidate_text("Arthur formed on Wednesday.", before="It rained."),
        bare,  # the dateline was left out, so the sentence before went
        bare,
    ]
    assert [replace(pair, candidate="") for pair in every] == [
        replace(pair, candidate="") for pair in pairs
    ]
    assert titles_dropped(pairs, 0.0, random.Random(6)) == pairs
    half = titles_dropped(pairs * 20, 0.5, random.Random(6))
    assert 40 < sum(a != b for a, b in zip(half, pairs * 20, strict=True)) < 80
    assert replace(RECIPES["round-12"], untitled_share=0.0) == RECIPES["round-11"]
    assert replace(RECIPES["round-13"], untitled_share=0.0) == RECIPES["round-7"]


def test_question_batches_keep_a_questions_pairs_together() -> None:
    pairs = [Pair(f"q{i % 50}", "q", "c", int(i < 50), "t") for i in range(230)]
    first = question_batches(pairs, 4, seed=3)
    assert sorted(i for batch in first for i in batch) == list(range(230))
    assert first == question_batches(pairs, 4, seed=3)
    assert first != question_batches(pairs, 4, seed=4)
    for batch in first:
        groups = [pairs[i].group for i in batch]
        assert len(set(groups)) <= 4
        assert all(groups.count(group) <= QUESTION_CHUNK for group in groups)


def test_the_listwise_loss_rewards_the_answer_first() -> None:
    labels = torch.tensor([1.0, 0.0, 0.0, 0.0])
    groups = ["a", "a", "b", "b"]
    # Question "a": equal logits, -log(1/2); question "b" has no answer and does not count.
    even = listwise_loss(torch.tensor([0.0, 0.0, 5.0, -5.0]), labels, groups)
    assert float(even) == pytest.approx(math.log(2))
    ahead = listwise_loss(torch.tensor([3.0, 0.0, 5.0, -5.0]), labels, groups)
    behind = listwise_loss(torch.tensor([0.0, 3.0, 5.0, -5.0]), labels, groups)
    assert float(ahead) < float(even) < float(behind)


def test_ranking_figures() -> None:
    pairs = [Pair("a", "q", "x", 1, "t"), Pair("a", "q", "y", 0, "t"), Pair("b", "q", "z", 0, "t")]
    pairs.append(Pair("b", "q", "w", 1, "t"))
    figures = ranking_figures(pairs, np.array([2.0, 1.0, 3.0, 0.0]))
    assert figures["groups"] == 2
    assert figures["P@1"] == 0.5
    assert figures["MAP"] == pytest.approx((1 + 0.5) / 2)
    assert roc_auc(np.array([1, 0, 0, 1]), np.array([2.0, 1.0, 3.0, 0.0])) == 0.25


def _write_pairs(directory: Path) -> None:
    directory.mkdir()
    for name, source, count in (
        ("train.jsonl", "TRAIN.xml", 24),
        ("valid.jsonl", "DEV.xml", 12),
        ("trecqa_test.jsonl", "TEST.xml", 12),
    ):
        write_pairs(directory / name, trecqa_pairs(TRECQA / source)[:count])


def _train(pairs: Path, out: Path, *extra: str) -> None:
    command = [sys.executable, "-m", "train.reranker", "--pairs", str(pairs), "--out", str(out)]
    options = ["--batch-size", "4", "--epochs", "1", "--checkpoint-every", "2", "--threads", "1"]
    subprocess.run([*command, *options, *extra], cwd=REPO, check=True, capture_output=True)


@pytest.mark.slow
def test_a_stopped_run_goes_on_to_the_model_an_unstopped_run_makes(tmp_path: Path) -> None:
    pairs = tmp_path / "pairs"
    _write_pairs(pairs)
    _train(pairs, tmp_path / "whole")
    _train(pairs, tmp_path / "stopped", "--stop-after", "3")
    assert not (tmp_path / "stopped" / "final").exists()
    _train(pairs, tmp_path / "stopped")
    whole = load_file(str(tmp_path / "whole" / "final" / "model.safetensors"))
    resumed = load_file(str(tmp_path / "stopped" / "final" / "model.safetensors"))
    assert whole.keys() == resumed.keys()
    assert all(np.array_equal(whole[name], resumed[name]) for name in whole)
    figures = json.loads((tmp_path / "whole" / "final" / "figures.json").read_text("utf-8"))
    assert {"valid", "trecqa test"} <= figures.keys()


def test_the_teacher_logits_are_the_exported_models_and_are_computed_once(
    tmp_path: Path,
) -> None:
    pairs = trecqa_pairs(TRECQA / "DEV.xml")[:9]
    cache = tmp_path / TEACHER_LOGITS
    logits = teacher_logits(pairs, WEIGHTS, cache)
    judge = Reranker(WEIGHTS)
    questions = list(dict.fromkeys(p.question for p in pairs))
    by_question = [
        judge.logits(question, [p.candidate for p in pairs if p.question == question])
        for question in questions
    ]
    assert len(questions) > 1
    assert logits.tolist() == np.concatenate(by_question).tolist()
    np.save(cache, np.arange(len(pairs), dtype=np.float32))
    assert teacher_logits(pairs, WEIGHTS, cache).tolist() == list(range(len(pairs)))


@pytest.mark.slow
def test_a_distilled_student_moves_toward_its_teacher(tmp_path: Path) -> None:
    pairs = tmp_path / "pairs"
    _write_pairs(pairs)
    training = list(read_pairs(pairs / "train.jsonl"))
    out = tmp_path / "student"
    _train(pairs, out, "--teacher", str(WEIGHTS), "--layers", "1", "--lr", "1e-3")
    teacher = np.load(out / TEACHER_LOGITS)
    tokenizer, start = load_model(1)
    before = scores(start, tokenizer, training)
    after = scores(load_model(1, out / "final")[1], tokenizer, training)
    assert np.mean((after - teacher) ** 2) < 0.8 * np.mean((before - teacher) ** 2)
    assert "distilling" in (out / "train.log").read_text("utf-8")


def test_a_run_can_start_from_the_shipped_int8_model_dequantised() -> None:
    # The first 40 pairs of TrecQA DEV, whose fp32 logits ship beside the model. The int8
    # weights' rounding moves them by 0.41 on average (round 12; 0.31 over all of DEV,
    # `python -m train.dequantise`); a model read wrongly moves them by several.
    pairs = trecqa_pairs(TRECQA / "DEV.xml")[:40]
    reference = json.loads((WEIGHTS / REFERENCE_FILE).read_text("utf-8"))["logits"][:40]
    tokenizer, model = load_model(6, WEIGHTS)
    dequantised = scores(model, tokenizer, pairs)
    assert np.abs(dequantised - np.array(reference)).mean() < 0.5
    assert np.corrcoef(dequantised, reference)[0, 1] > 0.99


class WordJudge:
    """A stand-in reranker: a candidate scores by how often it says `word`."""

    def __init__(self, word: str) -> None:
        self.word = word

    def logits(self, question: str, candidates: Sequence[str]) -> NDArray[np.float32]:
        return np.array([c.count(self.word) for c in candidates], dtype=np.float32)


def test_round_four_mines_the_clean_negatives_the_reranker_scores_highest() -> None:
    title = "Harbour festival draws crowds"
    sentences = [
        Sentence("Lisbon hosted the harbour festival on Saturday.", title, ""),
        *(Sentence(f"Stall {n} sold fish by the harbour.", title, "") for n in range(12)),
        Sentence("Boats boats boats filled the harbour.", title, ""),
        Sentence("Boats left the harbour at dawn.", "Sailing", ""),
    ]
    third, _ = quiz_page_pairs(QUIZ, sentences, random.Random(0), RECIPES["round-3"])
    fourth, _ = quiz_page_pairs(
        QUIZ, sentences, random.Random(0), RECIPES["round-4"], WordJudge("oats")
    )
    mined = [pair.candidate.split(" | ")[0] for pair in fourth if pair.origin == "quiz-mined"]
    assert mined[:2] == ["Boats boats boats filled the harbour.", "Boats left the harbour at dawn."]
    assert len(mined) == RECIPES["round-4"].mined_negatives
    assert [pair for pair in fourth if pair.origin != "quiz-mined"] == third
    assert len({pair.candidate for pair in fourth}) == len(fourth)
    with pytest.raises(ValueError, match="mines negatives"):
        quiz_page_pairs(QUIZ, sentences, random.Random(0), RECIPES["round-4"])
