"""What learning does with events: case facts, actions from responses and Ombudsman
decisions, imported histories settled, complainants told.

Case events reach these handlers in each case's order (the platform holds an early
one), so an action is recorded after its case's ``case.received``; whatever else a
handler needs and has not heard of yet it does without (an action recorded before its
case's allocation is led by whoever the event names), never waiting for a retry.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_learning.models import (
    OPEN,
    ActionCase,
    LearningAction,
    LearningCase,
)
from complaints_learning.register import SYSTEM, Register
from complaints_shared.calendar import add_months
from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.events import (
    CaseAllocated,
    CaseCorrected,
    CaseReceived,
    CaseResponded,
    HistoryImported,
    LetterSent,
    OmbudsmanDecided,
)
from complaints_shared.contracts.vocabulary import LearningSource, LearningStatus
from complaints_shared.service import Service

LEARNING_UPDATE = "learning_update"
"""The letter kind that tells a complainant what changed because of their complaint."""
DEFAULT_LEAD = "Complaints manager"
"""Who leads an Ombudsman remedy that names nobody, on a case with no officer."""
REMEDY_MONTHS = 1
"""The LGSCO usually asks for a remedy within a month of its decision."""
CORRECTABLE = ("service_area", "team", "primary_subject", "other_subjects")


def register_handlers(service: Service, register: Register) -> None:
    """Subscribe the register to the events it follows."""

    @service.on(CaseReceived)
    async def received(envelope: Envelope, case: CaseReceived, session: AsyncSession) -> None:
        """Keep the case's facts: its directorate, service area, subjects."""
        assert envelope.case_id is not None
        if await session.get(LearningCase, envelope.case_id) is not None:
            return
        session.add(
            LearningCase(
                case_id=envelope.case_id,
                organisation=envelope.organisation,
                directorate=envelope.directorate,
                reference=case.reference,
                received_on=case.received_on,
                service_area=case.service_area,
                team=case.team,
                primary_subject=case.primary_subject,
                other_subjects=list(case.other_subjects),
                rounds=0,
                settled=False,
            )
        )

    @service.on(CaseCorrected)
    async def corrected(
        envelope: Envelope, correction: CaseCorrected, session: AsyncSession
    ) -> None:
        """Follow corrections of the facts learning counts by. Actions keep the service
        area and subject they were recorded with (an officer may change them)."""
        case = await session.get(LearningCase, envelope.case_id)
        if case is None:
            return
        for field in set(correction.fields) & set(CORRECTABLE):
            value = getattr(correction, field)
            setattr(case, field, list(value or ()) if field == "other_subjects" else value)

    @service.on(CaseAllocated)
    async def allocated(
        envelope: Envelope, allocation: CaseAllocated, session: AsyncSession
    ) -> None:
        """The case's officer leads Ombudsman remedies that name nobody."""
        case = await session.get(LearningCase, envelope.case_id)
        if case is not None:
            case.officer = allocation.officer

    @service.on(CaseResponded)
    async def responded(envelope: Envelope, response: CaseResponded, session: AsyncSession) -> None:
        """Record each learning action of a response, under the id intake gave it."""
        assert envelope.case_id is not None
        case = await session.get(LearningCase, envelope.case_id)
        for spec in response.learning_actions:
            if await session.get(LearningAction, spec.id) is not None:
                continue
            action = LearningAction(
                id=spec.id,
                organisation=envelope.organisation,
                directorate=envelope.directorate,
                description=spec.description,
                lead=spec.owner,
                lead_email=spec.owner_email,
                **_from_case(case),
                due_on=spec.due_on,
                source=LearningSource.RESPONSE,
                stage=response.stage,
                themes=list(spec.themes),
                identified_on=response.responded_on,
                evidence_links=[],
            )
            action.service_area = spec.service_area or action.service_area
            await register.record(session, action, [envelope.case_id], SYSTEM, envelope)

    @service.on(OmbudsmanDecided)
    async def ombudsman_decided(
        envelope: Envelope, decision: OmbudsmanDecided, session: AsyncSession
    ) -> None:
        """Each remedy the Ombudsman asks for is an action, due when it says (a month
        from the decision if it does not), led by whoever it names, else the case's
        officer, else the complaints manager."""
        assert envelope.case_id is not None
        case = await session.get(LearningCase, envelope.case_id)
        for number, remedy in enumerate(decision.remedies):
            action_id = uuid.uuid5(envelope.id, f"remedy-{number}")
            if await session.get(LearningAction, action_id) is not None:
                continue
            action = LearningAction(
                id=action_id,
                organisation=envelope.organisation,
                directorate=envelope.directorate,
                description=remedy.description or remedy.kind.value.replace("_", " "),
                lead=remedy.owner or (case.officer if case else None) or DEFAULT_LEAD,
                **_from_case(case),
                due_on=remedy.due_on or add_months(decision.decided_on, REMEDY_MONTHS),
                source=LearningSource.OMBUDSMAN,
                themes=[],
                identified_on=decision.decided_on,
                evidence_links=[],
            )
            await register.record(session, action, [envelope.case_id], SYSTEM, envelope)

    @service.on(HistoryImported)
    async def history_imported(
        envelope: Envelope, history: HistoryImported, session: AsyncSession
    ) -> None:
        """An imported case's actions still open past their due date end as
        ``not_recorded``: the old system's record of whether they were done is not in
        the history, so they are neither left open forever nor counted as done."""
        for action in await _actions_of(session, envelope.case_id):
            if action.status in OPEN and action.due_on < history.imported_on:
                await register.settle_by_import(session, action, envelope)

    @service.on(LetterSent)
    async def letter_sent(envelope: Envelope, letter: LetterSent, session: AsyncSession) -> None:
        """A learning-update letter tells the complainant of every done action of the
        case not yet told of (letters writes it from ``learning.case_settled``, so the
        actions it reports are done here before it is sent)."""
        if letter.kind != LEARNING_UPDATE or envelope.case_id is None:
            return
        for action in await _actions_of(session, envelope.case_id):
            if action.status == LearningStatus.DONE and action.complainant_told_on is None:
                await register.tell(session, action, letter.sent_on, envelope)


def _from_case(case: LearningCase | None) -> dict[str, str | None]:
    """What an action takes from the case it came from: service area, team, subject."""
    if case is None:
        return {"service_area": None, "team": None, "subject": None}
    return {"service_area": case.service_area, "team": case.team, "subject": case.primary_subject}


async def _actions_of(session: AsyncSession, case_id: uuid.UUID | None) -> list[LearningAction]:
    found = await session.scalars(
        select(LearningAction)
        .join(ActionCase, ActionCase.action_id == LearningAction.id)
        .where(ActionCase.case_id == case_id)
        .order_by(LearningAction.due_on, LearningAction.id)
    )
    return list(found)
