"""A batch of returns: each row checked on its own and recorded whole or not at all.

Every row is validated before anything is written, then recorded in a savepoint of the
batch's transaction, so one that fails as it is written (sent at the same moment by
another request, an event the bus would not carry) leaves no trace and the rest go in.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_intake.providers import returns
from complaints_intake.providers.batches import (
    BatchReport,
    RowProblem,
    RowResult,
    rejected,
    validate_row,
)
from complaints_intake.providers.feed_formats import ParsedRow
from complaints_intake.providers.models import Provider
from complaints_shared.contracts.limits import Code
from complaints_shared.event_size import EventTooLarge
from complaints_shared.service import Service

_REFERENCE = TypeAdapter(Code)


def _reference_of(fields: dict[str, Any]) -> str | None:
    """The row's reference if it is one, to name a rejected row by (never other input)."""
    try:
        return _REFERENCE.validate_python(fields.get("provider_reference")) or None
    except ValidationError:
        return None


async def record_rows(
    service: Service, session: AsyncSession, provider: Provider, rows: list[ParsedRow]
) -> BatchReport:
    """Record each valid row; report every row's fate in the order sent."""
    results: list[RowResult] = []
    first_row: dict[str, int] = {}
    for parsed in rows:
        reference = _reference_of(parsed.fields)
        if parsed.problems:
            results.append(rejected(parsed.number, parsed.problems, reference))
            continue
        row = validate_row(returns.ReturnRow, parsed.fields)
        if isinstance(row, list):
            results.append(rejected(parsed.number, row, reference))
            continue
        values = returns.row_values(row, provider, service.settings)
        if isinstance(values, dict) and row.provider_reference in first_row:
            earlier = first_row[row.provider_reference]
            values = [RowProblem(field="provider_reference", reason=f"repeats row {earlier}")]
        if isinstance(values, list):
            results.append(rejected(parsed.number, values, reference))
            continue
        first_row[row.provider_reference] = parsed.number
        try:
            async with service.outbox.savepoint(session):
                status, _ = await returns.record(
                    service, session, provider, row.provider_reference, values
                )
        except IntegrityError:
            why = "sent at the same moment by another request: send it again"
            results.append(rejected(parsed.number, [RowProblem(field="", reason=why)], reference))
            continue
        except EventTooLarge as error:
            problem = RowProblem(field=error.part, reason=str(error))
            results.append(rejected(parsed.number, [problem], reference))
            continue
        results.append(RowResult(row=parsed.number, reference=reference, status=status))
    return BatchReport.of(results)
