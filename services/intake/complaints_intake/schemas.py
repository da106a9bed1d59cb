"""What the intake API accepts and returns."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from complaints_shared.calendar import FIRST_DAY, today_in_england
from complaints_shared.contracts.events import Complainant, Remedy
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


def _not_in_the_future(day: date) -> date:
    if day > today_in_england():
        raise ValueError("cannot be in the future")
    return day


Received = Annotated[
    date,
    Field(
        ge=FIRST_DAY,
        description=f"Not in the future, nor before {FIRST_DAY.isoformat()} (where the "
        "working-day calendar begins).",
    ),
    AfterValidator(_not_in_the_future),
]
"""A day something reached the council: the API and the import apply the same rule."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServiceUser(Strict):
    """Who the complaint is about; equalities data is optional and used only for monitoring."""

    name: str | None = Field(default=None, max_length=200)
    gender: str | None = Field(default=None, max_length=40)
    ethnicity: str | None = Field(default=None, max_length=80)
    disability: str | None = Field(default=None, max_length=40)
    age_band: str | None = Field(default=None, max_length=20)


class NewComplaint(Strict):
    """A complaint or representation as the complaints team logs it."""

    directorate: str = Field(examples=["adults"])
    kind: CaseKind = CaseKind.COMPLAINT
    received_on: Received
    channel: Channel
    point_of_receipt: PointOfReceipt | None = None
    complainant: Complainant
    relationship: Relationship | None = None
    consent: Consent = Consent.NOT_NEEDED
    anonymous: bool = False
    service_user: ServiceUser | None = None
    service_area: str | None = Field(default=None, max_length=120)
    team: str | None = Field(default=None, max_length=120)
    provider: str | None = Field(default=None, max_length=200)
    primary_subject: str | None = Field(default=None, max_length=120)
    other_subjects: list[str] = Field(default_factory=list, max_length=20)
    summary: str = Field(min_length=1, max_length=20_000)
    advocacy_offered: bool = False
    advocacy_taken_up: bool = False
    joint_with_nhs: bool = False
    matter_arose_on: date | None = None

    @model_validator(mode="wrap")
    @classmethod
    def _named_unless_anonymous(cls, data: Any, handler: ModelWrapValidatorHandler) -> Any:
        """A name is required unless the complaint is anonymous, reported at its place.

        Checked on the raw input, so a missing name is reported beside every other
        error in the body rather than only once the rest is valid.
        """
        who = data.get("complainant") if isinstance(data, dict) else None
        unnamed = isinstance(who, dict) and not who.get("name") and not data.get("anonymous")
        if not unnamed:
            return handler(data)
        errors: list[InitErrorDetails] = []
        try:
            handler(data)
        except ValidationError as invalid:
            errors = [
                InitErrorDetails(
                    type=PydanticCustomError(e["type"], e["msg"]), loc=e["loc"], input=e["input"]
                )
                for e in invalid.errors(include_url=False)
            ]
        missing = PydanticCustomError("missing", "is required unless the complaint is anonymous")
        errors.append(InitErrorDetails(type=missing, loc=("complainant", "name"), input=who))
        raise ValidationError.from_exception_data(cls.__name__, errors)


class Triage(Strict):
    decision: TriageDecision
    decided_on: date
    reason: IneligibleReason | None = Field(
        default=None, description="Required when the decision is 'ineligible'."
    )
    redirected_to: str | None = Field(default=None, max_length=200)
    notes: str = Field(default="", max_length=5_000)


class Allocation(Strict):
    officer: str = Field(min_length=1, max_length=200)
    team: str | None = Field(default=None, max_length=120)
    allocated_on: date


class NewPoint(Strict):
    summary: str = Field(min_length=1, max_length=2_000)
    desired_outcome: str = Field(default="", max_length=2_000)


class AgreedPoints(Strict):
    points: list[NewPoint] = Field(min_length=1, max_length=50)
    agreed_on: date


