"""End to end: the web app on a real uvicorn server, used in Debian's headless Chromium through Playwright.

Skipped when /usr/bin/chromium or the playwright package is missing, except in CI (the
environment variable CI is set), where that is a failure: .ci/run installs the browser.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from catsdogs import webapp
from catsdogs.predict import Predictor
from tools import webapp_driver as headless

REPO = Path(__file__).resolve().parent.parent


def _browser_problem() -> str | None:
    if not Path(headless.CHROMIUM).exists():
        return f"{headless.CHROMIUM} is missing (install Debian's chromium: apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is missing (pip install -r requirements-dev.txt)"
    return None


@pytest.fixture(scope="module")
def browser():
    problem = _browser_problem()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"the browser test must run in CI: {problem}")
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = headless.launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server(tiny_workspace):
    with headless.serve_in_background(webapp.create_app(workdir=tiny_workspace.root)) as url:
        yield url


@pytest.fixture
def page(browser, server):
    """A fresh page that records every request it makes, to check they all stay on the app."""
    context = browser.new_context(viewport={"width": 1040, "height": 800})
    page = context.new_page()
    page.requests = []
    page.on("request", lambda request: page.requests.append(request.url))
    yield page
    context.close()
    outside = [url for url in page.requests if not url.startswith((server, "data:", "blob:"))]
    assert outside == [], f"the page talked to something else than the app: {outside}"


@pytest.fixture(scope="module")
def photos(tiny_workspace) -> list[Path]:
    return sorted((tiny_workspace.root / "photos").iterdir())


def test_uploading_a_photo_shows_label_confidence_and_both_pictures(page, server, photos, tiny_workspace):
    predictor = Predictor.load(workdir=tiny_workspace.root)
    for photo in (photos[0], photos[1]):  # a cat and a dog
        label = headless.upload_photo(page, server, photo)
        expected = predictor.predict(photo)
        assert label == expected.label
        assert page.text_content("#confidence") == f"{100 * expected.confidence:.1f} %"
        assert page.text_content("#name") == photo.name
        for image in ("#photo", "#gradcam"):
            assert page.eval_on_selector(image, "img => img.naturalWidth") == 90
        assert page.is_hidden("#error") and page.is_hidden("#model-banner")
    assert "classes cats / dogs" in page.text_content("#model-info")


def drop_files(page, files: list[tuple[str, bytes, str]]) -> None:
    """Drop files on the drop target the way a browser does: a drop event carrying a DataTransfer."""
    payload = [{"name": name, "data": base64.b64encode(data).decode(), "type": kind} for name, data, kind in files]
    page.eval_on_selector("#drop", """(target, files) => {
        const transfer = new DataTransfer();
        for (const f of files) {
            const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
            transfer.items.add(new File([bytes], f.name, { type: f.type }));
        }
        target.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }""", payload)


def test_drag_and_drop_takes_one_photo_and_refuses_several(page, server, photos):
    page.goto(server + "/")
    page.wait_for_selector("body[data-health]", state="attached")
    drop_files(page, [(photos[3].name, photos[3].read_bytes(), "image/jpeg")])
    page.wait_for_selector('body[data-state="done"]', state="attached")
    assert page.text_content("#label") in {"cats", "dogs"} and page.text_content("#name") == photos[3].name

    drop_files(page, [(p.name, p.read_bytes(), "image/jpeg") for p in photos[:2]])
    page.wait_for_selector('body[data-state="error"]', state="attached")
    assert "One photo at a time" in page.text_content("#error") and page.is_hidden("#result")


def test_a_text_file_named_jpg_gets_a_clear_message(page, server, tmp_path):
    fake = tmp_path / "holiday.jpg"
    fake.write_text("this is not a photo")
    with pytest.raises(RuntimeError, match="holiday.jpg is not an image: its content is text"):
        headless.upload_photo(page, server, fake)
    assert page.is_hidden("#result")


def test_without_a_model_the_page_says_which_notebook_to_run(browser, photos, tiny_workspace, tmp_path):
    root = tmp_path / "fresh"
    (root / "models").mkdir(parents=True)  # an empty workspace: the notebooks have not run yet
    with headless.serve_in_background(webapp.create_app(workdir=root)) as url:
        page = browser.new_page()
        try:
            page.goto(url + "/")
            page.wait_for_selector("#model-banner:not([hidden])")
            assert "03_training.ipynb" in page.text_content("#model-banner")
            page.set_input_files("#file", str(photos[0]))
            page.wait_for_selector('body[data-state="error"]', state="attached")
            assert "03_training.ipynb" in page.text_content("#error")
            assert page.is_hidden("#model-banner")  # said once, not twice

            for name in ("best.keras", "data_config.json"):  # the notebooks have run: no restart needed
                shutil.copy(tiny_workspace.models / name, root / "models" / name)
            page.set_input_files("#file", str(photos[0]))
            page.wait_for_selector('body[data-state="done"]', state="attached")
            assert page.text_content("#label") in {"cats", "dogs"} and page.is_hidden("#error")
            page.wait_for_selector("#model-info:has-text('classes cats / dogs')")
            assert page.is_hidden("#model-banner")
        finally:
            page.close()


def test_the_screenshot_tool_saves_the_page(browser, photos, tiny_workspace, tmp_path, capsys):
    from tools import screenshot_webapp as tool

    out = tmp_path / "webapp.png"
    args = [str(photos[1]), "--workdir", str(tiny_workspace.root), "--out", str(out)]
    with ThreadPoolExecutor(1) as pool:  # its own thread: Playwright's sync API allows one per thread
        assert pool.submit(tool.main, args).result(timeout=300) == 0
    assert f"the page shows '{photos[1].name[:3]}s'" in capsys.readouterr().out
    with Image.open(out) as shot:
        assert shot.format == "PNG" and shot.width == 1040 and shot.height > 600
