"""The case lifecycle: which action fits which state, and what each one changes.

Every procedure follows one state machine; the procedure's data says how many
stages there are, what may be extended and how far, and whether Stage 3's panel
steps apply. An action that does not fit is refused (:class:`Refused`, HTTP 409)
with the reason; a bad value in an otherwise fitting action is an
:class:`InvalidField` (HTTP 422) naming the field. Each action returns the event
payload that announces it. Nothing here touches the database or the bus.

States: ``received`` (awaiting triage) -> ``open`` (a stage under way) <-> ``paused``
(clock stopped) -> ``responded`` -> ``open`` at the next stage, or ``closed``;
``withdrawn`` and ``closed`` can be reopened. A clock stopped before triage (consent
awaited, a safeguarding referral) leaves the case ``received``, and accepting it then
makes it ``paused`` until the clock restarts.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel

from complaints_intake import schemas
from complaints_intake.models import Case
from complaints_shared.auth.principal import Role
from complaints_shared.calendar import WorkingDayCalendar, today_in_england
from complaints_shared.contracts.envelope import EventPayload
from complaints_shared.contracts.events import (
    AgreedPoint,
    CaseAllocated,
    CaseClosed,
    CaseCorrected,
    CaseEscalated,
    CaseExtended,
    CaseReopened,
    CaseResponded,
    CaseRestricted,
    CaseTriaged,
    CaseWithdrawn,
    ClockRestarted,
    ClockStopped,
    Complainant,
    FeedbackRecorded,
    LearningActionSpec,
    LegalHoldChanged,
    OmbudsmanDecided,
    OmbudsmanReferred,
    PanelHeld,
    PanelReported,
    PeopleAppointed,
    PointFinding,
    PointsAgreed,
    ResolutionRecorded,
    SafeguardingReferred,
)
from complaints_shared.contracts.vocabulary import (
    ClockStopReason,
    DeadlineKind,
    Relationship,
    TriageDecision,
)
from complaints_shared.procedures import Procedure, Step, procedure
from complaints_shared.settings import Settings

RECEIVED, OPEN, PAUSED, RESPONDED, CLOSED, WITHDRAWN = (
    "received",
    "open",
    "paused",
    "responded",
    "closed",
    "withdrawn",
)


class Refused(Exception):
    """The action does not fit the case as it stands."""


class InvalidField(ValueError):
    """A value that cannot be right for this case, e.g. a date before receipt."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Context:
    """What actions need besides the case and the command."""

    procedure: Procedure
    calendar: WorkingDayCalendar
    subjects: Collection[str]
    """The case's directorate's subjects (its taxonomy)."""
    actor: str = ""
    """The signed-in username of whoever acts."""

    @classmethod
    def of(
        cls,
        case: Case,
        procedures: Mapping[str, Procedure],
        settings: Settings,
        calendar: WorkingDayCalendar,
        actor: str = "",
    ) -> Context:
        """The context for acting on ``case``: its procedure and its directorate's subjects."""
        return cls(
            procedure(case.procedure, procedures),
            calendar,
            settings.subjects.get(case.directorate, ()),
            actor,
        )


def check_subjects(
    allowed: Collection[str], primary: str | None, others: Sequence[str], directorate: str
) -> None:
    """Refuse a subject outside the directorate's taxonomy, naming the field."""
    chosen = [("primary_subject", primary)] + [
        (f"other_subjects.{i}", subject) for i, subject in enumerate(others)
    ]
    for field, subject in chosen:
        if subject is not None and subject not in allowed:
            raise InvalidField(
                field, f"{subject!r} is not a {directorate} subject; see /api/v1/subjects"
            )


Apply = Callable[[Case, Any, Context], EventPayload]


ACTING_ROLES = (Role.COMPLAINTS_OFFICER, Role.INVESTIGATING_OFFICER)
"""Who may act on a case they can see: its complaints officers and its investigators."""


@dataclass(frozen=True)
class Action:
    name: str
    command: type[BaseModel]
    allowed: frozenset[str]
    apply: Apply
    summary: str
    roles: tuple[Role, ...] = ACTING_ROLES


