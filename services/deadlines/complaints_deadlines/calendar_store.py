"""The organisation's working-day calendar: bank holidays plus the days kept in the database.

Closure days and announced one-off holidays live in ``calendar_days`` so every
replica sees the same calendar; configuration (``COMPLAINTS_CLOSURES``,
``COMPLAINTS_BANK_HOLIDAYS_FILE``) is loaded into it at start-up through the same
path as a change made over HTTP, so open deadlines move either way.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_deadlines.models import CalendarDay
from complaints_shared.calendar import WorkingDayCalendar


class CalendarStore:
    """Builds the calendar from the database, rebuilding only when its days change."""

    def __init__(self) -> None:
        self._key: frozenset[tuple[date, str]] | None = None
        self._calendar = WorkingDayCalendar()

    async def current(self, session: AsyncSession) -> WorkingDayCalendar:
        rows = (await session.execute(select(CalendarDay.day, CalendarDay.reason))).all()
        key = frozenset((day, reason) for day, reason in rows)
        if key != self._key:
            self._calendar = WorkingDayCalendar(dict(key))
            self._key = key
        return self._calendar
