"""Deadlines' rules: how a due date is made, moved, met and ended, with its timers.

A due date is derived from its parts (see :class:`Deadline`), so every change is a
change of parts followed by :meth:`Scheduler.reschedule`, which recalculates,
records the old and new dates with the reason, announces it, and resets the
deadline's reminder and breach timers.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_deadlines.calendar_store import CalendarStore
from complaints_deadlines.models import Deadline, DeadlineChange, Timer
from complaints_shared.calendar import LONDON, WorkingDayCalendar, add_months
from complaints_shared.contracts.envelope import Envelope, EventPayload, new_event
from complaints_shared.contracts.events import (
    DeadlineCancelled,
    DeadlineMet,
    DeadlineMissed,
    DeadlinePaused,
    DeadlineRescheduled,
    DeadlineResumed,
    DeadlineScheduled,
)
from complaints_shared.contracts.vocabulary import DeadlineKind
from complaints_shared.procedures import STAGE_START, Procedure, procedure
from complaints_shared.service import Service

LIVE = ("open", "paused")


class NoSuchDeadline(LookupError):
    """An event names a step that has no deadline here.

    A case's events reach this service in order, so this is not "not yet": the
    history is inconsistent (or the procedure changed under it), and the event is
    parked for an operator with this error.
    """


def start_of(day: date) -> datetime:
    """Midnight at the start of ``day`` in England, as a UTC instant."""
    return datetime.combine(day, time(0), tzinfo=LONDON).astimezone(UTC)


def end_of(day: date) -> datetime:
    """The end of ``day`` in England (midnight after it), as a UTC instant."""
    return start_of(day + timedelta(days=1))


def due_date(deadline: Deadline, calendar: WorkingDayCalendar) -> date:
    if deadline.calendar_months:
        limit = add_months(deadline.start_on, deadline.calendar_months)
        return calendar.add(limit, deadline.paused_days) if deadline.paused_days else limit
    return calendar.add(deadline.start_on, deadline.working_days + deadline.paused_days)


class Scheduler:
    def __init__(
        self,
        service: Service,
        calendars: CalendarStore,
        procedures: dict[str, Procedure],
        reminder_days: int,
    ) -> None:
        self.service = service
        self.calendars = calendars
        self.procedures = procedures
        self.reminder_days = reminder_days

    async def _announce(
        self,
        session: AsyncSession,
        cause: Envelope | None,
        deadline: Deadline,
        payload: EventPayload,
    ) -> None:
        if cause is not None:
            envelope = cause.caused(payload)
        else:
            envelope = new_event(
                payload,
                organisation=deadline.organisation,
                directorate=deadline.directorate,
                case_id=deadline.case_id,
            )
        await self.service.publish(session, envelope)

    async def _drop_pending_timers(self, session: AsyncSession, deadline: Deadline) -> None:
        await session.execute(
            delete(Timer).where(Timer.deadline_id == deadline.id, Timer.fired_at.is_(None))
        )

    async def _reset_timers(
        self,
        session: AsyncSession,
        deadline: Deadline,
        calendar: WorkingDayCalendar,
        *,
        new: bool = False,
    ) -> None:
        """Replace the deadline's pending timers with ones for its current due date."""
        if not new:  # a deadline made in this transaction has none yet
            await self._drop_pending_timers(session, deadline)
        if deadline.status != "open" or not deadline.with_timers:
            return
        remind_on = calendar.subtract(deadline.due_on, deadline.reminder_days)
        if deadline.reminder_days and remind_on < deadline.due_on:
            session.add(
                Timer(deadline_id=deadline.id, kind="reminder", fire_at=start_of(remind_on))
            )
        if not deadline.breached:
            session.add(
                Timer(deadline_id=deadline.id, kind="breach", fire_at=end_of(deadline.due_on))
            )

    async def schedule_stage(
        self,
        session: AsyncSession,
        cause: Envelope,
        procedure_name: str,
        stage_number: int,
        start: date,
        *,
        with_timers: bool = True,
        warnings: tuple[str, ...] = (),
    ) -> list[Deadline]:
        """Schedule every step of a stage that began on ``start``."""
        stage = procedure(procedure_name, self.procedures).stage(stage_number)
        calendar = await self.calendars.current(session)
        made: dict[str, Deadline] = {}
        for step in stage.steps:
            base = start if step.counts_from == STAGE_START else made[step.counts_from].due_on
            deadline = Deadline(
                id=uuid.uuid4(),
                case_id=cause.case_id,
                organisation=cause.organisation,
                directorate=cause.directorate,
                procedure=procedure_name,
                stage=stage_number,
                kind=step.kind,
                counts_from=step.counts_from,
                start_on=base,
                working_days=step.working_days,
                calendar_months=step.calendar_months,
                rule=step.rule,
                warnings=list(warnings) if step.kind == DeadlineKind.RESPONSE else [],
                reminder_days=self.reminder_days
                if step.reminder_days is None
                else step.reminder_days,
                with_timers=with_timers,
                status="open",
                paused_days=0,
                breached=False,
            )
            deadline.due_on = due_date(deadline, calendar)
            deadline.skipped = self._skipped(calendar, deadline)
            made[step.kind] = deadline
            session.add(deadline)
            await self._reset_timers(session, deadline, calendar, new=True)
            await self._announce(session, cause, deadline, self._scheduled(deadline, calendar))
        return list(made.values())

    async def schedule_window(
        self, session: AsyncSession, cause: Envelope, procedure_name: str, stage: int, on: date
    ) -> None:
        """The complainant's window to ask for the next stage, if the stage has one."""
        window = procedure(procedure_name, self.procedures).stage(stage).escalation_window
        if window is None:
            return
        earlier = await self.find(session, cause.case_id, stage, DeadlineKind.ESCALATION_WINDOW)
        if earlier is not None:  # a reopened case's new response opens its window again
            if earlier.status != "open":
                await self._revive(session, cause, earlier, on, window, "responded again")
            return
        calendar = await self.calendars.current(session)
        deadline = Deadline(
            id=uuid.uuid4(),
            case_id=cause.case_id,
            organisation=cause.organisation,
            directorate=cause.directorate,
            procedure=procedure_name,
            stage=stage,
            kind=DeadlineKind.ESCALATION_WINDOW,
            start_on=on,
            working_days=window,
            rule=f"The complainant may ask for stage {stage + 1} within {window} working days "
            f"of the stage {stage} response",
            counts_from="stage_start",
            calendar_months=0,
            reminder_days=0,
            with_timers=False,
            status="open",
            paused_days=0,
            breached=False,
            warnings=[],
        )
        deadline.due_on = due_date(deadline, calendar)
        deadline.skipped = self._skipped(calendar, deadline)
        session.add(deadline)
        await session.flush()
        await self._announce(session, cause, deadline, self._scheduled(deadline, calendar))

    def _skipped(self, calendar: WorkingDayCalendar, deadline: Deadline) -> list[dict]:
        return [
            day.model_dump(mode="json")
            for day in calendar.skipped_between(deadline.start_on, deadline.due_on)
        ]

    def _scheduled(self, deadline: Deadline, calendar: WorkingDayCalendar) -> DeadlineScheduled:
        return DeadlineScheduled(
            deadline_id=deadline.id,
            kind=deadline.kind,
            stage=deadline.stage,
            start_on=deadline.start_on,
            due_on=deadline.due_on,
            working_days=deadline.working_days,
            calendar_months=deadline.calendar_months,
            rule=deadline.rule,
            skipped=tuple(calendar.skipped_between(deadline.start_on, deadline.due_on)),
            warnings=tuple(deadline.warnings),
        )

    async def find(
        self, session: AsyncSession, case_id: uuid.UUID, stage: int, kind: str
    ) -> Deadline | None:
        return await session.scalar(
            select(Deadline)
            .where(Deadline.case_id == case_id, Deadline.stage == stage, Deadline.kind == kind)
            .with_for_update()
        )

    async def case_deadlines(self, session: AsyncSession, case_id: uuid.UUID) -> list[Deadline]:
        query = select(Deadline).where(Deadline.case_id == case_id).order_by(Deadline.id)
        return list(await session.scalars(query.with_for_update()))

    async def live(self, session: AsyncSession, case_id: uuid.UUID) -> list[Deadline]:
        query = select(Deadline).where(Deadline.case_id == case_id, Deadline.status.in_(LIVE))
        return list(await session.scalars(query.with_for_update()))

    async def reschedule(
        self,
        session: AsyncSession,
        cause: Envelope | None,
        deadline: Deadline,
        reason: str,
        calendar: WorkingDayCalendar | None = None,
    ) -> bool:
        """Recalculate from the deadline's parts; record and announce if the date moved."""
        calendar = calendar or await self.calendars.current(session)
        old, new = deadline.due_on, due_date(deadline, calendar)
        if new == old:
            return False
        deadline.due_on = new
        deadline.skipped = self._skipped(calendar, deadline)
        self._judge(deadline)
        session.add(
            DeadlineChange(
                deadline_id=deadline.id,
                at=datetime.now(UTC),
                old_due_on=old,
                new_due_on=new,
                reason=reason,
            )
        )
        await self._reset_timers(session, deadline, calendar)
        await self._announce(
            session,
            cause,
            deadline,
            DeadlineRescheduled(
                deadline_id=deadline.id,
                kind=deadline.kind,
                stage=deadline.stage,
                old_due_on=old,
                new_due_on=new,
                reason=reason,
                breached=deadline.breached,
            ),
        )
        return True

    @staticmethod
    def _judge(deadline: Deadline) -> None:
        """Breached or not, by the step's own date against the due date as it now stands.

        A met step is judged by its date; one still running is breached only once its
        due day has ended (the timer says so then), so a due date moved later clears a
        breach that has not happened yet on the new date.
        """
        if deadline.status == "met" and deadline.met_on is not None:
            deadline.breached = deadline.met_on > deadline.due_on
        elif deadline.breached and end_of(deadline.due_on) > datetime.now(UTC):
            deadline.breached = False

    async def meet(
        self, session: AsyncSession, cause: Envelope, stage: int, kind: str, on: date
    ) -> Deadline:
        """The step happened on ``on``: met, and steps counting from it start from then.

        A cancelled deadline is met too: the step did happen. That is how an
        acknowledgement letter heard of after the case was withdrawn ends the same as
        one heard of before (letters and cases travel on different streams). For the
        same reason every step counting from this one is re-dated, whatever its own
        status: the letter may be heard of after the response it dates, which is then
        judged against the date it really had.
        """
        deadline = await self.find(session, cause.case_id, stage, kind)
        if deadline is None:
            raise NoSuchDeadline(f"case {cause.case_id} has no stage {stage} {kind} deadline")
        if deadline.status == "met":
            return deadline
        deadline.status, deadline.met_on = "met", on
        self._judge(deadline)
        await self._drop_pending_timers(session, deadline)
        await self._announce(
            session,
            cause,
            deadline,
            DeadlineMet(
                deadline_id=deadline.id,
                kind=kind,
                stage=stage,
                met_on=on,
                on_time=on <= deadline.due_on,
            ),
        )
        dependants = await session.scalars(
            select(Deadline)
            .where(
                Deadline.case_id == cause.case_id,
                Deadline.stage == stage,
                Deadline.counts_from == kind,
            )
            .order_by(Deadline.id)
        )
        for dependant in dependants:
            dependant.start_on = on
            await self.reschedule(
                session, cause, dependant, f"counts from the actual {kind} on {on.isoformat()}"
            )
        return deadline

    async def extend(
        self,
        session: AsyncSession,
        cause: Envelope,
        stage: int,
        kind: str,
        reason: str,
        *,
        working_days: int = 0,
        calendar_months: int | None = None,
    ) -> None:
        """A longer timescale: working days, or a month-based limit's new total by agreement."""
        deadline = await self.find(session, cause.case_id, stage, kind)
        if deadline is None:
            raise NoSuchDeadline(f"case {cause.case_id} has no stage {stage} {kind} deadline")
        if calendar_months:
            deadline.calendar_months = calendar_months
            why = f"extended by agreement to {calendar_months} months: {reason}"
        else:
            deadline.working_days = working_days
            why = f"extended to {working_days} working days: {reason}"
        await self.reschedule(session, cause, deadline, why)

    async def pause(self, session: AsyncSession, cause: Envelope, on: date, reason: str) -> None:
        """Stop the clock of every step still running on ``on``.

        A step met *after* ``on`` was still running then, so its clock stops too (it
        keeps its met date): the acknowledgement letter travels on another stream
        than the clock stop, and its deadline must end the same whichever comes first.
        """
        for deadline in await self.case_deadlines(session, cause.case_id):
            if deadline.kind == DeadlineKind.ESCALATION_WINDOW or deadline.paused_on:
                continue
            if deadline.status == "open":
                deadline.status = "paused"
                await self._drop_pending_timers(session, deadline)
            elif not (deadline.status == "met" and deadline.met_on and deadline.met_on > on):
                continue
            deadline.paused_on = on
            await self._announce(
                session,
                cause,
                deadline,
                DeadlinePaused(
                    deadline_id=deadline.id,
                    kind=deadline.kind,
                    stage=deadline.stage,
                    paused_on=on,
                    reason=reason,
                ),
            )

    async def resume(self, session: AsyncSession, cause: Envelope, on: date) -> None:
        calendar = await self.calendars.current(session)
        for deadline in await self.case_deadlines(session, cause.case_id):
            if deadline.paused_on is None or deadline.status == "cancelled":
                continue
            paused = max(0, calendar.between(deadline.paused_on, on))
            stopped_on, deadline.paused_on = deadline.paused_on, None
            deadline.paused_days += paused
            resumed = deadline.status == "paused"
            if resumed:
                deadline.status = "open"
            moved = await self.reschedule(
                session,
                cause,
                deadline,
                f"clock stopped {stopped_on.isoformat()} to {on.isoformat()}: "
                f"{paused} working days added",
                calendar,
            )
            if not moved:
                await self._reset_timers(session, deadline, calendar)
            if resumed:
                await self._announce(
                    session,
                    cause,
                    deadline,
                    DeadlineResumed(
                        deadline_id=deadline.id,
                        kind=deadline.kind,
                        stage=deadline.stage,
                        resumed_on=on,
                        due_on=deadline.due_on,
                    ),
                )

    async def cancel(
        self,
        session: AsyncSession,
        cause: Envelope,
        on: date,
        reason: str,
        keep: Collection[str] = (),
    ) -> None:
        for deadline in await self.live(session, cause.case_id):
            if deadline.kind not in keep:
                await self._cancel(session, cause, deadline, on, reason)

    async def cancel_step(
        self, session: AsyncSession, cause: Envelope, stage: int, kind: str, on: date, reason: str
    ) -> None:
        """Cancel one open step of the case (e.g. an acknowledgement nobody can be sent)."""
        deadline = await self.find(session, cause.case_id, stage, kind)
        if deadline is not None and deadline.status == "open":
            await self._cancel(session, cause, deadline, on, reason)

    async def _cancel(
        self, session: AsyncSession, cause: Envelope, deadline: Deadline, on: date, reason: str
    ) -> None:
        deadline.status = "cancelled"
        await self._drop_pending_timers(session, deadline)
        await self._announce(
            session,
            cause,
            deadline,
            DeadlineCancelled(
                deadline_id=deadline.id,
                kind=deadline.kind,
                stage=deadline.stage,
                cancelled_on=on,
                reason=reason,
            ),
        )

    async def settle_imported(
        self, session: AsyncSession, cause: Envelope, on: date, case_live: bool
    ) -> None:
        """An imported history has ended: settle each deadline it left running.

        An acknowledgement is cancelled (the old system's letters are not imported); a
        step due before ``on`` that the history never records was missed; the rest
        stay running with their timers if the case is still live, else are cancelled.
        """
        calendar = await self.calendars.current(session)
        for deadline in await self.live(session, cause.case_id):
            if deadline.kind == DeadlineKind.ACKNOWLEDGEMENT:
                await self._cancel(session, cause, deadline, on, "imported: not in the history")
            elif deadline.due_on < on and deadline.status == "open":
                deadline.status = "missed"
                await self._announce(
                    session,
                    cause,
                    deadline,
                    DeadlineMissed(
                        deadline_id=deadline.id,
                        kind=deadline.kind,
                        stage=deadline.stage,
                        due_on=deadline.due_on,
                        reason="the imported history ends without this step, due "
                        f"{deadline.due_on.isoformat()}",
                    ),
                )
            elif case_live:
                deadline.with_timers = deadline.kind != DeadlineKind.ESCALATION_WINDOW
                await self._reset_timers(session, deadline, calendar)
            else:
                await self._cancel(session, cause, deadline, on, "imported: the case had ended")

    async def restart_stage(self, session: AsyncSession, cause: Envelope, on: date) -> None:
        """A reopened case's current stage runs again: its response is due afresh from ``on``.

        The stage's response deadline (and any step counting towards it) is revived
        with the procedure's own timescale, and announced as scheduled again so every
        copy of it is open once more.
        """
        deadlines = await self.case_deadlines(session, cause.case_id)
        stage = max(deadline.stage for deadline in deadlines)
        response = next(
            (d for d in deadlines if (d.stage, d.kind) == (stage, DeadlineKind.RESPONSE)), None
        )
        if response is None:
            raise NoSuchDeadline(f"case {cause.case_id} has no stage {stage} response deadline")
        step = procedure(response.procedure, self.procedures).stage(stage).step(response.kind)
        assert step is not None
        await self._revive(session, cause, response, on, step.working_days, "reopened")

    async def _revive(
        self,
        session: AsyncSession,
        cause: Envelope,
        deadline: Deadline,
        on: date,
        working_days: int,
        why: str,
    ) -> None:
        calendar = await self.calendars.current(session)
        old = deadline.due_on
        deadline.status, deadline.met_on, deadline.breached = "open", None, False
        deadline.start_on, deadline.counts_from = on, STAGE_START
        deadline.working_days, deadline.paused_days, deadline.paused_on = working_days, 0, None
        deadline.due_on = due_date(deadline, calendar)
        deadline.skipped = self._skipped(calendar, deadline)
        session.add(
            DeadlineChange(
                deadline_id=deadline.id,
                at=datetime.now(UTC),
                old_due_on=old,
                new_due_on=deadline.due_on,
                reason=f"{why} on {on.isoformat()}: {working_days} working days from then",
            )
        )
        await self._reset_timers(session, deadline, calendar)
        await self._announce(session, cause, deadline, self._scheduled(deadline, calendar))
