"""Client processes of one Milvus server, for `tests/test_milvus_server_processes.py`.

    python -m tests.support.milvus_roles reader
        answer each question read on stdin (one JSON line each: the generation and the
        cited articles)
    python -m tests.support.milvus_roles build FILE
        build the index from FILE; print its generation

Both use the fake embedder and take their settings from the environment
(`CITEBOT_STORE=milvus`, `CITEBOT_MILVUS_URI=http://...`, `CITEBOT_MILVUS_COLLECTION`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from index.build import build_index
from index.config import Settings
from index.engine import Engine
from tests.support.embedder import FakeEmbedder


def reader(settings: Settings) -> None:
    """Say "ready" once the index is open, then answer each line of stdin."""
    engine = Engine(settings, embedder=FakeEmbedder())
    engine.warm_up()
    print(json.dumps({"ready": engine.reader().generation}), flush=True)
    for line in sys.stdin:
        answer = engine.ask(line.strip())
        shown = {
            "generation": engine.reader().generation,
            "articles": [citation.article_id for citation in answer.citations],
        }
        print(json.dumps(shown), flush=True)


def build(settings: Settings, paths: list[Path]) -> None:
    """Build the index from `paths`; print the generation published."""
    summary = build_index(paths, settings, embedder=FakeEmbedder())
    print(json.dumps({"generation": summary.generation}), flush=True)


def main(arguments: list[str]) -> None:
    """Run the role `arguments[0]`."""
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    if arguments[0] == "reader":
        reader(settings)
    else:
        build(settings, [Path(argument) for argument in arguments[1:]])


if __name__ == "__main__":
    main(sys.argv[1:])
