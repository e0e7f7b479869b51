"""The web app's command, kept where the README, the screenshot tool and ``catsdogs-web`` find it.

Start it with::

    python -m catsdogs.webapp                      # http://127.0.0.1:8000, models/best.keras
    python -m catsdogs.webapp --port 8080 --model models/best.keras --workdir .

The app itself lives in :mod:`catsdogs.web`, one module per job.
"""

from __future__ import annotations

from .web import create_app, main

__all__ = ["create_app", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
