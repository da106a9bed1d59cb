"""Changing the calendar: every open deadline the day falls within moves, on record.

A learning action's follow-up keeps learning's due date; only its pending timers move,
silently (no case event is published about an action), and it is not counted among
the deadlines moved.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_deadlines.follow_ups import retime_open
from complaints_deadlines.models import CalendarDay, Deadline
from complaints_deadlines.scheduling import LIVE, Scheduler
from complaints_shared.contracts.envelope import new_event
from complaints_shared.contracts.events import CalendarChanged
from complaints_shared.contracts.vocabulary import DeadlineKind

ALL_DIRECTORATES = "all"


async def change_day(
    scheduler: Scheduler,
    session: AsyncSession,
    day: date,
    change: Literal["added", "removed"],
    reason: str,
    source: str,
    actor: str,
) -> int | None:
    """Add or remove a non-working day; return how many deadlines moved (None: no change).

    A day is removed only by the source that added it: deleting a closure never takes
    away an announced bank holiday on the same day.
    """
    existing = await session.get(CalendarDay, day, with_for_update=True)
    if change == "added":
        if existing is not None:
            return None
        session.add(CalendarDay(day=day, reason=reason, source=source, actor=actor))
    else:
        if existing is None or existing.source != source:
            return None
        reason = existing.reason
        await session.delete(existing)
    await session.flush()
    calendar = await scheduler.calendars.current(session)
    affected = await session.scalars(
        select(Deadline)
        .where(
            Deadline.status.in_(LIVE),
            Deadline.kind != DeadlineKind.LEARNING_ACTION,
            Deadline.start_on < day,
            Deadline.due_on >= day,
        )
        .with_for_update()
    )
    moved = 0
    for deadline in affected:
        why = f"calendar: {day.isoformat()} ({reason}) {change} as a non-working day"
        moved += await scheduler.reschedule(session, None, deadline, why, calendar)
    await retime_open(session, calendar)
    settings = scheduler.service.settings
    await scheduler.service.publish(
        session,
        new_event(
            CalendarChanged(
                day=day,
                change=change,
                reason=reason,
                source=source,
                deadlines_moved=moved,
                actor=actor,
            ),
            organisation=settings.organisation,
            directorate=ALL_DIRECTORATES,
        ),
    )
    return moved
