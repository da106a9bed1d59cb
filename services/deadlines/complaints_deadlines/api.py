"""Deadlines' HTTP API under /api/v1/deadlines."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from complaints_deadlines.models import Deadline
from complaints_shared.contracts.events import SkippedDay
from complaints_shared.contracts.vocabulary import DeadlineKind
from complaints_shared.service import Service


class DeadlineView(BaseModel):
    """A deadline with the explanation of its date."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    case_id: uuid.UUID
    kind: DeadlineKind
    due: date
    start: date
    working_days: int
    rule: str
    skipped: list[SkippedDay]
    status: str
    met_on: date | None

    @classmethod
    def of(cls, deadline: Deadline) -> DeadlineView:
        return cls(
            id=deadline.id,
            case_id=deadline.case_id,
            kind=deadline.kind,
            due=deadline.due_on,
            start=deadline.start_on,
            working_days=deadline.working_days,
            rule=deadline.rule,
            skipped=deadline.skipped,
            status=deadline.status,
            met_on=deadline.met_on,
        )


def register_api(service: Service) -> None:
    @service.http.get("/api/v1/deadlines", response_model=list[DeadlineView], tags=["deadlines"])
    async def list_deadlines(case_id: uuid.UUID) -> list[DeadlineView]:
        """A case's deadlines in due order, each with its rule and the days it skipped."""
        async with service.db.transaction() as session:
            rows = await session.scalars(
                select(Deadline).where(Deadline.case_id == case_id).order_by(Deadline.due_on)
            )
            return [DeadlineView.of(row) for row in rows]
