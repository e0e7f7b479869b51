"""What the page shows: the photo upright and small, and the Grad-CAM overlay on it."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from .limits import PREVIEW_SIZE

#: EXIF orientation tag -> the turn that shows the photo upright.
ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def preview(image: Image.Image, size: int = PREVIEW_SIZE) -> Image.Image:
    """The decoded photo at most ``size`` pixels on its longest side, as stored (the model sees it so too).

    A new, small image: the full-size one is not copied, so it can be freed as soon as the
    model's input has been made from it.
    """
    scale = min(1.0, size / max(image.size))
    target = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    if target == image.size:
        return image.copy()
    return image.resize(target, Image.Resampling.LANCZOS, reducing_gap=2.0)


def upright(image: Image.Image, orientation: int | None) -> Image.Image:
    """``image`` turned as the EXIF ``orientation`` tag says, so that it is shown upright."""
    turn = ORIENTATION.get(orientation)
    return image.transpose(turn) if turn is not None else image


def png_base64(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def gradcam_overlay(model, model_input: np.ndarray, photo: Image.Image) -> Image.Image:
    """Grad-CAM for the predicted class, resized to ``photo`` and blended over it."""
    from .. import gradcam

    heatmap = gradcam.gradcam(model, model_input)
    resized = Image.fromarray(heatmap.astype(np.float32), mode="F").resize(photo.size, Image.Resampling.BILINEAR)
    blended = gradcam.overlay(np.asarray(photo, dtype=np.float32) / 255.0, np.clip(np.asarray(resized), 0.0, 1.0))
    return Image.fromarray((blended * 255).round().astype(np.uint8), "RGB")
