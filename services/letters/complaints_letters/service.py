"""Letters' composition root."""

from __future__ import annotations

from complaints_letters.api import register_api
from complaints_letters.delivery import prepare_as_stored, register_delivery
from complaints_letters.handlers import register_handlers
from complaints_letters.models import Base
from complaints_letters.rendering import environment
from complaints_shared.contracts.events import LetterIssued
from complaints_shared.service import Service
from complaints_shared.settings import Settings


def create(settings: Settings) -> Service:
    service = Service("letters", Base.metadata, settings)
    service.publishes(LetterIssued)
    register_handlers(service, environment())
    register_api(service)
    # Drafting will supply the prepare that renders the letter again with its date.
    register_delivery(service, prepare_as_stored(settings))
    return service
