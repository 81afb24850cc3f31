"""The ONNX backends with the real model: their vectors against torch's, an index built with
them, the rule that a question is embedded as its index was, and the export cache."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.build import build_index
from index.config import Settings
from index.embed import Vectors, load_embedder
from index.embed import onnx as onnx_backend
from index.embed.model import ModelSpec, resolve_model
from index.embed.onnx import OnnxEmbedder, cached_model_path, optimised_model_path
from index.embed.sbert import SentenceTransformerEmbedder
from index.engine import Engine
from index.errors import ModelMismatchError
from index.local.layout import MANIFEST_NAME, IndexLayout
from tests.support.embedder import FakeEmbedder
from tests.support.paths import BBC, REPO, SEEDS

pytestmark = pytest.mark.slow

LETY = (
    "Guatemalan migrant Lety Pérez crouches in front of the soldier, crying and holding on"
    " to her young son, Anthony."
)
QUESTIONS = ["who is Lety Pérez?", "a", "What did Felipe Calderón write about the wall?"]


@pytest.fixture(scope="module")
def spec() -> ModelSpec:
    return resolve_model("all-MiniLM-L6-v2")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One export cache for the module: each model is exported once."""
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """Real passages of many lengths (some past the 256-word-piece limit) and questions."""
    with BBC.open(encoding="utf-8") as lines:
        articles = [json.loads(next(lines))["text"] for _ in range(40)]
    return [text[: 200 + 100 * n] for n, text in enumerate(articles)] + QUESTIONS


@pytest.fixture(scope="module")
def torch_vectors(spec: ModelSpec, texts: list[str]) -> Vectors:
    return SentenceTransformerEmbedder(spec).embed(texts)


def onnx_settings(tmp_path: Path, cache_dir: Path, backend: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        index_dir=tmp_path / "index",
        backend=backend,  # type: ignore[arg-type]
        cache_dir=cache_dir,
    )


