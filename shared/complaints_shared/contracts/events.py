"""Versioned event payloads, one class per (type, version).

Rules (see docs/contracts.md): a change inside a version only adds optional fields;
anything else is a new class with ``schema_version`` + 1, dual-published until every
consumer has moved. Each class has a golden sample in ``samples/`` that must keep
parsing.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from complaints_shared.contracts.envelope import EventPayload
from complaints_shared.contracts.limits import (
    MAX_DAYS_SKIPPED,
    MAX_ITEMS,
    MAX_POINTS,
    MAX_THEMES,
    Code,
    Detail,
    Label,
    Name,
    Narrative,
    Notes,
    ProviderCode,
    Reason,
    Reference,
    Slug,
)
from complaints_shared.contracts.vocabulary import (
    CaseKind,
    Channel,
    ClockStopReason,
    Consent,
    ContractBasis,
    DeadlineKind,
    FollowUpStep,
    IneligibleReason,
    LearningChange,
    LearningSource,
    LearningStatus,
    LetterKind,
    OmbudsmanDecision,
    Outcome,
    PointOfReceipt,
    ProviderReturnKind,
    ProviderServiceKind,
    Relationship,
    RemedyKind,
    ResolutionKind,
    SafeguardingRoute,
    TriageDecision,
)


class Complainant(BaseModel):
    """Who complained and how to reach them.

    ``name`` is absent only for an anonymous complaint (the case says ``anonymous``);
    intake refuses a named-less complaint that is not anonymous.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name | None = Field(default=None, min_length=1)
    email: EmailStr | None = None
    phone: Code | None = None
    address: Detail | None = None
    preferred_contact: Literal["email", "telephone", "letter", "in_person"] | None = None
    accessibility_needs: Detail | None = None
    learning_updates: bool | None = Field(
        default=None,
        description="Whether they agreed to hear what the council changed because of their "
        "complaint (the learning-update letter); None: not asked.",
    )

    def can_be_written_to(self) -> bool:
        """Whether a letter can reach them: they gave an email or a postal address."""
        return self.email is not None or self.address is not None


class CaseReceived(EventPayload):
    """A complaint has been logged: the start of every procedure's clock."""

    event_type: ClassVar[str] = "case.received"
    schema_version: ClassVar[int] = 1

    reference: Reference
    procedure: Slug
    received_on: date
    channel: Channel
    complainant: Complainant
    summary: Narrative
    kind: CaseKind = CaseKind.COMPLAINT
    point_of_receipt: PointOfReceipt | None = None
    relationship: Relationship | None = None
    consent: Consent = Consent.NOT_NEEDED
    anonymous: bool = False
    service_area: Label | None = None
    team: Label | None = None
    provider: Name | None = Field(
        default=None,
        description="The provider's name: the register's, or free text from before it.",
    )
    provider_id: uuid.UUID | None = Field(
        default=None, description="The registered commissioned provider it is about."
    )
    provider_reference: Code | None = Field(
        default=None,
        description="The provider's own reference, when the provider referred it to the council.",
    )
    primary_subject: Label | None = None
    other_subjects: tuple[Label, ...] = Field(default=(), max_length=MAX_ITEMS)
    advocacy_offered: bool = False
    advocacy_taken_up: bool = False
    joint_with_nhs: bool = False
    matter_arose_on: date | None = None
    imported: bool = Field(
        default=False,
        description="Replayed from an old system: history, so no letters are sent for it.",
    )

    @property
    def expects_letters(self) -> bool:
        """Whether the council writes to the complainant (acknowledgements and the rest).

        Always, unless the complaint is anonymous and gave neither an email nor a postal
        address: then there is nobody to write to, and no acknowledgement is owed.
        """
        return not self.anonymous or self.complainant.can_be_written_to()

    @model_validator(mode="after")
    def _named_unless_anonymous(self) -> CaseReceived:
        if self.complainant.name is None and not self.anonymous:
            raise ValueError("complainant.name is required unless the complaint is anonymous")
        return self


