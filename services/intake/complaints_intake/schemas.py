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
from complaints_shared.contracts.limits import (
    MAX_ITEMS,
    MAX_POINTS,
    MAX_THEMES,
    NO_NUL,
    Code,
    Detail,
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


def without_name(complainant: Complainant) -> Complainant:
    """The complainant as an anonymous complaint keeps them: how to reach them, no name."""
    return complainant.model_copy(update={"name": None})


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
    received_on: Received
    channel: Channel
    point_of_receipt: PointOfReceipt | None = None
    complainant: Complainant
    relationship: Relationship | None = None
    consent: Consent = Consent.NOT_NEEDED
    anonymous: bool = Field(
        default=False,
        description="The complainant's identity is not kept: a name given is discarded (and "
        "the service user's, where they complain for themselves). Contact details they chose "
        "to give are kept so they can hear back; with no email or postal address, no letter "
        "is sent and no acknowledgement is owed.",
    )
    service_user: ServiceUser | None = None
    service_area: Label | None = None
    team: Label | None = None
    provider: Name | None = None
    provider_id: uuid.UUID | None = Field(
        default=None,
        description="The registered provider (GET /api/v1/providers); its name is the "
        "register's. Without it, a provider named in free text is matched to the register.",
    )
    primary_subject: Label | None = None
    other_subjects: list[Label] = Field(default_factory=list, max_length=MAX_ITEMS)
    summary: Narrative = Field(min_length=1)
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

    @model_validator(mode="after")
    def _anonymous_keeps_no_name(self) -> NewComplaint:
        """An anonymous complaint's name is never stored or published (see ``anonymous``).

        Here rather than in the route, so the import keeps none either.
        """
        if self.anonymous:
            self.complainant = without_name(self.complainant)
            if self.service_user and self.relationship == Relationship.CARE_RECIPIENT:
                self.service_user = self.service_user.model_copy(update={"name": None})
        return self


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
    reason: Reason = Field(min_length=1)
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
    description: Reason = Field(min_length=1)
    owner: Name = Field(min_length=1)
    due_on: date
    owner_email: EmailStr | None = None
    service_area: Label | None = None
    themes: list[Label] = Field(default_factory=list, max_length=MAX_THEMES)


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


class ComplainantCorrection(Strict):
    """Contact details to change; a field left out is kept, a null clears it."""

    name: Name | None = Field(default=None, min_length=1)
    email: EmailStr | None = None
    phone: Code | None = None
    address: Detail | None = None
    preferred_contact: Literal["email", "telephone", "letter", "in_person"] | None = None
    accessibility_needs: Detail | None = None
    learning_updates: bool | None = None


class Correction(Strict):
    """Details of the case to correct, or learnt after it was logged; only those given change."""

    corrected_on: date
    reason: Reason = Field(min_length=1)
    complainant: ComplainantCorrection | None = None
    anonymous: bool | None = None
    relationship: Relationship | None = None
    consent: Consent | None = None
    service_area: Label | None = None
    team: Label | None = None
    provider: Name | None = None
    provider_id: uuid.UUID | None = Field(
        default=None,
        description="The registered provider, which brings its name; null unlinks (the "
        "name stays). A new free-text provider alone is matched to the register.",
    )
    primary_subject: Label | None = None
    other_subjects: list[Label] | None = Field(default=None, max_length=MAX_ITEMS)
    matter_arose_on: date | None = None
    advocacy_offered: bool | None = None
    advocacy_taken_up: bool | None = None
    joint_with_nhs: bool | None = None

    def changes(self) -> dict[str, Any]:
        """The fields given, besides the date and the reason."""
        return {
            name: getattr(self, name) for name in self.model_fields_set - {"corrected_on", "reason"}
        }


class Restriction(Strict):
    """Who alone may see the case (by sign-in username), and why."""

    people: list[Annotated[Name, Field(min_length=1)]] = Field(
        max_length=MAX_ITEMS - 1,
        description="Their sign-in usernames; you are added. Empty lifts the restriction.",
    )
    reason: Reason = Field(min_length=1)


class LegalHold(Strict):
    """Put a case on legal hold (retention leaves it whole), or take it off."""

    held: bool
    reason: Reason = Field(min_length=1)


class Appointment(Strict):
    """Who investigates or reviews at this stage; recording again corrects it."""

    appointed_on: date
    investigating_officer: Name | None = Field(default=None, min_length=1)
    independent_person: Name | None = Field(default=None, min_length=1)
    panellists: list[Annotated[Name, Field(min_length=1)]] = Field(
        default_factory=list, max_length=3, description="The review panel's three members."
    )
    reason: Reason = ""


class NewCompliment(Strict):
    directorate: Slug
    received_on: Received
    channel: Channel
    service_area: Label = Field(min_length=1)
    team: Label | None = None
    provider: Name | None = None
    provider_id: uuid.UUID | None = Field(
        default=None,
        description="The registered provider (GET /api/v1/providers); its name is the "
        "register's. Without it, a provider named in free text is matched to the register.",
    )
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
    provider_id: uuid.UUID | None = None
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
    provider_id: uuid.UUID | None = Field(
        default=None, description="The registered commissioned provider it is about."
    )
    provider_reference: str | None = Field(
        default=None, description="The provider's own reference, when the provider referred it."
    )
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
    restricted_to: list[str] | None = Field(
        default=None, description="Restricted: only these people see the case."
    )
    legal_hold: dict[str, Any] | None = Field(
        default=None, description="While held, retention does not anonymise the case."
    )
    anonymised_on: date | None = Field(
        default=None, description="When its personal data was removed (past retention)."
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