def _date(case: Case, field: str, value: date, *after: tuple[date | None, str]) -> date:
    """Check a step's date: not before receipt, not in the future, not before ``after``.

    Each of ``after`` is (an earlier step's date, what that step was); a date before
    one of them would record a history that cannot have happened.
    """
    for earliest, what in ((case.received_on, "the complaint was received"), *after):
        if earliest is not None and value < earliest:
            raise InvalidField(field, f"is before {what} ({earliest.isoformat()})")
    if value > today_in_england():
        raise InvalidField(field, "cannot be in the future")
    return value


def _on(record: dict[str, Any] | None, key: str) -> date | None:
    """A date kept in one of the case's JSON records, if it is there."""
    value = (record or {}).get(key)
    return date.fromisoformat(value) if value else None


def _stage_began(case: Case) -> tuple[date | None, str]:
    """The floor for steps within the current stage: its start (or reopening), or triage."""
    started = case.stage_started_on or case.received_on
    triaged = _on(case.triage, "decided_on")
    if case.stage == 1 and triaged and triaged > started:
        return triaged, "the complaint was triaged"
    return started, f"stage {case.stage} began"


def _stage_points(case: Case) -> list[dict[str, Any]]:
    return [point for point in case.points if point.get("stage", 1) == case.stage]


def _refuse_unless(condition: bool, message: str) -> None:
    if not condition:
        raise Refused(message)


def triage(case: Case, command: schemas.Triage, _: Context) -> EventPayload:
    _date(case, "decided_on", command.decided_on)
    if command.decision == TriageDecision.INELIGIBLE and command.reason is None:
        raise InvalidField("reason", "is required when the decision is 'ineligible'")
    case.triage = command.model_dump(mode="json")
    case.status = {
        TriageDecision.ACCEPTED: PAUSED if case.clock_stopped else OPEN,
        TriageDecision.WITHDRAWN: WITHDRAWN,
    }.get(command.decision, CLOSED)
    if case.status != PAUSED:
        case.clock_stopped = None  # not accepted: nothing left to wait for
    if case.status == CLOSED:
        case.closure = {"closed_on": command.decided_on.isoformat(), "reason": command.decision}
    return CaseTriaged(**command.model_dump())


def allocate(case: Case, command: schemas.Allocation, _: Context) -> EventPayload:
    _date(case, "allocated_on", command.allocated_on)
    case.officer, case.officer_team = command.officer, command.team
    return CaseAllocated(**command.model_dump())


def agree_points(case: Case, command: schemas.AgreedPoints, _: Context) -> EventPayload:
    """The stage's points, agreed (again): earlier stages' points are kept as they were."""
    _date(case, "agreed_on", command.agreed_on, _stage_began(case))
    points = tuple(AgreedPoint(id=uuid.uuid4(), **point.model_dump()) for point in command.points)
    earlier = [point for point in case.points if point.get("stage", 1) != case.stage]
    case.points = earlier + [
        {**point.model_dump(mode="json"), "stage": case.stage, "agreed_on": str(command.agreed_on)}
        for point in points
    ]
    return PointsAgreed(points=points, agreed_on=command.agreed_on, stage=case.stage)


def extend(case: Case, command: schemas.Extension, context: Context) -> EventPayload:
    _date(case, "agreed_on", command.agreed_on, _stage_began(case))
    stage = context.procedure.stage(case.stage)
    step = stage.step(command.step)
    _refuse_unless(step is not None, f"stage {case.stage} has no {command.step} step to extend")
    assert step is not None
    key = f"{case.stage}.{step.kind}"
    if command.calendar_months is not None:
        return _extend_by_agreement(case, command, step, key)
    _refuse_unless(
        step.extendable_to is not None,
        f"the stage {case.stage} {step.kind} timescale cannot be extended in working days",
    )
    current = case.extensions.get(key, step.working_days)
    _refuse_unless(
        command.working_days <= (step.extendable_to or 0),
        f"an extension to {command.working_days} working days is beyond the cap of "
        f"{step.extendable_to} for stage {case.stage} {step.kind} ({step.rule})",
    )
    _refuse_unless(
        command.working_days > current,
        f"the stage {case.stage} {step.kind} timescale is already {current} working days",
    )
    case.extensions = {**case.extensions, key: command.working_days}
    return CaseExtended(stage=case.stage, **command.model_dump(exclude={"calendar_months"}))


