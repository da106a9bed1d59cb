"""What deadlines keeps: deadlines, how they moved, their timers, the calendar's extra days."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from complaints_shared.db import UtcDateTime


class Base(DeclarativeBase):
    metadata = MetaData()


class Deadline(Base):
    """One step of one case's procedure at one stage, with its due date and why.

    The due date is always derivable: ``start_on`` plus ``working_days`` (the
    timescale, or its extended total) plus ``paused_days`` (working days the clock
    was stopped), on the calendar as it stands; or ``calendar_months`` for
    month-based limits. Keeping the parts is what lets a calendar change or a
    restarted clock recalculate it.
    """

    __tablename__ = "deadlines"
    __table_args__ = (UniqueConstraint("case_id", "stage", "kind"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(index=True)
    organisation: Mapped[str] = mapped_column(String(64))
    directorate: Mapped[str] = mapped_column(String(64), index=True)
    procedure: Mapped[str] = mapped_column(String(64))
    stage: Mapped[int] = mapped_column(default=1)
    kind: Mapped[str] = mapped_column(String(32))
    counts_from: Mapped[str] = mapped_column(String(32), default="stage_start")
    start_on: Mapped[date] = mapped_column(Date)
    working_days: Mapped[int] = mapped_column(default=0)
    calendar_months: Mapped[int] = mapped_column(default=0)
    paused_days: Mapped[int] = mapped_column(default=0)
    paused_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    rule: Mapped[str] = mapped_column(Text)
    skipped: Mapped[list] = mapped_column(JSON, default=list)
    warnings: Mapped[list] = mapped_column(JSON, default=list)
    reminder_days: Mapped[int] = mapped_column(default=0)
    with_timers: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    breached: Mapped[bool] = mapped_column(default=False)
    met_on: Mapped[date | None] = mapped_column(Date)


class DeadlineChange(Base):
    """Every time a due date moved: from what, to what, and why."""

    __tablename__ = "deadline_changes"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    deadline_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deadlines.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    old_due_on: Mapped[date] = mapped_column(Date)
    new_due_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)


class Timer(Base):
    """A reminder or breach (or a learning action's follow-up) to fire at ``fire_at``;
    fired exactly once (``fired_at``).

    The partial index holds only timers not yet fired, so finding what is due costs
    the same however many deadlines wait.
    """

    __tablename__ = "timers"
    __table_args__ = (
        Index(
            "ix_timers_pending",
            "fire_at",
            postgresql_where=text("fired_at IS NULL"),
            sqlite_where=text("fired_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    deadline_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deadlines.id"), index=True)
    # reminder | breach; a learning action's follow-up: reminder | overdue | escalation
    kind: Mapped[str] = mapped_column(String(16))
    fire_at: Mapped[datetime] = mapped_column(UtcDateTime)
    fired_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class FollowUp(Base):
    """What learning last said about an action this service follows up (``learning.action_changed``).

    The follow-up itself is a :class:`Deadline` of kind ``learning_action`` whose
    ``case_id`` is the action's id (procedure ``learning``, stage 0), with its timers in
    ``timers``; this row keeps what a deadline has no column for: the highest revision
    applied (snapshots arrive in any order) and how many working days overdue the
    manager is told.
    """

    __tablename__ = "follow_ups"

    subject_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(default=0)
    escalation_working_days: Mapped[int] = mapped_column(default=0)


class CalendarDay(Base):
    """A day the organisation does not work beyond the bank holidays: closure or announced."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    reason: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str | None] = mapped_column(String(200))  # who added it (None: before #8)


class CaseOfficer(Base):
    """Who is handling a case (from ``case.allocated``), for due lists by officer or team."""

    __tablename__ = "case_officers"

    case_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    officer: Mapped[str] = mapped_column(String(200), index=True)
    team: Mapped[str | None] = mapped_column(String(120), index=True)


class EarlyAcknowledgement(Base):
    """An acknowledgement letter heard of before the case it acknowledges.

    Letters and cases travel on different streams, so ``letter.issued`` can arrive
    first; it is kept here and meets the stage's acknowledgement deadline once the
    stage is scheduled (at receipt, or on escalation).
    """

    __tablename__ = "early_acknowledgements"

    case_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    stage: Mapped[int] = mapped_column(primary_key=True, default=1)
    issued_on: Mapped[date] = mapped_column(Date)


class NoContactRoute(Base):
    """A case whose complainant cannot be written to: anonymous, with no email or address.

    No acknowledgement letter can be sent, so each acknowledgement deadline of the case
    (Stage 1 at receipt, a later stage's on escalation) is cancelled with ``reason``
    rather than left to be breached.
    """

    __tablename__ = "no_contact_routes"

    case_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
