"""Reporting's copies of the provider register, the providers' returns and nil returns.

Fed by ``provider.*`` events only. The register and each return are whole snapshots
with a ``revision`` (the highest is kept, so a correction that overtakes the row it
corrects still wins); a nil return is a fact that may come twice.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from complaints_reporting.models import NilReturn, ProviderCopy, ReturnFacts
from complaints_reporting.snapshots import keep_newest
from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.events import (
    ProviderChanged,
    ProviderNilReturn,
    ProviderReturnRecorded,
)
from complaints_shared.service import Service


def register(service: Service) -> None:
    """Keep the newest provider records and returns, and every nil return."""

    @service.on(ProviderChanged)
    async def provider_changed(
        _envelope: Envelope, changed: ProviderChanged, session: AsyncSession
    ) -> None:
        provider = changed.provider
        await keep_newest(
            session,
            ProviderCopy(
                provider_id=provider.provider_id,
                revision=changed.revision,
                code=provider.code,
                name=provider.name,
                service_kind=provider.service_kind,
                active=provider.active,
                contracts=[contract.model_dump(mode="json") for contract in provider.contracts],
            ),
        )

    @service.on(ProviderReturnRecorded)
    async def return_recorded(
        envelope: Envelope, row: ProviderReturnRecorded, session: AsyncSession
    ) -> None:
        await keep_newest(
            session,
            ReturnFacts(
                return_id=row.return_id,
                revision=row.revision,
                provider_id=row.provider_id,
                provider_reference=row.provider_reference,
                directorate=envelope.directorate,
                kind=row.kind,
                received_on=row.received_on,
                service_kind=row.service_kind,
                contract_reference=row.contract_reference,
                primary_subject=row.primary_subject,
                outcome=row.outcome,
                responded_on=row.responded_on,
                withdrawn=row.withdrawn,
                ombudsman_referred=row.ombudsman_referred,
                ombudsman_decision=row.ombudsman_decision,
                referred_case_id=row.referred_case_id,
            ),
        )

    @service.on(ProviderNilReturn)
    async def nil_return(
        _envelope: Envelope, nil: ProviderNilReturn, session: AsyncSession
    ) -> None:
        key = (nil.provider_id, nil.year, nil.quarter)
        if await session.get(NilReturn, key) is None:
            session.add(
                NilReturn(
                    provider_id=nil.provider_id,
                    year=nil.year,
                    quarter=nil.quarter,
                    declared_on=nil.declared_on,
                )
            )
