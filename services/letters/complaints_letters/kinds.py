"""The letters the procedures need, and which of them wait for an officer's words."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    ACKNOWLEDGEMENT = "acknowledgement"
    """Stage 1's acknowledgement; at a later stage, the escalation's."""
    CONSENT_REQUEST = "consent_request"
    """To the service user: may the third party complain for you?"""
    CONSENT_AWAITED = "consent_awaited"
    """To the third party: we have asked the service user and are waiting."""
    INELIGIBLE = "ineligible"
    """Not a complaint we can consider under this procedure: why, and where it went."""
    REQUEST_FOR_SERVICE = "request_for_service"
    WITHDRAWAL = "withdrawal"
    HOLDING = "holding"
    """Before a deadline passes: a new date and the reason."""
    CLOCK_STOPPED = "clock_stopped"
    RESPONSE = "response"
    PANEL_INVITATION = "panel_invitation"
    SURVEY = "survey"
    LEARNING_UPDATE = "learning_update"
    """What the council changed because of the complaint, once its learning is settled."""
    LEARNING_REMINDER = "learning_reminder"
    """To a learning action's lead (or their manager): one chase, by email."""
    LEARNING_DIGEST = "learning_digest"
    """To one member of staff: the day's chases in one email, sent after the day ends."""


WORDED = frozenset(
    {Kind.RESPONSE, Kind.HOLDING, Kind.CLOCK_STOPPED, Kind.CONSENT_REQUEST, Kind.PANEL_INVITATION}
)
"""Kinds that need a person's words: they start as drafts for the officer."""

CHECKED_FIRST = frozenset({Kind.LEARNING_UPDATE})
"""Kinds that need nobody's words but wait as drafts for an officer to approve: their
facts come from the register, yet whether and when they go is a person's call."""

STAFF = frozenset({Kind.LEARNING_REMINDER, Kind.LEARNING_DIGEST})
"""Kinds to staff about no case: drafted approved from an event and sent by email to the
address the event gives, with case references and no complainant's details."""

ON_REQUEST = frozenset({Kind.CONSENT_REQUEST, Kind.PANEL_INVITATION})
"""Kinds an officer starts (no event says when, or to whom, they go)."""

WORDING: dict[Kind, tuple[str, ...]] = {
    Kind.RESPONSE: ("introduction", "conclusion"),
    Kind.HOLDING: ("explanation",),
    Kind.CLOCK_STOPPED: ("explanation",),
    Kind.CONSENT_REQUEST: ("recipient_name", "recipient_address"),
    Kind.PANEL_INVITATION: ("panel_on", "panel_time", "place"),
}
"""The parts an officer must write before the letter can go (besides, for a response,
the findings on each point)."""


def template_for(kind: Kind, stage: int) -> str:
    """The template a letter of ``kind`` at ``stage`` is written from."""
    if kind == Kind.ACKNOWLEDGEMENT and stage > 1:
        return "escalation_acknowledgement"
    return str(kind)
