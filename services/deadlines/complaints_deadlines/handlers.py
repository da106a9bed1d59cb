"""What deadlines does with each case event: schedule, meet, move, pause or end deadlines."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_deadlines.models import CaseOfficer, Deadline, EarlyAcknowledgement, NoContactRoute
from complaints_deadlines.scheduling import NoSuchDeadline, Scheduler
from complaints_shared.calendar import add_months
from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.events import (
    CaseAllocated,
    CaseClosed,
    CaseEscalated,
    CaseExtended,
    CaseReceived,
    CaseReopened,
    CaseResponded,
    CaseTriaged,
    CaseWithdrawn,
    ClockRestarted,
    ClockStopped,
    HistoryImported,
    LetterIssued,
    PanelHeld,
    PanelReported,
    SafeguardingReferred,
)
from complaints_shared.contracts.vocabulary import DeadlineKind, LetterKind, TriageDecision
from complaints_shared.service import Service

NO_CONTACT_ROUTE = "anonymous, with no email or postal address: no acknowledgement can be sent"


def register_handlers(service: Service, scheduler: Scheduler) -> None:
    async def meet_early_acknowledgement(
        session: AsyncSession, envelope: Envelope, stage: int
    ) -> None:
        early = await session.get(EarlyAcknowledgement, (envelope.case_id, stage))
        if early is not None:
            if await scheduler.find(session, envelope.case_id, stage, DeadlineKind.ACKNOWLEDGEMENT):
                await scheduler.meet(
                    session, envelope, stage, DeadlineKind.ACKNOWLEDGEMENT, early.issued_on
                )
            # else the stage has no acknowledgement step (children's Stage 2): letters
            # acknowledges every escalation, and the letter meets nothing here.
            await session.delete(early)

    async def no_acknowledgement_without_contact(
        session: AsyncSession, envelope: Envelope, stage: int, on: date
    ) -> None:
        """Cancel the stage's acknowledgement if the complainant cannot be written to."""
        unreachable = await session.get(NoContactRoute, envelope.case_id)
        if unreachable is not None:
            await scheduler.cancel_step(
                session, envelope, stage, DeadlineKind.ACKNOWLEDGEMENT, on, unreachable.reason
            )

    @service.on(CaseReceived)
    async def received(envelope: Envelope, case: CaseReceived, session: AsyncSession) -> None:
        """Stage 1 starts the day the complaint arrived.

        An anonymous complaint with no email or postal address owes no acknowledgement
        (letters sends none): it is cancelled at once, with the reason, rather than
        counted as breached. A step counting from it keeps the date it was first given.
        """
        warnings: tuple[str, ...] = ()
        if case.matter_arose_on and case.matter_arose_on < add_months(case.received_on, -12):
            warnings = (
                (
                    f"The matter arose on {case.matter_arose_on.isoformat()}, more than 12 months "
                    "before the complaint: the council may still consider it if it is still "
                    "possible to investigate fairly (2009 Regulations reg. 12)"
                ),
            )
        await scheduler.schedule_stage(
            session,
            envelope,
            case.procedure,
            1,
            case.received_on,
            with_timers=not case.imported,
            warnings=warnings,
        )
        if not case.expects_letters and await session.get(NoContactRoute, envelope.case_id) is None:
            session.add(NoContactRoute(case_id=envelope.case_id, reason=NO_CONTACT_ROUTE))
        await no_acknowledgement_without_contact(session, envelope, 1, case.received_on)
        await meet_early_acknowledgement(session, envelope, 1)

    @service.on(CaseTriaged)
    async def triaged(envelope: Envelope, triage: CaseTriaged, session: AsyncSession) -> None:
        """Not accepted: nothing will be investigated (the acknowledgement is still owed)."""
        if triage.decision == TriageDecision.ACCEPTED:
            return
        # A clock stopped before triage ends with it: what is kept runs again.
        await scheduler.resume(session, envelope, triage.decided_on)
        keep = set() if triage.decision == TriageDecision.WITHDRAWN else {"acknowledgement"}
        await scheduler.cancel(
            session, envelope, triage.decided_on, f"triage: {triage.decision}", keep=keep
        )

    @service.on(LetterIssued)
    async def acknowledged(envelope: Envelope, letter: LetterIssued, session: AsyncSession) -> None:
        """The acknowledgement meets its stage's deadline; if the stage is not here yet, it will."""
        if letter.kind != LetterKind.ACKNOWLEDGEMENT:
            return
        stage = letter.stage or 1
        try:
            await scheduler.meet(
                session, envelope, stage, DeadlineKind.ACKNOWLEDGEMENT, letter.issued_on
            )
        except NoSuchDeadline:
            scheduled = await session.scalar(
                select(Deadline.id)
                .where(Deadline.case_id == envelope.case_id, Deadline.stage == stage)
                .limit(1)
            )
            if scheduled is not None:
                return  # the stage has begun and has no acknowledgement step to meet
            if await session.get(EarlyAcknowledgement, (envelope.case_id, stage)) is None:
                session.add(
                    EarlyAcknowledgement(
                        case_id=envelope.case_id, stage=stage, issued_on=letter.issued_on
                    )
                )

    @service.on(CaseResponded)
    async def responded(envelope: Envelope, response: CaseResponded, session: AsyncSession) -> None:
        """The response meets the stage's deadlines and opens the window to escalate."""
        stage, on = response.stage, response.responded_on
        met = await scheduler.meet(session, envelope, stage, DeadlineKind.RESPONSE, on)
        if await scheduler.find(session, envelope.case_id, stage, DeadlineKind.STATUTORY_LIMIT):
            await scheduler.meet(session, envelope, stage, DeadlineKind.STATUTORY_LIMIT, on)
        await scheduler.schedule_window(session, envelope, met.procedure, stage, on)

    @service.on(CaseEscalated)
    async def escalated(
        envelope: Envelope, escalation: CaseEscalated, session: AsyncSession
    ) -> None:
        previous = escalation.to_stage - 1
        window = await scheduler.find(
            session, envelope.case_id, previous, DeadlineKind.ESCALATION_WINDOW
        )
        if window is None:  # the case's events arrive in order, so this is a broken history
            raise LookupError(
                f"case {envelope.case_id} escalated to stage {escalation.to_stage} but stage "
                f"{previous} has no escalation window here: was it responded to?"
            )
        await scheduler.meet(
            session, envelope, previous, DeadlineKind.ESCALATION_WINDOW, escalation.requested_on
        )
        await scheduler.schedule_stage(
            session, envelope, window.procedure, escalation.to_stage, escalation.requested_on
        )
        await no_acknowledgement_without_contact(
            session, envelope, escalation.to_stage, escalation.requested_on
        )
        await meet_early_acknowledgement(session, envelope, escalation.to_stage)

    @service.on(PanelHeld)
    async def panel_held(envelope: Envelope, panel: PanelHeld, session: AsyncSession) -> None:
        await scheduler.meet(session, envelope, 3, DeadlineKind.PANEL, panel.held_on)

    @service.on(PanelReported)
    async def panel_reported(
        envelope: Envelope, report: PanelReported, session: AsyncSession
    ) -> None:
        await scheduler.meet(session, envelope, 3, DeadlineKind.PANEL_REPORT, report.reported_on)

    @service.on(CaseExtended)
    async def extended(envelope: Envelope, extension: CaseExtended, session: AsyncSession) -> None:
        await scheduler.extend(
            session,
            envelope,
            extension.stage,
            extension.step,
            extension.reason,
            working_days=extension.working_days,
            calendar_months=extension.calendar_months,
        )

    @service.on(ClockStopped)
    async def clock_stopped(envelope: Envelope, stop: ClockStopped, session: AsyncSession) -> None:
        await scheduler.pause(session, envelope, stop.stopped_on, f"clock stopped: {stop.reason}")

    @service.on(SafeguardingReferred)
    async def safeguarding(
        envelope: Envelope, referral: SafeguardingReferred, session: AsyncSession
    ) -> None:
        if referral.pauses_complaint:
            await scheduler.pause(
                session, envelope, referral.referred_on, f"safeguarding referral ({referral.route})"
            )

    @service.on(ClockRestarted)
    async def clock_restarted(
        envelope: Envelope, restart: ClockRestarted, session: AsyncSession
    ) -> None:
        await scheduler.resume(session, envelope, restart.restarted_on)

    @service.on(CaseWithdrawn)
    async def withdrawn(
        envelope: Envelope, withdrawal: CaseWithdrawn, session: AsyncSession
    ) -> None:
        await scheduler.cancel(session, envelope, withdrawal.withdrawn_on, "withdrawn")

    @service.on(CaseClosed)
    async def closed(envelope: Envelope, closure: CaseClosed, session: AsyncSession) -> None:
        await scheduler.cancel(session, envelope, closure.closed_on, "closed")

    @service.on(HistoryImported)
    async def history_imported(
        envelope: Envelope, history: HistoryImported, session: AsyncSession
    ) -> None:
        await scheduler.settle_imported(
            session, envelope, history.imported_on, case_live=not history.ended
        )

    @service.on(CaseReopened)
    async def reopened(envelope: Envelope, reopening: CaseReopened, session: AsyncSession) -> None:
        await scheduler.restart_stage(session, envelope, reopening.reopened_on)

    @service.on(CaseAllocated)
    async def allocated(
        envelope: Envelope, allocation: CaseAllocated, session: AsyncSession
    ) -> None:
        row = await session.get(CaseOfficer, envelope.case_id)
        if row is None:
            row = CaseOfficer(case_id=envelope.case_id, officer=allocation.officer)
            session.add(row)
        row.officer, row.team = allocation.officer, allocation.team
