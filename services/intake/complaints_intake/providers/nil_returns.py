"""Nil returns: a provider's word that it had no complaints in a quarter.

Quarters are of the council's financial year (``FinancialYear``: 2026 is 2026-27, and
quarter 1 is April to June). Declaring one twice changes nothing; declaring one for a
quarter that already has complaint returns received in it contradicts them and is
refused. A complaint sent after a nil return is still recorded: the complaint is the
fact, and contract monitoring counts a quarter with returns as not nil.
"""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_intake.providers.models import Provider
from complaints_intake.providers.returns import (
    EVERY_DIRECTORATE,
    NilReturn,
    ProviderReturn,
    directorate_of,
)
from complaints_shared.calendar import FinancialYear, today_in_england
from complaints_shared.contracts.envelope import new_event
from complaints_shared.contracts.events import ProviderNilReturn
from complaints_shared.contracts.vocabulary import ProviderReturnKind
from complaints_shared.service import Service


class Quarter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: int = Field(ge=2000, le=2100, description="The financial year: 2026 means 2026-27.")
    quarter: int = Field(ge=1, le=4, description="1 is April to June.")

    @property
    def days(self) -> tuple[date, date]:
        """Its first and last days."""
        return FinancialYear.of(self.year).quarter(self.quarter)


class NotBegun(ValueError):
    """The quarter has not begun: nobody can yet say it had no complaints."""


class Contradicted(ValueError):
    """The quarter already has complaint returns."""


async def declared(
    session: AsyncSession, provider_id: uuid.UUID, quarter: Quarter
) -> NilReturn | None:
    """The provider's nil return for ``quarter``, if it declared one."""
    return await session.scalar(
        select(NilReturn).where(
            NilReturn.provider_id == provider_id,
            NilReturn.year == quarter.year,
            NilReturn.quarter == quarter.quarter,
        )
    )


async def declare(
    service: Service, session: AsyncSession, provider: Provider, quarter: Quarter
) -> tuple[bool, NilReturn]:
    """Record the nil return and stage its event; False (and nothing staged) if it was
    already declared."""
    first, last = quarter.days
    if first > today_in_england():
        raise NotBegun(f"quarter {quarter.quarter} of {quarter.year} has not begun")
    existing = await declared(session, provider.id, quarter)
    if existing is not None:
        return False, existing
    complaints = await session.scalar(
        select(ProviderReturn.provider_reference)
        .where(
            ProviderReturn.provider_id == provider.id,
            ProviderReturn.kind == ProviderReturnKind.COMPLAINT.value,
            ProviderReturn.received_on.between(first, last),
        )
        .limit(1)
    )
    if complaints is not None:
        raise Contradicted(
            f"quarter {quarter.quarter} of {quarter.year} already has complaint returns "
            f"(e.g. {complaints!r}): it cannot be nil"
        )
    declaration = NilReturn(
        id=uuid.uuid4(),
        provider_id=provider.id,
        year=quarter.year,
        quarter=quarter.quarter,
        declared_on=today_in_england(),
    )
    session.add(declaration)
    await session.flush()
    payload = ProviderNilReturn(
        provider_id=provider.id,
        provider=provider.code,
        year=quarter.year,
        quarter=quarter.quarter,
        declared_on=declaration.declared_on,
    )
    await service.publish(
        session,
        new_event(
            payload,
            organisation=service.settings.organisation,
            directorate=directorate_of(provider, None) or EVERY_DIRECTORATE,
        ),
    )
    return True, declaration
