"""Deadlines' composition root."""

from __future__ import annotations

import json

from complaints_deadlines.api import register_api
from complaints_deadlines.calendar_changes import change_day
from complaints_deadlines.calendar_store import CalendarStore
from complaints_deadlines.follow_ups import register_follow_ups
from complaints_deadlines.handlers import register_handlers
from complaints_deadlines.models import Base
from complaints_deadlines.scheduling import Scheduler
from complaints_deadlines.timers import run_timers
from complaints_shared.calendar import england_and_wales_bank_holidays, parse_bank_holidays
from complaints_shared.contracts.events import PAYLOADS
from complaints_shared.service import Service
from complaints_shared.settings import Settings


def create(settings: Settings) -> Service:
    service = Service("deadlines", Base.metadata, settings)
    service.publishes(
        *(m for m in PAYLOADS if m.event_type.split(".")[0] in {"deadline", "calendar"})
    )
    scheduler = Scheduler(
        service, CalendarStore(), settings.configured_procedures(), settings.reminder_days
    )
    register_handlers(service, scheduler)
    register_follow_ups(service, scheduler.calendars)
    register_api(service, scheduler)

    @service.on_startup
    async def load_configured_calendar() -> None:
        """Configured closures and announced holidays enter the calendar like any change."""
        days = {
            day: (reason, "configuration")
            for day, reason in settings.closures.get(settings.organisation, {}).items()
        }
        if settings.bank_holidays_file is not None:
            announced = parse_bank_holidays(json.loads(settings.bank_holidays_file.read_text()))
            known = england_and_wales_bank_holidays()
            days |= {d: (title, "announced") for d, title in announced.items() if d not in known}
        async with service.db.transaction() as session:
            for day, (reason, source) in sorted(days.items()):
                await change_day(scheduler, session, day, "added", reason, source, "configuration")

    @service.background
    async def fire_timers() -> None:
        await run_timers(service, scheduler.calendars, settings.timer_poll_seconds)

    return service
