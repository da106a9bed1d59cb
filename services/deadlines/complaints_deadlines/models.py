"""Deadlines as deadlines owns them."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import JSON, Date, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    metadata = MetaData()


class Deadline(Base):
    """One step of one case's procedure, with its due date and why."""

    __tablename__ = "deadlines"
    __table_args__ = (UniqueConstraint("case_id", "kind"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(index=True)
    organisation: Mapped[str] = mapped_column(String(64))
    directorate: Mapped[str] = mapped_column(String(64), index=True)
    procedure: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    start_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    working_days: Mapped[int]
    rule: Mapped[str] = mapped_column(Text)
    skipped: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="open")
    met_on: Mapped[date | None] = mapped_column(Date)
