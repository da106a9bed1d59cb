"""Reporting's read models: facts per case, compliment, learning action and provider,
filled in as events arrive. They hold figures and dates, never personal data."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import JSON, Date, MetaData, String, Text
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
    kind: Mapped[str | None] = mapped_column(String(20))
    primary_subject: Mapped[str | None] = mapped_column(String(120))
    provider_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    provider_reference: Mapped[str | None] = mapped_column(String(64), index=True)
    responded_on: Mapped[date | None] = mapped_column(Date)
    """The first response's date (the statutory figures count the first)."""
    outcome: Mapped[str | None] = mapped_column(String(20))
    """The first response's outcome."""
    withdrawn: Mapped[bool] = mapped_column(default=False)
    ombudsman_referred_on: Mapped[date | None] = mapped_column(Date)
    """The first referral to the Ombudsman."""
    ombudsman_decision: Mapped[str | None] = mapped_column(String(20))
    """The latest decision."""
    ombudsman_decided_on: Mapped[date | None] = mapped_column(Date)


class ComplimentFacts(Base):
    """What reports count about a compliment (its words stay in intake)."""

    __tablename__ = "compliment_facts"

    compliment_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    directorate: Mapped[str] = mapped_column(String(64), index=True)
    received_on: Mapped[date] = mapped_column(Date, index=True)
    service_area: Mapped[str | None] = mapped_column(String(120))
    provider_id: Mapped[uuid.UUID | None] = mapped_column(index=True)


class ProviderCopy(Base):
    """A commissioned provider as its newest ``provider.changed`` left it, less its
    contacts (people's names and addresses are not reporting's to keep)."""

    __tablename__ = "provider_copies"

    provider_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    revision: Mapped[int]
    code: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    service_kind: Mapped[str] = mapped_column(String(30))
    active: Mapped[bool]
    contracts: Mapped[list] = mapped_column(JSON)
    """Each a ``ProviderContract`` as JSON."""


class ReturnFacts(Base):
    """One row of a provider's return (a complaint or a compliment) at its newest revision."""

    __tablename__ = "return_facts"

    return_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    revision: Mapped[int]
    provider_id: Mapped[uuid.UUID] = mapped_column(index=True)
    provider_reference: Mapped[str] = mapped_column(String(64), index=True)
    directorate: Mapped[str] = mapped_column(String(64))
    """The envelope's: the report uses the return's contract's directorate where it names one."""
    kind: Mapped[str] = mapped_column(String(20))
    received_on: Mapped[date] = mapped_column(Date, index=True)
    service_kind: Mapped[str] = mapped_column(String(30))
    contract_reference: Mapped[str | None] = mapped_column(String(64))
    primary_subject: Mapped[str | None] = mapped_column(String(120))
    outcome: Mapped[str | None] = mapped_column(String(20))
    responded_on: Mapped[date | None] = mapped_column(Date)
    withdrawn: Mapped[bool]
    ombudsman_referred: Mapped[bool]
    ombudsman_decision: Mapped[str | None] = mapped_column(String(20))
    referred_case_id: Mapped[uuid.UUID | None] = mapped_column(index=True)


class NilReturn(Base):
    """A provider's declaration that it had no complaints in a quarter."""

    __tablename__ = "nil_returns"

    provider_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    quarter: Mapped[int] = mapped_column(primary_key=True)
    declared_on: Mapped[date] = mapped_column(Date)


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