class Extension(Strict):
    """A longer timescale for one step: working days, or months for a month-based limit."""

    step: DeadlineKind = DeadlineKind.RESPONSE
    working_days: int | None = Field(
        default=None, ge=1, le=1_000, description="The step's new total timescale in working days."
    )
    calendar_months: int | None = Field(
        default=None,
        ge=1,
        le=60,
        description="For a month-based limit (the adults' six-month relevant period): the "
        "new total in months, agreed with the complainant.",
    )
    reason: str = Field(min_length=1, max_length=2_000)
    agreed_on: date

    @model_validator(mode="after")
    def _one_measure(self) -> Extension:
        if (self.working_days is None) == (self.calendar_months is None):
            raise ValueError("give working_days or calendar_months (one of them)")
        return self


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
    description: str = Field(min_length=1, max_length=2_000)
    owner: str = Field(min_length=1, max_length=200)
    due_on: date


class Finding(Strict):
    point_id: uuid.UUID
    outcome: Outcome


class NewResponse(Strict):
    """The council's response: the finding overall and per point, remedies, learning."""

    outcome: Outcome
    responded_on: date
    findings: list[Finding] = Field(default_factory=list, max_length=50)
    remedies: list[Remedy] = Field(default_factory=list, max_length=20)
    learning_actions: list[NewLearningAction] = Field(default_factory=list, max_length=50)


class Escalation(Strict):
    requested_on: date


class Panel(Strict):
    held_on: date


class PanelReport(Strict):
    reported_on: date


class Withdrawal(Strict):
    withdrawn_on: date
    reason: str = Field(default="", max_length=2_000)


class Closure(Strict):
    closed_on: date
    reason: str = Field(default="", max_length=2_000)


class Reopening(Strict):
    reopened_on: date
    reason: str = Field(min_length=1, max_length=2_000)


class OmbudsmanReferral(Strict):
    referred_on: date
    ombudsman_reference: str | None = Field(default=None, max_length=40)


class OmbudsmanOutcome(Strict):
    decided_on: date
    decision: OmbudsmanDecision
    remedies: list[Remedy] = Field(default_factory=list, max_length=20)


class Feedback(Strict):
    recorded_on: date
    satisfied: bool | None = None
    comments: str = Field(default="", max_length=5_000)


class ComplainantCorrection(Strict):
    """Contact details to change; a field left out is kept, a null clears it."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=500)
    preferred_contact: Literal["email", "telephone", "letter", "in_person"] | None = None
    accessibility_needs: str | None = Field(default=None, max_length=500)


class Correction(Strict):
    """Details of the case to correct, or learnt after it was logged; only those given change."""

    corrected_on: date
    reason: str = Field(min_length=1, max_length=2_000)
    complainant: ComplainantCorrection | None = None
    anonymous: bool | None = None
    relationship: Relationship | None = None
    consent: Consent | None = None
    service_area: str | None = Field(default=None, max_length=120)
    team: str | None = Field(default=None, max_length=120)
    provider: str | None = Field(default=None, max_length=200)
    primary_subject: str | None = Field(default=None, max_length=120)
    other_subjects: list[str] | None = Field(default=None, max_length=20)
    matter_arose_on: date | None = None
    advocacy_offered: bool | None = None
    advocacy_taken_up: bool | None = None
    joint_with_nhs: bool | None = None

    def changes(self) -> dict[str, Any]:
        """The fields given, besides the date and the reason."""
        return {
            name: getattr(self, name) for name in self.model_fields_set - {"corrected_on", "reason"}
        }


class Appointment(Strict):
    """Who investigates or reviews at this stage; recording again corrects it."""

    appointed_on: date
    investigating_officer: str | None = Field(default=None, min_length=1, max_length=200)
    independent_person: str | None = Field(default=None, min_length=1, max_length=200)
    panellists: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=3, description="The review panel's three members."
    )
    reason: str = Field(default="", max_length=2_000)


class NewCompliment(Strict):
    directorate: str
    received_on: Received
    channel: Channel
    service_area: str = Field(min_length=1, max_length=120)
    team: str | None = Field(default=None, max_length=120)
    provider: str | None = Field(default=None, max_length=200)
    summary: str = Field(min_length=1, max_length=20_000)


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
    ombudsman: list[dict[str, Any]] = Field(
        description="Every referral to the Ombudsman, oldest first, each with its decision."
    )
    feedback: dict[str, Any] | None
    stage_started_on: date | None = Field(
        description="The day the current stage began (or the case was reopened)."
    )
    appointments: dict[str, dict[str, Any]] = Field(
        description="Who investigates or reviews, by stage number."
    )


class HistoryView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    action: str
    actor: str
    at: Any
    event_type: str
    event_id: uuid.UUID
    status_after: str
    details: dict[str, Any]
