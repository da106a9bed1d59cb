"""What intake hears: due dates from deadlines, kept so cases can be listed by them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from complaints_intake.models import CaseDeadline
from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.events import DeadlineMet, DeadlineScheduled
from complaints_shared.service import Service


def register_handlers(service: Service) -> None:
    @service.on(DeadlineScheduled)
    async def scheduled(
        envelope: Envelope, deadline: DeadlineScheduled, session: AsyncSession
    ) -> None:
        row = await session.get(CaseDeadline, deadline.deadline_id)
        if row is None:
            row = CaseDeadline(deadline_id=deadline.deadline_id, case_id=envelope.case_id)
            session.add(row)
        row.kind, row.due_on = deadline.kind, deadline.due_on

    @service.on(DeadlineMet)
    async def met(envelope: Envelope, deadline: DeadlineMet, session: AsyncSession) -> None:
        row = await session.get(CaseDeadline, deadline.deadline_id)
        if row is None:  # a case's deadline events arrive in order: this history is broken
            raise LookupError(f"deadline {deadline.deadline_id} met but never scheduled")
        row.status = "met"
