"""The vector index against brute force: exact when flat, at least the target recall as HNSW."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from index.local import vectors as vector_index
from index.local.vectors import TARGET_RECALL, build_vector_index, recall_at_k


def clustered_unit_vectors(count: int, dimension: int = 32, seed: int = 1) -> NDArray[np.float32]:
    """Points around the same few centres (topics) whatever the seed, like text embeddings."""
    centres = np.random.default_rng(0).normal(size=(20, dimension))
    rng = np.random.default_rng(seed)
    points = centres[rng.integers(0, 20, count)] + 0.6 * rng.normal(size=(count, dimension))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points.astype(np.float32)


def brute_force_top(
    vectors: NDArray[np.float32], queries: NDArray[np.float32], k: int
) -> NDArray[np.int64]:
    return np.argsort(-(queries @ vectors.T), axis=1, kind="stable")[:, :k]


def test_flat_index_returns_exactly_the_brute_force_neighbours() -> None:
    vectors = clustered_unit_vectors(2_000)
    queries = clustered_unit_vectors(50, seed=2)
    built = build_vector_index(vectors, "flat")
    scores, ids = built.index.search(queries, 10)
    expected = brute_force_top(vectors, queries, 10)
    assert built.kind == "Flat"
    assert (ids == expected).mean() > 0.99  # ties between equal scores may swap
    np.testing.assert_allclose(scores[:, 0], (queries @ vectors.T).max(axis=1), rtol=1e-5)


def test_hnsw_search_depth_reaches_the_recall_target_on_new_queries() -> None:
    vectors = clustered_unit_vectors(5_000)
    queries = clustered_unit_vectors(200, seed=3)
    built = build_vector_index(vectors, "hnsw")
    assert built.kind.startswith("HNSW")
    assert built.search_depth is not None
    assert built.recall_at_10 >= TARGET_RECALL
    _, found = built.index.search(queries, 10)
    assert recall_at_k(brute_force_top(vectors, queries, 10), found) >= TARGET_RECALL - 0.02


def test_auto_is_exact_up_to_the_limit_and_a_graph_above_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vectors = clustered_unit_vectors(600)
    assert build_vector_index(vectors, "auto").kind == "Flat"
    monkeypatch.setattr(vector_index, "FLAT_LIMIT", 500)
    assert build_vector_index(vectors, "auto").kind.startswith("HNSW")


def test_recall_counts_shared_ids() -> None:
    truth = np.array([[1, 2, 3, 4]])
    assert recall_at_k(truth, np.array([[4, 3, 9, 8]])) == 0.5
