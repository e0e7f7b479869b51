"""ASGI middleware that refuses a request body too large for one upload, before storing it."""

from __future__ import annotations

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .limits import DRAIN_BYTES, MULTIPART_OVERHEAD, too_large_text


class BodyTooLarge(HTTPException):
    """Raised while the request body is read, as soon as it passes the limit."""

    def __init__(self, max_bytes: int, size: int | None = None):
        super().__init__(413, too_large_text(max_bytes, size))


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
    rest of the body is dropped (see :func:`drain`) before the answer goes out.
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

        async def limited_receive() -> Message:
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
