"""The screenshots in docs/img/: /ask and /source at a desktop's and a phone's width.

    .venv/bin/citebot build && .venv/bin/python -m bench.screenshots [--index DIR] [--out DIR]

Serves the index (by default the shipped seeds, as `citebot build` indexes them) on a
loopback port and opens the pages in headless Chromium (`tests.support.web`): the answer to
QUESTION, and the source page of its first citation, scrolled to the cited span.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from urllib.parse import urlencode

from bot.cli import settings_for
from bot.web.app import create_app
from index.engine import Engine
from tests.support.web import DESKTOP, PHONE, chromium, served

QUESTION = "who is Lety Pérez?"
OUT = Path(__file__).resolve().parents[1] / "docs" / "img"


def main() -> None:
    """Write web-{ask,source}-{desktop,phone}.png and print their sizes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=Path("citebot-index"))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    engine = Engine(settings_for(args.index))
    engine.warm_up()
    cited = engine.ask(QUESTION).citations[0].id
    pages = {"ask": "/ask?" + urlencode({"q": QUESTION}), "source": f"/source/{cited}"}
    args.out.mkdir(parents=True, exist_ok=True)
    with served(create_app(engine)) as site:
        for device, size in (("desktop", DESKTOP), ("phone", PHONE)):
            with chromium(size) as browser:
                for name, path in pages.items():
                    browser.get(site + path)
                    shot = args.out / f"web-{name}-{device}.png"
                    shot.write_bytes(browser.get_screenshot_as_png())
                    print(f"{shot}: {shot.stat().st_size / 1000:.0f} KB")


if __name__ == "__main__":
    main()
