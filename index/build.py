"""Building the index: files in, a new generation out, re-embedding only what changed.

Reads (`index.ingest`), cleans (`index.clean`), chunks (`index.chunk`) and embeds
(`index.embed`) the articles, and writes them through the configured store (`index.seam`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from tokenizers import Tokenizer

from index.chunk import chunk_article
from index.clean import CLEANER_VERSION, clean_body
from index.config import Settings
from index.embed import Embedder, Vectors, load_embedder
from index.embed.model import ModelSpec, load_tokenizer, resolve_model
from index.errors import IndexDamagedError, IndexFormatError, InputError
from index.files import path_text
from index.ingest import Corpus, load_corpus
from index.interfaces import IndexSource, IndexTarget
from index.manifest import FORMAT_VERSION, Manifest, utc_now
from index.records import (
    BuildSummary,
    EmbeddedArticle,
    Passage,
    SourceArticle,
    Span,
    article_key,
)
from index.seam import build_target

log = logging.getLogger(__name__)

# Word pieces of the article title put before each passage when it is embedded (not stored).
TITLE_CONTEXT_TOKENS = 32
# Special tokens the model adds ([CLS], [SEP]) plus the separator after the title.
_RESERVED_TOKENS = 3
# Passages embedded per progress step.
_PROGRESS_STEP = 256
# Problems named when no article at all was found.
_REASONS_SHOWN = 3

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class _Chunked:
    article: SourceArticle
    key: str
    text: str
    paragraphs: tuple[tuple[int, int], ...]
    passages: list[Passage]
    title_context: str

    def embedded(
        self, vectors: NDArray[np.float32], sentence_vectors: NDArray[np.float16]
    ) -> EmbeddedArticle:
        """The article with its passages' and their sentences' vectors, to store."""
        return EmbeddedArticle(
            self.article,
            self.key,
            self.text,
            self.paragraphs,
            self.passages,
            vectors,
            sentence_vectors,
        )


@dataclass(frozen=True, slots=True)
class BuildInputs:
    """The articles a build read and what makes their passages: the tokenizer, the embedder
    and the chunker settings (as the manifest records them). `summary` is the build's report,
    filled in as it goes, and `stages` times it."""

    articles: dict[str, SourceArticle]
    tokenizer: Tokenizer
    embedder: Embedder
    chunk_tokens: int
    chunker: dict[str, Any]
    summary: BuildSummary
    stages: _StageClock

    @property
    def signature(self) -> dict[str, Any]:
        """What a generation must have been built with for its passages to be kept."""
        return {
            "format": FORMAT_VERSION,
            "model": self.embedder.name,
            "backend": self.embedder.backend,
            "chunker": self.chunker,
        }


@dataclass(frozen=True, slots=True)
class BuildPlan:
    """What a build will write, decided from its inputs and the live generation before
    anything is written: the articles copied from the live generation (`unchanged`), the new
    and changed ones cleaned and chunked to embed (`to_embed`; every article when everything
    is rebuilt), and the passages the new generation will hold. Its summary counts the
    articles added, changed, removed, unchanged and skipped: what a dry run reports."""

    inputs: BuildInputs
    unchanged: list[str]
    to_embed: list[_Chunked]
    passages: int

    @property
    def summary(self) -> BuildSummary:
        """The build's report as planned."""
        return self.inputs.summary

    @property
    def up_to_date(self) -> bool:
        """True when the live generation already holds every article as read: nothing to
        write."""
        return self.summary.up_to_date


