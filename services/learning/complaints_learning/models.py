"""The learning register's tables: actions, the cases they came from, notes and history.

Column names are read by other modules of this service (themes counts complaints per
subject from ``learning_cases``, and actions by directorate, service area, theme and
status from ``learning_actions``): keep them.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from complaints_shared.contracts.vocabulary import LearningSource, LearningStatus
from complaints_shared.db import UtcDateTime

OPEN = (LearningStatus.OPEN, LearningStatus.IN_PROGRESS)
"""Being worked on: chased, and may be progressed, completed or cancelled."""
SETTLED = (LearningStatus.DONE, LearningStatus.CANCELLED)
"""Finished with: only reopening changes them."""


class Base(DeclarativeBase):
    metadata = MetaData()


class LearningAction(Base):
    """A learning point with an action, a named lead and a timescale, followed to done."""

    __tablename__ = "learning_actions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    organisation: Mapped[str] = mapped_column(String(64))
    directorate: Mapped[str] = mapped_column(String(64), index=True)
    description: Mapped[str] = mapped_column(Text)
    lead: Mapped[str] = mapped_column(String(200), index=True)
    lead_email: Mapped[str | None] = mapped_column(String(320))
    service_area: Mapped[str | None] = mapped_column(String(120), index=True)
    team: Mapped[str | None] = mapped_column(String(120))
    due_on: Mapped[date] = mapped_column(Date, index=True)
    source: Mapped[LearningSource] = mapped_column(String(16))
    stage: Mapped[int | None]
    subject: Mapped[str | None] = mapped_column(String(120), index=True)
    themes: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[LearningStatus] = mapped_column(String(16), index=True)
    identified_on: Mapped[date] = mapped_column(Date, index=True)
    completed_on: Mapped[date | None] = mapped_column(Date, index=True)
    evidence: Mapped[str | None] = mapped_column(Text)
    evidence_links: Mapped[list[str]] = mapped_column(JSON, default=list)
    what_changed: Mapped[str | None] = mapped_column(Text)
    cancelled_reason: Mapped[str | None] = mapped_column(Text)
    complainant_told_on: Mapped[date | None] = mapped_column(Date)
    revision: Mapped[int] = mapped_column(Integer, default=0)


class ActionCase(Base):
    """A case an action came from: an action may come from several cases, or none."""

    __tablename__ = "learning_action_cases"

    action_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("learning_actions.id"), primary_key=True
    )
    case_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)


class ProgressNote(Base):
    """What a lead or officer said about how an action is going."""

    __tablename__ = "learning_progress_notes"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    action_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("learning_actions.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    by: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)


class ActionHistory(Base):
    """Every change to an action (and every chase of its lead): who, when, what.

    ``description`` says what changed in words without personal data (field names, a
    status, a step), so the history can be shown to anyone who may see the action.
    """

    __tablename__ = "learning_action_history"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    action_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("learning_actions.id"), index=True)
    revision: Mapped[int]
    change: Mapped[str] = mapped_column(String(32))
    who: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    description: Mapped[str] = mapped_column(String(500))


class LearningCase(Base):
    """What learning knows of a case: whose it is, what about, and its learning's rounds."""

    __tablename__ = "learning_cases"

    case_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    organisation: Mapped[str] = mapped_column(String(64))
    directorate: Mapped[str] = mapped_column(String(64), index=True)
    reference: Mapped[str] = mapped_column(String(64))
    received_on: Mapped[date] = mapped_column(Date, index=True)
    service_area: Mapped[str | None] = mapped_column(String(120), index=True)
    team: Mapped[str | None] = mapped_column(String(120))
    primary_subject: Mapped[str | None] = mapped_column(String(120), index=True)
    other_subjects: Mapped[list[str]] = mapped_column(JSON, default=list)
    officer: Mapped[str | None] = mapped_column(String(200))
    rounds: Mapped[int] = mapped_column(Integer, default=0)
    settled: Mapped[bool] = mapped_column(default=False)
