"""What a batch of rows answers: each row's fate, and for a rejected row each problem.

Both the provider feed (a provider's returns) and the register's CSV import take many
rows at once. Every row is validated on its own; a valid row is applied whole or not
at all, and a bad one never stops the others. The answer names each row by its number
in what was sent (1 for the first data row, as a spreadsheet shows it after its
header), the field and the reason, and never echoes a value back: a row may hold
personal data that must not travel into a client's logs.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError

from complaints_shared.http_errors import field_errors

Row = TypeVar("Row", bound=BaseModel)


class RowStatus(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"  # a resubmission: nothing recorded, nothing counted twice
    REJECTED = "rejected"


class RowProblem(BaseModel):
    """One thing wrong with a row: which field (dotted; empty for the row as a whole)."""

    field: str
    reason: str


class RowResult(BaseModel):
    row: int = Field(description="The row's number in the batch, from 1.")
    reference: str | None = Field(
        default=None, description="The row's key (a provider's reference, a provider's code)."
    )
    status: RowStatus
    problems: list[RowProblem] = Field(default_factory=list)


class BatchReport(BaseModel):
    """The answer to a batch: counts, then every row in the order sent."""

    received: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    rows: list[RowResult]

    @classmethod
    def of(cls, rows: Iterable[RowResult]) -> BatchReport:
        rows = sorted(rows, key=lambda result: result.row)
        count = {status: sum(r.status is status for r in rows) for status in RowStatus}
        return cls(
            received=len(rows),
            created=count[RowStatus.CREATED],
            updated=count[RowStatus.UPDATED],
            unchanged=count[RowStatus.UNCHANGED],
            rejected=count[RowStatus.REJECTED],
            rows=rows,
        )


def refused(description: str) -> dict[str, Any]:
    """The OpenAPI answer for a batch refused whole (422): the report when no row was
    valid, or FastAPI's field errors when the body itself cannot be read."""
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [
                        {"$ref": "#/components/schemas/BatchReport"},
                        {"$ref": "#/components/schemas/HTTPValidationError"},
                    ]
                }
            }
        },
    }


def problems_of(error: ValidationError) -> list[RowProblem]:
    """A validation error's problems, without the values that were sent."""
    return [
        RowProblem(field=".".join(str(part) for part in e["loc"]), reason=e["msg"])
        for e in field_errors(error.errors())
    ]


def validate_row(model: type[Row], data: Any) -> Row | list[RowProblem]:
    """``data`` as ``model``, or what is wrong with it."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        return problems_of(error)


def rejected(row: int, problems: list[RowProblem], reference: str | None = None) -> RowResult:
    return RowResult(row=row, reference=reference, status=RowStatus.REJECTED, problems=problems)