def build_index(
    paths: Sequence[Path],
    settings: Settings,
    *,
    full: bool = False,
    dry_run: bool = False,
    strict: bool = False,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
) -> BuildSummary:
    """Index the articles under `paths` into `settings.index_dir`, incrementally.

    Unchanged articles keep their passages and vectors; new and changed ones are cleaned,
    chunked and embedded; removed ones are dropped. A change of model or chunker settings, or
    `full=True`, rebuilds everything. `dry_run=True` reports what would change and writes
    nothing.

    The steps: read the articles (`read_inputs`), plan against the live generation
    (`plan_build`: a dry run stops there), write the plan (`execute_plan`).
    """
    started = time.perf_counter()
    target = build_target(settings)
    summary = BuildSummary(index_dir=target.location, dry_run=dry_run)
    if not dry_run:
        target.check_writable()
    inputs = read_inputs(paths, settings, summary, strict=strict, embedder=embedder)
    _leave_out_unstorable(inputs, target, strict=strict)
    # The lock comes before the previous generation is opened: no other build can replace
    # and remove it while this one reads it.
    with contextlib.nullcontext() if dry_run else target.locked():
        plan = plan_build(inputs, target, full=full)
        if not (dry_run or plan.up_to_date):
            execute_plan(plan, target, progress)
    return _finish(summary, started)


def read_inputs(
    paths: Sequence[Path],
    settings: Settings,
    summary: BuildSummary,
    *,
    strict: bool = False,
    embedder: Embedder | None = None,
) -> BuildInputs:
    """Read the articles under `paths` (`InputError` when there are none) and load the
    tokenizer and the embedder (the given one, else the configured model); `summary` gets
    the files and records skipped and the problems met."""
    stages = _StageClock(summary)
    corpus = load_corpus(paths, max_chars=settings.max_article_chars, strict=strict)
    stages.lap("read")
    summary.skipped_files = corpus.skipped_files
    summary.problems = corpus.problems
    summary.skipped = len(corpus.skipped_files) + corpus.skipped_records
    if not corpus.articles:
        shown = ", ".join(path_text(p) for p in paths)
        raise InputError(
            f"no articles found in {shown} (.txt, .md, .jsonl, .html){_why_none(corpus)}"
        )

    spec = resolve_model(settings.model)
    tokenizer = load_tokenizer(spec.path)
    _check_token_budget(settings, spec)
    embedder = embedder or load_embedder(
        spec,
        settings.backend,
        batch_size=settings.embed_batch_size,
        cache_dir=settings.cache_dir,
    )
    chunker = {
        "chunk_tokens": settings.chunk_tokens,
        "title_tokens": TITLE_CONTEXT_TOKENS,
        "segmenter": "sentencex",
        "cleaner": CLEANER_VERSION,
    }
    return BuildInputs(
        corpus.articles, tokenizer, embedder, settings.chunk_tokens, chunker, summary, stages
    )


def _leave_out_unstorable(inputs: BuildInputs, target: IndexTarget, *, strict: bool) -> None:
    """Leave out, saying why, the articles `target` cannot hold (a field over Milvus's
    limits), before anything is embedded; `InputError` when none are left, or at the first
    with `strict`."""
    problem = ""
    for article_id, article in list(inputs.articles.items()):
        reason = target.unstorable(article)
        if reason is None:
            continue
        problem = f"{article.origin}: {reason}"
        if strict:
            raise InputError(f"{problem} (stopped by --strict)")
        inputs.summary.problems.append(problem)
        inputs.summary.skipped += 1
        del inputs.articles[article_id]
    if not inputs.articles:
        raise InputError(f"no articles that {target.location} can hold ({problem})")


