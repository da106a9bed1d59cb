"""Writing a case change: the record, its event in the outbox, its audit entry, together."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from complaints_intake.lifecycle import InvalidField, check_subjects
from complaints_intake.models import Case, Equalities, HistoryEntry
from complaints_intake.providers.matching import registered
from complaints_intake.references import next_reference, reserve
from complaints_intake.schemas import NewComplaint
from complaints_shared.contracts.envelope import EventPayload, new_event
from complaints_shared.contracts.events import CaseAccessChanged, CaseReceived
from complaints_shared.service import Service
from complaints_shared.settings import DirectorateConfig, Settings


def check_directorate(settings: Settings, slug: str) -> DirectorateConfig:
    """The configured directorate ``slug``, or :class:`InvalidField` naming the known ones.

    One rule for every way a case or compliment comes in (the API, the import).
    """
    try:
        return settings.directorate(slug)
    except KeyError:
        known = ", ".join(sorted(settings.directorates))
        raise InvalidField(
            "directorate", f"unknown directorate; expected one of: {known}"
        ) from None


async def record(
    service: Service,
    session: AsyncSession,
    case: Case,
    action: str,
    payload: EventPayload,
    actor: str,
    occurred_at: datetime | None = None,
) -> None:
    """Stage the event announcing ``action`` and append it to the case's history."""
    envelope = new_event(
        payload,
        organisation=case.organisation,
        directorate=case.directorate,
        case_id=case.id,
        correlation_id=case.correlation_id,
        occurred_at=occurred_at,
    )
    await service.publish(session, envelope)
    await _announce_access(service, session, case)
    session.add(
        HistoryEntry(
            case_id=case.id,
            action=action,
            actor=actor,
            event_id=envelope.id,
            event_type=envelope.type,
            details=envelope.payload,
            status_after=case.status,
        )
    )
    await session.flush()


def access_of(case: Case) -> CaseAccessChanged:
    """Who may see ``case``: its service area, the people working it, any restriction."""
    investigators = (
        appointment.get("investigating_officer") for appointment in case.appointments.values()
    )
    officers = sorted({name for name in (case.officer, *investigators) if name})
    return CaseAccessChanged(
        service_area=case.service_area,
        officers=tuple(officers),
        restricted_to=tuple(case.restricted_to) if case.restricted_to else None,
    )


async def _announce_access(service: Service, session: AsyncSession, case: Case) -> None:
    """Keep intake's copy of the case's access and tell the other services, on a change."""
    assert service.case_access is not None
    access = access_of(case)
    if await service.case_access.current(session, case.id) == access:
        return
    await service.case_access.set(session, case.id, case.directorate, access)
    await service.publish(
        session,
        new_event(
            access,
            organisation=case.organisation,
            directorate=case.directorate,
            case_id=case.id,
            correlation_id=case.correlation_id,
        ),
    )


async def log_case(
    service: Service,
    session: AsyncSession,
    complaint: NewComplaint,
    actor: str,
    *,
    reference: str | None = None,
    imported: bool = False,
    occurred_at: datetime | None = None,
    provider_reference: str | None = None,
) -> Case:
    """Create the case (and its equalities record) and announce it as received.

    Raises :class:`InvalidField` for a directorate this council does not have, a
    subject outside the directorate's taxonomy or a provider id not in the register,
    whether the complaint came over HTTP or by import (the schema has already checked
    its shape and dates). A free-text provider is matched to the register; a
    provider's referral names the registered provider and its own reference.
    """
    directorate = check_directorate(service.settings, complaint.directorate)
    complaint = await registered(session, complaint)
    check_subjects(
        service.settings.subjects.get(complaint.directorate, ()),
        complaint.primary_subject,
        complaint.other_subjects,
        complaint.directorate,
    )
    fields = complaint.model_dump(exclude={"service_user", "complainant"})
    if reference is None:
        reference = await next_reference(
            session, directorate.reference_prefix, complaint.received_on.year
        )
    else:
        await reserve(session, reference)
    case = Case(
        id=uuid.uuid4(),
        reference=reference,
        organisation=service.settings.organisation,
        procedure=directorate.procedure,
        status="received",
        stage=1,
        complainant=complaint.complainant.model_dump(mode="json"),
        service_user=complaint.service_user.name if complaint.service_user else None,
        imported=imported,
        provider_reference=provider_reference,
        correlation_id=uuid.uuid4(),
        points=[],
        stage_started_on=complaint.received_on,
        appointments={},
        ombudsman=[],
        extensions={},
        resolutions=[],
        responses=[],
        **fields,
    )
    session.add(case)
    if complaint.service_user is not None:
        monitoring = complaint.service_user.model_dump(exclude={"name"}, exclude_none=True)
        if monitoring:
            session.add(Equalities(case_id=case.id, **monitoring))
    await session.flush()
    payload = CaseReceived(
        reference=case.reference,
        procedure=case.procedure,
        imported=imported,
        provider_reference=provider_reference,
        **complaint.model_dump(exclude={"directorate", "service_user"}, exclude_none=True),
    )
    await record(service, session, case, "received", payload, actor, occurred_at)
    return case
