"""Loading one image exactly as the training generators did.

``flow_from_directory`` loads each file with Pillow, converts it to RGB, resizes it to the
target size with *nearest-neighbour* interpolation, and multiplies it by ``rescale``.
A prediction that skips any of these steps sees different numbers than the model was
trained on (the classic "my model predicts 'dog' for everything" bug), so every
prediction in this project goes through :func:`load_for_model`.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError


class ImageInputError(ValueError):
    """The given input is not an image the model can read. The message says why."""


def _open_checked(source, name: str) -> None:
    try:
        with Image.open(source) as image:
            image.load()
    except UnidentifiedImageError as error:
        raise ImageInputError(
            f"{name}: not an image Pillow can read (expected a JPEG, PNG, BMP, GIF or TIFF photo)"
        ) from error
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageInputError(f"{name}: the image is damaged and cannot be decoded ({error})") from error
    if hasattr(source, "seek"):
        source.seek(0)


def load_for_model(
    source: str | os.PathLike | bytes,
    image_size: tuple[int, int] | list[int],
    rescale: float = 1 / 255,
    interpolation: str = "nearest",
    name: str | None = None,
) -> np.ndarray:
    """One image as a float32 array of shape ``(height, width, 3)``, preprocessed like training.

    ``source`` is a file path or the raw bytes of an upload. Raises :class:`ImageInputError`
    with a message a user can act on for a missing file, a folder, or a non-image.
    """
    import keras

    if isinstance(source, (bytes, bytearray)):
        name = name or "upload"
        if not source:
            raise ImageInputError(f"{name}: the file is empty")
        handle = io.BytesIO(source)
    else:
        path = Path(source)
        name = name or path.name
        if not path.exists():
            raise ImageInputError(f"{name}: no such file")
        if path.is_dir():
            raise ImageInputError(f"{name}: is a folder, not an image file")
        if path.stat().st_size == 0:
            raise ImageInputError(f"{name}: the file is empty")
        handle = path
    _open_checked(handle, name)
    image = keras.utils.load_img(
        handle, color_mode="rgb", target_size=tuple(image_size), interpolation=interpolation
    )
    return keras.utils.img_to_array(image, dtype="float32") * rescale


def label_for(probability: float, class_indices: dict[str, int], threshold: float = 0.5) -> str:
    """The class name for a sigmoid output: index 1 at or above ``threshold``, else index 0."""
    by_index = {index: name for name, index in class_indices.items()}
    return by_index[1 if probability >= threshold else 0]
