"""A full disk or a read-only index directory during a build: a clear message, and the
previous index intact. Runs on a real small tmpfs in a private mount namespace."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent

SCENARIO = textwrap.dedent(
    """
    import json, subprocess, sys
    from pathlib import Path
    from index.build import build_index
    from index.config import Settings
    from index.engine import Engine
    from index.errors import CitebotError
    from tests.support.embedder import FakeEmbedder

    disk, corpus = Path(sys.argv[1]), Path(sys.argv[2])
    settings = Settings(_env_file=None, index_dir=disk / "index")
    build_index([corpus], settings, embedder=FakeEmbedder())
    report = {}

    def attempt(name):
        try:
            build_index([corpus], settings, embedder=FakeEmbedder())
            report[name] = "built"
        except CitebotError as error:
            report[name] = str(error)
        engine = Engine(settings, embedder=FakeEmbedder())
        report[name + " still answers"] = engine.search("harbour", k=1)[0].article_id
        report[name + " drafts"] = len(list((disk / "index" / "generations").glob(".tmp-*")))

    (corpus / "big.txt").write_text("Big\\n\\n" + "Many words fill the disk. " * 20000)
    attempt("full")
    (corpus / "big.txt").unlink()
    (corpus / "extra.txt").write_text("Extra\\n\\nA small new article.")
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    attempt("read-only")
    print(json.dumps(report))
    """
)


def run_on_small_disk(tmp_path: Path, scenario: str, size: str) -> dict[str, Any]:
    """Run `scenario` (arguments: the disk and the corpus directory `tmp_path/corpus`) with
    a tmpfs of `size` mounted at `tmp_path/disk`; the JSON it printed last."""
    disk = tmp_path / "disk"
    disk.mkdir()
    script = tmp_path / "scenario.py"
    script.write_text(scenario, "utf-8")
    completed = subprocess.run(
        [
            "unshare",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            f'mount -t tmpfs -o size={size} tmpfs "{disk}" && exec "$0" "$@"',
            sys.executable,
            str(script),
            str(disk),
            str(tmp_path / "corpus"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"},
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    report: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return report


# The disk fills up just as the vector file is written, after the database and postings,
# and has room again for the files after it: only the vector file meets the full disk.
VECTORS_SCENARIO = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    import numpy as np
    import index.local.writer as writer
    from index.build import build_index
    from index.config import Settings
    from index.engine import Engine
    from index.errors import CitebotError
    from tests.support.embedder import FakeEmbedder

    disk, corpus = Path(sys.argv[1]), Path(sys.argv[2])
    settings = Settings(_env_file=None, index_dir=disk / "index")
    build_index([corpus], settings, embedder=FakeEmbedder())
    filler = disk / "filler"
    real_build, real_save = writer.build_vector_index, np.save

    def fill_then_build(*args, **kwargs):
        built = real_build(*args, **kwargs)
        descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(descriptor, bytes(512))
        except OSError:
            pass
        os.close(descriptor)
        return built

    def free_then_save(*args, **kwargs):
        filler.unlink(missing_ok=True)
        return real_save(*args, **kwargs)

    writer.build_vector_index, np.save = fill_then_build, free_then_save
    (corpus / "new.txt").write_text("New\\n\\nA new article about the harbour.")
    report = {}
    try:
        build_index([corpus], settings, embedder=FakeEmbedder())
        report["build"] = "built"
    except CitebotError as error:
        report["build"] = str(error)
    writer.build_vector_index, np.save = real_build, real_save
    filler.unlink(missing_ok=True)
    try:
        engine = Engine(settings, embedder=FakeEmbedder())
        report["answers"] = engine.search("harbour reopened", k=1)[0].article_id
    except CitebotError as error:
        report["answers"] = str(error)
    report["drafts"] = len(list((disk / "index" / "generations").glob(".tmp-*")))
    print(json.dumps(report))
    """
)


@pytest.mark.parametrize("articles", [1, 60])
def test_a_full_disk_while_the_vectors_are_written_keeps_the_previous_index(
    tmp_path: Path, articles: int
) -> None:
    """One article's vectors wait in a write buffer (FAISS itself left an empty file and
    said nothing); sixty's meet the full disk in FAISS's write (a RuntimeError)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for number in range(articles):
        (corpus / f"harbour{number:02}.txt").write_text(
            f"Harbour {number}\n\nThe harbour reopened today, said harbour master {number}.",
            "utf-8",
        )
    report = run_on_small_disk(tmp_path, VECTORS_SCENARIO, "4m")
    index = tmp_path / "disk" / "index"
    assert report["build"] == (
        f"cannot write the index at {index}: the disk is full; the previous index is unchanged"
    )
    assert str(report["answers"]).startswith("harbour")
    assert report["drafts"] == 0


def test_full_disk_and_read_only_index_dir(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "harbour.txt").write_text("Harbour\n\nThe harbour reopened today.", "utf-8")
    report = run_on_small_disk(tmp_path, SCENARIO, "256k")
    assert report["full"].startswith(f"cannot write the index at {disk / 'index'}")
    assert "full" in report["full"] and "the previous index is unchanged" in report["full"]
    assert (
        report["read-only"] == f"{disk / 'index'} is not writable; choose another --index directory"
    )
    for case in ("full", "read-only"):
        assert report[f"{case} still answers"] == "harbour.txt"
        assert report[f"{case} drafts"] == 0
