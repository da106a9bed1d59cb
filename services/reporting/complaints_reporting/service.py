"""Reporting's composition root: the read models fed by events, and the reports on them."""

from __future__ import annotations

from complaints_reporting import (
    case_facts,
    contract_monitoring_routes,
    learning,
    provider_copies,
    summary,
)
from complaints_reporting.models import Base
from complaints_shared.service import Service
from complaints_shared.settings import Settings


def create(settings: Settings) -> Service:
    service = Service("reporting", Base.metadata, settings)
    case_facts.register(service)
    provider_copies.register(service)
    summary.register(service)
    learning.register(service)
    contract_monitoring_routes.register(service)
    return service
