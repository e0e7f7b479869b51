"""Running the web app on a real server and driving it in headless Chromium (browser test, screenshot tool).

Not part of the package: only ``tests/`` and ``tools/screenshot_webapp.py`` use it. Playwright's
own browser download is not used: the browser is the system's ``chromium``
(``apt-get install chromium``), started with every background service off so that the only
traffic is to the app on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

CHROMIUM = os.environ.get("CATSDOGS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def launch_chromium(playwright, executable: str = CHROMIUM):
    """A headless Chromium browser from ``playwright`` (a started ``sync_playwright()``)."""
    return playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)


def upload_photo(page, base_url: str, photo: str | Path, timeout_ms: float = 60_000) -> str:
    """Open the app, upload ``photo`` through the file input and wait for the answer.

    The page marks its progress on ``<body>`` (``data-health`` once the model status is shown,
    ``data-state`` busy, done or error): the page's Content-Security-Policy forbids the string
    evaluation that ``wait_for_function`` needs. Returns the label the page shows; raises
    ``RuntimeError`` with the page's message when the app refused the photo.
    """
    page.goto(base_url + "/")
    page.wait_for_selector("body[data-health]", state="attached", timeout=timeout_ms)  # the model status is shown
    page.set_input_files("#file", str(photo))
    page.wait_for_selector('body[data-state="done"], body[data-state="error"]', state="attached", timeout=timeout_ms)
    if page.get_attribute("body", "data-state") == "error":
        raise RuntimeError(page.text_content("#error"))
    return (page.text_content("#label") or "").strip()


@contextlib.contextmanager
def serve_in_background(app, host: str = "127.0.0.1", port: int = 0, timeout: float = 120.0) -> Iterator[str]:
    """Run the ASGI ``app`` with uvicorn in a thread and yield its base URL; stop it on exit.

    ``port=0`` picks a free port.
    """
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    try:
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the web app did not start (see the log above)")
            time.sleep(0.05)
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
