"""Checking one upload and decoding it, once, with the project's one image loader.

:func:`catsdogs.images.open_image` reads the format and the size in pixels from the header
before it decodes anything, and raises :class:`~catsdogs.images.ImageInputError` with a
``kind``; here each kind becomes an HTTP status, and a non-image gets a message that says what
the file is instead.
"""

from __future__ import annotations

from pathlib import Path

from ..images import SUFFIXES, Decoded, ImageInputError, open_image
from .limits import FORMATS_TEXT, MAX_PIXELS, MAX_UPLOAD_BYTES, too_large_text

#: ImageInputError.kind -> HTTP status.
STATUS_BY_KIND = {
    "empty": 400,
    "not_image": 415,
    "unreadable": 415,
    "too_large": 413,
    "damaged": 422,
    "pixels": 422,
}


class UploadError(Exception):
    """An upload the app cannot use: an HTTP status and a message that says what to do."""

    def __init__(self, status_code: int, detail: str):
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


def safe_name(filename: str | None) -> str:
    """The upload's file name without any folder, at most 80 characters: it is repeated in answers."""
    name = Path((filename or "").replace("\\", "/")).name.strip()
    return (name[:80] + "…" if len(name) > 80 else name) or "upload"


def describe_non_image(data: bytes, name: str) -> str:
    """What a file that is not an image seems to be, and what to upload instead."""
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
    suffix = Path(name).suffix
    named = f" although it is named {suffix}" if suffix.lower() in SUFFIXES else ""
    return f"{name} is not an image: its content is {kind}{named}. Upload a {FORMATS_TEXT} photo."


def decode_upload(data: bytes, name: str, max_bytes: int = MAX_UPLOAD_BYTES, max_pixels: int = MAX_PIXELS) -> Decoded:
    """The upload decoded to 8-bit RGB, or :class:`UploadError` with the status and what to do.

    A decompression bomb (a small file that declares a huge image) is refused from its header,
    before it is decoded.
    """
    if len(data) > max_bytes:
        raise UploadError(413, too_large_text(max_bytes, len(data), name))
    try:
        return open_image(data, name, max_pixels)
    except ImageInputError as error:
        status = STATUS_BY_KIND.get(error.kind, 422)
        if error.kind == "empty":
            detail = (f"{name} is empty (0 bytes). Choose the photo again; if it is still empty, the file was "
                      "not saved or copied completely.")
        elif status == 415:
            detail = describe_non_image(data, name)
        else:
            detail = str(error)
        raise UploadError(status, detail) from None
