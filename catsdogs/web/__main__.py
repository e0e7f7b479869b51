"""``python -m catsdogs.web``: the same command as ``python -m catsdogs.webapp``."""

from .cli import main

raise SystemExit(main())
