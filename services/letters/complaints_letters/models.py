"""What letters keeps: what it knows of each case, and the letters themselves."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import JSON, Date, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from complaints_shared.db import UtcDateTime


class Base(DeclarativeBase):
    metadata = MetaData()


class CaseFacts(Base):
    """The parts of a case a letter needs, gathered from events in whatever order they come."""

    __tablename__ = "case_facts"

    case_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(32))
    organisation: Mapped[str | None] = mapped_column(String(64))
    directorate: Mapped[str | None] = mapped_column(String(64))
    procedure: Mapped[str | None] = mapped_column(String(64))
    received_on: Mapped[date | None] = mapped_column(Date)
    complainant: Mapped[dict | None] = mapped_column(JSON)
    response_due_on: Mapped[date | None] = mapped_column(Date)
    imported: Mapped[bool] = mapped_column(default=False)
    writable: Mapped[bool] = mapped_column(default=True)
    """False for an anonymous complaint with no email or postal address: nobody to write to."""


class Letter(Base):
    """A rendered letter. One of each kind per case and stage: a redelivered event sends
    nothing twice."""

    __tablename__ = "letters"
    __table_args__ = (UniqueConstraint("case_id", "kind", "stage"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(32))
    stage: Mapped[int] = mapped_column(default=1)
    template: Mapped[str] = mapped_column(String(128))
    issued_on: Mapped[date] = mapped_column(Date)
    html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=lambda: datetime.now(UTC))
