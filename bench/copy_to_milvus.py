"""Copy a local index into Milvus without embedding anything again, and time the store.

    .venv/bin/python -m bench.copy_to_milvus --index DIR --milvus-uri URI [ARTICLES ...]

ARTICLES are the files the local index was built from. `citebot build` runs on the Milvus
store with an embedder that looks each passage and sentence up in the local index instead of
running the model, so the build's `store` stage is what Milvus costs. Then time answers on
either store with `bench/ask_latency.py`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.build import build_index, title_context
from index.config import Settings
from index.embed import Vectors
from index.embed.model import load_tokenizer, resolve_model
from index.local.reader import IndexReader


class LookupEmbedder:
    """Returns the vectors a local index stored for each passage it embedded, and for the
    passage's sentences."""

    def __init__(self, reader: IndexReader) -> None:
        manifest = reader.manifest
        self.name, self.backend, self.dimension = (
            manifest.model,
            manifest.backend,
            manifest.dimension,
        )
        tokenizer = load_tokenizer(resolve_model(manifest.model).path)
        passages = list(reader.all_passages())
        articles = reader.articles(sorted({p.article_id for p in passages}))
        self.vectors: dict[str, tuple[Vectors, Vectors]] = {}
        stored = reader.vectors.reconstruct_n(0, reader.vectors.ntotal)
        for passage in passages:
            article = articles[passage.article_id]
            context = title_context(article.title, tokenizer)
            rows = slice(passage.sentence_row, passage.sentence_row + len(passage.sentences))
            self.vectors[f"{context}\n{article.text[passage.start : passage.end]}"] = (
                stored[passage.id],
                np.asarray(reader.sentence_vectors[rows], dtype=np.float32),
            )

    def embed(self, texts: Sequence[str]) -> Vectors:
        """The stored vector of each passage."""
        return np.vstack([self.vectors[text][0] for text in texts]).astype(np.float32)

    def embed_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[Vectors, Vectors]:
        """The stored vector of each passage and of its sentences (`spans` are those)."""
        sentences = [self.vectors[text][1] for text in texts]
        assert [len(rows) for rows in sentences] == [len(pairs) for pairs in spans]
        return self.embed(texts), np.vstack(sentences).astype(np.float32)


def main() -> None:
    """Copy, and print the build summary's counts and stage times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--milvus-uri", required=True)
    parser.add_argument("articles", type=Path, nargs="+")
    args = parser.parse_args()
    embedder = LookupEmbedder(IndexReader.open(args.index))
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, index_dir=args.index, store="milvus", milvus_uri=args.milvus_uri
    )
    summary = build_index(args.articles, settings, embedder=embedder, full=True)
    print(
        json.dumps(
            {
                "articles": summary.articles,
                "passages": summary.passages,
                "seconds": summary.seconds,
                "stage_seconds": summary.stage_seconds,
            }
        )
    )


if __name__ == "__main__":
    main()
