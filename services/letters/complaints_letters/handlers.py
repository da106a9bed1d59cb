"""Letters' event handlers: gather what a letter needs, then send it exactly once.

The acknowledgement needs the case (``case.received``) and its response date
(``deadline.scheduled``), which arrive on different streams in either order; each
handler records its part and tries to issue the letter. An anonymous complaint that
gave no email or postal address gets no letter at all; one that gave either gets its
letters addressed without a name ("Dear Sir or Madam").
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from jinja2 import Environment
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_letters.models import CaseFacts, Letter
from complaints_letters.rendering import render
from complaints_shared.calendar import today_in_england
from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.events import (
    CaseAnonymised,
    CaseEscalated,
    CaseReceived,
    DeadlineScheduled,
    LetterIssued,
)
from complaints_shared.contracts.vocabulary import DeadlineKind, LetterKind
from complaints_shared.procedures import procedure
from complaints_shared.service import Service

log = structlog.get_logger(__name__)

PROCEDURE_NAMES = {
    "adults": "statutory adult social care complaints procedure",
    "childrens": "statutory children's social care complaints procedure",
    "corporate": "corporate complaints procedure",
}


async def _facts(session: AsyncSession, case_id: uuid.UUID) -> CaseFacts:
    facts = await session.get(CaseFacts, case_id, with_for_update=True)
    if facts is None:
        facts = CaseFacts(case_id=case_id)
        session.add(facts)
    return facts


def register_handlers(service: Service, templates: Environment) -> None:
    settings = service.settings
    procedures = settings.configured_procedures()

    def acknowledgement_context(facts: CaseFacts) -> dict[str, Any]:
        directorate = settings.directorates.get(facts.directorate or "")
        return {
            "organisation_name": settings.organisation_name,
            "complaints_team": settings.complaints_team,
            "reference": facts.reference,
            "complainant": facts.complainant,
            "received_on": facts.received_on,
            "response_due_on": facts.response_due_on,
            "issued_on": today_in_england(),
            "procedure": facts.procedure,
            "procedure_name": PROCEDURE_NAMES.get(facts.procedure or "", "complaints procedure"),
            "directorate_name": directorate.name if directorate else facts.directorate,
        }

    async def issue(
        envelope: Envelope,
        session: AsyncSession,
        facts: CaseFacts,
        template: str,
        context: dict[str, Any],
        stage: int = 1,
    ) -> None:
        """Render and keep an acknowledgement, once per case and stage, and announce it."""
        already = await session.scalar(
            select(Letter.id).where(
                Letter.case_id == facts.case_id,
                Letter.kind == LetterKind.ACKNOWLEDGEMENT,
                Letter.stage == stage,
            )
        )
        if already is not None:
            return
        letter = Letter(
            id=uuid.uuid4(),
            case_id=facts.case_id,
            kind=LetterKind.ACKNOWLEDGEMENT,
            stage=stage,
            template=template,
            issued_on=context["issued_on"],
            html=render(templates, template, context),
        )
        session.add(letter)
        issued = LetterIssued(
            letter_id=letter.id,
            kind=LetterKind.ACKNOWLEDGEMENT,
            issued_on=letter.issued_on,
            stage=stage if stage > 1 else None,
        )
        await service.publish(
            session,
            envelope.caused(
                issued,
                organisation=facts.organisation,
                directorate=facts.directorate,
                case_id=facts.case_id,
            ),
        )
        log.info("acknowledgement letter issued", letter_id=str(letter.id), stage=stage)

    async def issue_acknowledgement(
        envelope: Envelope, session: AsyncSession, facts: CaseFacts
    ) -> None:
        if facts.reference is None or facts.response_due_on is None:
            return  # the other half has not arrived yet
        if facts.imported or not facts.writable:
            # History from an old system (the complainant was written to back then), or an
            # anonymous complaint that left no address: nobody to write to.
            return
        await issue(
            envelope, session, facts, "acknowledgement.html.j2", acknowledgement_context(facts)
        )

    @service.on(CaseReceived)
    async def case_received(envelope: Envelope, case: CaseReceived, session: AsyncSession) -> None:
        facts = await _facts(session, envelope.case_id)
        facts.reference = case.reference
        facts.organisation = envelope.organisation
        facts.directorate = envelope.directorate
        facts.procedure = case.procedure
        facts.received_on = case.received_on
        facts.complainant = case.complainant.model_dump(mode="json")
        facts.imported = case.imported
        facts.writable = case.expects_letters
        await issue_acknowledgement(envelope, session, facts)

    @service.on(CaseAnonymised)
    async def case_anonymised(
        envelope: Envelope, anonymised: CaseAnonymised, session: AsyncSession
    ) -> None:
        """Past retention: the letters go (their kind and date stay, for the record)."""
        facts = await _facts(session, envelope.case_id)
        facts.complainant = None
        notice = (
            f"<p>This letter was removed on {anonymised.anonymised_on:%d %B %Y}: the case "
            f"was kept until {anonymised.retained_until:%d %B %Y} under the retention policy.</p>"
        )
        await session.execute(
            update(Letter).where(Letter.case_id == envelope.case_id).values(html=notice)
        )

    @service.on(DeadlineScheduled)
    async def deadline_scheduled(
        envelope: Envelope, deadline: DeadlineScheduled, session: AsyncSession
    ) -> None:
        if deadline.kind != DeadlineKind.RESPONSE or deadline.stage != 1:
            return  # the acknowledgement gives the first response's date
        facts = await _facts(session, envelope.case_id)
        if facts.response_due_on is not None:
            # Scheduled again after a reopening: the letter promises the first date, which
            # it must, whether it is issued before or after the reopening is heard of.
            return
        facts.response_due_on = deadline.due_on
        await issue_acknowledgement(envelope, session, facts)

    @service.on(CaseEscalated)
    async def case_escalated(
        envelope: Envelope, escalation: CaseEscalated, session: AsyncSession
    ) -> None:
        """A stage whose procedure has an acknowledgement step gets its own letter."""
        facts = await _facts(session, envelope.case_id)
        if facts.imported or not facts.writable or facts.procedure is None:
            # History, nobody to write to, or (impossibly) an escalation before the case.
            return
        stage = procedure(facts.procedure, procedures).stage(escalation.to_stage)
        step = stage.step(DeadlineKind.RESPONSE)
        if stage.step(DeadlineKind.ACKNOWLEDGEMENT) is None or step is None:
            return
        context = {
            **acknowledgement_context(facts),
            "stage": escalation.to_stage,
            "stage_name": stage.name,
            "requested_on": escalation.requested_on,
            "response_working_days": step.working_days,
        }
        await issue(
            envelope,
            session,
            facts,
            "escalation_acknowledgement.html.j2",
            context,
            escalation.to_stage,
        )
