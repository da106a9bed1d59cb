"""The provider register's table: one row a provider, its lists kept as JSON.

The row holds exactly what ``provider.changed`` carries (:func:`snapshot`), so the
event is the row and other services keep their copies from it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from complaints_intake.models import Base
from complaints_shared.contracts import events
from complaints_shared.db import UtcDateTime


def _now() -> datetime:
    return datetime.now(UTC)


class Provider(Base):
    """A commissioned provider: who it is, what it does, its contracts and contacts."""

    __tablename__ = "providers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    service_kind: Mapped[str] = mapped_column(String(30))
    cqc_location_ids: Mapped[list] = mapped_column(JSON, default=list)
    contracts: Mapped[list] = mapped_column(JSON, default=list)
    """Each a ``ProviderContract`` as JSON."""
    contacts: Mapped[list] = mapped_column(JSON, default=list)
    """Each a ``ProviderContact`` as JSON."""
    aliases: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    revision: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now, onupdate=_now)


def snapshot(provider: Provider) -> events.Provider:
    """The provider as ``provider.changed`` carries it."""
    return events.Provider(
        provider_id=provider.id,
        code=provider.code,
        name=provider.name,
        service_kind=provider.service_kind,
        cqc_location_ids=tuple(provider.cqc_location_ids),
        contracts=tuple(events.ProviderContract(**c) for c in provider.contracts),
        contacts=tuple(events.ProviderContact(**c) for c in provider.contacts),
        aliases=tuple(provider.aliases),
        active=provider.active,
    )
