"""The register's operations: every change to a provider, made one way.

Registering or replacing a provider sets its whole record. A change bumps ``revision``
and stages ``provider.changed`` with the record after it, in the same transaction,
once under each directorate the provider's contracts name before or after the change
(so a contract moved from adults to childrens tells both), under ``all`` when none
does. A replacement that changes nothing bumps and stages nothing: a re-import is
silent.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_intake.lifecycle import InvalidField
from complaints_intake.providers.models import Provider, snapshot
from complaints_intake.providers.register_schemas import ProviderDetails
from complaints_intake.recording import check_directorate
from complaints_shared.calendar import today_in_england
from complaints_shared.contracts import events
from complaints_shared.contracts.envelope import new_event
from complaints_shared.service import Service
from complaints_shared.settings import Settings

ALL_DIRECTORATES = "all"
"""The directorate of a provider's events when no contract names one."""


class DuplicateCode(Exception):
    """Another provider has the code (the API's 409)."""

    def __init__(self, code: str) -> None:
        super().__init__(f"a provider with code {code!r} is already registered")
        self.code = code


def check_contracts(settings: Settings, details: ProviderDetails) -> None:
    """Each contract's directorate is one this council has (:class:`InvalidField` naming
    the contract's field and the known ones, as for a complaint)."""
    for index, contract in enumerate(details.contracts):
        try:
            check_directorate(settings, contract.directorate)
        except InvalidField as invalid:
            raise InvalidField(f"contracts.{index}.directorate", str(invalid)) from None


async def by_code(session: AsyncSession, code: str) -> Provider | None:
    return await session.scalar(select(Provider).where(Provider.code == code))


async def register(service: Service, session: AsyncSession, details: ProviderDetails) -> Provider:
    """Add a provider at revision 1 and announce it; :class:`DuplicateCode` if its code
    is taken."""
    check_contracts(service.settings, details)
    if await by_code(session, details.code) is not None:
        raise DuplicateCode(details.code)
    provider = Provider(id=uuid.uuid4(), code=details.code, revision=0)
    session.add(provider)
    await _change(service, session, provider, _record(provider.id, details), ())
    return provider


async def replace(
    service: Service, session: AsyncSession, provider: Provider, details: ProviderDetails
) -> bool:
    """Set the provider's record to ``details``; whether anything changed.

    The code cannot change (:class:`InvalidField` on ``code``): it is in the provider's
    credentials and its events' subjects.
    """
    if details.code != provider.code:
        raise InvalidField("code", f"is {provider.code!r} and cannot change")
    check_contracts(service.settings, details)
    before = snapshot(provider)
    after = _record(provider.id, details)
    if after == before:
        return False
    await _change(service, session, provider, after, _directorates(before))
    return True


def _record(provider_id: uuid.UUID, details: ProviderDetails) -> events.Provider:
    return events.Provider(provider_id=provider_id, **details.model_dump())


def _directorates(record: events.Provider) -> set[str]:
    return {contract.directorate for contract in record.contracts}


async def _change(
    service: Service,
    session: AsyncSession,
    provider: Provider,
    record: events.Provider,
    directorates_before: Iterable[str],
) -> None:
    """Store ``record`` as the next revision and stage its ``provider.changed``."""
    stored = record.model_dump(mode="json", exclude={"provider_id", "code"})
    for name, value in stored.items():
        setattr(provider, name, value)
    provider.revision += 1
    await session.flush()
    changed = events.ProviderChanged(
        revision=provider.revision, changed_on=today_in_england(), provider=record
    )
    directorates = sorted({*directorates_before, *_directorates(record)}) or [ALL_DIRECTORATES]
    correlation_id = uuid.uuid4()
    await service.publish(
        session,
        *(
            new_event(
                changed,
                organisation=service.settings.organisation,
                directorate=directorate,
                correlation_id=correlation_id,
            )
            for directorate in directorates
        ),
    )