class LearningActionSpec(BaseModel):
    """A learning point with an action, a named lead and a timescale."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: uuid.UUID
    description: Reason = Field(min_length=1)
    owner: Name = Field(min_length=1)
    due_on: date
    owner_email: EmailStr | None = Field(
        default=None, description="Where reminders to the lead go."
    )
    service_area: Label | None = Field(
        default=None, description="The lead's service area or team; the case's if absent."
    )
    themes: tuple[Label, ...] = Field(
        default=(), max_length=MAX_THEMES, description="Themes the action is tagged with."
    )


class Remedy(BaseModel):
    """What the council will do to put things right; money in pounds.

    In an Ombudsman's decision a remedy is also a learning action: ``due_on`` is the
    date the Ombudsman set, ``owner`` who will carry it out.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: RemedyKind
    description: Reason = ""
    amount: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    due_on: date | None = Field(default=None, description="When it must be done by.")
    owner: Name | None = Field(default=None, description="Who will carry it out.")


class PointFinding(BaseModel):
    """The finding on one agreed point of complaint."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    point_id: uuid.UUID
    outcome: Outcome


class CaseResponded(EventPayload):
    """The council has sent its response, with the finding and what it will learn."""

    event_type: ClassVar[str] = "case.responded"
    schema_version: ClassVar[int] = 1

    responded_on: date
    outcome: Outcome
    learning_actions: tuple[LearningActionSpec, ...] = Field(default=(), max_length=MAX_ITEMS)
    stage: int = 1
    findings: tuple[PointFinding, ...] = Field(default=(), max_length=MAX_POINTS)
    remedies: tuple[Remedy, ...] = Field(default=(), max_length=MAX_ITEMS)


class SkippedDay(BaseModel):
    """A day that was not counted, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    day: date
    reason: Name


class DeadlineScheduled(EventPayload):
    """A procedure step now has a due date, with the reasoning behind it."""

    event_type: ClassVar[str] = "deadline.scheduled"
    schema_version: ClassVar[int] = 1

    deadline_id: uuid.UUID
    kind: DeadlineKind
    start_on: date
    due_on: date
    working_days: int
    rule: Reason
    skipped: tuple[SkippedDay, ...] = Field(default=(), max_length=MAX_DAYS_SKIPPED)
    stage: int = 1
    calendar_months: int = 0
    warnings: tuple[Reason, ...] = Field(default=(), max_length=MAX_ITEMS)


class DeadlineMet(EventPayload):
    """The step a deadline was for has happened.

    ``on_time`` is the final word on a breach: the step's own date against the due
    date, whenever it was recorded. A ``deadline.breached`` fired before a step that
    was logged late, but dated in time, is withdrawn by it.
    """

    event_type: ClassVar[str] = "deadline.met"
    schema_version: ClassVar[int] = 1

    deadline_id: uuid.UUID
    kind: DeadlineKind
    met_on: date
    on_time: bool
    stage: int = 1


class DeadlineRescheduled(EventPayload):
    """A due date moved: an extension, a restarted clock, a calendar change, a step's actual date."""

    event_type: ClassVar[str] = "deadline.rescheduled"
    schema_version: ClassVar[int] = 1

    deadline_id: uuid.UUID
    kind: DeadlineKind
    stage: int
    old_due_on: date
    new_due_on: date
    reason: Reason
    breached: bool | None = Field(
        default=None,
        description="Whether the deadline stands breached on its new date (judged again).",
    )


class DeadlineResumed(EventPayload):
    """The case's clock restarted: the deadline runs again, due on ``due_on``."""

    event_type: ClassVar[str] = "deadline.resumed"
    schema_version: ClassVar[int] = 1

    deadline_id: uuid.UUID
    kind: DeadlineKind
    stage: int
    resumed_on: date
    due_on: date


class DeadlinePaused(EventPayload):
    """The case's clock stopped: the deadline waits, and will move by the days paused."""

    event_type: ClassVar[str] = "deadline.paused"
    schema_version: ClassVar[int] = 1

    deadline_id: uuid.UUID
    kind: DeadlineKind
    stage: int
    paused_on: date
    reason: Reason


class DeadlineReminder(EventPayload):
    """A deadline is close: ``working_days_left`` working days remain."""

    event_type: ClassVar[str] = "deadline.reminder"
    schema_version: ClassVar[int] = 1

    deadline_id: uuid.UUID
    kind: DeadlineKind
    stage: int
    due_on: date
    working_days_left: int


class DeadlineBreached(EventPayload):
    """The due day ended and the step had not happened."""

    event_type: ClassVar[str] = "deadline.breached"
    schema_version: ClassVar[int] = 1

    deadline_id: uuid.UUID
    kind: DeadlineKind
    stage: int
    due_on: date


