"""Versioned event payloads, one class per (type, version).

Rules (see docs/contracts.md): a change inside a version only adds optional fields;
anything else is a new class with ``schema_version`` + 1, dual-published until every
consumer has moved. Each class has a golden sample in ``samples/`` that must keep
parsing.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from complaints_shared.contracts.envelope import EventPayload
from complaints_shared.contracts.vocabulary import Channel, DeadlineKind, LetterKind, Outcome


class Complainant(BaseModel):
    """Who complained and how to reach them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=500)


class CaseReceived(EventPayload):
    """A complaint has been logged: the start of every procedure's clock."""

    event_type: ClassVar[str] = "case.received"
    schema_version: ClassVar[int] = 1

    reference: str
    procedure: str
    received_on: date
    channel: Channel
    complainant: Complainant
    summary: str


class LearningActionSpec(BaseModel):
    """A learning point with an action, a named lead and a timescale."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: uuid.UUID
    description: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    due_on: date


class CaseResponded(EventPayload):
    """The council has sent its response, with the finding and what it will learn."""

    event_type: ClassVar[str] = "case.responded"
    schema_version: ClassVar[int] = 1

    responded_on: date
    outcome: Outcome
    learning_actions: tuple[LearningActionSpec, ...] = ()


class SkippedDay(BaseModel):
    """A day that was not counted, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    day: date
    reason: str


class DeadlineScheduled(EventPayload):
    """A procedure step now has a due date, with the reasoning behind it."""

    event_type: ClassVar[str] = "deadline.scheduled"
    schema_version: ClassVar[int] = 1

    deadline_id: uuid.UUID
    kind: DeadlineKind
    start_on: date
    due_on: date
    working_days: int
    rule: str
    skipped: tuple[SkippedDay, ...] = ()


class DeadlineMet(EventPayload):
    """The step a deadline was for has happened."""

    event_type: ClassVar[str] = "deadline.met"
    schema_version: ClassVar[int] = 1

    deadline_id: uuid.UUID
    kind: DeadlineKind
    met_on: date
    on_time: bool


class LetterIssued(EventPayload):
    """A letter to the complainant has been produced and stored."""

    event_type: ClassVar[str] = "letter.issued"
    schema_version: ClassVar[int] = 1

    letter_id: uuid.UUID
    kind: LetterKind
    issued_on: date


PAYLOADS: tuple[type[EventPayload], ...] = (
    CaseReceived,
    CaseResponded,
    DeadlineScheduled,
    DeadlineMet,
    LetterIssued,
)

EVENT_TYPES: dict[tuple[str, int], type[EventPayload]] = {
    (model.event_type, model.schema_version): model for model in PAYLOADS
}


def payload_model(event_type: str, schema_version: int) -> type[EventPayload]:
    """The payload class for a (type, version), or a KeyError naming both."""
    try:
        return EVENT_TYPES[(event_type, schema_version)]
    except KeyError:
        raise KeyError(f"no payload model for {event_type} v{schema_version}") from None
