"""Request input read strictly, so that what the API accepts can be stored and published.

Python's ``json``, which FastAPI reads bodies with, accepts ``NaN`` and ``Infinity``,
numbers too large for a float (as infinity) and strings holding lone surrogates
(``"\\udfff"``). None of them can be stored, published or even written back in
FastAPI's own 422 (which then failed with a 500); and a body that is not UTF-8 got
FastAPI's 400, an answer the OpenAPI document does not give. Every service's routes
(:class:`StrictRoute`) therefore read bodies with :func:`strict_json`, which refuses
all of these as invalid JSON: a 422 in the documented shape, like any other invalid
body (``{"detail": [{"type": "json_invalid", "loc": ["body", 0], ...}]}``).

The same routes refuse a query parameter holding a NUL character, which PostgreSQL
cannot compare text with, with a 422 naming the parameter.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("a number is out of range for a float")  # not echoed: it is input
    return number


def strict_json(body: bytes) -> Any:
    """``body`` decoded, or :class:`json.JSONDecodeError` if it is not strictly JSON in UTF-8."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise json.JSONDecodeError(
            "not UTF-8 text", body.decode("utf-8", "replace"), error.start
        ) from None
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
        # A string with a lone surrogate cannot be encoded: the quickest way to find one.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except json.JSONDecodeError:
        raise
    except UnicodeEncodeError:
        raise json.JSONDecodeError("a string holds a lone surrogate", text, 0) from None
    except (ValueError, RecursionError) as error:  # ours, an integer of too many digits, nesting
        raise json.JSONDecodeError(str(error) or type(error).__name__, text, 0) from None
    return value


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = strict_json(await self.body())
        return self._json


class StrictRoute(APIRoute):
    """A route whose body is read with :func:`strict_json` and whose query refuses NUL."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        declared = {parameter.alias for parameter in self.dependant.query_params}

        async def strict(request: Request) -> Response:
            for name, value in request.query_params.multi_items():
                if name in declared and "\x00" in value:
                    raise RequestValidationError(
                        [
                            {
                                "type": "string_pattern_mismatch",
                                "loc": ("query", name),
                                "msg": "must not contain a NUL character",
                                "input": value.replace("\x00", "\\x00"),
                            }
                        ]
                    )
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict
