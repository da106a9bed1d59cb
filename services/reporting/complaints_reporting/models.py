"""Reporting's read model: one row of facts per case, filled in as events arrive."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import Date, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    metadata = MetaData()


class CaseFacts(Base):
    """What reports count about a case. Events may arrive in any order, so all is optional."""

    __tablename__ = "case_facts"

    case_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    directorate: Mapped[str] = mapped_column(String(64), index=True)
    received_on: Mapped[date | None] = mapped_column(Date)
    channel: Mapped[str | None] = mapped_column(String(20))
    responded_on: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(20))
