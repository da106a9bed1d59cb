"""Linking the cases and compliments that name a provider in free text to the register.

Each case is linked by intake's ordinary correction (``provider_id`` and the
register's name), so its history says who linked it and when, and ``case.corrected``
tells the other services. A compliment has no correction event: its row is linked, and
what other services learnt from ``compliment.received`` stays as it was (see
docs/architecture.md). The names become the provider's aliases, so later complaints
naming it so are matched on arrival.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_intake import lifecycle, schemas
from complaints_intake.models import Case, Compliment
from complaints_intake.providers import register
from complaints_intake.providers.matching import names_of, normalise
from complaints_intake.providers.models import Provider, snapshot
from complaints_intake.providers.register_schemas import ProviderDetails
from complaints_intake.recording import record
from complaints_shared.auth import Principal
from complaints_shared.calendar import WorkingDayCalendar, today_in_england
from complaints_shared.service import Service

CORRECTION = lifecycle.ACTIONS["correction"]


@dataclass
class Linked:
    cases: list[Case]
    compliments: int
    cases_not_linked: int
    aliases_added: list[str]


async def link(
    service: Service,
    session: AsyncSession,
    calendar: WorkingDayCalendar,
    who: Principal,
    provider: Provider,
    names: Sequence[str],
) -> Linked:
    """Link every case ``who`` may see and every compliment of their directorates whose
    free-text provider is one of ``names`` (as :func:`normalise` compares them).

    A case the correction refuses (anonymised, kept as figures only) is counted, not
    linked.
    """
    wanted = {normalise(name) for name in names} - {""}
    assert service.case_access is not None
    cases = [
        case
        for case in await session.scalars(
            select(Case)
            .where(
                Case.provider_id.is_(None),
                Case.provider.is_not(None),
                service.case_access.visible(who, Case.id),
            )
            .order_by(Case.received_on, Case.reference)
            .with_for_update()
        )
        if normalise(case.provider or "") in wanted
    ]
    linked, refused = [], 0
    procedures = service.settings.configured_procedures()
    for case in cases:
        correction = schemas.Correction(
            corrected_on=today_in_england(),
            reason=f"matched to the provider register ({provider.code})",
            provider_id=provider.id,
            provider=provider.name,
        )
        context = lifecycle.Context.of(case, procedures, service.settings, calendar, who.username)
        try:
            payload = lifecycle.perform(CORRECTION, case, correction, context)
        except (lifecycle.Refused, lifecycle.InvalidField):
            refused += 1
            continue
        await record(service, session, case, CORRECTION.name, payload, who.username)
        linked.append(case)
    compliments = 0
    for compliment in await session.scalars(
        select(Compliment).where(Compliment.provider_id.is_(None), Compliment.provider.is_not(None))
    ):
        if who.covers(compliment.directorate) and normalise(compliment.provider or "") in wanted:
            compliment.provider_id, compliment.provider = provider.id, provider.name
            compliments += 1
    added = await _add_aliases(service, session, provider, names)
    return Linked(linked, compliments, refused, added)


async def _add_aliases(
    service: Service, session: AsyncSession, provider: Provider, names: Sequence[str]
) -> list[str]:
    """Add those of ``names`` the provider is not yet known by, as they were written."""
    known, added = names_of(provider), []
    for name in (name.strip() for name in names):
        if normalise(name) and normalise(name) not in known:
            known.add(normalise(name))
            added.append(name)
    if added:
        record = snapshot(provider).model_dump(exclude={"provider_id"})
        try:
            details = ProviderDetails.model_validate(
                {**record, "aliases": [*provider.aliases, *added]}
            )
        except ValidationError:
            raise lifecycle.InvalidField(
                "names", "the provider would have more aliases than it may keep"
            ) from None
        await register.replace(service, session, provider, details)
    return added
