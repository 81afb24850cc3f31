"""Answer latency and memory at 10k, 100k and 1M passages.

    .venv/bin/python -m bench.scale --base-index DIR [--sizes 100000 1000000]
        [--keep DIR] [--every-word] [--store local|milvus] [--questions N]

DIR is an index of the BBC file (about 10k passages, real). Larger indexes are synthetic:
passages are sentences of words drawn from the BBC vocabulary, and their vectors are real BBC
passage vectors with noise added (the vector index is what has to scale). Each index is
measured in a fresh process: resident memory after loading, size on disk, then warm answer
latency in one thread and with 8 threads at once, broken down by stage.

`--keep DIR` keeps the synthetic indexes in DIR and reuses them on the next run;
`--every-word` measures full-text search as it was before it left common words out (every
content word of the question searched), for a before/after on the same indexes; `--questions`
asks fewer than 200 XQuAD questions (for a slow store).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from index import search
from index.config import STORES, Settings
from index.engine import Engine
from index.evaluate import load_squad
from index.local.reader import IndexReader
from index.manifest import FORMAT_VERSION, Manifest, utc_now
from index.records import EmbeddedArticle, Passage, SourceArticle
from index.seam import build_target
from index.search import dense_search, fuse, lexical_search
from index.words import query_words

XQUAD = Path(__file__).resolve().parents[2] / "shared" / "data" / "xquad_en_dev.json"
PASSAGES_PER_ARTICLE = 10
QUESTIONS = 200


def settings_for(index: Path, store: str) -> Settings:
    """Settings that read or write the index at `index`: the directory itself on the local
    store, a Milvus Lite file beside it (`index` with `.db`) on Milvus."""
    if store == "milvus":
        return Settings(  # type: ignore[call-arg]
            _env_file=None,
            index_dir=index,
            store="milvus",
            milvus_uri=str(_stored_at(index, store)),
        )
    return Settings(_env_file=None, index_dir=index)  # type: ignore[call-arg]


def synthesise(base: Path, settings: Settings, size: int) -> None:
    """Write an index of `size` passages built from the base index's words and vectors, in
    the store `settings` name, through the same seam `citebot build` writes through."""
    reader = IndexReader.open(base)
    rng = np.random.default_rng(size)
    words = np.array(" ".join(reader.article_texts()).split())
    base_vectors = reader.vectors.reconstruct_n(0, reader.vectors.ntotal)
    target = build_target(settings)
    with target.locked():
        draft = target.draft(size // PASSAGES_PER_ARTICLE * PASSAGES_PER_ARTICLE)
        try:
            for number in range(size // PASSAGES_PER_ARTICLE):
                sentences = [
                    " ".join(words[rng.integers(0, len(words), 30)]) + "."
                    for _ in range(PASSAGES_PER_ARTICLE)
                ]
                text = "\n\n".join(sentences)
                spans, offset = [], 0
                for sentence in sentences:
                    spans.append((offset, offset + len(sentence)))
                    offset += len(sentence) + 2
                article = SourceArticle(
                    id=f"synthetic/{number}",
                    title=f"Synthetic {number}",
                    text=text,
                    origin="bench",
                )
                picks = base_vectors[rng.integers(0, len(base_vectors), PASSAGES_PER_ARTICLE)]
                noisy = picks + rng.normal(scale=0.02, size=picks.shape).astype(np.float32)
                noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
                draft.add_article(
                    EmbeddedArticle(
                        article,
                        key=f"{number:012x}",
                        text=text,
                        paragraphs=tuple(spans),
                        passages=[
                            Passage(i, s, e, i + 1, i + 1, ((s, e),), 40)
                            for i, (s, e) in enumerate(spans)
                        ],
                        # One sentence a passage: its vector is the passage's.
                        vectors=noisy.astype(np.float32),
                        sentence_vectors=noisy.astype(np.float16),
                    )
                )
            manifest = Manifest(
                format=FORMAT_VERSION,
                generation=draft.name,
                model=reader.manifest.model,
                backend=reader.manifest.backend,
                dimension=reader.manifest.dimension,
                chunker=reader.manifest.chunker,
                articles=size // PASSAGES_PER_ARTICLE,
                passages=draft.passage_count,
                built_at=utc_now(),
            )
            draft.finish(manifest)
            draft.publish()
        except BaseException:
            draft.discard()
            raise


def resident_mb() -> float:
    """This process's resident memory in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(
    index: Path, store: str, every_word: bool = False, questions: int = QUESTIONS
) -> dict[str, object]:
    """Load `index`, then time answers (run in a fresh process by `main`)."""
    if every_word:
        search.COMMON_WORD_SHARE = 1.0
        search.PASSAGES_READ_BUDGET = sys.maxsize
    before = resident_mb()
    engine = Engine(settings_for(index, store))
    engine.warm_up()
    loaded = resident_mb()
    reader = engine.reader()
    embedder = engine.embedder()
    texts = [q.question for q in load_squad(XQUAD).questions][:questions]
    for question in texts[:10]:
        engine.ask(question)
    stages: dict[str, list[float]] = {
        k: [] for k in ("embed", "lexical", "dense", "fuse", "answer", "ask")
    }
    for question in texts:
        started = time.perf_counter()
        vector = embedder.embed([question])[0]
        embedded = time.perf_counter()
        lexical = lexical_search(reader, query_words(question), 50)
        searched_words = time.perf_counter()
        dense = dense_search(reader, vector, 50)
        searched_vectors = time.perf_counter()
        fuse([dense, lexical], 5)
        fused = time.perf_counter()
        stages["embed"].append(embedded - started)
        stages["lexical"].append(searched_words - embedded)
        stages["dense"].append(searched_vectors - searched_words)
        stages["fuse"].append(fused - searched_vectors)
        asked = engine.ask(question).took_ms / 1000
        stages["ask"].append(asked)
        # Choosing, scoring and checking the quotes: the whole answer less the stages above.
        stages["answer"].append(max(0.0, asked - (fused - started)))
    with ThreadPoolExecutor(8) as pool:
        started = time.perf_counter()
        concurrent = list(pool.map(lambda q: engine.ask(q).took_ms / 1000, texts))
        wall = time.perf_counter() - started
    return {
        "passages": reader.manifest.passages,
        "vector_index": reader.manifest.faiss_index,
        "rss_mb_after_load": round(loaded, 1),
        "rss_mb_before_load": round(before, 1),
        "disk_mb": round(_bytes_under(_stored_at(index, store)) / 1e6, 1),
        "one_thread_ms": {k: _percentiles(v) for k, v in stages.items()},
        "eight_threads_ms": _percentiles(concurrent),
        "eight_threads_answers_per_s": round(len(texts) / wall, 1),
    }