@pytest.mark.parametrize(
    ("backend", "mean_cosine", "min_cosine"), [("onnx", 0.99999, 0.9999), ("onnx-int8", 0.99, 0.98)]
)
def test_vectors_agree_with_torch(
    spec: ModelSpec,
    cache_dir: Path,
    texts: list[str],
    torch_vectors: Vectors,
    backend: str,
    mean_cosine: float,
    min_cosine: float,
) -> None:
    embedder = OnnxEmbedder(spec, backend=backend, cache_dir=cache_dir, batch_size=16)
    vectors = embedder.embed(texts)
    assert vectors.shape == torch_vectors.shape == (len(texts), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = (vectors * torch_vectors).sum(axis=1)
    assert cosines.mean() >= mean_cosine
    assert cosines.min() >= min_cosine
    # A question alone (no padding) gets the vector it gets in a padded batch.
    alone = embedder.embed(QUESTIONS[:1])[0]
    assert float(alone @ vectors[len(texts) - len(QUESTIONS)]) >= min_cosine


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_span_vectors_come_from_the_run_of_the_whole_text(
    spec: ModelSpec, cache_dir: Path, texts: list[str], torch_vectors: Vectors, backend: str
) -> None:
    embedder = (
        SentenceTransformerEmbedder(spec, batch_size=4)
        if backend == "torch"
        else OnnxEmbedder(spec, backend=backend, cache_dir=cache_dir, batch_size=4)
    )
    # Each text joins the openings of two different articles; its spans are the two.
    pairs = [(texts[n][:300], texts[n + 10][:300]) for n in range(8)]
    passages = [f"{first} {second}" for first, second in pairs]
    halves = [
        [(0, len(first)), (len(first) + 1, len(first) + 1 + len(second))] for first, second in pairs
    ]
    long_text = texts[30]  # past the model's limit: its end is never read
    whole, parts = embedder.embed_spans(
        [*passages, long_text], [*halves, [(len(long_text) - 9, len(long_text))]]
    )
    assert whole.shape == (9, 384) and parts.shape == (17, 384)
    np.testing.assert_allclose(np.linalg.norm(parts, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(whole[:8], embedder.embed(passages), atol=1e-4)
    # Each article's span, read beside the other, is nearer to it read alone than to the
    # other (as a rule: the context it was read in leaks in, by design).
    alone = embedder.embed([text for pair in pairs for text in pair])
    own = (parts[:16] * alone).sum(axis=1)
    other = (parts[:16] * alone[np.arange(16) ^ 1]).sum(axis=1)
    assert (own > other).sum() >= 14
    assert own.mean() > other.mean() + 0.15
    # A span the model never read gets its whole text's vector.
    np.testing.assert_allclose(parts[16], whole[8], atol=1e-6)


def test_a_passage_gets_the_same_int8_vectors_whatever_else_is_embedded(
    spec: ModelSpec, cache_dir: Path, texts: list[str]
) -> None:
    """Dynamic int8 quantisation scales a whole batch at once, so in a batch of several
    passages each one's vectors depend on its companions. With the default batch size a
    passage's vectors are its own: an article embedded in one build or another, alone or
    among thousands, gets the same vectors."""
    passages = texts[:12]
    spans = [[(0, len(text) // 2), (len(text) // 2, len(text))] for text in passages]
    batch_size = Settings(_env_file=None).embed_batch_size  # type: ignore[call-arg]
    embedder = OnnxEmbedder(spec, backend="onnx-int8", cache_dir=cache_dir, batch_size=batch_size)
    together = embedder.embed_spans(passages, spans)
    for n in (0, 7):
        alone = embedder.embed_spans(passages[n : n + 1], spans[n : n + 1])
        np.testing.assert_array_equal(alone[0][0], together[0][n])
        np.testing.assert_array_equal(alone[1], together[1][2 * n : 2 * n + 2])
    batched = OnnxEmbedder(spec, backend="onnx-int8", cache_dir=cache_dir, batch_size=12)
    among_others = batched.embed_spans(passages, spans)[0]
    assert float((among_others * together[0]).sum(axis=1).min()) < 0.999


@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_index_built_with_onnx_quotes_lety_perez(
    tmp_path: Path, cache_dir: Path, backend: str
) -> None:
    settings = onnx_settings(tmp_path, cache_dir, backend)
    build_index([SEEDS], settings)
    engine = Engine(settings)
    assert engine.reader().manifest.backend == backend
    answer = engine.ask("who is Lety Pérez?")
    assert not answer.abstained
    assert answer.answer[0].text == LETY
    citation = answer.citations[0]
    article = engine.reader().article(citation.article_id)
    assert article is not None
    assert article.text[citation.start : citation.end] == LETY
    assert engine.embedder().backend == backend


def test_changing_the_backend_re_embeds_everything(tmp_path: Path, cache_dir: Path) -> None:
    build_index([SEEDS], onnx_settings(tmp_path, cache_dir, "onnx"))
    summary = build_index([SEEDS], onnx_settings(tmp_path, cache_dir, "onnx-int8"))
    assert summary.full_rebuild_reason == "backend changed from onnx to onnx-int8"
    assert summary.embedded == summary.passages > 0


def test_questions_are_embedded_with_the_index_backend_not_the_configured_one(
    tmp_path: Path, cache_dir: Path
) -> None:
    build_index([SEEDS], onnx_settings(tmp_path, cache_dir, "onnx"))
    engine = Engine(onnx_settings(tmp_path, cache_dir, "torch"))
    assert engine.ask("who is Lety Pérez?").answer[0].text == LETY
    assert engine.embedder().backend == "onnx"


def test_a_question_embedded_with_torch_on_an_onnx_index_is_refused(
    tmp_path: Path, cache_dir: Path, spec: ModelSpec
) -> None:
    build_index([SEEDS], onnx_settings(tmp_path, cache_dir, "onnx-int8"))
    torch_settings = onnx_settings(tmp_path, cache_dir, "torch")
    engine = Engine(torch_settings, embedder=SentenceTransformerEmbedder(spec))
    with pytest.raises(ModelMismatchError) as raised:
        engine.ask("who is Lety Pérez?")
    message = str(raised.value)
    assert "(onnx-int8)" in message
    assert "(torch)" in message
    assert "rebuild it with `citebot build --full`" in message


def test_an_onnx_question_on_an_index_of_another_backend_is_refused(
    seed_index: Settings, cache_dir: Path, spec: ModelSpec
) -> None:
    onnx = OnnxEmbedder(spec, backend="onnx", cache_dir=cache_dir)
    with pytest.raises(ModelMismatchError, match=r"\(fake\), not .* \(onnx\); rebuild it with"):
        Engine(seed_index, embedder=onnx).ask("who is Lety Pérez?")


def test_an_index_of_an_unknown_backend_asks_for_a_rebuild(
    seed_index: Settings, fake_embedder: FakeEmbedder
) -> None:
    live = IndexLayout(seed_index.index_dir).current()
    assert live is not None
    manifest = json.loads((live / MANIFEST_NAME).read_text("utf-8"))
    manifest["model"], manifest["backend"] = "all-MiniLM-L6-v2", "onnx-fp16"
    (live / MANIFEST_NAME).write_text(json.dumps(manifest), "utf-8")
    with pytest.raises(ModelMismatchError, match=r"\(onnx-fp16\).*`citebot build --full`"):
        Engine(seed_index).ask("who is Lety Pérez?")


@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_export_cache_is_reused_and_a_damaged_file_is_made_again(
    tmp_path: Path, spec: ModelSpec, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    path = cached_model_path(spec, backend, cache)
    optimised = optimised_model_path(path)
    first = OnnxEmbedder(spec, backend=backend, cache_dir=cache).embed(QUESTIONS)
    exported, optimised_first = path.stat(), optimised.stat()
    written = {
        "onnx": ["model-optimised.onnx", "model.onnx"],
        "onnx-int8": ["model-int8-optimised.onnx", "model-int8.onnx", "model.onnx"],
    }[backend]
    assert sorted(p.name for p in path.parent.iterdir()) == written

    # Reused: a new embedder (a new process, in effect) loads the optimised graph, exporting
    # and optimising nothing, and its vectors are the first session's to the last bit.
    with monkeypatch.context() as patched:
        patched.setattr(onnx_backend, "_export", _no_export)
        patched.setattr(onnx_backend, "_quantize", _no_export)
        again = OnnxEmbedder(spec, backend=backend, cache_dir=cache).embed(QUESTIONS)
    np.testing.assert_array_equal(again, first)
    for file, stat in ((path, exported), (optimised, optimised_first)):
        assert (file.stat().st_ino, file.stat().st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)

    # A damaged optimised graph is optimised again from the export, without exporting.
    optimised.write_bytes(b"not an onnx model" * 64)
    with monkeypatch.context() as patched:
        patched.setattr(onnx_backend, "_export", _no_export)
        patched.setattr(onnx_backend, "_quantize", _no_export)
        reoptimised = OnnxEmbedder(spec, backend=backend, cache_dir=cache).embed(QUESTIONS)
    np.testing.assert_array_equal(reoptimised, first)
    assert optimised.stat().st_size == optimised_first.st_size

    # Half a file (as a copy cut short would leave) and garbage are both exported again.
    for damage in (path.read_bytes()[: exported.st_size // 2], b"not an onnx model" * 64):
        path.write_bytes(damage)
        optimised.write_bytes(damage)
        redone = OnnxEmbedder(spec, backend=backend, cache_dir=cache).embed(QUESTIONS)
        np.testing.assert_allclose(redone, first, atol=1e-6)
        assert path.stat().st_size == exported.st_size
    assert not [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("damage", ["garbage", "half"])
def test_a_damaged_fp32_export_without_an_int8_file_is_exported_again(
    tmp_path: Path, spec: ModelSpec, cache_dir: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    good = OnnxEmbedder(spec, backend="onnx-int8", cache_dir=cache_dir).embed(QUESTIONS)
    exported = cached_model_path(spec, "onnx", cache_dir)
    cache = tmp_path / "cache"
    fp32 = cached_model_path(spec, "onnx", cache)
    fp32.parent.mkdir(parents=True)
    whole = exported.read_bytes()
    fp32.write_bytes(b"not an onnx model" * 64 if damage == "garbage" else whole[: len(whole) // 2])
    exports: list[Path] = []

    def export(spec: ModelSpec, target: Path) -> None:  # the real export, without torch's time
        exports.append(target)
        target.write_bytes(whole)

    monkeypatch.setattr(onnx_backend, "_export", export)
    for _ in range(2):  # and the next process finds it whole
        again = OnnxEmbedder(spec, backend="onnx-int8", cache_dir=cache).embed(QUESTIONS)
        np.testing.assert_allclose(again, good, atol=1e-6)
    assert len(exports) == 1 and fp32.read_bytes() == whole


def _no_export(*args: object) -> None:
    raise AssertionError("the cached model should have been reused")


def test_a_killed_export_leaves_no_file_under_the_final_name(
    tmp_path: Path, spec: ModelSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    def killed(spec: ModelSpec, target: Path) -> None:
        target.write_bytes(b"half of a model")
        raise KeyboardInterrupt

    monkeypatch.setattr(onnx_backend, "_export", killed)
    cache = tmp_path / "cache"
    with pytest.raises(KeyboardInterrupt):
        load_embedder(spec, "onnx", batch_size=8, cache_dir=cache).embed(["a question"])
    assert list(cached_model_path(spec, "onnx", cache).parent.iterdir()) == []


def test_stats_never_imports_torch(seed_index: Settings) -> None:
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('torch' in sys.modules))\n"
        "from bot.cli import main\n"
        f"sys.argv = ['citebot', 'stats', '--index', {str(seed_index.index_dir)!r}]\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines()[-1] == "False"
    assert "passages" in result.stdout.lower()


def test_onnx_questions_never_import_torch(tmp_path: Path, cache_dir: Path) -> None:
    settings = onnx_settings(tmp_path, cache_dir, "onnx-int8")
    build_index([SEEDS], settings)
    probe = (
        "import sys\n"
        "from index.config import Settings\n"
        "from index.engine import Engine\n"
        f"settings = Settings(_env_file=None, index_dir={str(settings.index_dir)!r},"
        f" cache_dir={str(cache_dir)!r})\n"
        "answer = Engine(settings).ask('who is Lety Pérez?')\n"
        "print('torch' in sys.modules, answer.answer[0].text)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == f"False {LETY}"
