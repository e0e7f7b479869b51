"""Reading one image safely, and preparing it exactly as the training generators did.

Every image this project reads from a user (the data set's files, the prediction command's
files, the web page's uploads) goes through :func:`open_image`, so they share one set of rules:

* only the formats in :data:`FORMATS` are opened (Pillow knows formats, such as EPS, whose
  decoding starts outside programs);
* the size in pixels is read from the header and checked against a limit *before* the image
  is decoded, so a small file that claims a huge image (a decompression bomb, or one flipped
  byte in a header) is refused instead of filling the memory;
* pixels with more than 8 bits per channel (16-bit PNG or TIFF) or floating-point pixels are
  scaled to 0-255 correctly (Pillow's own ``convert("RGB")`` clips a mid-grey 16-bit image to
  white), or refused when their range cannot be known;
* every problem is an :class:`ImageInputError` whose message names the file and says what to do.

``flow_from_directory`` loads each file with Pillow, converts it to RGB, resizes it to the
target size with the data configuration's interpolation, and multiplies it by ``rescale``.
A prediction that skips any of these steps sees different numbers than the model was
trained on (the classic "my model predicts 'dog' for everything" bug), so every
prediction goes through :func:`load_for_model`, which does the same.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

#: The image formats this project reads: Pillow's format name -> the file extensions it has.
FORMATS: dict[str, tuple[str, ...]] = {
    "JPEG": (".jpg", ".jpeg"),
    "PNG": (".png",),
    "GIF": (".gif",),
    "BMP": (".bmp",),
    "TIFF": (".tif", ".tiff"),
    "WEBP": (".webp",),
    "AVIF": (".avif",),
}
FORMATS_TEXT = "JPEG, PNG, GIF, BMP, TIFF, WebP or AVIF"
#: What Pillow may open (its JPEG opener also opens MPO, the JPEG variant many cameras write).
PILLOW_FORMATS = tuple(FORMATS)
#: File extension -> Pillow format name.
SUFFIXES: dict[str, str] = {suffix: name for name, suffixes in FORMATS.items() for suffix in suffixes}
#: The extensions Keras' ``flow_from_directory`` reads; it skips every other file without a word.
TRAINING_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
#: Largest image accepted, in pixels (width × height), checked from the header before decoding.
#: 40 megapixels is more than most cameras write; the model looks at a small version anyway.
MAX_PIXELS = 40_000_000
#: Largest image file read, in bytes: a 40-megapixel photo is 10 to 120 MB even as an uncompressed BMP.
MAX_FILE_BYTES = 200 * 1000**2

#: Interpolation names, as Keras' ``load_img`` and ``flow_from_directory`` take them.
INTERPOLATIONS = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "hamming": Image.Resampling.HAMMING,
    "box": Image.Resampling.BOX,
    "lanczos": Image.Resampling.LANCZOS,
}
#: Modes that hold more than 8 bits per channel, or floats; Pillow's convert("RGB") gets them wrong.
WIDE_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")


class ImageInputError(ValueError):
    """The given input is not an image the model can read. The message says why and what to do.

    ``kind`` says which problem it is, for callers that answer differently (the web page's
    HTTP status): ``missing``, ``folder``, ``empty``, ``unreadable``, ``not_image``,
    ``too_large``, ``damaged`` or ``pixels``.
    """

    def __init__(self, message: str, kind: str = "damaged"):
        super().__init__(message)
        self.kind = kind


@dataclass
class Decoded:
    """One decoded image: 8-bit RGB pixels, and what the file said about itself."""

    image: Image.Image  # mode "RGB"
    format: str  # Pillow's format name, e.g. "JPEG"
    mode: str  # the file's own colour mode, e.g. "I;16" for a 16-bit grey PNG
    orientation: int | None  # the EXIF orientation tag (1-8), if any

    @property
    def converted(self) -> str | None:
        """How the pixels were changed to become 8-bit RGB, or None if they already were."""
        if self.mode == "RGB":
            return None
        if self.mode in WIDE_MODES:
            return f"{_describe_mode(self.mode)} scaled to 8-bit RGB"
        return f"colour mode {self.mode} converted to RGB"


def _describe_mode(mode: str) -> str:
    if mode == "F":
        return "floating-point pixels"
    if mode == "I":
        return "32-bit integer pixels"
    return "16-bit pixels"


def _source_handle(source: str | os.PathLike | bytes | bytearray, name: str | None):
    """A file handle (or path) and a name for messages; refuses what is plainly not an image file."""
    if isinstance(source, (bytes, bytearray)):
        name = name or "upload"
        if not source:
            raise ImageInputError(f"{name}: the file is empty (0 bytes)", "empty")
        return io.BytesIO(source), name
    path = Path(source)
    name = name or path.name
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ImageInputError(f"{name}: no such file", "missing") from None
    except OSError as error:
        raise ImageInputError(f"{name}: cannot be read ({error.strerror or error})", "unreadable") from None
    if path.is_dir():
        raise ImageInputError(f"{name}: is a folder, not an image file", "folder")
    if not path.is_file():
        raise ImageInputError(f"{name}: is not a regular file (a device or a pipe?)", "unreadable")
    if st.st_size == 0:
        raise ImageInputError(f"{name}: the file is empty (0 bytes)", "empty")
    if st.st_size > MAX_FILE_BYTES:
        raise ImageInputError(f"{name}: the file is {st.st_size / 1000**2:,.0f} MB; the limit is "
                              f"{MAX_FILE_BYTES / 1000**2:g} MB for one photo. Resize or convert it first.", "too_large")
    try:
        return io.BytesIO(path.read_bytes()), name
    except OSError as error:
        raise ImageInputError(f"{name}: cannot be read ({error.strerror or error})", "unreadable") from None


def _to_rgb8(image: Image.Image, name: str) -> Image.Image:
    """8-bit RGB pixels, scaling wide (16-bit, 32-bit or float) values instead of clipping them."""
    if image.mode == "RGB":
        return image
    if image.mode not in WIDE_MODES:
        return image.convert("RGB")  # 1, L, P, LA, RGBA, CMYK, YCbCr ...: what Keras' load_img does
    values = np.asarray(image)
    if image.mode == "F":
        if not np.isfinite(values).all():
            raise ImageInputError(
                f"{name}: its floating-point pixels include NaN or infinite values. Save it as an 8-bit "
                "JPEG or PNG.", "pixels")
        low, high = float(values.min()), float(values.max())
        if low < 0 or high > 255:
            raise ImageInputError(
                f"{name}: its floating-point pixels range from {low:g} to {high:g}, which is not a "
                "brightness scale this tool can read (0 to 1, or 0 to 255). Save it as an 8-bit JPEG or PNG.",
                "pixels")
        scale = 255.0 if high <= 1.0 else 1.0
    else:  # 16-bit, or 32-bit integers (older Pillow versions opened 16-bit PNGs as "I")
        low, high = int(values.min()), int(values.max())
        if low < 0 or high > 65535:
            raise ImageInputError(
                f"{name}: its 32-bit pixels range from {low} to {high}, more than a photo's 16 bits. "
                "Save it as an 8-bit JPEG or PNG.", "pixels")
        scale = 1.0 if (image.mode == "I" and high <= 255) else 255.0 / 65535.0
    grey = np.clip(np.round(values.astype(np.float64) * scale), 0, 255).astype(np.uint8)
    return Image.fromarray(grey, "L").convert("RGB")


def open_image(
    source: str | os.PathLike | bytes | bytearray,
    name: str | None = None,
    max_pixels: int = MAX_PIXELS,
) -> Decoded:
    """Open, check and decode one image file (a path) or upload (bytes) into 8-bit RGB.

    The format and the size in pixels are read from the header first: a format outside
    :data:`FORMATS` or an image over ``max_pixels`` is refused before any pixel is decoded.
    Raises :class:`ImageInputError` with a message that names the file (``name``, else the
    file's own name; never the folder it is in) and says what to do.
    """
    handle, name = _source_handle(source, name)
    Image.init()  # registers every format's opener (MPO and AVIF are not in Pillow's first, short list)
    with warnings.catch_warnings():
        # Pillow warns from 89 megapixels and refuses from 179; our own, lower limit comes first.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(handle, formats=PILLOW_FORMATS)
        except UnidentifiedImageError:
            raise ImageInputError(
                f"{name}: not an image this tool reads (expected {FORMATS_TEXT})", "not_image") from None
        except Image.DecompressionBombError:
            raise ImageInputError(
                f"{name}: its header declares an enormous image (over 179 megapixels); the limit is "
                f"{max_pixels / 1e6:g} megapixels. If it is a real photo, resize it first.", "too_large") from None
        except Exception as error:  # Pillow raises many types for a damaged header
            raise ImageInputError(
                f"{name}: looks like an image but its header is damaged ({type(error).__name__}: {error}). "
                "Export or save the photo again.", "damaged") from None
    # The file is in memory (BytesIO), so the image is not closed: a closed Pillow image loses its
    # pixels, and copying them out first would hold two copies of a large photo at once.
    width, height = image.size
    if width * height > max_pixels:
        raise ImageInputError(
            f"{name}: {width} × {height} pixels ({width * height / 1e6:.1f} megapixels); the limit is "
            f"{max_pixels / 1e6:g} megapixels. Resize it first: the model only looks at a small version "
            "of the photo.", "too_large")
    if width == 0 or height == 0:
        raise ImageInputError(f"{name}: the image has no pixels ({width} × {height})", "damaged")
    try:
        orientation = image.getexif().get(0x0112)
    except Exception:  # a damaged EXIF block does not stop the photo
        orientation = None
    file_format, mode = image.format, image.mode
    try:
        image.load()
    except Exception as error:  # truncated or corrupt data: Pillow raises OSError, SyntaxError, ValueError ...
        raise ImageInputError(
            f"{name}: the image is damaged and cannot be decoded ({type(error).__name__}: {error}). "
            "Export or save the photo again.", "damaged") from None
    rgb = _to_rgb8(image, name)
    return Decoded(rgb, "JPEG" if file_format == "MPO" else file_format, mode, orientation)


def model_array(
    image: Image.Image,
    image_size: tuple[int, int] | list[int],
    rescale: float = 1 / 255,
    interpolation: str = "nearest",
) -> np.ndarray:
    """An 8-bit RGB image as the model's input: resized as Keras' ``load_img`` does, then rescaled.

    ``image_size`` is (height, width). The result is float32 of shape ``(height, width, 3)``.
    """
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation {interpolation!r}: expected one of {', '.join(INTERPOLATIONS)}")
    height, width = (int(n) for n in image_size)
    if image.size != (width, height):
        image = image.resize((width, height), INTERPOLATIONS[interpolation])
    return np.asarray(image, dtype="float32") * np.float32(rescale)


def load_for_model(
    source: str | os.PathLike | bytes,
    image_size: tuple[int, int] | list[int],
    rescale: float = 1 / 255,
    interpolation: str = "nearest",
    name: str | None = None,
    max_pixels: int = MAX_PIXELS,
) -> np.ndarray:
    """One image as a float32 array of shape ``(height, width, 3)``, preprocessed like training.

    ``source`` is a file path or the raw bytes of an upload. Raises :class:`ImageInputError`
    with a message a user can act on for a missing file, a folder, a non-image, a damaged or
    oversized image.
    """
    return model_array(open_image(source, name, max_pixels).image, image_size, rescale, interpolation)


def label_for(probability: float, class_indices: dict[str, int], threshold: float = 0.5) -> str:
    """The class name for a sigmoid output: index 1 at or above ``threshold``, else index 0."""
    by_index = {index: name for name, index in class_indices.items()}
    return by_index[1 if probability >= threshold else 0]