def _extend_by_agreement(
    case: Case, command: schemas.Extension, step: Step, key: str
) -> EventPayload:
    """A month-based limit runs longer when agreed with the complainant (2009 reg. 14(2)(b))."""
    _refuse_unless(
        step.calendar_months > 0,
        f"the stage {case.stage} {step.kind} timescale is in working days; give working_days",
    )
    months = command.calendar_months or 0
    current = case.extensions.get(key, step.calendar_months)
    _refuse_unless(
        months > current,
        f"the stage {case.stage} {step.kind} period is already {current} months",
    )
    case.extensions = {**case.extensions, key: months}
    return CaseExtended(
        stage=case.stage,
        step=step.kind,
        working_days=0,
        calendar_months=months,
        reason=command.reason,
        agreed_on=command.agreed_on,
    )


def _stop(case: Case, stop: dict[str, Any]) -> None:
    """Stop the clock; a case not yet triaged stays ``received`` and waits stopped."""
    case.clock_stopped = stop
    if case.status == OPEN:
        case.status = PAUSED


def stop_clock(case: Case, command: schemas.ClockStop, _: Context) -> EventPayload:
    _date(case, "stopped_on", command.stopped_on, _stage_began(case))
    _refuse_unless(not case.clock_stopped, "the clock is already stopped")
    _stop(case, command.model_dump(mode="json"))
    return ClockStopped(**command.model_dump())


def restart_clock(case: Case, command: schemas.ClockRestart, _: Context) -> EventPayload:
    _refuse_unless(bool(case.clock_stopped), "the clock is not stopped")
    stopped_on = _on(case.clock_stopped, "stopped_on")
    _date(case, "restarted_on", command.restarted_on, (stopped_on, "the clock stopped"))
    if case.status == PAUSED:
        case.status = OPEN
    case.clock_stopped = None
    return ClockRestarted(**command.model_dump())


def refer_safeguarding(
    case: Case, command: schemas.SafeguardingReferral, _: Context
) -> EventPayload:
    _date(case, "referred_on", command.referred_on)
    case.safeguarding = command.model_dump(mode="json")
    pauses = command.pause and not case.clock_stopped
    if pauses:
        _stop(
            case,
            {"reason": ClockStopReason.SAFEGUARDING, "stopped_on": command.referred_on.isoformat()},
        )
    return SafeguardingReferred(
        route=command.route, referred_on=command.referred_on, pauses_complaint=pauses
    )


def record_resolution(case: Case, command: schemas.Resolution, _: Context) -> EventPayload:
    _date(case, "held_on", command.held_on)
    case.resolutions = [*case.resolutions, command.model_dump(mode="json")]
    return ResolutionRecorded(**command.model_dump())


def respond(case: Case, command: schemas.NewResponse, context: Context) -> EventPayload:
    stage = context.procedure.stage(case.stage)
    if stage.step(DeadlineKind.PANEL_REPORT) is not None:
        _refuse_unless(
            bool(case.panel and case.panel.get("reported_on")),
            "the council responds at Stage 3 only after the review panel has reported",
        )
    agreed = max(
        (day for point in _stage_points(case) if (day := _on(point, "agreed_on"))), default=None
    )
    _date(
        case,
        "responded_on",
        command.responded_on,
        _stage_began(case),
        (agreed, f"the stage {case.stage} points were agreed"),
        (_on(case.panel, "reported_on"), "the review panel reported"),
    )
    known = {point["id"] for point in case.points}
    for index, finding in enumerate(command.findings):
        if str(finding.point_id) not in known:
            raise InvalidField(
                f"findings.{index}.point_id", "is not one of the case's agreed points"
            )
    case.status = RESPONDED
    case.outcome, case.responded_on = command.outcome, command.responded_on
    record = {"stage": case.stage, **command.model_dump(mode="json", exclude={"learning_actions"})}
    case.responses = [*case.responses, record]
    return CaseResponded(
        stage=case.stage,
        responded_on=command.responded_on,
        outcome=command.outcome,
        findings=tuple(PointFinding(**f.model_dump()) for f in command.findings),
        remedies=tuple(command.remedies),
        learning_actions=tuple(
            LearningActionSpec(id=uuid.uuid4(), **action.model_dump())
            for action in command.learning_actions
        ),
    )


def escalate(case: Case, command: schemas.Escalation, context: Context) -> EventPayload:
    _date(
        case,
        "requested_on",
        command.requested_on,
        (case.responded_on, f"the stage {case.stage} response"),
    )
    procedure = context.procedure
    _refuse_unless(
        case.stage < procedure.last_stage,
        f"{procedure.title} has no stage after {case.stage}; the complainant may go to the "
        "Local Government and Social Care Ombudsman",
    )
    assert case.responded_on is not None
    window = procedure.stage(case.stage).escalation_window
    within = window is None or command.requested_on <= context.calendar.add(
        case.responded_on, window
    )
    case.stage += 1
    case.stage_started_on = command.requested_on
    case.status = OPEN
    case.outcome = case.responded_on = None
    return CaseEscalated(
        to_stage=case.stage, requested_on=command.requested_on, within_window=within
    )


def record_panel(case: Case, command: schemas.Panel, context: Context) -> EventPayload:
    _date(case, "held_on", command.held_on, _stage_began(case))
    _refuse_unless(
        context.procedure.stage(case.stage).step(DeadlineKind.PANEL) is not None,
        f"stage {case.stage} of {context.procedure.title} has no review panel",
    )
    case.panel = {"held_on": command.held_on.isoformat()}
    return PanelHeld(held_on=command.held_on)


def record_panel_report(case: Case, command: schemas.PanelReport, _: Context) -> EventPayload:
    _date(case, "reported_on", command.reported_on)
    _refuse_unless(bool(case.panel), "the review panel has not been held yet")
    assert case.panel is not None
    if command.reported_on < date.fromisoformat(case.panel["held_on"]):
        raise InvalidField("reported_on", f"is before the panel was held ({case.panel['held_on']})")
    case.panel = {**case.panel, "reported_on": command.reported_on.isoformat()}
    return PanelReported(reported_on=command.reported_on)


def withdraw(case: Case, command: schemas.Withdrawal, _: Context) -> EventPayload:
    _date(case, "withdrawn_on", command.withdrawn_on, _stage_began(case))
    case.status = WITHDRAWN
    case.closure = {"closed_on": command.withdrawn_on.isoformat(), "reason": "withdrawn"}
    return CaseWithdrawn(**command.model_dump())


def close(case: Case, command: schemas.Closure, _: Context) -> EventPayload:
    _date(case, "closed_on", command.closed_on, (case.responded_on, "the response"))
    case.status = CLOSED
    case.closure = command.model_dump(mode="json")
    return CaseClosed(**command.model_dump())


def reopen(case: Case, command: schemas.Reopening, _: Context) -> EventPayload:
    _date(
        case,
        "reopened_on",
        command.reopened_on,
        (_on(case.closure, "closed_on"), "the case was closed"),
    )
    case.status = OPEN
    case.closure = None
    case.stage_started_on = command.reopened_on
    return CaseReopened(**command.model_dump())


def refer_to_ombudsman(case: Case, command: schemas.OmbudsmanReferral, _: Context) -> EventPayload:
    """A referral is added to the case's list: an earlier one and its decision stay."""
    last = case.ombudsman[-1] if case.ombudsman else None
    _refuse_unless(
        last is None or "decision" in last,
        "the Ombudsman already has this complaint and has not decided yet",
    )
    _date(
        case,
        "referred_on",
        command.referred_on,
        (_on(last, "decided_on"), "the Ombudsman's earlier decision"),
    )
    case.ombudsman = [*case.ombudsman, command.model_dump(mode="json")]
    return OmbudsmanReferred(**command.model_dump())


def record_ombudsman_decision(
    case: Case, command: schemas.OmbudsmanOutcome, _: Context
) -> EventPayload:
    last = case.ombudsman[-1] if case.ombudsman else None
    _refuse_unless(
        last is not None and "decision" not in last,
        "there is no undecided Ombudsman referral for this complaint",
    )
    assert last is not None
    _date(
        case,
        "decided_on",
        command.decided_on,
        (_on(last, "referred_on"), "the referral to the Ombudsman"),
    )
    case.ombudsman = [*case.ombudsman[:-1], {**last, **command.model_dump(mode="json")}]
    return OmbudsmanDecided(**command.model_dump())


def record_feedback(case: Case, command: schemas.Feedback, _: Context) -> EventPayload:
    _date(case, "recorded_on", command.recorded_on, (case.responded_on, "the response"))
    case.feedback = command.model_dump(mode="json")
    return FeedbackRecorded(**command.model_dump())


