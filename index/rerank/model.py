"""The shipped reranker model on onnxruntime: (question, candidate) pairs in, logits out."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
from numpy.typing import NDArray
from tokenizers import Tokenizer

from index.errors import InputError
from index.rerank.pair import MAX_TOKENS

if TYPE_CHECKING:
    import onnxruntime

WEIGHTS = Path(__file__).parent / "weights"
MODEL_FILE = "reranker-int8.onnx"
TOKENIZER_FILE = "tokenizer.json"


def shipped() -> bool:
    """Whether a reranker model is installed with citebot (`WEIGHTS`)."""
    return (WEIGHTS / MODEL_FILE).is_file()


class Judge(Protocol):
    """What reads a question with its candidates: the reranker, or a stand-in in tests."""

    def logits(self, question: str, candidates: Sequence[str]) -> NDArray[np.float32]:
        """How well each candidate answers `question` (above 0: more likely than not)."""
        ...


class Reranker:
    """The cross-encoder in `directory` (the shipped one by default); safe for threads.

    The model and its tokenizer load at the first call. One call uses up to `threads`
    threads: candidates are few, and concurrency comes from the askers.
    """

    def __init__(self, directory: Path = WEIGHTS, *, threads: int = 1) -> None:
        if not (directory / MODEL_FILE).is_file():
            raise InputError(
                f"CITEBOT_RERANKER is on, but there is no reranker model in {directory};"
                " set CITEBOT_RERANKER=off, or train and export one (docs/reranker.md)"
            )
        self.directory = directory
        self.threads = threads
        self._lock = threading.Lock()
        self._session: onnxruntime.InferenceSession | None = None
        self._tokenizer: Tokenizer | None = None

    def logits(self, question: str, candidates: Sequence[str]) -> NDArray[np.float32]:
        """How well each candidate answers `question`: the model's logit (above 0: more
        likely than not)."""
        if not candidates:
            return np.zeros(0, dtype=np.float32)
        session, tokenizer = self._load()
        encodings = tokenizer.encode_batch([(question, candidate) for candidate in candidates])
        # Each pair runs alone: the int8 model scales its activations over all it is given,
        # so in a batch a pair's logit moved with the others beside it (by up to 4.1 over
        # news_dev's candidates), and padding every pair to the longest cost more time than
        # the runs apart (bench/rerank_pairs.py).
        logits = [
            session.run(
                None,
                {
                    "input_ids": np.array([e.ids], dtype=np.int64),
                    "attention_mask": np.array([e.attention_mask], dtype=np.int64),
                    "token_type_ids": np.array([e.type_ids], dtype=np.int64),
                },
            )[0]
            for e in encodings
        ]
        return np.asarray(logits, dtype=np.float32).reshape(-1)

    def _load(self) -> tuple[onnxruntime.InferenceSession, Tokenizer]:
        with self._lock:
            if self._session is None or self._tokenizer is None:
                self._tokenizer = pair_tokenizer(self.directory / TOKENIZER_FILE)
                self._session = _session(self.directory / MODEL_FILE, self.threads)
            return self._session, self._tokenizer


def pair_tokenizer(path: Path) -> Tokenizer:
    """The reranker's tokenizer: pairs cut to `MAX_TOKENS` (the longer text first, as in
    training), not padded (each pair runs alone)."""
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(MAX_TOKENS, strategy="longest_first")
    tokenizer.no_padding()
    return tokenizer


def _session(path: Path, threads: int) -> onnxruntime.InferenceSession:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