class DeadlineMissed(EventPayload):
    """An imported history ended with the step never done though its due date had passed."""

    event_type: ClassVar[str] = "deadline.missed"
    schema_version: ClassVar[int] = 1

    deadline_id: uuid.UUID
    kind: DeadlineKind
    stage: int
    due_on: date
    reason: Reason


class DeadlineCancelled(EventPayload):
    """The step will not happen (withdrawn, closed, not accepted at triage)."""

    event_type: ClassVar[str] = "deadline.cancelled"
    schema_version: ClassVar[int] = 1

    deadline_id: uuid.UUID
    kind: DeadlineKind
    stage: int
    cancelled_on: date
    reason: Reason


class CalendarChanged(EventPayload):
    """A non-working day was added or removed; open deadlines it affects were moved."""

    event_type: ClassVar[str] = "calendar.changed"
    schema_version: ClassVar[int] = 1

    day: date
    change: Literal["added", "removed"]
    reason: Name
    source: Code
    deadlines_moved: int
    actor: Name | None = Field(default=None, description="Who changed it.")


class DeadlineFollowUp(EventPayload):
    """A follow-up timer fired for something that is not a case's step (a learning action).

    The envelope has no case: ``subject_id`` is what the follow-up is about, and the
    service that asked for it (``learning.action_changed``) decides who is told.
    """

    event_type: ClassVar[str] = "deadline.follow_up"
    schema_version: ClassVar[int] = 1

    deadline_id: uuid.UUID
    kind: DeadlineKind
    subject_id: uuid.UUID
    step: FollowUpStep
    due_on: date
    fired_on: date
    working_days: int = Field(
        description="Working days left before the due date (reminder) or past it (overdue, "
        "escalation), on the calendar as it stands."
    )


class LetterIssued(EventPayload):
    """A letter to the complainant has been produced and stored."""

    event_type: ClassVar[str] = "letter.issued"
    schema_version: ClassVar[int] = 1

    letter_id: uuid.UUID
    kind: LetterKind
    issued_on: date
    stage: int | None = Field(
        default=None,
        description="The stage it is about (an escalation's acknowledgement); 1 if absent.",
    )


class LetterSent(EventPayload):
    """A letter left by its delivery channel (the channel took it; see ``letter.delivered``).

    ``kind`` is an open vocabulary (letters' kinds grow with template packs), so a
    consumer never fails on a kind it does not know.
    """

    event_type: ClassVar[str] = "letter.sent"
    schema_version: ClassVar[int] = 1

    letter_id: uuid.UUID
    kind: Slug
    stage: int = 1
    version: int = 1
    channel: Slug
    route: Literal["email", "post"]
    sent_on: date


class LetterDelivered(EventPayload):
    """The channel reports the letter delivered (an email accepted, a letter posted)."""

    event_type: ClassVar[str] = "letter.delivered"
    schema_version: ClassVar[int] = 1

    letter_id: uuid.UUID
    kind: Slug
    stage: int = 1
    channel: Slug
    delivered_on: date


class LetterFailed(EventPayload):
    """A delivery failed. ``final``: no more tries; the team must act (resend or write)."""

    event_type: ClassVar[str] = "letter.failed"
    schema_version: ClassVar[int] = 1

    letter_id: uuid.UUID
    kind: Slug
    stage: int = 1
    channel: Slug
    failed_on: date
    reason: Reason
    final: bool