def plan_build(inputs: BuildInputs, target: IndexTarget, *, full: bool = False) -> BuildPlan:
    """Compare the articles read with the live generation of `target` and decide what to
    copy and what to embed (everything when `full`, or when the model, the chunker or the
    index format changed); clean and chunk the articles to embed. Writes nothing; a build
    calls it under the build lock, and the plan's summary says what it would do."""
    summary, stages = inputs.summary, inputs.stages
    previous, old_hashes = _open_previous(target, summary)
    if full:
        summary.full_rebuild_reason = "--full"
    elif previous is not None:
        summary.full_rebuild_reason = _settings_change(
            previous.manifest.signature(), inputs.signature
        )
    new_ids = inputs.articles.keys()
    summary.removed = len(old_hashes.keys() - new_ids)
    summary.added = len(new_ids - old_hashes.keys())
    unchanged = [i for i in new_ids if old_hashes.get(i) == inputs.articles[i].content_hash]
    summary.changed = len(new_ids) - summary.added - len(unchanged)
    summary.unchanged = len(unchanged)
    summary.articles = len(new_ids)
    if summary.full_rebuild_reason:
        unchanged = []
    nothing_changed = not (summary.added or summary.changed or summary.removed)
    if previous is not None and not summary.full_rebuild_reason and nothing_changed:
        summary.up_to_date = True
        summary.passages = previous.manifest.passages
        summary.generation = previous.generation
        return BuildPlan(inputs, unchanged, [], previous.manifest.passages)

    kept = set(unchanged)
    to_chunk = [a for i, a in inputs.articles.items() if i not in kept]
    stages.lap("compare")
    to_embed = [_chunk(article, inputs.tokenizer, inputs.chunk_tokens) for article in to_chunk]
    stages.lap("clean_and_chunk")
    counts = previous.passage_counts() if previous is not None and kept else {}
    summary.embedded = sum(len(item.passages) for item in to_embed)
    summary.passages = summary.embedded + sum(counts.get(i, 0) for i in kept)
    return BuildPlan(inputs, unchanged, to_embed, summary.passages)


def execute_plan(plan: BuildPlan, target: IndexTarget, progress: Progress | None = None) -> None:
    """Write the planned generation to `target` (unchanged articles copied, the rest
    embedded) and publish it; the plan's summary gets its name and passages. Call under the
    build lock, with the plan made under it."""
    inputs, stages = plan.inputs, plan.inputs.stages
    texts, sentence_spans = _model_inputs(plan.to_embed)
    draft = target.draft(plan.passages)
    try:
        draft.copy_unchanged(plan.unchanged)
        stages.lap("copy_unchanged")
        if texts:
            inputs.embedder.embed(texts[:1])  # loads the model: timed apart
            stages.lap("load_model")
        vectors, sentence_vectors = _embed_sorted(inputs.embedder, texts, sentence_spans, progress)
        stages.lap("embed")
        passage_row = sentence_row = 0
        for item in plan.to_embed:
            sentences = sum(len(passage.sentences) for passage in item.passages)
            draft.add_article(
                item.embedded(
                    vectors[passage_row : passage_row + len(item.passages)],
                    sentence_vectors[sentence_row : sentence_row + sentences],
                )
            )
            passage_row += len(item.passages)
            sentence_row += sentences
        manifest = Manifest(
            format=FORMAT_VERSION,
            generation=draft.name,
            model=inputs.embedder.name,
            backend=inputs.embedder.backend,
            dimension=inputs.embedder.dimension,
            chunker=inputs.chunker,
            articles=len(plan.unchanged) + len(plan.to_embed),
            passages=draft.passage_count,
            built_at=utc_now(),
        )
        manifest = draft.finish(manifest)
        live = draft.publish()
    except BaseException:
        draft.discard()
        raise
    stages.lap("store")
    plan.summary.passages = manifest.passages
    plan.summary.embedded = len(texts)
    plan.summary.generation = live


class _StageClock:
    """Records how long each stage of a build took into the summary."""

    def __init__(self, summary: BuildSummary) -> None:
        self.summary = summary
        self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.summary.stage_seconds[stage] = round(now - self.last, 3)
        self.last = now


def _finish(summary: BuildSummary, started: float) -> BuildSummary:
    summary.seconds = round(time.perf_counter() - started, 3)
    if summary.embedded and summary.seconds:
        summary.passages_per_second = round(summary.embedded / summary.seconds, 1)
    return summary


def _why_none(corpus: Corpus) -> str:
    """Why a corpus holds no article, in a few words for the end of one line."""
    reasons = [*corpus.problems]
    if corpus.skipped_files:
        reasons.append(f"{len(corpus.skipped_files)} file(s) of another type")
    if not reasons:
        return ""
    more = f"; and {len(reasons) - _REASONS_SHOWN} more" if len(reasons) > _REASONS_SHOWN else ""
    return ": " + "; ".join(reasons[:_REASONS_SHOWN]) + more


