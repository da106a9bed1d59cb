"""What the intake API accepts and returns."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from complaints_shared.contracts.events import Complainant, Remedy
from complaints_shared.contracts.limits import (
    MAX_ITEMS,
    MAX_POINTS,
    NO_NUL,
    Code,
    Label,
    Name,
    Narrative,
    Notes,
    Reason,
    Slug,
)
from complaints_shared.contracts.vocabulary import (
    CaseKind,
    Channel,
    ClockStopReason,
    Consent,
    DeadlineKind,
    IneligibleReason,
    OmbudsmanDecision,
    Outcome,
    PointOfReceipt,
    Relationship,
    ResolutionKind,
    SafeguardingRoute,
    TriageDecision,
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServiceUser(Strict):
    """Who the complaint is about; equalities data is optional and used only for monitoring."""

    name: Name | None = None
    gender: str | None = Field(default=None, max_length=40, pattern=NO_NUL)
    ethnicity: str | None = Field(default=None, max_length=80, pattern=NO_NUL)
    disability: str | None = Field(default=None, max_length=40, pattern=NO_NUL)
    age_band: str | None = Field(default=None, max_length=20, pattern=NO_NUL)


class NewComplaint(Strict):
    """A complaint or representation as the complaints team logs it."""

    directorate: Slug = Field(examples=["adults"])
    kind: CaseKind = CaseKind.COMPLAINT
    received_on: date
    channel: Channel
    point_of_receipt: PointOfReceipt | None = None
    complainant: Complainant
    relationship: Relationship | None = None
    consent: Consent = Consent.NOT_NEEDED
    anonymous: bool = False
    service_user: ServiceUser | None = None
    service_area: Label | None = None
    team: Label | None = None
    provider: Name | None = None
    primary_subject: Label | None = None
    other_subjects: list[Label] = Field(default_factory=list, max_length=MAX_ITEMS)
    summary: Narrative = Field(min_length=1)
    advocacy_offered: bool = False
    advocacy_taken_up: bool = False
    joint_with_nhs: bool = False
    matter_arose_on: date | None = None


class Triage(Strict):
    decision: TriageDecision
    decided_on: date
    reason: IneligibleReason | None = Field(
        default=None, description="Required when the decision is 'ineligible'."
    )
    redirected_to: Name | None = None
    notes: Notes = ""


class Allocation(Strict):
    officer: Name = Field(min_length=1)
    team: Label | None = None
    allocated_on: date


class NewPoint(Strict):
    summary: Reason = Field(min_length=1)
    desired_outcome: Reason = ""


class AgreedPoints(Strict):
    points: list[NewPoint] = Field(min_length=1, max_length=MAX_POINTS)
    agreed_on: date


class Extension(Strict):
    step: DeadlineKind = DeadlineKind.RESPONSE
    working_days: int = Field(ge=1, description="The step's new total timescale in working days.")
    reason: Reason = Field(min_length=1)
    agreed_on: date


class ClockStop(Strict):
    reason: ClockStopReason
    stopped_on: date


class ClockRestart(Strict):
    restarted_on: date


class SafeguardingReferral(Strict):
    route: SafeguardingRoute
    referred_on: date
    pause: bool = Field(default=True, description="Stop the complaint's clock meanwhile.")


class Resolution(Strict):
    kind: ResolutionKind
    held_on: date
    resolved: bool


class NewLearningAction(Strict):
    description: Reason = Field(min_length=1)
    owner: Name = Field(min_length=1)
    due_on: date


class Finding(Strict):
    point_id: uuid.UUID
    outcome: Outcome


class NewResponse(Strict):
    """The council's response: the finding overall and per point, remedies, learning."""

    outcome: Outcome
    responded_on: date
    findings: list[Finding] = Field(default_factory=list, max_length=MAX_POINTS)
    remedies: list[Remedy] = Field(default_factory=list, max_length=MAX_ITEMS)
    learning_actions: list[NewLearningAction] = Field(default_factory=list, max_length=MAX_ITEMS)


class Escalation(Strict):
    requested_on: date


class Panel(Strict):
    held_on: date


class PanelReport(Strict):
    reported_on: date


class Withdrawal(Strict):
    withdrawn_on: date
    reason: Reason = ""


class Closure(Strict):
    closed_on: date
    reason: Reason = ""


class Reopening(Strict):
    reopened_on: date
    reason: Reason = Field(min_length=1)


class OmbudsmanReferral(Strict):
    referred_on: date
    ombudsman_reference: Code | None = None


class OmbudsmanOutcome(Strict):
    decided_on: date
    decision: OmbudsmanDecision
    remedies: list[Remedy] = Field(default_factory=list, max_length=MAX_ITEMS)


class Feedback(Strict):
    recorded_on: date
    satisfied: bool | None = None
    comments: Notes = ""


class NewCompliment(Strict):
    directorate: Slug
    received_on: date
    channel: Channel
    service_area: Label = Field(min_length=1)
    team: Label | None = None
    provider: Name | None = None
    summary: Narrative = Field(min_length=1)


class ComplimentView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    directorate: str
    received_on: date
    channel: Channel
    service_area: str
    team: str | None
    provider: str | None
    summary: str


class ComplaintView(BaseModel):
    """A case as the complaints team sees it (equalities data is not included)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    reference: str
    directorate: str
    procedure: str
    kind: CaseKind
    status: str
    stage: int
    received_on: date
    channel: Channel
    point_of_receipt: PointOfReceipt | None
    complainant: Complainant
    relationship: Relationship | None
    consent: Consent
    anonymous: bool
    service_user: str | None
    service_area: str | None
    team: str | None
    provider: str | None
    primary_subject: str | None
    other_subjects: list[str]
    summary: str
    advocacy_offered: bool
    advocacy_taken_up: bool
    joint_with_nhs: bool
    matter_arose_on: date | None
    triage: dict[str, Any] | None
    officer: str | None
    officer_team: str | None
    points: list[dict[str, Any]]
    extensions: dict[str, int]
    clock_stopped: dict[str, Any] | None
    safeguarding: dict[str, Any] | None
    resolutions: list[dict[str, Any]]
    responses: list[dict[str, Any]]
    outcome: Outcome | None
    responded_on: date | None
    panel: dict[str, Any] | None
    closure: dict[str, Any] | None
    ombudsman: dict[str, Any] | None
    feedback: dict[str, Any] | None


class HistoryView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    action: str
    actor: str
    at: Any
    event_type: str
    event_id: uuid.UUID
    status_after: str
    details: dict[str, Any]
