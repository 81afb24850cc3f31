"""The web pages in a real browser: the application served on a loopback port, and headless
Chromium (Debian's `chromium` and `chromium-driver`, never a downloaded browser) driven by
Selenium. The browser tests and `python -m bench.screenshots` use both."""

from __future__ import annotations

import socket
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from starlette.types import ASGIApp

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# Without the flags that stop its background traffic, Chromium waits on a closed network.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
# Desktop and phone widths, in CSS pixels, with a screen's height.
DESKTOP = (1280, 800)
PHONE = (390, 844)


@contextmanager
def served(app: ASGIApp) -> Iterator[str]:
    """`app` served by uvicorn on a free loopback port in a thread; yields its base URL.

    The socket listens before the server starts, so a request made at once waits in its
    backlog instead of failing: nothing needs to wait for the server to be ready.
    """
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen(64)
    port = listening.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        listening.close()


@contextmanager
def chromium(size: tuple[int, int], *, javascript: bool = True) -> Iterator[webdriver.Chrome]:
    """Headless Chromium with a viewport of `size` (width, height) CSS pixels and a fresh
    profile; with `javascript` False, pages run no script (as a reader who turned it off)."""
    with tempfile.TemporaryDirectory(prefix="citebot-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        options.add_argument(f"--window-size={max(size[0], 500)},{size[1]}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        if not javascript:
            options.add_experimental_option(
                "prefs", {"profile.managed_default_content_settings.javascript": 2}
            )
        driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
        try:
            # A headless window is at least 500 pixels wide: a phone's width is emulated.
            width, height = size
            metrics = {"width": width, "height": height, "deviceScaleFactor": 1}
            driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride", {**metrics, "mobile": width < 500}
            )
            yield driver
        finally:
            driver.quit()
