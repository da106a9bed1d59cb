"""Reporting's read model: one row of facts per case, filled in as events arrive."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import Date, MetaData, String, Text
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


class ActionFacts(Base):
    """A learning action as its newest ``learning.action_changed`` left it.

    Snapshots carry a revision, so an older one arriving late changes nothing.
    """

    __tablename__ = "action_facts"

    action_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    revision: Mapped[int]
    directorate: Mapped[str] = mapped_column(String(64), index=True)
    service_area: Mapped[str | None] = mapped_column(String(120))
    source: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    identified_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    completed_on: Mapped[date | None] = mapped_column(Date)
    complainant_told_on: Mapped[date | None] = mapped_column(Date)


class StatementFacts(Base):
    """A "you said, we did" entry as its newest revision left it (public-safe text only)."""

    __tablename__ = "statement_facts"

    entry_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    revision: Mapped[int]
    directorate: Mapped[str] = mapped_column(String(64), index=True)
    published: Mapped[bool]
    published_on: Mapped[date] = mapped_column(Date)
    service_area: Mapped[str | None] = mapped_column(String(120))
    you_said: Mapped[str] = mapped_column(Text)
    we_did: Mapped[str] = mapped_column(Text)
