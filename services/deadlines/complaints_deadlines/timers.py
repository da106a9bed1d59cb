"""Firing reminders and breaches: exactly once, however many replicas run.

Due timers are claimed with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL) and marked
fired in the same transaction that stages their event, so two replicas never
fire the same timer and a crash fires it again rather than never. Only unfired
timers are in the ``ix_timers_pending`` index, so the cost of a round is the
number due, not the number waiting.

A learning action's follow-up timers (``complaints_deadlines.follow_ups``) fire here
too, and say only ``deadline.follow_up``, with no case: an action is never a case.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_deadlines import follow_ups
from complaints_deadlines.calendar_store import CalendarStore
from complaints_deadlines.models import Deadline, Timer
from complaints_shared.calendar import today_in_england
from complaints_shared.contracts.envelope import new_event
from complaints_shared.contracts.events import DeadlineBreached, DeadlineReminder
from complaints_shared.contracts.vocabulary import DeadlineKind
from complaints_shared.service import Service

log = structlog.get_logger(__name__)

BATCH = 500


async def fire_due(
    service: Service, calendars: CalendarStore, session: AsyncSession, now: datetime
) -> int:
    """Fire up to :data:`BATCH` timers due by ``now``; return how many were claimed."""
    due = (
        await session.execute(
            select(Timer, Deadline)
            .join(Deadline, Deadline.id == Timer.deadline_id)
            .where(Timer.fired_at.is_(None), Timer.fire_at <= now)
            .order_by(Timer.fire_at)
            .limit(BATCH)
            .with_for_update(skip_locked=True, of=Timer)
        )
    ).all()
    if not due:
        return 0
    calendar = await calendars.current(session)
    today = today_in_england()
    announcements = []
    for timer, deadline in due:
        timer.fired_at = now
        if deadline.status != "open":
            continue  # met, paused or cancelled since: nothing to say
        case_id = deadline.case_id
        if deadline.kind == DeadlineKind.LEARNING_ACTION:
            payload = follow_ups.fired(timer, deadline, calendar, now)
            if payload is None:
                continue
            case_id = None  # the deadline's case_id is the action's id
        elif timer.kind == "reminder":
            payload = DeadlineReminder(
                deadline_id=deadline.id,
                kind=deadline.kind,
                stage=deadline.stage,
                due_on=deadline.due_on,
                working_days_left=max(0, calendar.between(today, deadline.due_on)),
            )
        else:
            deadline.breached = True
            payload = DeadlineBreached(
                deadline_id=deadline.id,
                kind=deadline.kind,
                stage=deadline.stage,
                due_on=deadline.due_on,
            )
        announcements.append(
            new_event(
                payload,
                organisation=deadline.organisation,
                directorate=deadline.directorate,
                case_id=case_id,
            )
        )
    await service.publish(session, *announcements)
    return len(due)


async def run_timers(service: Service, calendars: CalendarStore, poll_seconds: float) -> None:
    """Fire due timers until cancelled; a full batch means more may be waiting."""
    while True:
        try:
            async with service.db.transaction() as session:
                fired = await fire_due(service, calendars, session, datetime.now(UTC))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("firing timers failed; will retry")
            fired = 0
        if fired < BATCH:
            await asyncio.sleep(poll_seconds)