def _check_token_budget(settings: Settings, spec: ModelSpec) -> None:
    room = spec.max_seq_length - TITLE_CONTEXT_TOKENS - _RESERVED_TOKENS
    if settings.chunk_tokens > room:
        raise InputError(
            f"CITEBOT_CHUNK_TOKENS={settings.chunk_tokens} does not fit {spec.name}, which reads"
            f" {spec.max_seq_length} word pieces; use at most {room}"
        )


def _open_previous(
    target: IndexTarget, summary: BuildSummary
) -> tuple[IndexSource | None, dict[str, str]]:
    """The live generation to build on and its articles' content hashes; none for a first
    build, nor for a generation that cannot be read, at open time or in its rows (it is
    rebuilt from scratch, and the summary says why)."""
    try:
        if not target.has_index():
            return None, {}
        previous = target.open_live()
        return previous, previous.article_hashes()
    except IndexFormatError as error:
        summary.full_rebuild_reason = (
            f"the index format changed from {error.found} to {FORMAT_VERSION}"
        )
        return None, {}
    except IndexDamagedError as error:
        log.warning("%s; building a new index from scratch", error)
        summary.full_rebuild_reason = "the previous index cannot be read"
        return None, {}


def _settings_change(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """Say which setting changed since the previous build, or None."""
    for name in ("format", "model", "backend", "chunker"):
        if old.get(name) != new.get(name):
            return f"{name} changed from {old.get(name)} to {new.get(name)}"
    return None


def _chunk(article: SourceArticle, tokenizer: Tokenizer, max_tokens: int) -> _Chunked:
    cleaned = clean_body(article.text)
    return _Chunked(
        article=article,
        key=article_key(article.id, article.content_hash),
        text=cleaned.text,
        paragraphs=cleaned.paragraphs,
        passages=chunk_article(cleaned.text, cleaned.paragraphs, tokenizer, max_tokens),
        title_context=title_context(article.title, tokenizer),
    )


def title_context(title: str, tokenizer: Tokenizer) -> str:
    """The title, cut to `TITLE_CONTEXT_TOKENS` word pieces: embedded before each passage."""
    offsets = tokenizer.encode(title, add_special_tokens=False).offsets
    if len(offsets) <= TITLE_CONTEXT_TOKENS:
        return title
    return title[: offsets[TITLE_CONTEXT_TOKENS - 1][1]]


def _model_inputs(chunked: list[_Chunked]) -> tuple[list[str], list[list[Span]]]:
    """What the model reads for each passage (its article's title, a line break, the passage)
    and where each of its sentences lies in that text."""
    texts: list[str] = []
    spans: list[list[Span]] = []
    for item in chunked:
        prefix = f"{item.title_context}\n"
        for passage in item.passages:
            shift = len(prefix) - passage.start
            texts.append(prefix + item.text[passage.start : passage.end])
            spans.append([(start + shift, end + shift) for start, end in passage.sentences])
    return texts, spans


def _embed_sorted(
    embedder: Embedder,
    texts: list[str],
    sentence_spans: list[list[Span]],
    progress: Progress | None,
) -> tuple[Vectors, NDArray[np.float16]]:
    """Embed the passages longest first in steps (batches of similar length pad least), and
    their sentences in the same model run, read within their passage; both in input order."""
    first_rows = np.cumsum([0] + [len(spans) for spans in sentence_spans])
    vectors = np.empty((len(texts), embedder.dimension), dtype=np.float32)
    sentence_vectors = np.empty((int(first_rows[-1]), embedder.dimension), dtype=np.float16)
    order = np.argsort([-len(t) for t in texts], kind="stable")
    for first in range(0, len(texts), _PROGRESS_STEP):
        rows = order[first : first + _PROGRESS_STEP]
        whole, parts = embedder.embed_spans(
            [texts[i] for i in rows], [sentence_spans[i] for i in rows]
        )
        vectors[rows] = whole
        taken = 0
        for row in rows:
            count = len(sentence_spans[row])
            sentence_vectors[first_rows[row] : first_rows[row] + count] = parts[
                taken : taken + count
            ]
            taken += count
        if progress is not None:
            progress(min(first + _PROGRESS_STEP, len(texts)), len(texts))
    return vectors, sentence_vectors
