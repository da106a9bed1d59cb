"""Letters' event handlers: keep what letters need of each case, and draft the letters
the procedures call for, each once however often its event is delivered.

Facts arrive on two streams in any order (cases from intake, dates from deadlines); a
letter that needs both (the acknowledgement needs the response date; the holding
letter needs the extension's reason and the engine's new date) is drafted by whichever
handler completes it. JSON columns are replaced, never changed in place, so SQLAlchemy
sees the change.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_letters.drafting import Drafter
from complaints_letters.kinds import Kind
from complaints_letters.learning_update import draft_learning_updates, note_settlement
from complaints_letters.models import OPEN, SYSTEM, CaseFacts, Letter, LetterEvent, Status, cancel
from complaints_letters.next_step import next_step
from complaints_shared.calendar import organisation_calendar
from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.events import (
    CaseAllocated,
    CaseAnonymised,
    CaseClosed,
    CaseCorrected,
    CaseEscalated,
    CaseExtended,
    CaseLearningSettled,
    CaseReceived,
    CaseReopened,
    CaseResponded,
    CaseTriaged,
    CaseWithdrawn,
    ClockStopped,
    Complainant,
    DeadlineReminder,
    DeadlineRescheduled,
    DeadlineScheduled,
    PeopleAppointed,
    PointsAgreed,
)
from complaints_shared.contracts.vocabulary import (
    ClockStopReason,
    Consent,
    DeadlineKind,
    TriageDecision,
)
from complaints_shared.procedures import Procedure, procedure
from complaints_shared.service import Service


async def _facts(session: AsyncSession, envelope: Envelope) -> CaseFacts:
    """The case's facts, locked for this handler; made on the case's first event."""
    facts = await session.get(CaseFacts, envelope.case_id, with_for_update=True)
    if facts is None:
        facts = CaseFacts(
            case_id=envelope.case_id,
            correlation_id=envelope.correlation_id,
            points={},
            people={},
            due={},
            responded={},
            escalated={},
            extensions={},
            settled={},
        )
        session.add(facts)
    return facts


def dating_step(stage_procedure: Procedure, stage: int) -> DeadlineKind:
    """The deadline an escalation's acknowledgement gives: the panel's, or the response's."""
    has_panel = stage_procedure.stage(stage).step(DeadlineKind.PANEL) is not None
    return DeadlineKind.PANEL if has_panel else DeadlineKind.RESPONSE


async def cancel_open(
    session: AsyncSession, case_id: uuid.UUID, reason: str, kinds: tuple[str, ...] = ()
) -> None:
    """Cancel the case's letters that have not gone (of ``kinds``, or all)."""
    query = select(Letter).where(Letter.case_id == case_id, Letter.status.in_(OPEN))
    if kinds:
        query = query.where(Letter.kind.in_(kinds))
    for letter in await session.scalars(query):
        cancel(session, letter, SYSTEM, reason)


def _note_extension(facts: CaseFacts, cause: str, **parts: object) -> None:
    """Add what one stream says of an extension (its reason, or its new date)."""
    facts.extensions = {**facts.extensions, cause: {**facts.extensions.get(cause, {}), **parts}}


def _moot(facts: CaseFacts, stage: int) -> str | None:
    """Why a holding letter for ``stage`` need not go, if it need not."""
    if str(stage) in facts.responded:
        return f"stage {stage} was answered"
    if facts.ended:
        return "the case has ended"
    return None


