"""A cap on HTTP request bodies (``COMPLAINTS_MAX_REQUEST_BYTES``), answered with a 413
that says the limit.

Nothing this API takes comes near a megabyte (the contracts' bounds keep the largest
request well under it), so a larger body is a mistake or an attack, and it is refused
before it is read into memory: at once when its ``Content-Length`` says so, or as soon
as a streamed body passes the limit. FastAPI's own limit answers in plain text, which
is not the JSON ``{"detail": ...}`` the OpenAPI document gives for every error.
"""

from __future__ import annotations

from fastapi import HTTPException, status
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def body_too_large(limit: int) -> JSONResponse:
    message = f"the request body is over {limit:,} bytes, the most this API takes"
    return JSONResponse({"detail": message}, status_code=status.HTTP_413_CONTENT_TOO_LARGE)


class BodyLimit:
    """ASGI middleware refusing a request body over ``limit`` bytes (see module doc)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            await body_too_large(self.limit)(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                # FastAPI passes an HTTPException from reading the body on to the app's
                # exception handlers, which answer it with body_too_large.
                raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE)
            return message

        await self.app(scope, limited, send)
