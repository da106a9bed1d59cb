"""Realistic events for tests, as the producing service would publish them."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from complaints_shared.contracts.envelope import Envelope, new_event
from complaints_shared.contracts.events import (
    CaseReceived,
    CaseResponded,
    Complainant,
    DeadlineReminder,
    DeadlineScheduled,
    LearningAction,
    LearningActionChanged,
    LearningActionSpec,
    LetterIssued,
)
from complaints_shared.contracts.vocabulary import (
    Channel,
    DeadlineKind,
    LearningChange,
    LearningSource,
    LearningStatus,
    LetterKind,
    Outcome,
)
from complaints_shared.settings import Settings


def case_received(
    settings: Settings,
    *,
    directorate: str = "adults",
    procedure: str | None = None,
    received_on: date = date(2026, 4, 2),
    case_id: uuid.UUID | None = None,
    reference: str = "ASC-2026-00001",
    name: str = "Ann Example",
    summary: str = "The carer did not arrive on three mornings.",
    imported: bool = False,
) -> Envelope:
    return new_event(
        CaseReceived(
            reference=reference,
            procedure=procedure or settings.directorate(directorate).procedure,
            received_on=received_on,
            channel=Channel.EMAIL,
            complainant=Complainant(name=name, email="ann@example.org"),
            summary=summary,
            imported=imported,
        ),
        organisation=settings.organisation,
        directorate=directorate,
        case_id=case_id or uuid.uuid4(),
    )


def case_responded(
    received: Envelope,
    *,
    outcome: Outcome = Outcome.UPHELD,
    responded_on: date = date(2026, 4, 30),
    actions: list[dict[str, Any]] | None = None,
) -> Envelope:
    return received.caused(
        CaseResponded(
            responded_on=responded_on,
            outcome=outcome,
            learning_actions=tuple(
                LearningActionSpec(id=uuid.uuid4(), **action) for action in actions or []
            ),
        )
    )


def response_deadline(received: Envelope, due_on: date) -> Envelope:
    case = received.parse(CaseReceived)
    return received.caused(
        DeadlineScheduled(
            deadline_id=uuid.uuid4(),
            kind=DeadlineKind.RESPONSE,
            start_on=case.received_on,
            due_on=due_on,
            working_days=20,
            rule="test rule",
        )
    )


def response_reminder(received: Envelope, due_on: date) -> Envelope:
    """The reminder deadlines sends two working days before a response falls due."""
    return received.caused(
        DeadlineReminder(
            deadline_id=uuid.uuid4(),
            kind=DeadlineKind.RESPONSE,
            stage=1,
            due_on=due_on,
            working_days_left=2,
        )
    )


def acknowledgement_letter(received: Envelope, issued_on: date) -> Envelope:
    return received.caused(
        LetterIssued(letter_id=uuid.uuid4(), kind=LetterKind.ACKNOWLEDGEMENT, issued_on=issued_on)
    )


def action_changed(
    settings: Settings,
    action_id: uuid.UUID,
    revision: int,
    change: LearningChange = LearningChange.RECORDED,
    *,
    directorate: str = "adults",
    reminder: int = 5,
    escalation: int = 10,
    **action: Any,
) -> Envelope:
    """``learning.action_changed`` as learning publishes it: the whole action, no case.

    ``action`` overrides the action's fields; a done one is completed on 1 July 2026 and
    a cancelled one "Superseded" unless they say otherwise.
    """
    state: dict[str, Any] = {
        "action_id": action_id,
        "description": "Tell the family the same day when a home care visit is missed.",
        "lead": "Head of Commissioning",
        "lead_email": "commissioning.lead@example.org",
        "service_area": "Home care",
        "due_on": date(2026, 8, 28),
        "stage": 1,
        "source": LearningSource.RESPONSE,
        "status": LearningStatus.OPEN,
        "identified_on": date(2026, 6, 1),
    } | action
    if state["status"] == LearningStatus.DONE:
        state.setdefault("completed_on", date(2026, 7, 1))
    if state["status"] == LearningStatus.CANCELLED:
        state.setdefault("cancelled_reason", "Superseded")
    return new_event(
        LearningActionChanged(
            revision=revision,
            change=change,
            changed_on=date(2026, 7, 1),
            changed_by="Priya Shah",
            action=LearningAction(**state),
            reminder_working_days=reminder,
            escalation_working_days=escalation,
        ),
        organisation=settings.organisation,
        directorate=directorate,
    )
