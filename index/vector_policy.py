"""How both stores index passage vectors: exact search up to `FLAT_LIMIT` passages, else an
HNSW graph built with these parameters.

The local store builds its FAISS index by them (`index.local.vectors`), the Milvus store its
collection's vector index (`index.milvus.schema`), so that both choose alike.
"""

from __future__ import annotations

# Exact search reads every vector: 1.2 ms at 10k passages, 19 ms at 100k on the 2-core
# machine without VNNI (docs/benchmarks.md), against under a millisecond for the graph.
FLAT_LIMIT = 50_000
HNSW_NEIGHBOURS = 32
HNSW_CONSTRUCTION_DEPTH = 100
