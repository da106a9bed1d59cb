"""The HTTP answers every service shares when it cannot do what was asked.

A 422 always has FastAPI's own shape, a list of ``{"loc", "msg", "type"}`` naming each
bad field, whether the framework, a domain check or the bus's size limit found the
fault, so a client reads one shape (the one the OpenAPI document gives). A body over
``COMPLAINTS_MAX_REQUEST_BYTES`` is a 413 that says the limit.
"""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse

from complaints_shared.body_limit import BodyLimit, body_too_large
from complaints_shared.event_size import EventTooLarge


def field_error(field: str, message: str, where: str = "body") -> HTTPException:
    """A 422 shaped like FastAPI's own validation errors, naming the field.

    ``field`` may be dotted (``complainant.name``); ``where`` is ``body``, ``query`` or
    ``path``.
    """
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=[{"loc": [where, *field.split(".")], "msg": message, "type": "value_error"}],
    )


def install_error_handlers(app: FastAPI, max_request_bytes: int) -> None:
    """Answer an event too large for the bus and a body over the limit as above."""

    async def event_too_large(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, EventTooLarge)
        refusal = field_error(error.part, str(error))
        refusal.detail[0]["type"] = "too_large"
        return JSONResponse({"detail": refusal.detail}, status_code=refusal.status_code)

    async def too_large(_request: Request, _error: Exception) -> JSONResponse:
        return body_too_large(max_request_bytes)

    app.add_exception_handler(EventTooLarge, event_too_large)
    app.add_exception_handler(status.HTTP_413_CONTENT_TOO_LARGE, too_large)
    app.add_middleware(BodyLimit, limit=max_request_bytes)
