"""Build throughput on the BBC file: from scratch, unchanged, 1% changed, and a plain baseline.

    .venv/bin/python -m bench.build_speed [--backend NAME] [--keep DIR]

`--backend` defaults to citebot's default; `--keep` leaves the BBC index in DIR for the other
benchmarks.

Beside citebot's build, in the same run, a plain sentence-transformers torch pipeline embeds
the same passages (the same title-prefixed texts, batch size 32), so the speed-up is a ratio
measured on this machine at this moment.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from index.build import BuildSummary, build_index, title_context
from index.config import Settings
from index.embed.model import load_tokenizer, resolve_model
from index.local.reader import IndexReader

BBC = Path(__file__).resolve().parents[2] / "shared" / "data" / "bbc_news.jsonl"
_NON_EMBEDDING_STAGES = ("read", "compare", "clean_and_chunk", "copy_unchanged", "store")


def describe(label: str, summary: BuildSummary, tokens: int | None = None) -> None:
    """Print one build's figures."""
    stages = summary.stage_seconds
    embed = stages.get("embed", 0.0)
    line = f"{label:<24} {summary.seconds:7.1f} s  embedded {summary.embedded:>6,}"
    if embed:
        line += f"  {summary.embedded / embed:6.1f} passages/s"
        if tokens:
            line += f"  {tokens / embed:8,.0f} tokens/s"
        other = sum(stages.get(s, 0.0) for s in _NON_EMBEDDING_STAGES)
        line += f"  rest of pipeline {other / embed:5.1%} of embedding time"
    print(line)


def main() -> None:
    """Run the builds and the baseline, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default=Settings.model_fields["backend"].default)
    parser.add_argument("--keep", type=Path, help="copy the BBC index here at the end")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="citebot-bench-") as scratch_name:
        scratch = Path(scratch_name)
        settings = Settings(_env_file=None, index_dir=scratch / "index", backend=args.backend)  # type: ignore[call-arg]
        corpus = scratch / "bbc.jsonl"
        lines = BBC.read_text("utf-8").splitlines()
        corpus.write_text("\n".join(lines) + "\n", "utf-8")

        scratch_build = build_index([corpus], settings)
        reader = IndexReader.open(settings.index_dir)
        tokens = sum(passage.tokens for passage in reader.all_passages())
        print(
            f"BBC: {len(lines):,} articles, {scratch_build.passages:,} passages, {tokens:,} tokens"
            f" ({args.backend} backend)"
        )
        print(f"model load {scratch_build.stage_seconds.get('load_model', 0):.1f} s (not counted)")
        describe("from scratch", scratch_build, tokens)
        describe("no changes", build_index([corpus], settings))

        changed = set(range(0, len(lines), 100))
        edited = []
        for number, line in enumerate(lines):
            record = json.loads(line)
            if number in changed:
                record["text"] += "\n\nThis article was updated."
            edited.append(json.dumps(record))
        corpus.write_text("\n".join(edited) + "\n", "utf-8")
        describe(f"{len(changed)} articles changed", build_index([corpus], settings))

        texts = plain_pipeline_texts(IndexReader.open(settings.index_dir), settings)
        rate = plain_torch_rate(texts, settings)
        ours = scratch_build.embedded / scratch_build.stage_seconds["embed"]
        print(f"{'plain torch pipeline':<24} {len(texts) / rate:7.1f} s  {rate:6.1f} passages/s")
        print(f"speed-up of citebot's embedding over the plain pipeline: {ours / rate:.2f}x")
        if args.keep:
            shutil.copytree(settings.index_dir, args.keep)


def plain_pipeline_texts(reader: IndexReader, settings: Settings) -> list[str]:
    """The texts citebot embedded: title context, newline, passage."""
    tokenizer = load_tokenizer(resolve_model(settings.model).path)
    passages = list(reader.all_passages())
    articles = reader.articles(sorted({passage.article_id for passage in passages}))
    return [
        f"{title_context(articles[p.article_id].title, tokenizer)}\n"
        f"{articles[p.article_id].text[p.start : p.end]}"
        for p in passages
    ]


def plain_torch_rate(texts: list[str], settings: Settings) -> float:
    """Passages per second of a plain SentenceTransformer.encode, batch size 32."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(resolve_model(settings.model).path), device="cpu")
    model.encode(texts[:32], batch_size=32)
    started = time.perf_counter()
    model.encode(texts, batch_size=32, normalize_embeddings=True)
    return len(texts) / (time.perf_counter() - started)


if __name__ == "__main__":
    main()