def _stored_at(index: Path, store: str) -> Path:
    """Where the index named `index` is on disk in `store` (see `settings_for`)."""
    return index if store == "local" else Path(f"{index}.db")


def _bytes_under(path: Path) -> int:
    """The size of a file, or of the files under a directory."""
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files)


def _percentiles(seconds: list[float]) -> dict[str, float]:
    p50, p95, p99 = np.percentile(np.array(seconds) * 1000, [50, 95, 99])
    return {"p50": round(p50, 1), "p95": round(p95, 1), "p99": round(p99, 1)}


def main() -> None:
    """Synthesise the indexes, measure each in a fresh process, print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-index", type=Path, required=True)
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the synthetic indexes here")
    parser.add_argument("--every-word", action="store_true", help="search every content word")
    parser.add_argument(
        "--store", choices=STORES, default="local", help="where the synthetic indexes live"
    )
    parser.add_argument(
        "--questions", type=int, default=QUESTIONS, help="XQuAD questions asked of each index"
    )
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--synthesise-into", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.store, args.every_word, args.questions)))
        return
    if args.synthesise_into:
        synthesise(args.base_index, settings_for(args.synthesise_into, args.store), args.sizes[0])
        return
    # Each step runs in a process of its own: memory is measured fresh, and a Milvus Lite
    # file is open in one process at a time.
    itself = [sys.executable, __file__, "--base-index", str(args.base_index)]
    with tempfile.TemporaryDirectory(prefix="citebot-scale-") as scratch:
        # The base index is local; on Milvus only the synthetic indexes are measured.
        indexes = [args.base_index] if args.store == "local" else []
        for size in args.sizes:
            started = time.perf_counter()
            target = (args.keep or Path(scratch)) / f"synthetic-{size}-{args.store}"
            if not _stored_at(target, args.store).exists():
                command = [*itself, "--store", args.store, "--sizes", str(size)]
                subprocess.run([*command, "--synthesise-into", str(target)], check=True)
                print(f"synthesised {size:,} passages in {time.perf_counter() - started:.0f} s")
            indexes.append(target)
        for index in indexes:
            output = subprocess.run(
                [
                    *itself,
                    "--measure",
                    str(index),
                    "--store",
                    args.store if index != args.base_index else "local",
                    "--questions",
                    str(args.questions),
                    *(["--every-word"] if args.every_word else []),
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            result = json.loads(output.strip().splitlines()[-1])
            one = result["one_thread_ms"]
            print(
                f"\n{result['passages']:,} passages ({result['vector_index']}):"
                f" {result['rss_mb_after_load']:,} MB resident after loading,"
                f" {result['disk_mb']:,} MB on disk"
            )
            for stage, figures in one.items():
                print(
                    f"  one thread  {stage:<8} p50 {figures['p50']:7.1f}  p95 {figures['p95']:7.1f}"
                    f"  p99 {figures['p99']:7.1f} ms"
                )
            eight = result["eight_threads_ms"]
            print(
                f"  8 threads   ask      p50 {eight['p50']:7.1f}  p95 {eight['p95']:7.1f}"
                f"  p99 {eight['p99']:7.1f} ms,"
                f" {result['eight_threads_answers_per_s']} answers/s"
            )


if __name__ == "__main__":
    main()
