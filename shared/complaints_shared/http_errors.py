"""The HTTP answers every service shares when it cannot do what was asked.

A 422 always has FastAPI's own shape, a list of ``{"loc", "msg", "type"}`` naming each
bad field, whether the framework, a domain check or the bus's size limit found the
fault, so a client reads one shape (the one the OpenAPI document gives). A body over
``COMPLAINTS_MAX_REQUEST_BYTES`` is a 413 that says the limit; every other refusal (404,
409) is ``{"detail": "<why>"}``, documented on its route with :func:`problem`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from complaints_shared.body_limit import BodyLimit, body_too_large
from complaints_shared.event_size import EventTooLarge


class Problem(BaseModel):
    """Why a request was refused (404, 409, 413), in words."""

    detail: str


def problem(description: str) -> dict[str, Any]:
    """An OpenAPI ``responses`` entry for a refusal with a :class:`Problem` body."""
    return {"model": Problem, "description": description}


BODY_TOO_LARGE = {413: problem("The request body is over COMPLAINTS_MAX_REQUEST_BYTES")}
"""Every route may answer this (the limit applies before any route is chosen)."""


def field_error(field: str, message: str, where: str = "body") -> HTTPException:
    """A 422 shaped like FastAPI's own validation errors, naming the field.

    ``field`` may be dotted (``complainant.name``); ``where`` is ``body``, ``query`` or
    ``path``.
    """
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=[{"loc": [where, *field.split(".")], "msg": message, "type": "value_error"}],
    )


def _as_text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def install_error_handlers(app: FastAPI, max_request_bytes: int) -> None:
    """Answer invalid requests, an event too large for the bus and a body over the
    limit as above."""

    async def request_invalid(_request: Request, error: Exception) -> JSONResponse:
        # FastAPI's own handler, except that a body sent as something other than JSON
        # (raw bytes, perhaps not UTF-8) is written back as text instead of failing.
        assert isinstance(error, RequestValidationError)
        detail = jsonable_encoder(error.errors(), custom_encoder={bytes: _as_text})
        return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    async def event_too_large(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, EventTooLarge)
        refusal = field_error(error.part, str(error))
        refusal.detail[0]["type"] = "too_large"
        return JSONResponse({"detail": refusal.detail}, status_code=refusal.status_code)

    async def too_large(_request: Request, _error: Exception) -> JSONResponse:
        return body_too_large(max_request_bytes)

    app.add_exception_handler(RequestValidationError, request_invalid)
    app.add_exception_handler(EventTooLarge, event_too_large)
    app.add_exception_handler(status.HTTP_413_CONTENT_TOO_LARGE, too_large)
    app.add_middleware(BodyLimit, limit=max_request_bytes)
