"""What a generation holds and how it was made: the record both stores keep beside it.

The local store writes it as `manifest.json` in the generation's directory
(`index.local.layout`); the Milvus store keeps it as a property of the generation's passages
collection (`index.milvus.schema`). Either reader checks its format before trusting it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from index.errors import IndexDamagedError, IndexFormatError

FORMAT_VERSION = 4
# The type of each kind of field a manifest has, by its annotation.
_FIELD_TYPES: dict[str, type] = {"int": int, "str": str, "dict[str, Any]": dict}


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a generation holds and how it was made; a reader checks it before trusting it."""

    format: int
    generation: str
    model: str
    backend: str
    dimension: int
    chunker: dict[str, Any]
    articles: int
    passages: int
    built_at: str
    sentences: int = 0
    faiss_index: str = "Flat"
    extra: dict[str, Any] = field(default_factory=dict)

    def signature(self) -> dict[str, Any]:
        """The settings that decide whether old vectors and passages can be reused."""
        return {
            "format": self.format,
            "model": self.model,
            "backend": self.backend,
            "chunker": self.chunker,
        }

    def require_format(self, where: str, fix: str) -> None:
        """Raise `IndexFormatError` unless this generation (the index `where`) has the format
        this citebot reads."""
        if self.format != FORMAT_VERSION:
            raise IndexFormatError(
                f"the index {where} has format {self.format}, this citebot reads format"
                f" {FORMAT_VERSION}; {fix}",
                found=self.format,
            )

    @classmethod
    def from_json(cls, data: Any) -> Manifest:
        """A manifest from its JSON object; `TypeError` when a field is missing, unknown or
        of another type than a build writes (a file that parses but was damaged)."""
        if not isinstance(data, dict):
            raise TypeError("a manifest is a JSON object")
        manifest = cls(**data)
        for item in fields(cls):
            value = getattr(manifest, item.name)
            if isinstance(value, bool) or not isinstance(value, _FIELD_TYPES[str(item.type)]):
                raise TypeError(f"the manifest's {item.name} is not {item.type}")
        return manifest

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """Load a manifest; `IndexDamagedError` when it is missing or malformed."""
        try:
            return cls.from_json(json.loads(path.read_text("utf-8")))
        except (OSError, ValueError, TypeError) as error:
            raise IndexDamagedError(
                f"the index manifest {path} cannot be read; run `citebot build --full`"
            ) from error


def utc_now() -> str:
    """The current time, ISO 8601 in UTC, to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()
