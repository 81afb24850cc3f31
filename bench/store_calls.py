"""Where an answer's time goes in the store: each `IndexSource` call timed during warm asks.

    .venv/bin/python -m bench.store_calls --index DIR [--questions N]
    .venv/bin/python -m bench.store_calls --store milvus --milvus-uri URI [--questions N]

Questions are XQuAD dev questions, after 5 warm-up questions; prints milliseconds per answer,
then calls per answer and milliseconds per answer of each store method.
"""

from __future__ import annotations

import argparse
import collections
import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from index.config import STORES, Settings
from index.engine import Engine
from index.evaluate import load_squad
from index.interfaces import IndexSource

XQUAD = Path(__file__).resolve().parents[2] / "shared" / "data" / "xquad_en_dev.json"
_METHODS = [name for name in vars(IndexSource) if not name.startswith("_") and name != "manifest"]


def timed_methods(
    reader_type: type, seconds: collections.Counter[str], calls: collections.Counter[str]
) -> None:
    """Wrap the store methods of `reader_type` to add up their calls and time."""

    def wrap(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                seconds[name] += time.perf_counter() - started
                calls[name] += 1

        return timed

    for name in _METHODS:
        method = getattr(reader_type, name, None)
        if callable(method):
            setattr(reader_type, name, wrap(name, method))


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=Path("citebot-index"))
    parser.add_argument("--store", choices=STORES, default="local")
    parser.add_argument("--milvus-uri", default="citebot-milvus.db")
    parser.add_argument("--questions", type=int, default=35)
    args = parser.parse_args()
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, index_dir=args.index, store=args.store, milvus_uri=args.milvus_uri
    )
    questions = [q.question for q in load_squad(XQUAD).questions][: args.questions + 5]
    engine = Engine(settings)
    engine.warm_up()
    for question in questions[:5]:
        engine.ask(question)
    seconds: collections.Counter[str] = collections.Counter()
    calls: collections.Counter[str] = collections.Counter()
    timed_methods(type(engine.reader()), seconds, calls)
    started = time.perf_counter()
    for question in questions[5:]:
        engine.ask(question)
    count = len(questions) - 5
    print(f"{args.store} store: {(time.perf_counter() - started) / count * 1000:.1f} ms per answer")
    for name, spent in seconds.most_common():
        print(f"{name:<20} {calls[name] / count:5.1f} calls  {spent / count * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
