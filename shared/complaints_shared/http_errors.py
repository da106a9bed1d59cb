"""The HTTP answers every service shares when it cannot do what was asked.

A 422 always has FastAPI's own shape, a list of ``{"loc", "msg", "type"}`` naming each
bad field (never echoing what was sent, :func:`field_errors`), whether the framework, a domain check or the bus's size limit found the
fault, so a client reads one shape (the one the OpenAPI document gives). A body over
``COMPLAINTS_MAX_REQUEST_BYTES`` is a 413 that says the limit; every other refusal (404,
409) is ``{"detail": "<why>"}``, documented on its route with :func:`problem`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, HTTPException, Request, status
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


def field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Each error's ``loc``, ``msg`` and ``type``, and nothing of what was sent.

    Pydantic also gives the ``input`` (a 10 MB summary came back whole) and a ``ctx``
    that may hold it; a request is a complaint, personal data that an error must not
    copy into a browser's history, a proxy's log or a client's bug report. An invalid
    email's message ends with the reason ``email-validator`` gave, which may quote the
    address's domain or characters, so that reason is left off. A body that is not JSON
    keeps the decoder's reason (``Expecting value``), which describes the syntax only.
    """
    safe = []
    for error in errors:
        message, context = error["msg"], error.get("ctx") or {}
        if isinstance(context.get("reason"), str):
            message = message.removesuffix(f": {context['reason']}")
        if error["type"] == "json_invalid" and "error" in context:
            message = f"{message}: {context['error']}"
        safe.append({"loc": list(error["loc"]), "msg": message, "type": error["type"]})
    return safe


def install_error_handlers(app: FastAPI, max_request_bytes: int) -> None:
    """Answer invalid requests, an event too large for the bus and a body over the
    limit as above."""

    async def request_invalid(_request: Request, error: Exception) -> JSONResponse:
        # FastAPI's own handler, less what was sent (which also means a body that is not
        # JSON, raw bytes perhaps not UTF-8, is never written back).
        assert isinstance(error, RequestValidationError)
        return JSONResponse(
            {"detail": field_errors(error.errors())},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )

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
