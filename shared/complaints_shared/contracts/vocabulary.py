"""Closed vocabularies that appear in more than one service's events."""

from enum import StrEnum


class Channel(StrEnum):
    """How a representation reached the council (annual report table 7)."""

    LETTER = "letter"
    TELEPHONE = "telephone"
    EMAIL = "email"
    ONLINE_FORM = "online_form"
    IN_PERSON = "in_person"
    FEEDBACK_FORM = "feedback_form"
    APP = "app"
    OTHER = "other"


class Outcome(StrEnum):
    """The overall finding on a complaint (annual report table 2)."""

    UPHELD = "upheld"
    PARTIALLY_UPHELD = "partially_upheld"
    NOT_UPHELD = "not_upheld"


class DeadlineKind(StrEnum):
    """Which step of a procedure a deadline is for."""

    ACKNOWLEDGEMENT = "acknowledgement"
    RESPONSE = "response"
    PANEL = "panel"
    PANEL_REPORT = "panel_report"


class LetterKind(StrEnum):
    """Which letter was sent."""

    ACKNOWLEDGEMENT = "acknowledgement"