def correct(case: Case, command: schemas.Correction, context: Context) -> EventPayload:
    """Change details recorded at logging; the history keeps what they were."""
    changes = command.changes()
    if not changes:
        raise InvalidField("reason", "names no field to correct; give at least one")
    _date(case, "corrected_on", command.corrected_on)
    if "complainant" in changes:
        given = command.complainant.model_dump(exclude_unset=True) if command.complainant else {}
        changes["complainant"] = Complainant(**{**case.complainant, **given})
    anonymous = changes.get("anonymous", case.anonymous)
    complainant = changes.get("complainant") or Complainant(**case.complainant)
    if complainant.name is None and not anonymous:
        raise InvalidField("complainant.name", "is required unless the complaint is anonymous")
    if anonymous and complainant.name is not None:  # an anonymous case keeps no name
        changes["complainant"] = schemas.without_name(complainant)
    relationship = changes.get("relationship", case.relationship)
    if anonymous and relationship == Relationship.CARE_RECIPIENT:
        case.service_user = None  # they are the service user: their name goes too
    check_subjects(
        context.subjects,
        changes.get("primary_subject"),
        changes.get("other_subjects") or (),
        case.directorate,
    )
    for name, value in changes.items():
        setattr(case, name, value.model_dump(mode="json") if name == "complainant" else value)
    return CaseCorrected(
        corrected_on=command.corrected_on,
        reason=command.reason,
        fields=tuple(sorted(changes)),
        **changes,
    )


def appoint(case: Case, command: schemas.Appointment, context: Context) -> EventPayload:
    """Who investigates (Stage 2 on) and who sits on the review panel (a stage with one)."""
    _date(case, "appointed_on", command.appointed_on, _stage_began(case))
    _refuse_unless(
        case.stage > 1,
        "investigating officers, independent persons and panellists are appointed from stage 2; "
        "at stage 1 allocate an officer",
    )
    has_panel = context.procedure.stage(case.stage).step(DeadlineKind.PANEL) is not None
    if command.panellists and not has_panel:
        raise InvalidField("panellists", f"stage {case.stage} has no review panel")
    if has_panel and command.panellists and len(command.panellists) != 3:
        raise InvalidField("panellists", "a review panel has three independent panellists")
    if not (command.investigating_officer or command.independent_person or command.panellists):
        raise InvalidField("investigating_officer", "names nobody; give at least one person")
    appointed = command.model_dump(mode="json")
    case.appointments = {**case.appointments, str(case.stage): appointed}
    return PeopleAppointed(stage=case.stage, **command.model_dump())


def restrict(case: Case, command: schemas.Restriction, context: Context) -> EventPayload:
    """Only the named people see the case from now on; naming nobody lifts it.

    Whoever restricts is named too, so they do not lock themselves out.
    """
    people = tuple(dict.fromkeys((*command.people, context.actor))) if command.people else ()
    case.restricted_to = list(people) or None
    return CaseRestricted(people=people, reason=command.reason)


def hold(case: Case, command: schemas.LegalHold, _: Context) -> EventPayload:
    """Put on or take off a legal hold (a claim, an inquiry): retention waits while held."""
    _refuse_unless(case.anonymised_on is None, "the case was anonymised: there is nothing to hold")
    case.legal_hold = (
        {"reason": command.reason, "since": today_in_england().isoformat()}
        if command.held
        else None
    )
    return LegalHoldChanged(held=command.held, reason=command.reason)


