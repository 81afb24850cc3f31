"""A full disk or a read-only index directory during a build: a clear message, and the
previous index intact. Runs on a real small tmpfs in a private mount namespace."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

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


def test_full_disk_and_read_only_index_dir(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    corpus = tmp_path / "corpus"
    disk.mkdir()
    corpus.mkdir()
    (corpus / "harbour.txt").write_text("Harbour\n\nThe harbour reopened today.", "utf-8")
    script = tmp_path / "scenario.py"
    script.write_text(SCENARIO, "utf-8")
    completed = subprocess.run(
        [
            "unshare",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            f'mount -t tmpfs -o size=256k tmpfs "{disk}" && exec "$0" "$@"',
            sys.executable,
            str(script),
            str(disk),
            str(corpus),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"},
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["full"].startswith(f"cannot write the index at {disk / 'index'}")
    assert "full" in report["full"] and "the previous index is unchanged" in report["full"]
    assert (
        report["read-only"] == f"{disk / 'index'} is not writable; choose another --index directory"
    )
    for case in ("full", "read-only"):
        assert report[f"{case} still answers"] == "harbour.txt"
        assert report[f"{case} drafts"] == 0
