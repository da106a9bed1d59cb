"""Retention for providers' returns: a summary is kept no longer than a case would be.

A return's ``summary`` is the only personal data the feed holds (free text about a
person's complaint). It is never published, but it must not outlive the council's
retention period: once the later of the return's receipt and response is further back
than the years a case of its directorate is kept (``COMPLAINTS_RETENTION_YEARS``, kind
``provider_return``, e.g. ``{"adults.provider_return": 3}``), the daily retention pass
removes it. Everything the figures need stays; a complaint the provider referred keeps
its own copy in the council's case, which follows the case's retention.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_intake.providers.models import Provider
from complaints_intake.providers.returns import ProviderReturn, directorate_of
from complaints_shared.calendar import add_months
from complaints_shared.settings import Settings

KIND = "provider_return"
"""The kind a council names in ``COMPLAINTS_RETENTION_YEARS`` for returns' summaries."""
REMOVED = "[removed: past retention]"


def kept_until(stored: ProviderReturn, provider: Provider, settings: Settings) -> date:
    """The last day the return's summary is kept."""
    directorate = directorate_of(provider, stored.contract_reference) or "all"
    last = max(stored.received_on, stored.responded_on or stored.received_on)
    return add_months(last, 12 * settings.retention_for(directorate, KIND))


async def forget_summaries(session: AsyncSession, settings: Settings, today: date) -> int:
    """Remove every summary past its retention; returns how many."""
    found = await session.execute(
        select(ProviderReturn, Provider)
        .join(Provider, Provider.id == ProviderReturn.provider_id)
        .where(ProviderReturn.summary.is_not(None), ProviderReturn.summary != REMOVED)
        .with_for_update(of=ProviderReturn)
    )
    removed = 0
    for stored, provider in found.tuples():
        if kept_until(stored, provider, settings) < today:
            stored.summary = REMOVED
            removed += 1
    return removed