class LearningAction(BaseModel):
    """A learning action as the register holds it, without its notes and evidence.

    Progress notes and evidence stay in the learning service (free text, reviewed only
    when published); everything a report or a timer needs is here.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    action_id: uuid.UUID
    description: Reason = Field(min_length=1)
    lead: Name = Field(min_length=1)
    lead_email: EmailStr | None = None
    service_area: Label | None = None
    team: Label | None = None
    due_on: date
    case_ids: tuple[uuid.UUID, ...] = Field(default=(), max_length=MAX_ITEMS)
    stage: int | None = Field(default=None, description="The stage of the response it came from.")
    source: LearningSource
    subject: Label | None = Field(
        default=None, description="The primary subject of the case it came from."
    )
    themes: tuple[Label, ...] = Field(default=(), max_length=MAX_THEMES)
    status: LearningStatus
    identified_on: date
    completed_on: date | None = None
    cancelled_reason: Reason | None = None
    complainant_told_on: date | None = None


class LearningActionChanged(EventPayload):
    """A learning action was recorded or changed: its whole state after the change.

    The envelope carries no case (an action may come from several cases or from none);
    ``revision`` counts the action's changes from 1, so a consumer keeps the highest it
    has seen and events may arrive in any order.
    """

    event_type: ClassVar[str] = "learning.action_changed"
    schema_version: ClassVar[int] = 1

    revision: int = Field(ge=1)
    change: LearningChange
    changed_on: date
    changed_by: Name
    action: LearningAction
    reminder_working_days: int = Field(
        default=5, ge=0, description="Remind the lead this many working days before it is due."
    )
    escalation_working_days: int = Field(
        default=10, ge=1, description="Tell the manager when it is this many working days overdue."
    )


class LeadChased(EventPayload):
    """The lead of a learning action, or their manager, is to be reminded of it.

    ``digest``: gather it into the recipient's daily digest rather than sending it alone.
    """

    event_type: ClassVar[str] = "learning.lead_chased"
    schema_version: ClassVar[int] = 1

    action_id: uuid.UUID
    step: FollowUpStep
    recipient: Name
    recipient_email: EmailStr | None = None
    to_manager: bool = False
    description: Reason
    lead: Name
    service_area: Label | None = None
    due_on: date
    working_days: int
    case_references: tuple[Reference, ...] = Field(default=(), max_length=MAX_ITEMS)
    digest: bool = False
    chased_on: date


class SettledAction(BaseModel):
    """One of a case's learning actions at the moment they were all settled."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action_id: uuid.UUID
    description: Reason
    status: LearningStatus
    completed_on: date | None = None
    what_changed: Reason = Field(
        default="", description="The completion evidence's plain-words summary, if given."
    )


class CaseLearningSettled(EventPayload):
    """Every learning action from a case is done or cancelled (at least one done).

    ``round`` counts from 1: an action added or reopened later unsettles the case, and
    its next settling is a new round (and a new learning-update letter).
    """

    event_type: ClassVar[str] = "learning.case_settled"
    schema_version: ClassVar[int] = 1

    round: int = Field(ge=1)
    settled_on: date
    actions: tuple[SettledAction, ...] = Field(min_length=1, max_length=MAX_POINTS)


class YouSaidWeDid(EventPayload):
    """A public-safe "you said, we did" entry, reviewed; or withdrawn from publication.

    No personal data: both texts were written for the public and reviewed by someone
    other than their author before publishing. ``revision`` orders changes to one entry.
    """

    event_type: ClassVar[str] = "learning.you_said_we_did"
    schema_version: ClassVar[int] = 1

    entry_id: uuid.UUID
    revision: int = Field(ge=1)
    published: bool
    you_said: Reason = Field(min_length=1)
    we_did: Reason = Field(min_length=1)
    service_area: Label | None = None
    themes: tuple[Label, ...] = Field(default=(), max_length=MAX_THEMES)
    action_ids: tuple[uuid.UUID, ...] = Field(default=(), max_length=MAX_ITEMS)
    published_on: date


class CaseTriaged(EventPayload):
    """Whether the representation is a complaint to investigate, and if not why not."""

    event_type: ClassVar[str] = "case.triaged"
    schema_version: ClassVar[int] = 1

    decision: TriageDecision
    decided_on: date
    reason: IneligibleReason | None = None
    redirected_to: Name | None = None
    notes: Notes = ""


class CaseAllocated(EventPayload):
    event_type: ClassVar[str] = "case.allocated"
    schema_version: ClassVar[int] = 1

    officer: Name
    team: Label | None = None
    allocated_on: date


