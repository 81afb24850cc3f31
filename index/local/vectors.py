"""The FAISS index over passage vectors: exact while that is fast enough, else HNSW.

Vectors are L2-normalised, so inner product is cosine. Up to `FLAT_LIMIT` passages the index
is exact (flat). Above it, an HNSW graph is built and its search depth (efSearch) is the
smallest that finds at least `TARGET_RECALL` of the exact top 10 for a sample of the corpus's
own vectors used as queries. The choice and the measured recall go into the manifest. The
limit and the graph's parameters are `index.vector_policy`'s, shared with the Milvus store.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from index.config import IndexKind
from index.vector_policy import FLAT_LIMIT, HNSW_CONSTRUCTION_DEPTH, HNSW_NEIGHBOURS

if TYPE_CHECKING:
    import faiss

TARGET_RECALL = 0.98
SEARCH_DEPTHS = (64, 128, 256, 512, 1024)
_RECALL_QUERIES = 200
_RECALL_K = 10
# Length of the random offset that turns a passage vector into a query (cosine about 0.8).
_QUERY_OFFSET = 0.75


@dataclass(frozen=True, slots=True)
class VectorIndex:
    """A built FAISS index and how it was chosen."""

    index: faiss.Index
    kind: str
    search_depth: int | None
    recall_at_10: float


def build_vector_index(vectors: NDArray[np.float32], kind: IndexKind = "auto") -> VectorIndex:
    """Index `vectors` (row i is passage i) with the kind asked for, or by corpus size."""
    import faiss

    dimension = vectors.shape[1]
    if kind == "flat" or (kind == "auto" and len(vectors) <= FLAT_LIMIT):
        flat = faiss.IndexFlatIP(dimension)
        flat.add(vectors)
        return VectorIndex(flat, "Flat", None, 1.0)
    graph = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = HNSW_CONSTRUCTION_DEPTH
    graph.add(vectors)
    depth, recall = choose_search_depth(graph, vectors)
    graph.hnsw.efSearch = depth
    return VectorIndex(graph, f"HNSW{HNSW_NEIGHBOURS}", depth, recall)


def write_vector_index(index: faiss.Index, path: Path) -> None:
    """Write `index` to `path` through a Python file, so that a full disk is an `OSError`
    like any other write's. `faiss.write_index` says so in a RuntimeError, or not at all for
    an index whose bytes wait in its buffer: it leaves an empty file behind."""
    import faiss

    with path.open("wb") as handle:
        writer = faiss.PyCallbackIOWriter(handle.write)  # type: ignore[attr-defined]
        faiss.write_index(index, writer)


def choose_search_depth(
    graph: faiss.IndexHNSWFlat, vectors: NDArray[np.float32]
) -> tuple[int, float]:
    """The smallest efSearch whose recall@10 against exact search reaches the target."""
    import faiss

    rng = np.random.default_rng(0)
    sample = vectors[rng.choice(len(vectors), min(_RECALL_QUERIES, len(vectors)), replace=False)]
    # Questions sit near passages but are not passages: move each sample off its own point.
    noise = rng.normal(size=sample.shape).astype(np.float32)
    noise *= _QUERY_OFFSET / np.linalg.norm(noise, axis=1, keepdims=True)
    sample = sample + noise
    sample /= np.linalg.norm(sample, axis=1, keepdims=True)
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    k = min(_RECALL_K, len(vectors))
    _, truth = exact.search(sample, k)
    recall = 0.0
    for depth in SEARCH_DEPTHS:
        graph.hnsw.efSearch = depth
        _, found = graph.search(sample, k)
        recall = recall_at_k(truth, found)
        if recall >= TARGET_RECALL:
            return depth, recall
    return SEARCH_DEPTHS[-1], recall


def recall_at_k(truth: NDArray[np.int64], found: NDArray[np.int64]) -> float:
    """Share of the exact top-k ids that the approximate search also returned."""
    hits = sum(len(set(t) & set(f)) for t, f in zip(truth.tolist(), found.tolist(), strict=True))
    return hits / truth.size
