"""How an import line differs from the case already stored under its reference.

A re-run import skips a reference that is already there. When the line says
something else (a corrected export, or an old system that used a reference twice),
the report names what differs, since the file's version never went in. Every field
of the complaint is compared with the case as it stands (its service user's details
included), and the steps with the history the import recorded (between ``received``
and ``history-imported``), each step's fields with those of the event it published:
a history that has grown since the last export differs too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_intake.models import Case, Equalities, HistoryEntry
from complaints_intake.schemas import NewComplaint, ServiceUser

_STEP_KEYS = {"action", "actor"}
"""What an import step carries besides its command's fields."""


async def differences(
    session: AsyncSession, case: Case, complaint: NewComplaint, steps: Sequence[BaseModel]
) -> list[str]:
    """What differs between the line and ``case``: complaint fields by name, steps as
    ``steps.<index>``."""
    given = complaint.model_dump(mode="json")
    given["service_user"] = _someone(given["service_user"])
    stored = await _stored_complaint(session, case)
    if given["provider_id"] is None:  # the register matched the line's name: not a difference
        given["provider_id"] = stored["provider_id"]
    found = [name for name, value in given.items() if value != stored[name]]
    recorded = await _imported_steps(session, case)
    for index in range(max(len(steps), len(recorded))):
        both = index < len(steps) and index < len(recorded)
        if not both or not _same_step(steps[index], recorded[index]):
            found.append(f"steps.{index}")
    return found


async def _stored_complaint(session: AsyncSession, case: Case) -> dict[str, Any]:
    fields = {name: getattr(case, name) for name in NewComplaint.model_fields}
    equalities = await session.get(Equalities, case.id)
    user = {name: getattr(equalities, name, None) for name in ServiceUser.model_fields}
    fields["service_user"] = _someone({**user, "name": case.service_user})
    return to_jsonable_python(fields)


def _someone(user: dict[str, Any] | None) -> dict[str, Any] | None:
    """A service user with nothing known is the same as none."""
    return user if user and any(value is not None for value in user.values()) else None


async def _imported_steps(session: AsyncSession, case: Case) -> list[HistoryEntry]:
    entries = list(
        await session.scalars(
            select(HistoryEntry).where(HistoryEntry.case_id == case.id).order_by(HistoryEntry.seq)
        )
    )
    steps = entries[1:]  # after "received"
    ended = next((i for i, entry in enumerate(steps) if entry.action == "history-imported"), None)
    return steps if ended is None else steps[:ended]


def _same_step(step: BaseModel, entry: HistoryEntry) -> bool:
    if (step.action, step.actor) != (entry.action, entry.actor):  # type: ignore[attr-defined]
        return False
    fields = step.model_dump(mode="json", exclude=_STEP_KEYS)
    return _within(fields, entry.details)


def _within(given: Any, stored: Any) -> bool:
    """Whether ``stored`` says what ``given`` says; keys only ``stored`` has (such as the
    ids given to agreed points) are not a difference, nor are keys it does not keep."""
    if isinstance(given, dict):
        return isinstance(stored, dict) and all(
            _within(value, stored[key]) for key, value in given.items() if key in stored
        )
    if isinstance(given, list):
        return (
            isinstance(stored, list)
            and len(given) == len(stored)
            and all(_within(a, b) for a, b in zip(given, stored, strict=True))
        )
    return given == stored
