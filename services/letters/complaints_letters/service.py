"""Letters' composition root."""

from __future__ import annotations

from complaints_letters.api import register_api
from complaints_letters.drafting import Drafter, history
from complaints_letters.handlers import register_handlers
from complaints_letters.models import Base, Status
from complaints_letters.packs import TemplatePacks
from complaints_shared.contracts.events import LetterIssued
from complaints_shared.service import Service
from complaints_shared.settings import Settings


def create(settings: Settings) -> Service:
    service = Service("letters", Base.metadata, settings)
    service.publishes(LetterIssued)
    drafter = Drafter(settings, TemplatePacks(settings))
    register_handlers(service, drafter)

    async def resend(session, letter, actor):  # TEMPORARY until delivery is merged
        letter.status = Status.APPROVED
        history(session, letter, actor, "resend")

    register_api(service, drafter, lambda: None, resend)
    return service
