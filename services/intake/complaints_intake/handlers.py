"""What intake hears: due dates from deadlines, kept so cases can be listed by them."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_intake.models import CaseDeadline
from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.events import DeadlineMet, DeadlineScheduled
from complaints_shared.db import upsert
from complaints_shared.service import Service


def register_handlers(service: Service) -> None:
    # Plain statements rather than ORM loads: these run for every deadline of every case.
    @service.on(DeadlineScheduled)
    async def scheduled(
        envelope: Envelope, deadline: DeadlineScheduled, session: AsyncSession
    ) -> None:
        values = {"kind": deadline.kind, "due_on": deadline.due_on}
        await session.execute(
            upsert(session, CaseDeadline)
            .values(deadline_id=deadline.deadline_id, case_id=envelope.case_id, **values)
            .on_conflict_do_update(index_elements=[CaseDeadline.deadline_id], set_=values)
        )

    @service.on(DeadlineMet)
    async def met(envelope: Envelope, deadline: DeadlineMet, session: AsyncSession) -> None:
        done = await session.execute(
            update(CaseDeadline)
            .where(CaseDeadline.deadline_id == deadline.deadline_id)
            .values(status="met")
            .execution_options(synchronize_session=False)
        )
        if done.rowcount == 0:  # a case's deadline events arrive in order: this history is broken
            raise LookupError(f"deadline {deadline.deadline_id} met but never scheduled")
