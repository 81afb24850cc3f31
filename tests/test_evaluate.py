"""`citebot eval` with the real model: SQuAD JSON compared across retrievers, backends and
stores, and question JSONL with unanswerable questions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from index.build import build_index
from index.config import Settings
from index.evaluate import against_index, load_squad, write_articles_jsonl
from index.local.reader import IndexReader
from tests.support.embedder import FakeEmbedder
from tests.support.paths import SEEDS, XQUAD

pytestmark = pytest.mark.slow

# Whether the reranker is on in the settings `citebot eval` reads (default, or the environment).
RERANKER_ON = Settings(_env_file=None).reranker  # type: ignore[call-arg]
METRICS = {
    "hit@1", "hit@5", "hit@10", "mrr@10", "answer@1", "answer@3",
    "abstain_precision", "abstain_recall", "p50_ms", "p95_ms",
}  # fmt: skip


@pytest.fixture
def squad_slice(tmp_path: Path) -> Path:
    """Two XQuAD articles with their first eight questions each."""
    data = json.loads(XQUAD.read_text("utf-8"))
    for article in data["data"][:2]:
        for number, paragraph in enumerate(article["paragraphs"]):
            paragraph["qas"] = paragraph["qas"] if number < 2 else []
    path = tmp_path / "slice.json"
    path.write_text(json.dumps({"version": data["version"], "data": data["data"][:2]}), "utf-8")
    return path


def test_compare_measures_each_retriever_and_backend(
    squad_slice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CITEBOT_BACKEND", "torch")
    result = CliRunner().invoke(cli, ["eval", str(squad_slice), "--compare", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    rows = report["retrievers"]
    assert set(rows) == {
        "lexical", "dense", "hybrid", "dense:onnx", "hybrid:onnx",
        "dense:onnx-int8", "hybrid:onnx-int8", "lexical:milvus", "dense:milvus", "hybrid:milvus",
    } | {f"hybrid:reranker-{'off' if RERANKER_ON else 'on'}"}  # fmt: skip
    assert report["backend"] == "torch" and report["questions"] >= 10
    for row in rows.values():
        assert set(row) == METRICS
        assert row["hit@1"] <= row["hit@5"] <= row["hit@10"] <= 1
        assert row["abstain_precision"] is None, "every SQuAD question has an answer"
    assert rows["hybrid"]["hit@5"] >= 0.8
    # fp32 ONNX computes the same vectors as torch: the same passages are found.
    assert rows["dense:onnx"]["hit@5"] == rows["dense"]["hit@5"]
    # Milvus searches the same vectors exactly: dense search finds the same passages.
    assert rows["dense:milvus"]["hit@5"] == rows["dense"]["hit@5"]
    assert rows["hybrid:milvus"]["hit@5"] >= 0.8

    table = CliRunner().invoke(cli, ["eval", str(squad_slice)])
    assert table.exit_code == 0, table.output
    assert table.stdout.splitlines()[2].split()[:2] == ["retriever", "hit@1"]
    assert table.stdout.splitlines()[3].startswith("hybrid ")


def test_jsonl_questions_measure_abstention(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, index_dir=tmp_path / "index")  # type: ignore[call-arg]
    build_index([SEEDS], settings)
    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        "".join(
            json.dumps(q) + "\n"
            for q in (
                {"question": "who is Lety Pérez?", "answers": ["Guatemalan migrant"]},
                {"question": "What did Felipe Calderón write?", "answers": ["What a shame"]},
                {"question": "What is the boiling point of tungsten?", "answers": []},
            )
        ),
        "utf-8",
    )
    result = CliRunner().invoke(
        cli, ["eval", str(questions), "--index", str(settings.index_dir), "--json"]
    )
    assert result.exit_code == 0, result.output
    hybrid = json.loads(result.stdout)["retrievers"]["hybrid"]
    assert hybrid["answer@3"] == 1.0
    assert (hybrid["abstain_precision"], hybrid["abstain_recall"]) == (1.0, 1.0)


def test_squad_questions_against_an_index_without_their_article(
    squad_slice: Path, tmp_path: Path
) -> None:
    squad = load_squad(squad_slice)
    first = squad.articles[0]
    corpus = tmp_path / "first.jsonl"
    write_articles_jsonl(corpus, [first])
    settings = Settings(_env_file=None, index_dir=tmp_path / "index")  # type: ignore[call-arg]
    build_index([corpus], settings, embedder=FakeEmbedder())
    judged = against_index(squad.questions, IndexReader.open(settings.index_dir))

    for asked, question in zip(squad.questions, judged, strict=True):
        if asked.article_id == first.id:
            assert question == asked, "questions about an indexed article are kept"
        elif any(answer.lower() in first.text.lower() for answer in asked.answers):
            assert question.answers == asked.answers and question.article_id is None
        else:
            assert question.answers == (), "no indexed article holds the answer: abstain"
    assert any(q.answers == () for q in judged) and any(q.answers for q in judged)
