"""Take a screenshot of the web app answering for one photo, for the README.

    python -m tools.screenshot_webapp PHOTO [--workdir DIR] [--model PATH] [--out figures/webapp.png]   # from the repository

Starts the app on a free 127.0.0.1 port with the given model (default: the one the app chooses),
uploads PHOTO through the page's file input in headless Chromium (Debian's ``chromium`` package,
driven by Playwright), and saves a full-page PNG (default: ``figures/webapp.png`` in the workspace).
The photo appears in the screenshot: use one you may publish.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.screenshot_webapp", description=__doc__.split("\n\n")[0])
    parser.add_argument("photo", type=Path, help="the photo to upload")
    parser.add_argument("--workdir", help="the tutorial's workspace (default: $CATSDOGS_WORKDIR, else the repository)")
    parser.add_argument("--model", help="a saved .keras model (default: models/best.keras in the workspace)")
    parser.add_argument("--out", type=Path, help="where to save the PNG (default: figures/webapp.png in the workspace)")
    parser.add_argument("--width", type=int, default=1040, help="browser window width in CSS pixels (default: 1040)")
    parser.add_argument("--scale", type=float, default=1.0, help="device pixel ratio, e.g. 2 for a sharper image")
    args = parser.parse_args(argv)

    from catsdogs import paths, webapp
    from catsdogs.env import quiet_tensorflow

    from . import webapp_driver as headless

    if not args.photo.is_file():
        parser.error(f"{args.photo}: no such file")
    if not Path(headless.CHROMIUM).exists():
        print(f"error: {headless.CHROMIUM} is missing: install it with `apt-get install chromium`", file=sys.stderr)
        return 2
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("error: the playwright package is missing: pip install -r requirements-dev.txt", file=sys.stderr)
        return 2

    quiet_tensorflow()
    try:
        app = webapp.create_app(args.model, args.workdir)
    except paths.WorkspaceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out = args.out or paths.workspace(args.workdir, create=False).figures / "webapp.png"
    with headless.serve_in_background(app) as url, sync_playwright() as playwright:
        browser = headless.launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": args.width, "height": 700}, device_scale_factor=args.scale)
            try:
                label = headless.upload_photo(page, url, args.photo)
            except RuntimeError as error:
                print(f"error: the app refused the photo: {error}", file=sys.stderr)
                return 1
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=True)
        finally:
            browser.close()
    print(f"{out}: the page shows '{label}' for {args.photo.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
