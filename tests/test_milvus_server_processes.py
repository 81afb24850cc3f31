"""Several processes on one Milvus index: Milvus Lite's own gRPC server (`milvus-lite
server`, standing in for a Milvus server) serves one data directory over TCP; two reader
processes answer from the index; a build from a third process publishes a new generation, and
both readers answer from it at their next question. Each process is a client of the server
(`tests/support/milvus_roles.py`), with the fake embedder: this is about the store."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from tests.support.corpora import ARTICLES, write_corpus
from tests.support.paths import REPO

# Seconds any one step (the server starting, a process answering, a build) may take.
STEP_SECONDS = 60
HARBOUR = "Which pier opened in the harbour of Vigo?"
BRIDGE = "Who repaired the old bridge in Porto?"


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def next_line(process: subprocess.Popen[str]) -> dict[str, Any]:
    """The next JSON line a process prints, waiting for it (at most `STEP_SECONDS`)."""
    stdout: IO[str] | None = process.stdout
    assert stdout is not None
    ready, _, _ = select.select([stdout], [], [], STEP_SECONDS)
    line = stdout.readline() if ready else ""
    assert line, f"process {process.args} printed nothing (exit code {process.poll()})"
    shown: dict[str, Any] = json.loads(line)
    return shown


@pytest.fixture
def server_uri(tmp_path: Path) -> Iterator[str]:
    """Milvus Lite's gRPC server on a data directory of its own, on a free port; the URI is
    given once it says it listens."""
    port = free_port()
    data = tmp_path / "milvus"
    command = [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data)]
    with (tmp_path / "server.log").open("w") as log:
        server = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            assert server.stdout is not None
            ready, _, _ = select.select([server.stdout], [], [], STEP_SECONDS)
            banner = server.stdout.readline() if ready else ""
            assert f"listening on 127.0.0.1:{port}" in banner, "the server did not start"
            yield f"http://127.0.0.1:{port}"
        finally:
            # SIGTERM, not its clean SIGINT: a shell's background job ignores SIGINT, and
            # the data directory is thrown away.
            server.terminate()
            server.wait(STEP_SECONDS)


def client(role: str, uri: str, index_dir: Path, *arguments: str) -> subprocess.Popen[str]:
    """A client process of the server (`tests.support.milvus_roles`)."""
    environment = {
        **os.environ,
        "CITEBOT_STORE": "milvus",
        "CITEBOT_MILVUS_URI": uri,
        "CITEBOT_MILVUS_COLLECTION": "shared",
        "CITEBOT_INDEX_DIR": str(index_dir),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.milvus_roles", role, *arguments],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=environment,
    )


def build(uri: str, corpus: Path) -> str:
    """Build in a process of its own; the generation it published."""
    builder = client("build", uri, corpus.parent / "index", str(corpus))
    generation: str = next_line(builder)["generation"]
    assert builder.wait(STEP_SECONDS) == 0
    return generation


def ask(reader: subprocess.Popen[str], question: str) -> dict[str, Any]:
    assert reader.stdin is not None
    reader.stdin.write(question + "\n")
    reader.stdin.flush()
    return next_line(reader)


def test_two_readers_share_one_index_and_both_pick_up_a_build_from_a_third_process(
    server_uri: str, tmp_path: Path
) -> None:
    first = build(server_uri, write_corpus(tmp_path / "first", ARTICLES[:1]))
    readers = [client("reader", server_uri, tmp_path / f"reader{n}") for n in range(2)]
    try:
        assert [next_line(reader)["ready"] for reader in readers] == [first, first]
        for reader in readers:
            assert ask(reader, HARBOUR) == {"generation": first, "articles": ["harbour"]}
            assert "bridge" not in ask(reader, BRIDGE)["articles"]

        second = build(server_uri, write_corpus(tmp_path / "second", ARTICLES[:2]))
        assert second != first
        for reader in readers:
            assert ask(reader, BRIDGE) == {"generation": second, "articles": ["bridge"]}
            assert ask(reader, HARBOUR) == {"generation": second, "articles": ["harbour"]}
    finally:
        for reader in readers:
            assert reader.stdin is not None
            reader.stdin.close()
        codes = [reader.wait(STEP_SECONDS) for reader in readers]
    assert codes == [0, 0]