_LIVE = frozenset({RECEIVED, OPEN, PAUSED})
_DONE = frozenset({RESPONDED, CLOSED})
ENDED = frozenset({CLOSED, WITHDRAWN})
"""States in which nothing more is owed to the complainant unless the case is reopened."""

ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action(
            "triage",
            schemas.Triage,
            frozenset({RECEIVED}),
            triage,
            "Decide whether it is a complaint to investigate, and if not why not",
        ),
        Action(
            "allocate", schemas.Allocation, _LIVE, allocate, "Allocate an investigating officer"
        ),
        Action(
            "points",
            schemas.AgreedPoints,
            frozenset({OPEN, PAUSED}),
            agree_points,
            "Record the points of complaint and outcomes agreed with the complainant",
        ),
        Action(
            "extension",
            schemas.Extension,
            frozenset({OPEN}),
            extend,
            "Extend a step's timescale, with a reason, within the procedure's cap",
        ),
        Action(
            "clock-stop",
            schemas.ClockStop,
            frozenset({RECEIVED, OPEN}),
            stop_clock,
            "Stop the clock (awaiting consent, safeguarding)",
        ),
        Action(
            "clock-restart",
            schemas.ClockRestart,
            frozenset({RECEIVED, PAUSED}),
            restart_clock,
            "Restart a stopped clock",
        ),
        Action(
            "safeguarding",
            schemas.SafeguardingReferral,
            frozenset({RECEIVED, OPEN}),
            refer_safeguarding,
            "Record a safeguarding referral, pausing the complaint",
        ),
        Action(
            "resolution",
            schemas.Resolution,
            frozenset({OPEN, PAUSED, RESPONDED}),
            record_resolution,
            "Record mediation or a meeting and whether it resolved it",
        ),
        Action(
            "response",
            schemas.NewResponse,
            frozenset({OPEN}),
            respond,
            "Record the response: outcome overall and per point, remedies, learning",
        ),
        Action(
            "escalation",
            schemas.Escalation,
            frozenset({RESPONDED}),
            escalate,
            "Move to the next stage at the complainant's request",
        ),
        Action(
            "panel",
            schemas.Panel,
            frozenset({OPEN}),
            record_panel,
            "Record the Stage 3 review panel's date",
        ),
        Action(
            "panel-report",
            schemas.PanelReport,
            frozenset({OPEN}),
            record_panel_report,
            "Record the date of the review panel's report",
        ),
        Action(
            "withdrawal",
            schemas.Withdrawal,
            _LIVE,
            withdraw,
            "Record that the complainant withdrew",
        ),
        Action("closure", schemas.Closure, frozenset({RESPONDED}), close, "Close the case"),
        Action(
            "reopening",
            schemas.Reopening,
            frozenset({CLOSED, WITHDRAWN}),
            reopen,
            "Reopen a closed or withdrawn case",
        ),
        Action(
            "ombudsman-referral",
            schemas.OmbudsmanReferral,
            _LIVE | _DONE,
            refer_to_ombudsman,
            "Record that the complainant went to the Ombudsman",
        ),
        Action(
            "ombudsman-decision",
            schemas.OmbudsmanOutcome,
            _LIVE | _DONE | {WITHDRAWN},
            record_ombudsman_decision,
            "Record the Ombudsman's decision and remedies",
        ),
        Action(
            "correction",
            schemas.Correction,
            _LIVE | _DONE | {WITHDRAWN},
            correct,
            "Correct the case's details (consent, subject, service area, contact, ...)",
        ),
        Action(
            "appointment",
            schemas.Appointment,
            frozenset({OPEN, PAUSED}),
            appoint,
            "Record (or correct) who investigates or reviews at this stage",
        ),
        Action(
            "restriction",
            schemas.Restriction,
            _LIVE | _DONE | {WITHDRAWN},
            restrict,
            "Restrict the case to named people (or, naming nobody, lift the restriction)",
            roles=(Role.COMPLAINTS_OFFICER,),
        ),
        Action(
            "legal-hold",
            schemas.LegalHold,
            _LIVE | _DONE | {WITHDRAWN},
            hold,
            "Put the case on legal hold, or take it off (retention waits while held)",
            roles=(Role.COMPLAINTS_OFFICER,),
        ),
        Action(
            "feedback",
            schemas.Feedback,
            _DONE,
            record_feedback,
            "Record the complainant's feedback on how it was handled",
        ),
    )
}


def perform(action: Action, case: Case, command: BaseModel, context: Context) -> EventPayload:
    """Apply ``action`` to ``case`` if it fits the case's state; return its event payload."""
    if case.anonymised_on is not None:
        raise Refused(
            f"{case.reference} was anonymised on {case.anonymised_on}: it is kept as figures only"
        )
    if case.status not in action.allowed:
        allowed = ", ".join(sorted(action.allowed))
        raise Refused(
            f"cannot record {action.name} on {case.reference}: it is {case.status} at stage "
            f"{case.stage}; {action.name} fits a case that is {allowed}"
        )
    return action.apply(case, command, context)
