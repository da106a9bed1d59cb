"""What the intake API accepts and returns."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from complaints_shared.contracts.events import Complainant
from complaints_shared.contracts.vocabulary import Channel, Outcome


class NewComplaint(BaseModel):
    """A complaint as the complaints team logs it."""

    model_config = ConfigDict(extra="forbid")

    directorate: str = Field(examples=["adults"])
    received_on: date
    channel: Channel
    complainant: Complainant
    summary: str = Field(min_length=1, max_length=20_000)


class NewLearningAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field(min_length=1, max_length=2_000)
    owner: str = Field(min_length=1, max_length=200)
    due_on: date


class NewResponse(BaseModel):
    """The council's response: the finding and what it will learn from it."""

    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    responded_on: date
    learning_actions: list[NewLearningAction] = Field(default_factory=list, max_length=50)


class ComplaintView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    reference: str
    directorate: str
    procedure: str
    status: str
    received_on: date
    channel: Channel
    complainant: Complainant
    summary: str
    outcome: Outcome | None
    responded_on: date | None
