"""The JSON answers of the API, as ``/docs`` documents them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from .limits import PREVIEW_SIZE, limit_text, megapixels_text
from .model_slot import TRAINING_NOTEBOOK


class PredictionOut(BaseModel):
    """The answer for one photo."""

    name: str = Field(description="The uploaded file's name.")
    label: str = Field(description="The predicted class: a class folder of the training data, e.g. `cats` or `dogs`.")
    probability: float = Field(description="The model's output: the probability of the class with index 1 in `classes`.")
    confidence: float = Field(description="The probability of the predicted label, between 0.5 and 1.")
    classes: dict[str, int] = Field(description="Class name to index, as saved by 01_data.ipynb.")
    threshold: float = Field(description="`probability` at or above this means the class with index 1.")
    image_size: list[int] = Field(description="Height and width the photo was resized to for the model.")
    model: str = Field("", description="The model that answered, relative to the workspace, e.g. `models/transfer.keras`.")
    photo_png: str | None = Field(None, description=f"The photo (upright, at most {PREVIEW_SIZE} px), a base64 PNG.")
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


def error_responses(max_bytes: int, max_pixels: int, decodes: int, wait_seconds: float) -> dict[int | str, dict[str, Any]]:
    """The error answers of ``POST /api/predict`` for ``/docs``, stated from the app's limits."""
    def described(text: str) -> dict[str, Any]:
        return {"model": ErrorOut, "description": text}

    return {
        400: described("Empty upload, or several files where one is expected."),
        413: described(f"Over {limit_text(max_bytes)}, or over {megapixels_text(max_pixels)}."),
        415: described("Not an image (for instance text named .jpg), or not a form upload."),
        422: described("No `file` field, `images` not true or false, or an image that is damaged and cannot be "
                       "decoded."),
        503: described(f"No model loaded (the message says which notebook to run, usually {TRAINING_NOTEBOOK}), "
                       f"or busy: {decodes} photos are worked on at a time and this one waited {wait_seconds:g} s "
                       "(try again after the `Retry-After` seconds)."),
    }
