"""Describing an error without the values that caused it.

A complaint is personal data (names, addresses, what happened to whom), and the text
of many errors quotes the input: pydantic's ``ValidationError`` prints each bad
``input_value``, SQLAlchemy prints a statement's bound parameters, asyncpg prints the
argument it could not encode and PostgreSQL's ``DETAIL`` lines print key values.
Logs and the dead-letter stream's error header are read by operators and kept by log
platforms for longer than a case, so what reaches them is described here: the error's
type, which field or constraint, and the SQL (our code), never a value.
"""

from __future__ import annotations

import traceback
from types import TracebackType

from pydantic import ValidationError
from sqlalchemy.exc import StatementError

MAX_STATEMENT = 500
"""Characters of a failed SQL statement kept in its description."""


def _validation(error: ValidationError) -> str:
    fields = "; ".join(
        f"{'.'.join(map(str, e['loc'])) or '(whole)'}: {e['type']}"
        for e in error.errors(include_url=False, include_input=False, include_context=False)
    )
    return f"ValidationError: {error.error_count()} invalid in {error.title} ({fields})"


def _database_driver(error: BaseException) -> str:
    """asyncpg's (and SQLAlchemy's adapter's) errors: their message may quote a value, so
    only what names the place is kept (SQLSTATE, constraint, table, column)."""
    cause = error.__cause__ or error
    names = [
        f"{attribute}={value}"
        for attribute in ("sqlstate", "constraint_name", "table_name", "column_name")
        if (value := getattr(cause, attribute, None) or getattr(error, attribute, None))
    ]
    return f"{type(cause).__name__}({', '.join(names)})"


def describe(error: BaseException) -> str:
    """``Type: message`` for ``error``, with no input value in it (see module doc).

    SQLite's own messages name constraints and columns, never values, so they are kept;
    everything else that is not a validation or database error is our own code's
    message, which is written not to quote input.
    """
    if isinstance(error, ValidationError):
        return _validation(error)
    if isinstance(error, StatementError):
        statement = " ".join((error.statement or "").split())[:MAX_STATEMENT]
        cause = error.orig if error.orig is not None else None
        return f"{type(error).__name__}: {describe(cause) if cause else ''} [SQL: {statement}]"
    module = type(error).__module__
    if module.startswith(("asyncpg", "sqlalchemy.dialects")):
        return _database_driver(error)
    message = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def redacted_traceback(exc_info: ExcInfo) -> str:
    """A traceback like Python's (frames, chained causes), each error :func:`describe`\\ d.

    The frames show code only, never local variables, so they are kept whole.
    """
    chain: list[BaseException] = []
    error: BaseException | None = exc_info[1]
    while error is not None and error not in chain:
        chain.append(error)
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    parts = [
        "Traceback (most recent call last):\n"
        + "".join(traceback.format_tb(error.__traceback__))
        + describe(error)
        for error in reversed(chain)
    ]
    return "\n\nleading to:\n\n".join(parts)
