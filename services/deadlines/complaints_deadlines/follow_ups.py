"""Following up learning actions with the engine's own timers (``learning.action_changed``).

Learning owns the action and how its lead is chased; this service owns time. Each
open action is kept as a :class:`Deadline` of kind ``learning_action`` (``case_id`` is
the action's id, procedure ``learning``, stage 0) with up to three timers, fired by
:func:`complaints_deadlines.timers.fire_due` like any other, exactly once however many
replicas run. A follow-up is never a case: nothing about it is published but
``deadline.follow_up`` (no case in the envelope), and the case lists leave it out.

The moments, on the working-day calendar as it stands:

- ``reminder``: the start of the working day ``reminder_working_days`` working days
  before the due date (none if 0). One whose moment has passed fires at once, unless
  the due day has ended too: a reminder "before" a date already past says nothing, so
  it is spent silently when it comes up.
- ``overdue``: the end of the due day (when a case deadline's breach timer fires).
- ``escalation``: the end of the ``escalation_working_days``-th working day after it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_deadlines.calendar_store import CalendarStore
from complaints_deadlines.models import Deadline, DeadlineChange, FollowUp, Timer
from complaints_deadlines.scheduling import end_of, start_of
from complaints_shared.calendar import LONDON, WorkingDayCalendar
from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.events import DeadlineFollowUp, LearningActionChanged
from complaints_shared.contracts.vocabulary import DeadlineKind, FollowUpStep, LearningStatus
from complaints_shared.db import upsert
from complaints_shared.service import Service

PROCEDURE = "learning"
STAGE = 0
FOLLOWED = (LearningStatus.OPEN, LearningStatus.IN_PROGRESS)
RULE = "A learning action's due date, as the learning register holds it"


def moments(
    due_on: date, reminder_days: int, escalation_days: int, calendar: WorkingDayCalendar
) -> dict[FollowUpStep, datetime]:
    """When each follow-up of an action due on ``due_on`` fires (see the module's rule)."""
    found = {}
    if reminder_days:
        found[FollowUpStep.REMINDER] = start_of(calendar.subtract(due_on, reminder_days))
    found[FollowUpStep.OVERDUE] = end_of(due_on)
    found[FollowUpStep.ESCALATION] = end_of(calendar.add(due_on, escalation_days))
    return found


async def retime(
    session: AsyncSession,
    deadline: Deadline,
    escalation_days: int,
    calendar: WorkingDayCalendar,
    *,
    forget_fired: bool = False,
) -> None:
    """Replace the follow-up's pending timers; a step already fired stays fired.

    ``forget_fired`` (the due date moved) drops the fired ones too: a new date is
    reminded of, and overdue, afresh.
    """
    spent = Timer.deadline_id == deadline.id
    await session.execute(
        delete(Timer).where(spent if forget_fired else spent & Timer.fired_at.is_(None))
    )
    if deadline.status != "open":
        return
    fired = set(await session.scalars(select(Timer.kind).where(Timer.deadline_id == deadline.id)))
    for step, at in moments(
        deadline.due_on, deadline.reminder_days, escalation_days, calendar
    ).items():
        if step not in fired:
            session.add(Timer(deadline_id=deadline.id, kind=step, fire_at=at))


async def retime_open(session: AsyncSession, calendar: WorkingDayCalendar) -> None:
    """The calendar changed: move every open follow-up's pending timers, silently.

    Its due date is learning's and does not move; only the working days counted back
    to its reminder and on to its escalation do.
    """
    rows = await session.execute(
        select(Deadline, FollowUp.escalation_working_days)
        .join(FollowUp, FollowUp.subject_id == Deadline.case_id)
        .where(
            Deadline.kind == DeadlineKind.LEARNING_ACTION,
            Deadline.status == "open",
            exists().where(Timer.deadline_id == Deadline.id, Timer.fired_at.is_(None)),
        )
        .order_by(Deadline.id)
        .with_for_update(of=Deadline)
    )
    for deadline, escalation_days in rows.all():
        await retime(session, deadline, escalation_days, calendar)


async def _lock(session: AsyncSession, subject_id: uuid.UUID) -> FollowUp:
    """The action's row, created if missing, locked: replicas applying two of its
    revisions take turns on it."""
    await session.execute(
        upsert(session, FollowUp.__table__)
        .values(subject_id=subject_id, revision=0, escalation_working_days=0)
        .on_conflict_do_nothing()
    )
    record = await session.scalar(
        select(FollowUp)
        .where(FollowUp.subject_id == subject_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert record is not None
    return record


async def follow(
    session: AsyncSession,
    envelope: Envelope,
    changed: LearningActionChanged,
    calendar: WorkingDayCalendar,
) -> None:
    """Apply an action's snapshot if it is newer than the last one applied."""
    action = changed.action
    record = await _lock(session, action.action_id)
    if changed.revision <= record.revision:
        return  # an older or repeated snapshot: the newer one already stands
    record.revision = changed.revision
    record.escalation_working_days = changed.escalation_working_days
    followed = action.status in FOLLOWED
    deadline = await session.scalar(
        select(Deadline)
        .where(
            Deadline.case_id == action.action_id,
            Deadline.stage == STAGE,
            Deadline.kind == DeadlineKind.LEARNING_ACTION,
        )
        .with_for_update()
    )
    moved = False
    if deadline is None:
        if not followed:
            return  # ended before it was ever followed up: nothing to cancel
        deadline = Deadline(
            id=uuid.uuid4(),
            case_id=action.action_id,
            procedure=PROCEDURE,
            stage=STAGE,
            kind=DeadlineKind.LEARNING_ACTION,
            counts_from="stage_start",
            start_on=action.identified_on,
            working_days=0,
            calendar_months=0,
            paused_days=0,
            due_on=action.due_on,
            rule=RULE,
            skipped=[],
            warnings=[],
            with_timers=True,
            breached=False,
        )
        session.add(deadline)
    elif deadline.due_on != action.due_on:
        moved = True
        session.add(
            DeadlineChange(
                deadline_id=deadline.id,
                at=datetime.now(UTC),
                old_due_on=deadline.due_on,
                new_due_on=action.due_on,
                reason=f"learning: the action's due date changed (revision {changed.revision})",
            )
        )
        deadline.due_on = action.due_on
    deadline.organisation, deadline.directorate = envelope.organisation, envelope.directorate
    deadline.reminder_days = changed.reminder_working_days
    deadline.status = "open" if followed else "cancelled"
    await retime(session, deadline, changed.escalation_working_days, calendar, forget_fired=moved)


def fired(
    timer: Timer, deadline: Deadline, calendar: WorkingDayCalendar, now: datetime
) -> DeadlineFollowUp | None:
    """What a follow-up timer firing at ``now`` says (None: a reminder after the due day).

    Working days are counted on whole days: left from today to the due date for a
    reminder, and past the due date up to yesterday (the last day that has ended) once
    overdue.
    """
    today = now.astimezone(LONDON).date()
    step = FollowUpStep(timer.kind)
    if step == FollowUpStep.REMINDER:
        if now >= end_of(deadline.due_on):
            return None
        days = calendar.between(today, deadline.due_on)
    else:
        days = calendar.between(deadline.due_on, today - timedelta(days=1))
    return DeadlineFollowUp(
        deadline_id=deadline.id,
        kind=DeadlineKind.LEARNING_ACTION,
        subject_id=deadline.case_id,
        step=step,
        due_on=deadline.due_on,
        fired_on=today,
        working_days=max(0, days),
    )


def register_follow_ups(service: Service, calendars: CalendarStore) -> None:
    """Follow learning actions' snapshots from the learning stream."""

    @service.on(LearningActionChanged)
    async def action_changed(
        envelope: Envelope, changed: LearningActionChanged, session: AsyncSession
    ) -> None:
        await follow(session, envelope, changed, await calendars.current(session))
