"""The model on torch, through sentence-transformers.

Importing sentence-transformers (and torch) takes seconds, so it happens on first use only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

import numpy as np

from index.embed.base import LocalModelEmbedder, TokenRun, Vectors
from index.embed.model import ModelSpec

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


class SentenceTransformerEmbedder(LocalModelEmbedder):
    """A sentence-transformers model, loaded once on first use and safe to share by threads."""

    def __init__(self, spec: ModelSpec, *, backend: str = "torch", batch_size: int = 32) -> None:
        super().__init__(spec, backend=backend, batch_size=batch_size)
        self._model: SentenceTransformer | None = None

    @property
    def dimension(self) -> int:
        model = self._load()
        dimension = getattr(model, "get_embedding_dimension", None) or (
            model.get_sentence_embedding_dimension
        )
        return int(cast(int, dimension()))

    def embed(self, texts: Sequence[str]) -> Vectors:
        model = self._load()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def token_runs(self, texts: Sequence[str]) -> list[TokenRun]:
        model = self._load()
        if not texts:
            return []
        tokens = model.encode(
            list(texts),
            batch_size=self.batch_size,
            output_value="token_embeddings",
            convert_to_numpy=False,
            show_progress_bar=False,
        )
        encoded = model.tokenizer(
            list(texts),
            truncation=True,
            max_length=model.max_seq_length,
            return_offsets_mapping=True,
            return_special_tokens_mask=True,
        )
        return [
            TokenRun(
                vectors=np.asarray(vectors.float().numpy(), dtype=np.float32),
                offsets=np.array(offsets, dtype=np.int64).reshape(-1, 2),
                special=np.array(special, dtype=bool),
            )
            for vectors, offsets, special in zip(
                tokens, encoded["offset_mapping"], encoded["special_tokens_mask"], strict=True
            )
        ]

    def _load(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging

                transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
                model = SentenceTransformer(str(self.spec.path), device="cpu")
                model.max_seq_length = self.spec.max_seq_length
                self._model = model
            return self._model
