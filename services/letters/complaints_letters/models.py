"""What letters keeps: what it knows of each case, the letters, and what happened to them.

A letter is never deleted. Editing an approved letter makes a new version (a new row
sharing the letter's ``series``); the old version is cancelled. Anonymisation blanks a
letter's words but keeps the row (its kind and dates are part of the record).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    literal_column,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from complaints_shared.db import UtcDateTime


class Base(DeclarativeBase):
    metadata = MetaData()


def _now() -> datetime:
    return datetime.now(UTC)


class CaseFacts(Base):
    """The parts of a case a letter needs, gathered from events in whatever order they come."""

    __tablename__ = "case_facts"

    case_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(32))
    correlation_id: Mapped[uuid.UUID | None] = mapped_column()
    """The case's chain of events: letters' own events join it, to be traced with it."""
    organisation: Mapped[str | None] = mapped_column(String(64))
    directorate: Mapped[str | None] = mapped_column(String(64))
    procedure: Mapped[str | None] = mapped_column(String(64))
    received_on: Mapped[date | None] = mapped_column(Date)
    complainant: Mapped[dict | None] = mapped_column(JSON)
    relationship: Mapped[str | None] = mapped_column(String(32))
    consent: Mapped[str | None] = mapped_column(String(32))
    response_due_on: Mapped[date | None] = mapped_column(Date)
    """The first response date, as the acknowledgement promises it."""
    imported: Mapped[bool] = mapped_column(default=False)
    writable: Mapped[bool] = mapped_column(default=True)
    """False for an anonymous complaint with no email or postal address: nobody to write to."""
    anonymous: Mapped[bool] = mapped_column(default=False)
    officer: Mapped[str | None] = mapped_column(String(200))
    stage: Mapped[int] = mapped_column(default=1)
    ended: Mapped[bool] = mapped_column(default=False)
    points: Mapped[dict] = mapped_column(JSON, default=dict)
    """The agreed points of complaint by id: {"summary", "desired_outcome"}."""
    people: Mapped[dict] = mapped_column(JSON, default=dict)
    """Who investigates or reviews each stage: {"2": {"investigating_officer": ...}}."""
    due: Mapped[dict] = mapped_column(JSON, default=dict)
    """The deadlines engine's dates: {"<stage>.<kind>": "2026-05-05"}, kept up to date."""
    responded: Mapped[dict] = mapped_column(JSON, default=dict)
    """Stages answered: {"<stage>": "2026-05-01"} (a reminder then needs no holding letter)."""
    escalated: Mapped[dict] = mapped_column(JSON, default=dict)
    """Stages asked for: {"<stage>": "2026-05-20"} (each gets an acknowledgement)."""
    extensions: Mapped[dict] = mapped_column(JSON, default=dict)
    """Extensions by the id of their ``case.extended`` event: its reason, and the new date
    when the deadlines engine has moved the deadline (the holding letter needs both)."""
    settled: Mapped[dict] = mapped_column(JSON, default=dict)
    """Learning settled, by round: {"1": {"settled_on", "actions"}}, kept until the case
    and the complainant's agreement let the learning-update letter be drafted."""


class Status(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


OPEN = (Status.DRAFT, Status.APPROVED)
"""A letter in these states has not gone yet: a withdrawal cancels it."""


class Letter(Base):
    """One version of a letter. ``series`` is the first version's id; ``key`` says what
    the letter answers (``acknowledgement.1``, ``holding.<event id>``), so a redelivered
    event drafts nothing twice. A letter to staff (``kinds.STAFF``) has no case; its key
    is unique among such letters."""

    __tablename__ = "letters"
    __table_args__ = (
        UniqueConstraint("case_id", "key", "version"),
        Index(
            "uq_letters_staff_key",
            "key",
            "version",
            unique=True,
            sqlite_where=literal_column("case_id").is_(None),
            postgresql_where=literal_column("case_id").is_(None),
        ),
        Index("ix_letters_status", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    series: Mapped[uuid.UUID] = mapped_column(index=True)
    version: Mapped[int] = mapped_column(default=1)
    case_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    """None for a letter to staff, which concerns no one case."""
    key: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(32))
    stage: Mapped[int] = mapped_column(default=1)
    variant: Mapped[str] = mapped_column(String(32), default="standard")
    status: Mapped[str] = mapped_column(String(16))
    needs_approval: Mapped[bool] = mapped_column(default=False)
    template: Mapped[str] = mapped_column(String(128))
    facts: Mapped[dict] = mapped_column(JSON)
    """The statutory parts, filled in from the case (dates as ISO strings)."""
    wording: Mapped[dict] = mapped_column(JSON, default=dict)
    """The officer's words, by the name of the part they fill."""
    html: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    next_step_on: Mapped[date | None] = mapped_column(Date)
    """A response letter's date for the complainant's next step (escalate, or the Ombudsman)."""
    issued_on: Mapped[date | None] = mapped_column(Date)
    """The date the letter bears: the day it was sent (a draft shows today's)."""
    send_after: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """Not sent before then, though approved (a day's digest waits for the day to end)."""
    route: Mapped[str | None] = mapped_column(String(8))
    channel: Mapped[str | None] = mapped_column(String(32))
    drafted_by: Mapped[str] = mapped_column(String(200))
    approved_by: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(String(500))
    """Why it failed or was cancelled."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now, onupdate=_now)


class LetterEvent(Base):
    """A letter's history: drafted, edited, approved, sent, delivered, failed... by whom."""

    __tablename__ = "letter_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    letter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("letters.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")


SYSTEM = "letters"
"""The actor in a letter's history when nobody did it (drafted from an event, sent)."""


def history(
    session: AsyncSession, letter: Letter, actor: str, action: str, detail: str = ""
) -> None:
    """Add a line to the letter's history (never personal data: ids, kinds, reasons)."""
    session.add(LetterEvent(letter_id=letter.id, actor=actor, action=action, detail=detail))


def cancel(session: AsyncSession, letter: Letter, actor: str, reason: str) -> None:
    """Stop a letter that has not gone, saying why."""
    letter.status, letter.reason = Status.CANCELLED, reason
    history(session, letter, actor, "cancelled", reason)
