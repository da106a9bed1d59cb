"""Intake's composition root."""

from __future__ import annotations

from complaints_intake.api import register_api
from complaints_intake.handlers import register_handlers
from complaints_intake.models import Base
from complaints_intake.providers import models as provider_models  # noqa: F401 (its table)
from complaints_intake.providers.feed_api import register_feed_api
from complaints_intake.providers.register_api import register_provider_routes
from complaints_intake.retention import register_retention
from complaints_shared.calendar import organisation_calendar
from complaints_shared.contracts.events import PAYLOADS
from complaints_shared.service import Service
from complaints_shared.settings import Settings


def create(settings: Settings) -> Service:
    service = Service("intake", Base.metadata, settings)
    # Intake owns the case record and the provider register: every case, compliment
    # and provider fact is its to announce.
    service.publishes(
        *(m for m in PAYLOADS if m.event_type.split(".")[0] in {"case", "compliment", "provider"})
    )
    register_handlers(service)
    calendar = organisation_calendar(settings)
    register_api(service, calendar)
    register_provider_routes(service, calendar)
    register_retention(service)
    register_feed_api(service)
    return service
