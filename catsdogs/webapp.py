"""A small web app: upload a photo, get cat or dog, the confidence and a Grad-CAM overlay.

Start it with::

    python -m catsdogs.webapp                      # http://127.0.0.1:8000, models/best.keras
    python -m catsdogs.webapp --port 8080 --model models/best.keras --workdir .

It uses the model the notebooks saved (``models/best.keras`` and ``models/data_config.json``)
through :class:`catsdogs.predict.Predictor`, so a photo is preprocessed exactly as in training.
The app starts without a model too: the health endpoint then says so, prediction answers 503
with the notebook to run, and the model is picked up as soon as the notebook has saved it.

Uploads stay in memory (Starlette spools a part over 1 MB to an anonymous temporary file that is
deleted when the request ends); nothing is written to the workspace. Bad input gets a JSON
``detail`` a person can act on and the right HTTP status, never a stack trace.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import io
import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import FastAPI, File, HTTPException, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile as StarletteUploadFile
from starlette.types import ASGIApp, Receive, Scope, Send

from . import artifacts, paths
from .images import ImageInputError
from .predict import ModelNotReadyError, Predictor

log = logging.getLogger("catsdogs.webapp")

#: Largest upload accepted, in bytes (10 MB): far more than a phone photo needs.
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
#: Largest image accepted, in pixels (40 megapixels), checked from the header before decoding.
MAX_PIXELS = 40_000_000
#: Formats Pillow may open (JPEG includes MPO, which many cameras write). Anything else is refused:
#: Pillow knows formats such as EPS whose decoding runs outside programs.
ALLOWED_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP", "AVIF")
FORMATS_TEXT = "JPEG, PNG, GIF, BMP, TIFF, WebP or AVIF"
#: Longest side of the photo and overlay returned to the page.
PREVIEW_SIZE = 448
#: Room for the multipart boundaries and headers around the file in a request body.
MULTIPART_OVERHEAD = 64 * 1024
#: A refused body is read and dropped up to this many bytes before the refusal is sent: a client still
#: sending gets the answer, where closing on unread data would reset the connection and lose it.
DRAIN_BYTES = 64 * 1024 * 1024
TRAINING_NOTEBOOK = "03_training.ipynb"
STATIC = Path(__file__).resolve().parent / "static"
CURL_EXAMPLE = "curl -F file=@photo.jpg http://127.0.0.1:8000/api/predict"
MB = 1024 * 1024
FILE_DESCRIPTION = f"One photo: {FORMATS_TEXT}, at most {MAX_UPLOAD_BYTES / MB:g} MB and {MAX_PIXELS / 1e6:g} megapixels."


def limit_text(limit: int) -> str:
    return f"{limit / MB:g} MB"


def size_text(size: int, limit: int) -> str:
    """A size in MB, with the bytes too when it rounds to the limit."""
    text = f"{size / MB:.1f} MB"
    return f"{text} ({size:,} bytes)" if text == f"{limit / MB:.1f} MB" else text


class UploadError(Exception):
    """An upload the app cannot use: an HTTP status and a message that says what to do."""

    def __init__(self, status_code: int, detail: str):
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


class BodyTooLarge(HTTPException):
    """Raised while the request body is read, as soon as it passes the limit."""

    def __init__(self, max_bytes: int, size: int | None = None):
        what = f"The upload is {size_text(size, max_bytes)}" if size is not None else "The upload is too large"
        super().__init__(413, f"{what}; the limit is {limit_text(max_bytes)} per photo. "
                              "Send a smaller photo (the model only looks at a small version of it).")


async def drain(receive: Receive, budget: int) -> None:
    """Read and drop the rest of a request body, at most about ``budget`` bytes of it."""
    while budget > 0:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        budget -= len(message.get("body", b""))


class BodyLimit:
    """ASGI middleware: refuse a request body too large for a ``max_file_bytes`` upload before storing it.

    The body may be ``MULTIPART_OVERHEAD`` larger than the file, for the form's boundaries and
    headers; the exact file size is checked once the form is parsed. A declared
    ``Content-Length`` over the limit is refused without storing any of the body; a body without
    one (chunked) is counted as it arrives and refused when it passes the limit. Either way the
    rest of the body is dropped (see ``drain``) before the answer goes out.
    """

    def __init__(self, app: ASGIApp, max_file_bytes: int):
        self.app = app
        self.max_file_bytes = max_file_bytes
        self.max_bytes = max_file_bytes + MULTIPART_OVERHEAD

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            error = BodyTooLarge(self.max_file_bytes, int(declared))
            await drain(receive, DRAIN_BYTES)
            response = JSONResponse({"detail": error.detail}, 413, headers={"Connection": "close"})
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    if message.get("more_body", False):
                        await drain(receive, DRAIN_BYTES - received)
                    raise BodyTooLarge(self.max_file_bytes)
            return message

        await self.app(scope, limited_receive, send)


# --------------------------------------------------------------------------- the model


class ModelSlot:
    """The predictor, loaded on first use and loaded again whenever the model files change.

    A missing or broken model is not an error for the app, only for prediction: the slot
    remembers why, and tries again when ``best.keras`` or ``data_config.json`` changes (for
    instance once notebook 03 has saved a model), without restarting the server.
    """

    def __init__(self, model_path: str | Path | None = None, workdir: str | Path | None = None,
                 threshold: float = 0.5):
        self.workspace = paths.workspace(workdir)
        self.model_path = Path(model_path).expanduser().resolve() if model_path else self.workspace.models / "best.keras"
        self.config_path = artifacts.data_config_path(self.workspace)
        self.threshold = threshold
        self._lock = threading.Lock()
        self._signature: tuple | None = None
        self._predictor: Predictor | None = None
        self._error: str | None = None

    @property
    def shown_path(self) -> str:
        return self.workspace.show(self.model_path)

    def _files(self) -> tuple:
        signature = []
        for path in (self.model_path, self.config_path):
            try:
                st = path.stat()
                signature.append((st.st_mtime_ns, st.st_size))
            except OSError:
                signature.append(None)
        return tuple(signature)

    def _load(self) -> None:
        self._predictor, self._error = None, None
        try:
            if not self.model_path.is_file():
                raise ModelNotReadyError(
                    f"No trained model yet: {self.shown_path} does not exist. Run the notebooks in order up to "
                    f"{TRAINING_NOTEBOOK} (it trains the model and saves it as models/best.keras), then try again; "
                    "the app picks the model up without a restart."
                )
            self._predictor = Predictor.load(self.model_path, self.workspace.root, self.threshold)
        except ModelNotReadyError as error:  # no model, data_config.json missing, or the model unreadable
            self._error = str(error)
        except Exception as error:  # Keras raises many types for a damaged file
            log.warning("could not load %s: %r", self.model_path, error)
            self._error = (
                f"{self.shown_path} could not be loaded: it is damaged or not a Keras model "
                f"({type(error).__name__}). Run {TRAINING_NOTEBOOK} again to save a fresh model."
            )
        if self._predictor is not None:
            log.info("model loaded: %s", self.shown_path)
        else:
            log.warning("no model: %s", self._error)

    def get(self) -> Predictor:
        """The loaded predictor; raises :class:`ModelNotReadyError` saying which notebook to run."""
        with self._lock:
            signature = self._files()
            if signature != self._signature:
                self._signature = signature
                self._load()
            if self._predictor is None:
                raise ModelNotReadyError(self._error)
            return self._predictor

    def status(self) -> tuple[Predictor | None, str | None]:
        try:
            return self.get(), None
        except ModelNotReadyError as error:
            return None, str(error)


# --------------------------------------------------------------------------- checking an upload


def _describe_non_image(data: bytes, name: str) -> str:
    head = data[:64]
    if head.startswith(b"%PDF"):
        kind = "a PDF document"
    elif head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"hevc", b"heim", b"heis"):
        kind = "a HEIC photo (the iPhone format), which this app cannot read: export it as JPEG first"
    elif head.lstrip().startswith(b"<"):
        kind = "text (HTML, XML or SVG)"
    else:
        sample = data[:512].decode("utf-8", "replace")
        printable = sum(c.isprintable() or c in "\r\n\t" for c in sample)
        kind = "text" if printable >= 0.95 * len(sample) else "not a picture format this app knows"
    looks_like = Path(name).suffix.lower() in {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".avif"}
    named = f" although it is named {Path(name).suffix}" if looks_like else ""
    return f"{name} is not an image: its content is {kind}{named}. Upload a {FORMATS_TEXT} photo."


def check_upload(data: bytes, name: str, max_bytes: int = MAX_UPLOAD_BYTES, max_pixels: int = MAX_PIXELS) -> None:
    """Refuse an empty, oversized, non-image or damaged upload with :class:`UploadError`.

    Only the header is read to learn the format and the size in pixels, so a decompression
    bomb (a small file that decodes to a huge image) is refused before it is decoded.
    """
    if not data:
        raise UploadError(400, f"{name} is empty (0 bytes). Choose the photo again; if it is still empty, "
                               "the file was not saved or copied completely.")
    if len(data) > max_bytes:
        raise UploadError(413, f"{name} is {size_text(len(data), max_bytes)}; the limit is {limit_text(max_bytes)} "
                               "per photo. Send a smaller photo (the model only looks at a small version of it).")
    try:
        with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as image:
            width, height = image.size
    except UnidentifiedImageError as error:
        raise UploadError(415, _describe_non_image(data, name)) from error
    except Image.DecompressionBombError as error:
        raise UploadError(413, f"{name} declares an enormous image ({error}); the limit is "
                               f"{max_pixels / 1e6:g} megapixels.") from error
    except Exception as error:  # Pillow raises many types for a damaged header
        raise UploadError(422, f"{name} looks like an image but its header is damaged ({error}). "
                               "Export or save the photo again.") from error
    if width * height > max_pixels:
        raise UploadError(413, f"{name} is {width} × {height} pixels ({width * height / 1e6:.1f} megapixels); "
                               f"the limit is {max_pixels / 1e6:g} megapixels. Resize it first: the model only "
                               "looks at a small version of the photo.")


_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def preview(data: bytes, size: int = PREVIEW_SIZE) -> tuple[Image.Image, Image.Transpose | None]:
    """The photo as RGB, at most ``size`` pixels on its longest side, and its EXIF turn.

    The pixels are kept as stored (the model sees them that way too); the turn from the EXIF
    orientation tag is returned so the photo and its overlay can be shown upright.
    """
    with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as image:
        orientation = image.getexif().get(0x0112)
        image.draft("RGB", (2 * size, 2 * size))  # JPEG: decode at a reduced scale, much faster
        photo = image.convert("RGB")
    photo.thumbnail((size, size), Image.Resampling.LANCZOS)
    return photo, _ORIENTATION.get(orientation)


def png_base64(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def gradcam_overlay(model, image: np.ndarray, photo: Image.Image) -> Image.Image:
    """Grad-CAM for the predicted class, resized to ``photo`` and blended over it."""
    from . import gradcam

    heatmap = gradcam.gradcam(model, image)
    resized = Image.fromarray(heatmap.astype(np.float32), mode="F").resize(photo.size, Image.Resampling.BILINEAR)
    blended = gradcam.overlay(np.asarray(photo, dtype=np.float32) / 255.0, np.clip(np.asarray(resized), 0.0, 1.0))
    return Image.fromarray((blended * 255).round().astype(np.uint8), "RGB")


# --------------------------------------------------------------------------- API models


class PredictionOut(BaseModel):
    """The answer for one photo."""

    name: str = Field(description="The uploaded file's name.")
    label: str = Field(description="The predicted class: a class folder of the training data, e.g. `cats` or `dogs`.")
    probability: float = Field(description="The model's output: the probability of the class with index 1 in `classes`.")
    confidence: float = Field(description="The probability of the predicted label, between 0.5 and 1.")
    classes: dict[str, int] = Field(description="Class name to index, as saved by 01_data.ipynb.")
    threshold: float = Field(description="`probability` at or above this means the class with index 1.")
    image_size: list[int] = Field(description="Height and width the photo was resized to for the model.")
    photo_png: str | None = Field(None, description="The photo (upright, at most 448 px), a base64 PNG.")
    gradcam_png: str | None = Field(
        None, description="Grad-CAM overlay on the photo, a base64 PNG: red regions pushed the model towards `label`.")
    gradcam_note: str | None = Field(None, description="Why there is no overlay, when there is none.")
    seconds: float = Field(description="Time spent on the server.")


class Limits(BaseModel):
    max_bytes: int = Field(description="Largest upload, in bytes.")
    max_pixels: int = Field(description="Largest image, in pixels (width × height).")
    formats: str = Field(description="Image formats accepted.")


class HealthOut(BaseModel):
    """Whether the app runs and has a model to predict with."""

    status: str = Field("ok", description="Always `ok` while the app answers.")
    model_loaded: bool = Field(description="True when a model is loaded and /api/predict works.")
    model: str = Field(description="The model file, relative to the workspace.")
    detail: str | None = Field(None, description="When no model is loaded: why, and which notebook to run.")
    classes: dict[str, int] | None = None
    image_size: list[int] | None = None
    limits: Limits


class ErrorOut(BaseModel):
    detail: str = Field(description="What went wrong and what to do about it.")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Empty upload, or several files where one is expected."},
    413: {"model": ErrorOut, "description": "Over 10 MB, or over 40 megapixels."},
    415: {"model": ErrorOut, "description": "Not an image (for instance text named .jpg), or not a form upload."},
    422: {"model": ErrorOut, "description": "No `file` field, or an image that is damaged and cannot be decoded."},
    503: {"model": ErrorOut, "description": "No model loaded: the message says which notebook to run."},
}


# --------------------------------------------------------------------------- the app


def _predict(slot: ModelSlot, data: bytes, name: str, images: bool, lock: threading.Lock,
             max_bytes: int = MAX_UPLOAD_BYTES) -> PredictionOut:
    """Check, predict and draw one upload; runs in a worker thread."""
    start = time.perf_counter()
    check_upload(data, name, max_bytes)
    predictor = slot.get()
    try:
        image = predictor.preprocess(data, name=name)
    except ImageInputError as error:
        raise UploadError(422, f"{error}. Export or save the photo again.") from error
    except Exception as error:  # a file Pillow could open but not decode
        raise UploadError(422, f"{name}: the image cannot be decoded ({type(error).__name__}). "
                               "Export or save the photo again.") from error
    with lock:  # one prediction at a time: TensorFlow uses every core anyway
        result = predictor.result(name, predictor.predict_arrays(image[np.newaxis])[0])
        photo_png = overlay_png = note = None
        if images:
            photo, turn = preview(data)
            try:
                overlay = gradcam_overlay(predictor.model, image, photo)
            except Exception as error:  # e.g. a model without a convolutional block
                log.warning("Grad-CAM failed: %r", error)
                overlay, note = None, f"Grad-CAM is not available for this model ({error})."
            if turn is not None:
                photo = photo.transpose(turn)
                overlay = overlay.transpose(turn) if overlay is not None else None
            photo_png = png_base64(photo)
            overlay_png = png_base64(overlay) if overlay is not None else None
    return PredictionOut(
        name=result.name, label=result.label, probability=result.probability, confidence=result.confidence,
        classes=predictor.class_indices, threshold=predictor.threshold, image_size=list(predictor.image_size),
        photo_png=photo_png, gradcam_png=overlay_png, gradcam_note=note,
        seconds=round(time.perf_counter() - start, 3),
    )


def _safe_name(filename: str | None) -> str:
    name = Path((filename or "").replace("\\", "/")).name.strip()
    return (name[:80] + "…" if len(name) > 80 else name) or "upload"


def create_app(model_path: str | Path | None = None, workdir: str | Path | None = None,
               threshold: float = 0.5, max_upload_bytes: int = MAX_UPLOAD_BYTES) -> FastAPI:
    """The web app for the model at ``model_path`` (default: ``models/best.keras`` in the workspace)."""
    from fastapi_offline import FastAPIOffline  # /docs with its scripts served locally, not from a CDN

    slot = ModelSlot(model_path, workdir, threshold)
    predict_lock = threading.Lock()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        await run_in_threadpool(slot.status)  # load the model before the first request
        yield

    app = FastAPIOffline(
        title="Cats vs dogs",
        version="1.0",
        description=(
            "Predict cat or dog for one photo with the model the tutorial notebooks trained "
            f"(models/best.keras, made by {TRAINING_NOTEBOOK}), and see where it looked (Grad-CAM).\n\n"
            f"Limits: one photo per request, {FORMATS_TEXT}, at most {limit_text(MAX_UPLOAD_BYTES)} "
            f"and {MAX_PIXELS / 1e6:g} megapixels.\n\nExample: `{CURL_EXAMPLE}`"
        ),
        lifespan=lifespan,
    )
    app.state.slot = slot
    app.add_middleware(BodyLimit, max_file_bytes=max_upload_bytes)

    @app.exception_handler(UploadError)
    async def upload_error(request: Request, error: UploadError) -> JSONResponse:
        return JSONResponse({"detail": error.detail}, error.status_code)

    @app.exception_handler(ModelNotReadyError)
    async def model_not_ready(request: Request, error: ModelNotReadyError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, 503)

    @app.exception_handler(RequestValidationError)
    async def bad_request_shape(request: Request, error: RequestValidationError) -> JSONResponse:
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            return JSONResponse({"detail": (
                f"Send the photo as a form upload (multipart/form-data) in the field 'file', not as "
                f"{content_type or 'a body without a content type'}. For example: {CURL_EXAMPLE}")}, 415)
        return JSONResponse({"detail": (
            f"No photo in the request: send one file in the form field 'file'. For example: {CURL_EXAMPLE}"),
            "errors": [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in error.errors()]}, 422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return JSONResponse({"detail": "Something went wrong on the server (the details are in its log). "
                                       "Try another photo, or restart the app."}, 500)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"), headers={
            "Content-Security-Policy": (
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                "img-src 'self' data: blob:; connect-src 'self'; form-action 'none'; "
                "frame-ancestors 'none'; base-uri 'none'"),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-cache",
        })

    @app.get("/api/health", response_model=HealthOut, summary="Is a model loaded?", tags=["model"])
    async def health() -> HealthOut:
        """Always 200 while the app runs; `model_loaded` says whether prediction works."""
        predictor, detail = await run_in_threadpool(slot.status)
        return HealthOut(
            model_loaded=predictor is not None, model=slot.shown_path, detail=detail,
            classes=predictor.class_indices if predictor else None,
            image_size=list(predictor.image_size) if predictor else None,
            limits=Limits(max_bytes=max_upload_bytes, max_pixels=MAX_PIXELS, formats=FORMATS_TEXT),
        )

    @app.post("/api/predict", response_model=PredictionOut, responses=ERROR_RESPONSES,
              summary="Cat or dog for one photo", tags=["prediction"])
    async def predict(
        request: Request,
        file: Annotated[UploadFile, File(description=FILE_DESCRIPTION)],
        images: Annotated[bool, Query(description="Include the photo and the Grad-CAM overlay as base64 PNGs "
                                                  "(false: only the label and the numbers, faster).")] = True,
    ) -> PredictionOut:
        """Predict the label of one uploaded photo, with the model's confidence and a Grad-CAM overlay.

        The photo is kept in memory only and preprocessed exactly like the training images.
        """
        form = await request.form()
        uploads = [value for _, value in form.multi_items() if isinstance(value, StarletteUploadFile)]
        if len(uploads) > 1:
            names = ", ".join(_safe_name(u.filename) for u in uploads[:5]) + (", …" if len(uploads) > 5 else "")
            raise UploadError(400, f"Send one photo at a time: this request holds {len(uploads)} files ({names}).")
        name = _safe_name(file.filename)
        if file.size is not None and file.size > max_upload_bytes:
            raise UploadError(413, f"{name} is {size_text(file.size, max_upload_bytes)}; the limit is "
                                   f"{limit_text(max_upload_bytes)} per photo. Send a smaller photo.")
        data = await file.read()
        await file.close()
        return await run_in_threadpool(_predict, slot, data, name, images, predict_lock, max_upload_bytes)

    return app


# --------------------------------------------------------------------------- running it


@contextlib.contextmanager
def serve_in_background(app: FastAPI, host: str = "127.0.0.1", port: int = 0,
                        timeout: float = 120.0) -> Iterator[str]:
    """Run ``app`` with uvicorn in a thread and yield its base URL; stop it on exit.

    ``port=0`` picks a free port. Used by the browser test and the screenshot tool.
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

    from .env import quiet_tensorflow

    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(DefaultFormatter("%(levelprefix)s %(message)s"))  # the look of uvicorn's own lines
        log.addHandler(handler)
    log.setLevel(args.log_level.upper())
    log.propagate = False
    quiet_tensorflow()
    app = create_app(args.model, args.workdir, args.threshold)
    if not _is_loopback(args.host):
        log.warning("listening on %s: other computers on the network can use this app", args.host)
    shown_host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    shown_host = f"[{shown_host}]" if ":" in shown_host else shown_host
    print(f"Open http://{shown_host}:{args.port}/ in a browser (API docs: /docs). Ctrl+C stops the app.", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
