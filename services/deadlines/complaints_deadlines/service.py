"""Deadlines' composition root."""

from __future__ import annotations

from complaints_deadlines.api import register_api
from complaints_deadlines.handlers import register_handlers
from complaints_deadlines.models import Base
from complaints_shared.calendar import WorkingDayCalendar
from complaints_shared.service import Service
from complaints_shared.settings import Settings


def create(settings: Settings) -> Service:
    service = Service("deadlines", Base.metadata, settings)
    register_handlers(service, WorkingDayCalendar())
    register_api(service)
    return service