def register_handlers(service: Service, drafter: Drafter) -> None:
    settings = service.settings
    procedures = settings.configured_procedures()

    def procedure_of(facts: CaseFacts) -> Procedure:
        return procedure(facts.procedure or "", procedures)

    async def acknowledge(session: AsyncSession, facts: CaseFacts, stage: int) -> None:
        """The acknowledgement of ``stage``, once the case and its date are both here."""
        if facts.reference is None:
            return
        if stage == 1:  # owed for every complaint received, whatever has happened since
            if facts.response_due_on is None:
                return
            letter = await drafter.draft(
                session,
                facts,
                Kind.ACKNOWLEDGEMENT,
                "acknowledgement.1",
                {"response_due_on": facts.response_due_on.isoformat()},
            )
            withdrawn = await session.scalar(
                select(Letter.id).where(
                    Letter.case_id == facts.case_id, Letter.kind == Kind.WITHDRAWAL
                )
            )
            if letter is not None and withdrawn is not None:
                # Its date came after a withdrawal (the case may since have reopened):
                # kept as the withdrawal would have left it, not sent.
                cancel(session, letter, SYSTEM, "the complaint was withdrawn")
            return
        if facts.ended:
            return
        requested_on = facts.escalated.get(str(stage))
        dating = dating_step(procedure_of(facts), stage)
        due_on = facts.due.get(f"{stage}.{dating}.first")
        if requested_on is None or due_on is None:
            return
        stage_def = procedure_of(facts).stage(stage)
        await drafter.draft(
            session,
            facts,
            Kind.ACKNOWLEDGEMENT,
            f"acknowledgement.{stage}",
            {
                "stage_name": stage_def.name,
                "requested_on": requested_on,
                "dating": str(dating),
                "due_on": due_on,
                "people": facts.people.get(str(stage), {}),
            },
            stage=stage,
        )

    async def holding_for_extension(session: AsyncSession, facts: CaseFacts, cause: str) -> None:
        extension = facts.extensions.get(cause, {})
        if "reason" not in extension or "new_due_on" not in extension:
            return
        reminded = await session.scalars(
            select(Letter).where(
                Letter.case_id == facts.case_id,
                Letter.key.startswith(f"holding.reminder.{extension['stage']}."),
                Letter.status == Status.DRAFT,
            )
        )
        for draft in reminded:  # the extension's letter says what the reminder's would
            cancel(session, draft, SYSTEM, "the extension's holding letter replaces it")
        letter = await drafter.draft(
            session,
            facts,
            Kind.HOLDING,
            f"holding.{cause}",
            {
                "because": "extended",
                "reason": extension["reason"],
                "old_due_on": extension["old_due_on"],
                "new_due_on": extension["new_due_on"],
            },
            stage=extension["stage"],
        )
        moot = _moot(facts, extension["stage"])
        if letter is not None and moot:  # heard of after the stage's answer: kept, not sent
            cancel(session, letter, SYSTEM, moot)

    @service.on(CaseReceived)
    async def case_received(envelope: Envelope, case: CaseReceived, session: AsyncSession) -> None:
        facts = await _facts(session, envelope)
        facts.reference = case.reference
        facts.organisation = envelope.organisation
        facts.directorate = envelope.directorate
        facts.procedure = case.procedure
        facts.received_on = case.received_on
        facts.complainant = case.complainant.model_dump(mode="json")
        facts.relationship = case.relationship
        facts.consent = case.consent
        facts.imported = case.imported
        facts.anonymous = case.anonymous
        facts.writable = case.expects_letters
        await acknowledge(session, facts, 1)
        await holding_for_reminder(session, facts, 1)
        if case.consent == Consent.REQUESTED:
            await drafter.draft(session, facts, Kind.CONSENT_AWAITED, "consent_awaited")
        await draft_learning_updates(session, drafter, facts)

    @service.on(CaseCorrected)
    async def corrected(
        envelope: Envelope, correction: CaseCorrected, session: AsyncSession
    ) -> None:
        """Who the complainant is and how to reach them, corrected (or their agreement to
        hear what changed, given later): later letters use it."""
        facts = await _facts(session, envelope)
        if "anonymous" in correction.fields and correction.anonymous is not None:
            facts.anonymous = correction.anonymous
        if correction.complainant is not None:
            facts.complainant = correction.complainant.model_dump(mode="json")
        if facts.reference is None:
            return  # corrects a case this service has not heard of: nothing to redo
        reachable = Complainant.model_validate(facts.complainant or {}).can_be_written_to()
        facts.writable = not facts.anonymous or reachable
        await draft_learning_updates(session, drafter, facts)

    @service.on(CaseLearningSettled)
    async def learning_settled(
        envelope: Envelope, settled: CaseLearningSettled, session: AsyncSession
    ) -> None:
        """A round of the case's learning is settled: the letter saying what changed, if
        the complainant agreed to hear (kept until the case arrives, if it has not)."""
        facts = await _facts(session, envelope)
        note_settlement(facts, settled)
        await draft_learning_updates(session, drafter, facts)

    @service.on(CaseAllocated)
    async def allocated(
        envelope: Envelope, allocation: CaseAllocated, session: AsyncSession
    ) -> None:
        (await _facts(session, envelope)).officer = allocation.officer

    @service.on(PointsAgreed)
    async def points_agreed(
        envelope: Envelope, agreed: PointsAgreed, session: AsyncSession
    ) -> None:
        facts = await _facts(session, envelope)
        facts.points = {
            **facts.points,
            **{
                str(point.id): {"summary": point.summary, "desired_outcome": point.desired_outcome}
                for point in agreed.points
            },
        }

    @service.on(PeopleAppointed)
    async def people_appointed(
        envelope: Envelope, appointed: PeopleAppointed, session: AsyncSession
    ) -> None:
        facts = await _facts(session, envelope)
        facts.people = {
            **facts.people,
            str(appointed.stage): {
                "investigating_officer": appointed.investigating_officer,
                "independent_person": appointed.independent_person,
                "panellists": list(appointed.panellists),
            },
        }

    @service.on(DeadlineScheduled)
    async def deadline_scheduled(
        envelope: Envelope, deadline: DeadlineScheduled, session: AsyncSession
    ) -> None:
        facts = await _facts(session, envelope)
        key, due_on = f"{deadline.stage}.{deadline.kind}", deadline.due_on.isoformat()
        # The date as first scheduled too: an escalation's acknowledgement gives it, as the
        # stage 1 acknowledgement gives the first response date, whenever it is drafted
        # (a corporate Stage 2 response is moved by the acknowledgement's own date).
        facts.due = {f"{key}.first": due_on, **facts.due, key: due_on}
        if deadline.kind == DeadlineKind.RESPONSE and deadline.stage == 1:
            if facts.response_due_on is None:
                # The first date only: the acknowledgement promises it, whether it is
                # drafted before or after a reopening is heard of.
                facts.response_due_on = deadline.due_on
            await acknowledge(session, facts, 1)
        elif deadline.stage > 1 and facts.procedure is not None:
            await acknowledge(session, facts, deadline.stage)

    @service.on(DeadlineRescheduled)
    async def rescheduled(
        envelope: Envelope, moved: DeadlineRescheduled, session: AsyncSession
    ) -> None:
        facts = await _facts(session, envelope)
        facts.due = {**facts.due, f"{moved.stage}.{moved.kind}": moved.new_due_on.isoformat()}
        if moved.kind != DeadlineKind.RESPONSE or envelope.causation_id is None:
            return
        cause = str(envelope.causation_id)
        _note_extension(
            facts,
            cause,
            old_due_on=moved.old_due_on.isoformat(),
            new_due_on=moved.new_due_on.isoformat(),
        )
        await holding_for_extension(session, facts, cause)

    @service.on(CaseExtended)
    async def extended(envelope: Envelope, extension: CaseExtended, session: AsyncSession) -> None:
        if extension.step != DeadlineKind.RESPONSE:
            return  # the adults' six-month limit: the response date itself is unchanged
        facts = await _facts(session, envelope)
        cause = str(envelope.id)
        _note_extension(facts, cause, reason=extension.reason, stage=extension.stage)
        await holding_for_extension(session, facts, cause)

    async def holding_for_reminder(session: AsyncSession, facts: CaseFacts, stage: int) -> None:
        due_on = facts.due.get(f"{stage}.reminder")
        if due_on is None or facts.reference is None:
            return  # the case itself has not arrived yet: case_received comes back here
        if facts.ended or str(stage) in facts.responded:
            return
        await drafter.draft(
            session,
            facts,
            Kind.HOLDING,
            f"holding.reminder.{stage}.{due_on}",
            {"because": "reminder", "due_on": due_on},
            stage=stage,
        )

    @service.on(DeadlineReminder)
    async def reminder(envelope: Envelope, due: DeadlineReminder, session: AsyncSession) -> None:
        """A response falls due soon and the case is unanswered: a holding letter, drafted
        now so it can go before the date passes."""
        if due.kind != DeadlineKind.RESPONSE:
            return
        facts = await _facts(session, envelope)
        facts.due = {**facts.due, f"{due.stage}.reminder": due.due_on.isoformat()}
        await holding_for_reminder(session, facts, due.stage)

    @service.on(ClockStopped)
    async def clock_stopped(
        envelope: Envelope, stopped: ClockStopped, session: AsyncSession
    ) -> None:
        if stopped.reason == ClockStopReason.AWAITING_CONSENT:
            return  # the consent letters say so
        facts = await _facts(session, envelope)
        await drafter.draft(
            session,
            facts,
            Kind.CLOCK_STOPPED,
            f"clock_stopped.{envelope.id}",
            {"reason": str(stopped.reason), "stopped_on": stopped.stopped_on.isoformat()},
            stage=facts.stage,
        )

    @service.on(CaseTriaged)
    async def triaged(envelope: Envelope, triage: CaseTriaged, session: AsyncSession) -> None:
        facts = await _facts(session, envelope)
        decided = triage.decided_on.isoformat()
        if triage.decision == TriageDecision.INELIGIBLE:
            particulars = {
                "reason": str(triage.reason) if triage.reason else "other",
                "redirected_to": triage.redirected_to,
                "decided_on": decided,
            }
            await drafter.draft(session, facts, Kind.INELIGIBLE, "ineligible", particulars)
        elif triage.decision == TriageDecision.REQUEST_FOR_SERVICE:
            particulars = {"redirected_to": triage.redirected_to, "decided_on": decided}
            await drafter.draft(
                session, facts, Kind.REQUEST_FOR_SERVICE, "request_for_service", particulars
            )
        elif triage.decision == TriageDecision.WITHDRAWN:
            await withdraw(session, facts, triage.decided_on)

    async def withdraw(session: AsyncSession, facts: CaseFacts, on: date) -> None:
        await cancel_open(session, facts.case_id, "the complaint was withdrawn")
        facts.ended = True
        await drafter.draft(
            session, facts, Kind.WITHDRAWAL, "withdrawal", {"withdrawn_on": on.isoformat()}
        )

    @service.on(CaseWithdrawn)
    async def withdrawn(
        envelope: Envelope, withdrawal: CaseWithdrawn, session: AsyncSession
    ) -> None:
        await withdraw(session, await _facts(session, envelope), withdrawal.withdrawn_on)

    @service.on(CaseResponded)
    async def responded(envelope: Envelope, response: CaseResponded, session: AsyncSession) -> None:
        """The response letter, drafted with every statutory part for the officer's words;
        holding letters for the stage that have not gone are now moot."""
        facts = await _facts(session, envelope)
        stage = response.stage
        facts.responded = {**facts.responded, str(stage): response.responded_on.isoformat()}
        await cancel_open(
            session,
            facts.case_id,
            f"stage {stage} was answered",
            (Kind.HOLDING, Kind.CLOCK_STOPPED),
        )
        calendar = organisation_calendar(settings, facts.organisation)
        step = next_step(procedure_of(facts), stage, response.responded_on, calendar)
        engine = facts.due.get(f"{stage}.{DeadlineKind.ESCALATION_WINDOW}")
        if engine is not None and step.by is not None:  # the engine's date came first
            step = replace(step, by=date.fromisoformat(engine))
        findings = [
            {
                "point_id": str(finding.point_id),
                "summary": facts.points.get(str(finding.point_id), {}).get("summary", ""),
                "outcome": str(finding.outcome),
            }
            for finding in response.findings
        ]
        await drafter.draft(
            session,
            facts,
            Kind.RESPONSE,
            f"response.{stage}.{envelope.id}",
            {
                "responded_on": response.responded_on.isoformat(),
                "outcome": str(response.outcome),
                "findings": findings,
                "remedies": [remedy.model_dump(mode="json") for remedy in response.remedies],
                "learning_actions": [
                    {"description": action.description, "due_on": action.due_on.isoformat()}
                    for action in response.learning_actions
                ],
                "next_step": step.as_facts(),
                "stage_name": procedure_of(facts).stage(stage).name,
                "last_stage": stage >= procedure_of(facts).last_stage,
            },
            stage=stage,
            next_step_on=step.by,
        )

    @service.on(CaseEscalated)
    async def escalated(
        envelope: Envelope, escalation: CaseEscalated, session: AsyncSession
    ) -> None:
        facts = await _facts(session, envelope)
        facts.stage = escalation.to_stage
        facts.escalated = {
            **facts.escalated,
            str(escalation.to_stage): escalation.requested_on.isoformat(),
        }
        if facts.procedure is not None:
            await acknowledge(session, facts, escalation.to_stage)

    @service.on(CaseClosed)
    async def closed(envelope: Envelope, closure: CaseClosed, session: AsyncSession) -> None:
        """After a response: ask how we did (a case closed unanswered gets no survey)."""
        facts = await _facts(session, envelope)
        facts.ended = True
        if facts.responded:
            await drafter.draft(
                session, facts, Kind.SURVEY, "survey", {"closed_on": closure.closed_on.isoformat()}
            )

    @service.on(CaseReopened)
    async def reopened(envelope: Envelope, _: CaseReopened, session: AsyncSession) -> None:
        (await _facts(session, envelope)).ended = False

    @service.on(CaseAnonymised)
    async def case_anonymised(
        envelope: Envelope, anonymised: CaseAnonymised, session: AsyncSession
    ) -> None:
        """Past retention: the letters' words go (their kind and dates stay, for the record)."""
        facts = await _facts(session, envelope)
        facts.complainant, facts.officer, facts.points, facts.people = None, None, {}, {}
        facts.settled = {}
        notice = (
            f"This letter was removed on {anonymised.anonymised_on:%d %B %Y}: the case "
            f"was kept until {anonymised.retained_until:%d %B %Y} under the retention policy."
        )
        await session.execute(
            update(Letter)
            .where(Letter.case_id == envelope.case_id)
            .values(html=f"<p>{notice}</p>", text=notice, facts={}, wording={})
        )
        letters = select(Letter.id).where(Letter.case_id == envelope.case_id)
        await session.execute(
            update(LetterEvent).where(LetterEvent.letter_id.in_(letters)).values(detail="")
        )
