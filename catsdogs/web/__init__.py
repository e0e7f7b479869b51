"""The web page and JSON API: upload a photo, get cat or dog, the confidence and a Grad-CAM overlay.

One job per module:

* :mod:`.limits` — every limit (bytes, pixels, formats, decodes at once) and the texts that state it;
* :mod:`.body_limit` — ASGI middleware that refuses an oversized request body before storing it;
* :mod:`.model_slot` — the model, loaded on first use and again whenever its files change;
* :mod:`.uploads` — checking and decoding one upload (once) with :func:`catsdogs.images.open_image`;
* :mod:`.prediction` — one upload's work (decode, predict, draw), with a bound on how many run at once;
* :mod:`.overlay` — the upright preview and the Grad-CAM overlay;
* :mod:`.schemas` — the JSON answers, as documented at ``/docs``;
* :mod:`.app` — :func:`create_app`, the routes and the error handlers;
* :mod:`.cli` — the command ``python -m catsdogs.webapp``.
"""

from .app import create_app
from .cli import main

__all__ = ["create_app", "main"]
