"""The command ``python -m catsdogs.webapp``: serve the page and the API with uvicorn."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys

from ..paths import WorkspaceError

log = logging.getLogger("catsdogs.webapp")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m catsdogs.webapp",
        description="Serve a web page and a JSON API that predict cat or dog for an uploaded photo.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this computer only)")
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    parser.add_argument("--model", help="a saved .keras model (default: models/best.keras in the workspace)")
    parser.add_argument("--workdir", help="the tutorial's workspace (default: $CATSDOGS_WORKDIR, else the repository)")
    parser.add_argument("--threshold", type=float, default=0.5, help="probability from which class 1 is chosen")
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    args = parser.parse_args(argv)

    import uvicorn
    from uvicorn.logging import DefaultFormatter

    from ..env import quiet_tensorflow
    from .app import create_app

    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(DefaultFormatter("%(levelprefix)s %(message)s"))  # the look of uvicorn's own lines
        log.addHandler(handler)
    log.setLevel(args.log_level.upper())
    log.propagate = False
    quiet_tensorflow()
    try:
        app = create_app(args.model, args.workdir, args.threshold)
    except WorkspaceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not _is_loopback(args.host):
        log.warning("listening on %s: other computers on the network can use this app", args.host)
    shown_host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    shown_host = f"[{shown_host}]" if ":" in shown_host else shown_host
    print(f"Open http://{shown_host}:{args.port}/ in a browser (API docs: /docs). Ctrl+C stops the app.", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0
