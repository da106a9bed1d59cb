"""The case record, as intake stores it, and what is kept beside it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from complaints_shared.db import UtcDateTime


class Base(DeclarativeBase):
    metadata = MetaData()


def _now() -> datetime:
    return datetime.now(UTC)


class Case(Base):
    """A complaint or representation from receipt to closure and the Ombudsman."""

    __tablename__ = "cases"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    organisation: Mapped[str] = mapped_column(String(64))
    directorate: Mapped[str] = mapped_column(String(64), index=True)
    procedure: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20), default="complaint")
    status: Mapped[str] = mapped_column(String(20), default="received", index=True)
    stage: Mapped[int] = mapped_column(default=1, index=True)
    received_on: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(20))
    point_of_receipt: Mapped[str | None] = mapped_column(String(30))
    complainant: Mapped[dict] = mapped_column(JSON)
    relationship: Mapped[str | None] = mapped_column(String(30))
    consent: Mapped[str] = mapped_column(String(20), default="not_needed")
    anonymous: Mapped[bool] = mapped_column(default=False)
    service_user: Mapped[str | None] = mapped_column(String(200))
    service_area: Mapped[str | None] = mapped_column(String(120))
    team: Mapped[str | None] = mapped_column(String(120))
    provider: Mapped[str | None] = mapped_column(String(200))
    provider_id: Mapped[uuid.UUID | None] = mapped_column(index=True)  # the register's
    provider_reference: Mapped[str | None] = mapped_column(String(40))  # a referral's
    primary_subject: Mapped[str | None] = mapped_column(String(120))
    other_subjects: Mapped[list] = mapped_column(JSON, default=list)
    summary: Mapped[str] = mapped_column(Text)
    advocacy_offered: Mapped[bool] = mapped_column(default=False)
    advocacy_taken_up: Mapped[bool] = mapped_column(default=False)
    joint_with_nhs: Mapped[bool] = mapped_column(default=False)
    matter_arose_on: Mapped[date | None] = mapped_column(Date)
    imported: Mapped[bool] = mapped_column(default=False)

    triage: Mapped[dict | None] = mapped_column(JSON)
    officer: Mapped[str | None] = mapped_column(String(200), index=True)
    officer_team: Mapped[str | None] = mapped_column(String(120))
    points: Mapped[list] = mapped_column(JSON, default=list)  # every stage's, each with its stage
    extensions: Mapped[dict] = mapped_column(JSON, default=dict)
    clock_stopped: Mapped[dict | None] = mapped_column(JSON)
    safeguarding: Mapped[dict | None] = mapped_column(JSON)
    resolutions: Mapped[list] = mapped_column(JSON, default=list)
    responses: Mapped[list] = mapped_column(JSON, default=list)
    outcome: Mapped[str | None] = mapped_column(String(20))
    responded_on: Mapped[date | None] = mapped_column(Date)
    panel: Mapped[dict | None] = mapped_column(JSON)
    closure: Mapped[dict | None] = mapped_column(JSON)
    ombudsman: Mapped[list] = mapped_column(JSON, default=list)  # every referral, in order
    feedback: Mapped[dict | None] = mapped_column(JSON)
    stage_started_on: Mapped[date | None] = mapped_column(Date)
    appointments: Mapped[dict] = mapped_column(JSON, default=dict)  # by stage number
    restricted_to: Mapped[list | None] = mapped_column(JSON)  # usernames; None: not restricted
    legal_hold: Mapped[dict | None] = mapped_column(JSON)  # {"reason", "since"} while held
    anonymised_on: Mapped[date | None] = mapped_column(Date)

    correlation_id: Mapped[uuid.UUID] = mapped_column(default=uuid.uuid4)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now, onupdate=_now)


class Equalities(Base):
    """The service user's equalities data: optional, kept apart, for monitoring only."""

    __tablename__ = "equalities"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    gender: Mapped[str | None] = mapped_column(String(40))
    ethnicity: Mapped[str | None] = mapped_column(String(80))
    disability: Mapped[str | None] = mapped_column(String(40))
    age_band: Mapped[str | None] = mapped_column(String(20))


class HistoryEntry(Base):
    """The audit trail: who did what to a case, when, and the event it published."""

    __tablename__ = "case_history"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)
    event_id: Mapped[uuid.UUID]
    event_type: Mapped[str] = mapped_column(String(60))
    details: Mapped[dict] = mapped_column(JSON)
    status_after: Mapped[str] = mapped_column(String(20))


class IdempotencyKey(Base):
    """A creation request's key, so a retried POST returns the case it already made."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)


class Compliment(Base):
    """A compliment, fed back to the staff and service it names."""

    __tablename__ = "compliments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organisation: Mapped[str] = mapped_column(String(64))
    directorate: Mapped[str] = mapped_column(String(64), index=True)
    received_on: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(20))
    service_area: Mapped[str] = mapped_column(String(120))
    team: Mapped[str | None] = mapped_column(String(120))
    provider: Mapped[str | None] = mapped_column(String(200))
    provider_id: Mapped[uuid.UUID | None] = mapped_column(index=True)  # in the register
    summary: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)


class ReferenceCounter(Base):
    """The last number issued in a reference series such as ``ASC-2026``."""

    __tablename__ = "reference_counters"

    series: Mapped[str] = mapped_column(String(32), primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


class CaseDeadline(Base):
    """Intake's copy of each case's due dates (from deadlines' events), for "due soon" lists."""

    __tablename__ = "case_deadlines"

    deadline_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(32))
    due_on: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
