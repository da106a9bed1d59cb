"""What deadlines does with the events it hears."""

from __future__ import annotations

import uuid
from datetime import date

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_deadlines.models import Deadline
from complaints_shared.calendar import WorkingDayCalendar
from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.events import (
    CaseReceived,
    CaseResponded,
    DeadlineMet,
    DeadlineScheduled,
    LetterIssued,
)
from complaints_shared.contracts.vocabulary import DeadlineKind, LetterKind
from complaints_shared.procedures import STAGE_START, procedure
from complaints_shared.service import Service

log = structlog.get_logger(__name__)


class NotScheduledYet(LookupError):
    """The step happened before its deadline was scheduled; retried until it is."""


def register_handlers(service: Service, calendar: WorkingDayCalendar) -> None:
    @service.on(CaseReceived)
    async def schedule(envelope: Envelope, case: CaseReceived, session: AsyncSession) -> None:
        """Turn the first stage's steps into due dates, each explained."""
        due: dict[str, date] = {}
        for step in procedure(case.procedure).stage(1).steps:
            start = case.received_on if step.counts_from == STAGE_START else due[step.counts_from]
            deadline = Deadline(
                id=uuid.uuid4(),
                case_id=envelope.case_id,
                organisation=envelope.organisation,
                directorate=envelope.directorate,
                procedure=case.procedure,
                kind=step.kind,
                start_on=start,
                due_on=calendar.add(start, step.working_days),
                working_days=step.working_days,
                rule=step.rule,
            )
            skipped = calendar.skipped_between(start, deadline.due_on)
            deadline.skipped = [day.model_dump(mode="json") for day in skipped]
            due[step.kind] = deadline.due_on
            session.add(deadline)
            await service.publish(
                session,
                envelope.caused(
                    DeadlineScheduled(
                        deadline_id=deadline.id,
                        kind=step.kind,
                        start_on=start,
                        due_on=deadline.due_on,
                        working_days=step.working_days,
                        rule=step.rule,
                        skipped=tuple(skipped),
                    )
                ),
            )
        log.info("deadlines scheduled", due={k.value: d.isoformat() for k, d in due.items()})

    async def meet(envelope: Envelope, session: AsyncSession, kind: DeadlineKind, on: date) -> None:
        deadline = await session.scalar(
            select(Deadline)
            .where(Deadline.case_id == envelope.case_id, Deadline.kind == kind)
            .with_for_update()
        )
        if deadline is None:
            raise NotScheduledYet(f"no {kind} deadline for case {envelope.case_id} yet")
        if deadline.status == "met":
            return
        deadline.status = "met"
        deadline.met_on = on
        await service.publish(
            session,
            envelope.caused(
                DeadlineMet(
                    deadline_id=deadline.id, kind=kind, met_on=on, on_time=on <= deadline.due_on
                )
            ),
        )

    @service.on(LetterIssued)
    async def acknowledged(envelope: Envelope, letter: LetterIssued, session: AsyncSession) -> None:
        if letter.kind == LetterKind.ACKNOWLEDGEMENT:
            await meet(envelope, session, DeadlineKind.ACKNOWLEDGEMENT, letter.issued_on)

    @service.on(CaseResponded)
    async def responded(envelope: Envelope, response: CaseResponded, session: AsyncSession) -> None:
        await meet(envelope, session, DeadlineKind.RESPONSE, response.responded_on)
