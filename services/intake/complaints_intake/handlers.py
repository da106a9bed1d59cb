"""What intake hears: each deadline's date and state, kept so cases can be listed by them.

Intake's copy follows every change deadlines announces (scheduled, moved, paused,
resumed, met, missed, cancelled), so "due within N days" here names the same cases as
deadlines' own due list. A case's deadline events arrive in order.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_intake.models import CaseDeadline
from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.events import (
    DeadlineCancelled,
    DeadlineMet,
    DeadlineMissed,
    DeadlinePaused,
    DeadlineRescheduled,
    DeadlineResumed,
    DeadlineScheduled,
)
from complaints_shared.db import upsert
from complaints_shared.service import Service


async def _change(
    session: AsyncSession, deadline_id: uuid.UUID, status: str | None, due_on: date | None = None
) -> None:
    """Update intake's copy of one deadline; one never scheduled here means a broken history."""
    values = {"status": status} if status else {}
    if due_on is not None:
        values["due_on"] = due_on
    done = await session.execute(
        update(CaseDeadline)
        .where(CaseDeadline.deadline_id == deadline_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount == 0:
        raise LookupError(f"deadline {deadline_id} changed but was never scheduled")


def register_handlers(service: Service) -> None:
    # Plain statements rather than ORM loads: these run for every deadline of every case.
    @service.on(DeadlineScheduled)
    async def scheduled(
        envelope: Envelope, deadline: DeadlineScheduled, session: AsyncSession
    ) -> None:
        """New, or scheduled again (a reopened case's clock): open, with its date."""
        values = {"kind": deadline.kind, "due_on": deadline.due_on, "status": "open"}
        await session.execute(
            upsert(session, CaseDeadline)
            .values(deadline_id=deadline.deadline_id, case_id=envelope.case_id, **values)
            .on_conflict_do_update(index_elements=[CaseDeadline.deadline_id], set_=values)
        )

    @service.on(DeadlineRescheduled)
    async def rescheduled(
        envelope: Envelope, deadline: DeadlineRescheduled, session: AsyncSession
    ) -> None:
        await _change(session, deadline.deadline_id, None, deadline.new_due_on)

    @service.on(DeadlinePaused)
    async def paused(envelope: Envelope, deadline: DeadlinePaused, session: AsyncSession) -> None:
        """A running deadline waits; one met after the clock stopped stays met."""
        await session.execute(
            update(CaseDeadline)
            .where(CaseDeadline.deadline_id == deadline.deadline_id, CaseDeadline.status == "open")
            .values(status="paused")
            .execution_options(synchronize_session=False)
        )

    @service.on(DeadlineResumed)
    async def resumed(envelope: Envelope, deadline: DeadlineResumed, session: AsyncSession) -> None:
        await _change(session, deadline.deadline_id, "open", deadline.due_on)

    @service.on(DeadlineMet)
    async def met(envelope: Envelope, deadline: DeadlineMet, session: AsyncSession) -> None:
        await _change(session, deadline.deadline_id, "met")

    @service.on(DeadlineMissed)
    async def missed(envelope: Envelope, deadline: DeadlineMissed, session: AsyncSession) -> None:
        await _change(session, deadline.deadline_id, "missed")

    @service.on(DeadlineCancelled)
    async def cancelled(
        envelope: Envelope, deadline: DeadlineCancelled, session: AsyncSession
    ) -> None:
        await _change(session, deadline.deadline_id, "cancelled")
