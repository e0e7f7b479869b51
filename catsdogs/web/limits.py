"""Every limit of the web app, and the one place each is put into words.

The limits protect a server that anyone on its network may send files to: the bytes of an upload
(checked while the body arrives), its size in pixels (checked from the file's header before any
pixel is decoded, by :func:`catsdogs.images.open_image`), its format, and how many photos are
decoded at once. Decoding is what takes memory: a 40-megapixel photo is 120 MB as 8-bit RGB,
however small its file. So at most :data:`MAX_CONCURRENT_DECODES` uploads are decoded and
predicted at once; the others wait up to :data:`DECODE_WAIT_SECONDS` for their turn, then get a 503
that says to try again.
"""

from __future__ import annotations

from .. import images

MB = 1024 * 1024
#: Largest upload accepted, in bytes (10 MB): far more than a phone photo needs.
MAX_UPLOAD_BYTES = 10 * MB
#: Largest image accepted, in pixels, checked from the header before decoding (the loader's own limit).
MAX_PIXELS = images.MAX_PIXELS
#: The formats accepted, in words (the loader's own list).
FORMATS_TEXT = images.FORMATS_TEXT
#: Uploads decoded and predicted at the same time; further ones wait for a free slot.
MAX_CONCURRENT_DECODES = 2
#: How long an upload waits for a free slot before the answer is 503 "busy, try again".
DECODE_WAIT_SECONDS = 30.0
#: Sent with a busy answer: when to try again, in seconds.
RETRY_AFTER_SECONDS = 5
#: Bytes of one decoded pixel (8-bit RGB), and how many copies of a photo exist at most while it is
#: decoded (the decoder's image and its RGB copy): together they bound the memory of one decode.
BYTES_PER_PIXEL = 3
COPIES_PER_DECODE = 2
#: Longest side of the photo and overlay returned to the page.
PREVIEW_SIZE = 448
#: Room for the multipart boundaries and headers around the file in a request body.
MULTIPART_OVERHEAD = 64 * 1024
#: A refused body is read and dropped up to this many bytes before the refusal is sent: a client still
#: sending gets the answer, where closing on unread data would reset the connection and lose it.
DRAIN_BYTES = 64 * MB
CURL_EXAMPLE = "curl -F file=@photo.jpg http://127.0.0.1:8000/api/predict"


def limit_text(limit: int) -> str:
    """``10 MB``."""
    return f"{limit / MB:g} MB"


def megapixels_text(pixels: int) -> str:
    """``40 megapixels``."""
    return f"{pixels / 1e6:g} megapixels"


def size_text(size: int, limit: int) -> str:
    """A size in MB, with the bytes too when it rounds to the limit."""
    text = f"{size / MB:.1f} MB"
    return f"{text} ({size:,} bytes)" if text == f"{limit / MB:.1f} MB" else text


def too_large_text(max_bytes: int, size: int | None = None, name: str = "The upload") -> str:
    """The one 413 message for too many bytes: the middleware's, the form's and the file's."""
    what = f"{name} is {size_text(size, max_bytes)}" if size is not None else f"{name} is too large"
    return (f"{what}; the limit is {limit_text(max_bytes)} per photo. "
            "Send a smaller photo (the model only looks at a small version of it).")


def accepted_text(max_bytes: int = MAX_UPLOAD_BYTES, max_pixels: int = MAX_PIXELS) -> str:
    """``JPEG, PNG, …, at most 10 MB and 40 megapixels``: what an upload may be."""
    return f"{FORMATS_TEXT}, at most {limit_text(max_bytes)} and {megapixels_text(max_pixels)}"


def decode_memory_bound(max_pixels: int = MAX_PIXELS, decodes: int = MAX_CONCURRENT_DECODES) -> int:
    """The most memory, in bytes, that decoding uploads takes at once: decodes × pixels × bytes × copies."""
    return decodes * max_pixels * BYTES_PER_PIXEL * COPIES_PER_DECODE


def busy_text(decodes: int, waited: float) -> str:
    """The 503 message when every decode slot stayed taken."""
    return (f"The server is busy with other photos ({decodes} at a time; this one waited {waited:g} s for its "
            f"turn). Try again in a few seconds.")