class AgreedPoint(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: uuid.UUID
    summary: Reason = Field(min_length=1)
    desired_outcome: Reason = ""


class PointsAgreed(EventPayload):
    """The points of complaint and outcomes sought, as agreed with the complainant."""

    event_type: ClassVar[str] = "case.points_agreed"
    schema_version: ClassVar[int] = 1

    points: tuple[AgreedPoint, ...] = Field(max_length=MAX_POINTS)
    agreed_on: date
    stage: int | None = Field(
        default=None, description="The stage they were agreed at; they replace only its points."
    )


class CaseExtended(EventPayload):
    """A step's timescale now runs to ``working_days`` in total, for a recorded reason.

    A month-based limit (the adults' six-month relevant period) is extended by
    agreement to ``calendar_months`` in total instead; ``working_days`` is then 0.
    """

    event_type: ClassVar[str] = "case.extended"
    schema_version: ClassVar[int] = 1

    stage: int
    step: DeadlineKind
    working_days: int
    reason: Reason
    agreed_on: date
    calendar_months: int | None = Field(
        default=None, description="The new total for a month-based limit, agreed."
    )


class ClockStopped(EventPayload):
    event_type: ClassVar[str] = "case.clock_stopped"
    schema_version: ClassVar[int] = 1

    reason: ClockStopReason
    stopped_on: date


class ClockRestarted(EventPayload):
    event_type: ClassVar[str] = "case.clock_restarted"
    schema_version: ClassVar[int] = 1

    restarted_on: date


class SafeguardingReferred(EventPayload):
    event_type: ClassVar[str] = "case.safeguarding_referred"
    schema_version: ClassVar[int] = 1

    route: SafeguardingRoute
    referred_on: date
    pauses_complaint: bool


class ResolutionRecorded(EventPayload):
    """Mediation or a meeting was held, and whether it resolved the complaint."""

    event_type: ClassVar[str] = "case.resolution_recorded"
    schema_version: ClassVar[int] = 1

    kind: ResolutionKind
    held_on: date
    resolved: bool


class CaseEscalated(EventPayload):
    """The complainant asked for the next stage."""

    event_type: ClassVar[str] = "case.escalated"
    schema_version: ClassVar[int] = 1

    to_stage: int
    requested_on: date
    within_window: bool


class PanelHeld(EventPayload):
    event_type: ClassVar[str] = "case.panel_held"
    schema_version: ClassVar[int] = 1

    held_on: date


class PanelReported(EventPayload):
    event_type: ClassVar[str] = "case.panel_reported"
    schema_version: ClassVar[int] = 1

    reported_on: date


class CaseWithdrawn(EventPayload):
    event_type: ClassVar[str] = "case.withdrawn"
    schema_version: ClassVar[int] = 1

    withdrawn_on: date
    reason: Reason = ""


class CaseClosed(EventPayload):
    event_type: ClassVar[str] = "case.closed"
    schema_version: ClassVar[int] = 1

    closed_on: date
    reason: Reason = ""


class CaseReopened(EventPayload):
    event_type: ClassVar[str] = "case.reopened"
    schema_version: ClassVar[int] = 1

    reopened_on: date
    reason: Reason


class OmbudsmanReferred(EventPayload):
    event_type: ClassVar[str] = "case.ombudsman_referred"
    schema_version: ClassVar[int] = 1

    referred_on: date
    ombudsman_reference: Code | None = None


class OmbudsmanDecided(EventPayload):
    event_type: ClassVar[str] = "case.ombudsman_decided"
    schema_version: ClassVar[int] = 1

    decided_on: date
    decision: OmbudsmanDecision
    remedies: tuple[Remedy, ...] = Field(default=(), max_length=MAX_ITEMS)


class FeedbackRecorded(EventPayload):
    """What the complainant said about how their complaint was handled."""

    event_type: ClassVar[str] = "case.feedback_recorded"
    schema_version: ClassVar[int] = 1

    recorded_on: date
    satisfied: bool | None = None
    comments: Notes = ""


class CaseCorrected(EventPayload):
    """Details recorded when the case was logged were corrected, or learnt later.

    ``fields`` names what changed (a field may change to null, e.g. a team removed);
    each changed field carries its new value. The complainant is given whole.
    """

    event_type: ClassVar[str] = "case.corrected"
    schema_version: ClassVar[int] = 1

    corrected_on: date
    reason: Reason = Field(min_length=1)
    fields: tuple[Slug, ...] = Field(min_length=1, max_length=MAX_ITEMS)
    complainant: Complainant | None = None
    anonymous: bool | None = None
    relationship: Relationship | None = None
    consent: Consent | None = None
    service_area: Label | None = None
    team: Label | None = None
    provider: Name | None = None
    provider_id: uuid.UUID | None = Field(
        default=None, description="The registered provider (with ``provider``, its name)."
    )
    primary_subject: Label | None = None
    other_subjects: tuple[Label, ...] | None = Field(default=None, max_length=MAX_ITEMS)
    matter_arose_on: date | None = None
    advocacy_offered: bool | None = None
    advocacy_taken_up: bool | None = None
    joint_with_nhs: bool | None = None


class HistoryImported(EventPayload):
    """An imported case's history is complete: what is still open must now be settled.

    Deadlines and learning actions the history leaves open end as it implies (see
    docs/architecture.md): the old system's record stops here.
    """

    event_type: ClassVar[str] = "case.history_imported"
    schema_version: ClassVar[int] = 1

    imported_on: date
    status: Slug = Field(description="The case's state when its history ends.")
    stage: int
    ended: bool = Field(
        description="Whether the case had ended (closed or withdrawn) when its history ends."
    )


class PeopleAppointed(EventPayload):
    """Who investigates or reviews at a stage: recorded, or corrected by recording again."""

    event_type: ClassVar[str] = "case.people_appointed"
    schema_version: ClassVar[int] = 1

    stage: int
    appointed_on: date
    investigating_officer: Name | None = None
    independent_person: Name | None = None
    panellists: tuple[Name, ...] = Field(default=(), max_length=3)
    reason: Reason = ""


class CaseRestricted(EventPayload):
    """The case is seen only by the named people (a complainant who is staff, a
    councillor, a high-profile case); no one named lifts the restriction."""

    event_type: ClassVar[str] = "case.restricted"
    schema_version: ClassVar[int] = 1

    people: tuple[Name, ...] = Field(default=(), max_length=MAX_ITEMS)
    reason: Reason


class CaseAccessChanged(EventPayload):
    """Who may see the case, as intake decides it: every service keeps a copy and
    answers its own lists and reads with it (need-to-know). Published when a case is
    received and whenever its service area, officers or restriction change.

    People are named by their sign-in username (the token's username claim).
    """

    event_type: ClassVar[str] = "case.access_changed"
    schema_version: ClassVar[int] = 1

    service_area: Label | None = None
    officers: tuple[Name, ...] = Field(
        default=(),
        max_length=MAX_ITEMS,
        description="The allocated officer and every investigating officer appointed.",
    )
    restricted_to: tuple[Name, ...] | None = Field(
        default=None,
        max_length=MAX_ITEMS,
        description="Absent unless restricted: then only these people see the case.",
    )


class LegalHoldChanged(EventPayload):
    """A legal hold put on (or taken off) a case: while held, retention leaves it whole."""

    event_type: ClassVar[str] = "case.legal_hold_changed"
    schema_version: ClassVar[int] = 1

    held: bool
    reason: Reason


class CaseAnonymised(EventPayload):
    """The case is past its retention period: every service removes the personal data
    in its copy (names, contact details, free text, letters) and keeps the figures."""

    event_type: ClassVar[str] = "case.anonymised"
    schema_version: ClassVar[int] = 1

    anonymised_on: date
    retained_until: date


class ComplimentReceived(EventPayload):
    """A compliment about a service, a team or a provider."""

    event_type: ClassVar[str] = "compliment.received"
    schema_version: ClassVar[int] = 1

    compliment_id: uuid.UUID
    received_on: date
    channel: Channel
    service_area: Label
    team: Label | None = None
    provider: Name | None = None
    provider_id: uuid.UUID | None = Field(
        default=None, description="The registered commissioned provider it is about."
    )
    summary: Narrative


# -- commissioned providers -----------------------------------------------------------


class ProviderContract(BaseModel):
    """A contract with a provider: who commissions it, for how long, for how many."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reference: Code = Field(min_length=1)
    directorate: Slug = Field(pattern=r"^[a-z0-9_-]+$")
    starts_on: date
    ends_on: date | None = Field(default=None, description="None: open-ended.")
    places: int = Field(
        ge=0, description="The people or beds contracted: the denominator of the complaint rate."
    )
    basis: ContractBasis = ContractBasis.PEOPLE
    service_kind: ProviderServiceKind | None = Field(
        default=None, description="What the contract buys, where it differs from the provider's."
    )

    def covers(self, day: date) -> bool:
        """Whether the contract runs on ``day``."""
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


class ProviderContact(BaseModel):
    """Someone at the provider the council deals with about complaints."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name = Field(min_length=1)
    role: Label = ""
    email: EmailStr | None = None
    phone: Code | None = None


class Provider(BaseModel):
    """A commissioned provider as the register holds it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider_id: uuid.UUID
    code: ProviderCode = Field(
        description="Short and unique: in the provider's credentials, its events' subjects "
        "and its returns."
    )
    name: Name = Field(min_length=1)
    service_kind: ProviderServiceKind
    cqc_location_ids: tuple[Code, ...] = Field(default=(), max_length=MAX_ITEMS)
    contracts: tuple[ProviderContract, ...] = Field(default=(), max_length=MAX_ITEMS)
    contacts: tuple[ProviderContact, ...] = Field(default=(), max_length=MAX_ITEMS)
    aliases: tuple[Name, ...] = Field(
        default=(),
        max_length=MAX_ITEMS,
        description="Other names it is known by: free text on older cases matches them.",
    )
    active: bool = True


class ProviderChanged(EventPayload):
    """A provider was registered or changed: its whole record after the change.

    Published once under each directorate its contracts name, before or after the change
    (under ``all`` if none does), so a directorate's deployment hears of the providers it
    commissions; ``revision`` counts the record's changes from 1, so a consumer keeps
    the highest and copies may arrive in any order.
    """

    event_type: ClassVar[str] = "provider.changed"
    schema_version: ClassVar[int] = 1

    revision: int = Field(ge=1)
    changed_on: date
    provider: Provider

    @property
    def provider_code(self) -> str:
        return self.provider.code


class ProviderReturnRecorded(EventPayload):
    """One complaint or compliment a provider told the council about, as it now stands.

    Keyed by the provider's own reference: a resubmission that changes nothing publishes
    nothing, a correction publishes the next ``revision`` (consumers keep the highest).
    Carries no personal data: the summary stays in intake.
    """

    event_type: ClassVar[str] = "provider.return_recorded"
    schema_version: ClassVar[int] = 1

    return_id: uuid.UUID
    provider_id: uuid.UUID
    provider: ProviderCode
    provider_reference: Code = Field(min_length=1)
    revision: int = Field(ge=1)
    recorded_on: date = Field(description="When this revision was received.")
    kind: ProviderReturnKind = ProviderReturnKind.COMPLAINT
    received_on: date = Field(description="When the provider received the complaint.")
    service_kind: ProviderServiceKind
    contract_reference: Code | None = None
    primary_subject: Label | None = None
    other_subjects: tuple[Label, ...] = Field(default=(), max_length=MAX_ITEMS)
    outcome: Outcome | None = Field(default=None, description="The provider's own finding.")
    responded_on: date | None = None
    resolved: bool = False
    withdrawn: bool = False
    ombudsman_referred: bool = False
    ombudsman_decision: OmbudsmanDecision | None = None
    referred_case_id: uuid.UUID | None = Field(
        default=None, description="The council case it became when the provider referred it."
    )
    referred_on: date | None = None

    @property
    def provider_code(self) -> str:
        return self.provider


class ProviderNilReturn(EventPayload):
    """A provider declared it had no complaints in a quarter (of the financial year)."""

    event_type: ClassVar[str] = "provider.nil_return"
    schema_version: ClassVar[int] = 1

    provider_id: uuid.UUID
    provider: ProviderCode
    year: int = Field(ge=2000, le=2100, description="The financial year: 2026 means 2026-27.")
    quarter: int = Field(ge=1, le=4, description="1 is April to June.")
    declared_on: date

    @property
    def provider_code(self) -> str:
        return self.provider


PAYLOADS: tuple[type[EventPayload], ...] = (
    CaseReceived,
    CaseTriaged,
    CaseAllocated,
    PointsAgreed,
    CaseExtended,
    ClockStopped,
    ClockRestarted,
    SafeguardingReferred,
    ResolutionRecorded,
    CaseResponded,
    CaseEscalated,
    PanelHeld,
    PanelReported,
    CaseWithdrawn,
    CaseClosed,
    CaseReopened,
    OmbudsmanReferred,
    OmbudsmanDecided,
    FeedbackRecorded,
    CaseCorrected,
    PeopleAppointed,
    CaseRestricted,
    CaseAccessChanged,
    LegalHoldChanged,
    CaseAnonymised,
    HistoryImported,
    ComplimentReceived,
    DeadlineScheduled,
    DeadlineMet,
    DeadlineRescheduled,
    DeadlinePaused,
    DeadlineResumed,
    DeadlineReminder,
    DeadlineBreached,
    DeadlineMissed,
    DeadlineCancelled,
    CalendarChanged,
    LetterIssued,
    LetterSent,
    LetterDelivered,
    LetterFailed,
    DeadlineFollowUp,
    LearningActionChanged,
    LeadChased,
    CaseLearningSettled,
    YouSaidWeDid,
    ProviderChanged,
    ProviderReturnRecorded,
    ProviderNilReturn,
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
