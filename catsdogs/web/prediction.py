"""One upload's work: decode it once, predict, draw; and the bound on how many run at once.

The decoded photo serves both the model's input (resized exactly as in training) and the
preview, so each upload is decoded once. It is dropped as soon as both are made, before the
model runs, and its memory is handed back to the operating system (see :func:`release_memory`):
without that, a server that has decoded a few large photos keeps their memory while idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import functools
import logging
import sys
import threading
import time
from collections.abc import AsyncIterator

import numpy as np

from .limits import busy_text
from .model_slot import ModelSlot
from .overlay import gradcam_overlay, png_base64, preview, upright
from .schemas import PredictionOut
from .uploads import UploadError, decode_upload

log = logging.getLogger("catsdogs.webapp")

#: After a photo of at least this many pixels, freed memory is handed back to the operating system.
RELEASE_FROM_PIXELS = 2_000_000


class ServerBusy(Exception):
    """Every decode slot stayed taken for the whole wait: answered 503 with a Retry-After header."""


class DecodeSlots:
    """At most ``count`` uploads decoded and predicted at once; the others wait up to ``wait_seconds``.

    An :class:`asyncio.Semaphore` taken before the work is handed to a worker thread: a waiting
    request holds only its upload's bytes, not a thread.
    """

    def __init__(self, count: int, wait_seconds: float):
        self.count = count
        self.wait_seconds = wait_seconds
        self._semaphore = asyncio.Semaphore(count)

    @contextlib.asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        try:
            await asyncio.wait_for(self._semaphore.acquire(), self.wait_seconds)
        except TimeoutError:
            raise ServerBusy(busy_text(self.count, self.wait_seconds)) from None
        try:
            yield
        finally:
            self._semaphore.release()


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or None on other C libraries and systems."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):  # musl, or no libc found
        return None


def release_memory() -> None:
    """Hand memory freed by the C heap back to the operating system (glibc only; elsewhere nothing).

    Pillow allocates a large image in blocks that glibc serves from its heaps once it has seen a
    few of that size; freed, they stay with the process. ``malloc_trim(0)`` returns them.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def predict_upload(slot: ModelSlot, data: bytes, name: str, images: bool, model_lock: threading.Lock,
                   max_bytes: int, max_pixels: int) -> PredictionOut:
    """Check, decode (once), predict and draw one upload; runs in a worker thread."""
    start = time.perf_counter()
    try:
        decoded = decode_upload(data, name, max_bytes, max_pixels)  # the input is checked before the model
    except UploadError:
        release_memory()  # a damaged photo may have been decoded in part before it failed
        raise
    pixels = decoded.image.width * decoded.image.height
    try:
        predictor = slot.get()
        model_input = predictor.preprocess_image(decoded.image)
        photo = preview(decoded.image) if images else None
    finally:
        orientation = decoded.orientation
        del decoded  # the full-size photo is not needed any more
        if pixels >= RELEASE_FROM_PIXELS:
            release_memory()
    photo_png = overlay_png = note = None
    with model_lock:  # one prediction at a time: TensorFlow uses every core anyway
        result = predictor.result(name, predictor.predict_arrays(model_input[np.newaxis])[0])
        if photo is not None:
            try:
                overlay = gradcam_overlay(predictor.model, model_input, photo)
            except Exception as error:  # e.g. a model without a convolutional block
                log.warning("Grad-CAM failed: %r", error)
                overlay, note = None, f"Grad-CAM is not available for this model ({error})."
    if photo is not None:
        photo_png = png_base64(upright(photo, orientation))
        overlay_png = png_base64(upright(overlay, orientation)) if overlay is not None else None
    return PredictionOut(
        name=result.name, label=result.label, probability=result.probability, confidence=result.confidence,
        classes=predictor.class_indices, threshold=predictor.threshold, image_size=list(predictor.image_size),
        photo_png=photo_png, gradcam_png=overlay_png, gradcam_note=note,
        seconds=round(time.perf_counter() - start, 3), model=slot.shown_path,
    )
