"""Driving the web app in Debian's headless Chromium with Playwright (browser test and screenshot tool).

Playwright's own browser download is not used: the browser is the system's ``chromium``
(``apt-get install chromium``), started with every background service off so that the
only traffic is to the app on 127.0.0.1.
"""

from __future__ import annotations

import os
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
