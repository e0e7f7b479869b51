"""``create_app``: the page, the JSON API, and an answer a person can act on for every error.

It uses the model the notebooks saved (``models/best.keras`` and ``models/data_config.json``)
through :class:`catsdogs.predict.Predictor`, so a photo is preprocessed exactly as in training.
The app starts without a model too: the health endpoint then says so, prediction answers 503
with the notebook to run, and the model is picked up as soon as the notebook has saved it.

Uploads stay in memory (Starlette spools a part over 1 MB to an anonymous temporary file that is
deleted when the request ends); nothing is written to the workspace. Bad input gets a JSON
``detail`` with the right HTTP status, never a stack trace or a path of the server's machine.
"""

# No ``from __future__ import annotations`` here: the endpoint's annotations use create_app's
# limits, and FastAPI must see them evaluated.
import contextlib
import logging
import threading
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, File, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.datastructures import UploadFile as StarletteUploadFile

from ..predict import ModelNotReadyError
from .body_limit import BodyLimit
from .limits import (
    CURL_EXAMPLE,
    DECODE_WAIT_SECONDS,
    FORMATS_TEXT,
    MAX_CONCURRENT_DECODES,
    MAX_PIXELS,
    MAX_UPLOAD_BYTES,
    RETRY_AFTER_SECONDS,
    accepted_text,
    too_large_text,
)
from .model_slot import TRAINING_NOTEBOOK, ModelSlot
from .prediction import DecodeSlots, ServerBusy, predict_upload
from .schemas import HealthOut, Limits, PredictionOut, error_responses
from .uploads import UploadError, safe_name

log = logging.getLogger("catsdogs.webapp")

STATIC = Path(__file__).resolve().parent.parent / "static"
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "img-src 'self' data: blob:; connect-src 'self'; form-action 'none'; "
        "frame-ancestors 'none'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


def _validation_detail(request: Request, error: RequestValidationError) -> tuple[int, str]:
    """The status and message for a request FastAPI could not match to the endpoint's parameters."""
    for problem in error.errors():
        loc = problem.get("loc", ())
        if len(loc) >= 2 and loc[0] == "query":
            found = request.query_params.get(str(loc[1]), "")
            return 422, (f"The `{loc[1]}` query parameter must be true or false, not {found[:40]!r}: "
                         f"?{loc[1]}=false leaves the photo and the Grad-CAM overlay out of the answer.")
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return 415, (f"Send the photo as a form upload (multipart/form-data) in the field 'file', not as "
                     f"{content_type or 'a body without a content type'}. For example: {CURL_EXAMPLE}")
    return 422, f"No photo in the request: send one file in the form field 'file'. For example: {CURL_EXAMPLE}"


def create_app(model_path: str | Path | None = None, workdir: str | Path | None = None,
               threshold: float = 0.5, max_upload_bytes: int = MAX_UPLOAD_BYTES, max_pixels: int = MAX_PIXELS,
               max_decodes: int = MAX_CONCURRENT_DECODES, decode_wait_seconds: float = DECODE_WAIT_SECONDS) -> FastAPI:
    """The web app for the model at ``model_path`` (default: ``models/best.keras`` in the workspace).

    The workspace (``workdir``, else ``$CATSDOGS_WORKDIR``, else the repository) must exist; it is
    only read. A workdir that does not exist raises :class:`catsdogs.paths.WorkspaceError`.
    """
    from fastapi_offline import FastAPIOffline  # /docs with its scripts served locally, not from a CDN

    slot = ModelSlot(model_path, workdir, threshold)
    slots = DecodeSlots(max_decodes, decode_wait_seconds)
    model_lock = threading.Lock()

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
            f"Limits: one photo per request, {accepted_text(max_upload_bytes, max_pixels)}; {max_decodes} photos "
            f"are worked on at a time, the others wait up to {decode_wait_seconds:g} s.\n\n"
            f"Example: `{CURL_EXAMPLE}`"
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
        return JSONResponse({"detail": slot.without_paths(str(error))}, 503)

    @app.exception_handler(ServerBusy)
    async def busy(request: Request, error: ServerBusy) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, 503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

    @app.exception_handler(RequestValidationError)
    async def bad_request_shape(request: Request, error: RequestValidationError) -> JSONResponse:
        status, detail = _validation_detail(request, error)
        content = {"detail": detail}
        if status == 422:
            content["errors"] = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in error.errors()]
        return JSONResponse(content, status)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return JSONResponse({"detail": "Something went wrong on the server (the details are in its log). "
                                       "Try another photo, or restart the app."}, 500)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"), headers=PAGE_HEADERS)

    @app.get("/api/health", response_model=HealthOut, summary="Is a model loaded?", tags=["model"])
    async def health() -> HealthOut:
        """Always 200 while the app runs; `model_loaded` says whether prediction works."""
        predictor, detail = await run_in_threadpool(slot.status)
        return HealthOut(
            model_loaded=predictor is not None, model=slot.shown_path, detail=detail,
            classes=predictor.class_indices if predictor else None,
            image_size=list(predictor.image_size) if predictor else None,
            limits=Limits(max_bytes=max_upload_bytes, max_pixels=max_pixels, formats=FORMATS_TEXT),
        )

    @app.post("/api/predict", response_model=PredictionOut,
              responses=error_responses(max_upload_bytes, max_pixels, max_decodes, decode_wait_seconds),
              summary="Cat or dog for one photo", tags=["prediction"])
    async def predict(
        request: Request,
        file: Annotated[UploadFile, File(description=f"One photo: {accepted_text(max_upload_bytes, max_pixels)}.")],
        images: Annotated[bool, Query(description="Include the photo and the Grad-CAM overlay as base64 PNGs "
                                                  "(false: only the label and the numbers, faster).")] = True,
    ) -> PredictionOut:
        """Predict the label of one uploaded photo, with the model's confidence and a Grad-CAM overlay.

        The photo is kept in memory only, decoded once, and preprocessed exactly like the training images.
        """
        form = await request.form()
        uploads = [value for _, value in form.multi_items() if isinstance(value, StarletteUploadFile)]
        if len(uploads) > 1:
            names = ", ".join(safe_name(u.filename) for u in uploads[:5]) + (", …" if len(uploads) > 5 else "")
            raise UploadError(400, f"Send one photo at a time: this request holds {len(uploads)} files ({names}).")
        name = safe_name(file.filename)
        if file.size is not None and file.size > max_upload_bytes:
            raise UploadError(413, too_large_text(max_upload_bytes, file.size, name))
        data = await file.read()
        await file.close()
        async with slots.hold():
            return await run_in_threadpool(predict_upload, slot, data, name, images, model_lock,
                                           max_upload_bytes, max_pixels)

    return app
