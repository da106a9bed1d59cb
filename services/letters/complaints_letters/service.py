"""Letters' composition root."""

from __future__ import annotations

from complaints_letters.api import register_api
from complaints_letters.delivery import register_delivery, resend
from complaints_letters.drafting import Drafter
from complaints_letters.handlers import register_handlers
from complaints_letters.models import Base
from complaints_letters.packs import TemplatePacks
from complaints_letters.sending import preparer
from complaints_letters.staff_reminders import register_staff_reminders
from complaints_shared.service import Service
from complaints_shared.settings import Settings


def create(settings: Settings) -> Service:
    service = Service("letters", Base.metadata, settings)
    drafter = Drafter(settings, TemplatePacks(settings))
    register_handlers(service, drafter)
    register_staff_reminders(service, drafter)
    delivery = register_delivery(service, preparer(settings, drafter))
    drafter.wake = delivery.wake
    register_api(service, drafter, delivery.wake, resend)
    return service
