"""Closed vocabularies that appear in more than one service's events."""

from enum import StrEnum


class CaseKind(StrEnum):
    """What was received (compliments are logged separately)."""

    COMPLAINT = "complaint"
    REPRESENTATION = "representation"


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
    STATUTORY_LIMIT = "statutory_limit"  # adults: 6 calendar months unless longer agreed
    ESCALATION_WINDOW = "escalation_window"  # the complainant's time to ask for the next stage
    LEARNING_ACTION = "learning_action"  # a learning action's due date (a follow-up, no case)


class LetterKind(StrEnum):
    """Which letter was sent."""

    ACKNOWLEDGEMENT = "acknowledgement"


class PointOfReceipt(StrEnum):
    """Who in the council first received it (annual report table 6)."""

    SERVICE_AREA = "service_area"
    COMPLAINTS_TEAM = "complaints_team"
    DIRECTOR = "director"
    CHIEF_EXECUTIVE = "chief_executive"
    COUNCILLOR_OR_MP = "councillor_or_mp"
    OTHER = "other"


class Relationship(StrEnum):
    """Who the complainant is to the service user (annual report table 10)."""

    CARE_RECIPIENT = "care_recipient"
    PARENT = "parent"
    SON_OR_DAUGHTER = "son_or_daughter"
    SPOUSE = "spouse"
    SIBLING = "sibling"
    GRANDCHILD = "grandchild"
    FRIEND = "friend"
    ADVOCATE = "advocate"
    EXECUTOR = "executor"
    FOSTER_CARER = "foster_carer"
    SPECIAL_GUARDIAN = "special_guardian"
    SOLICITOR = "solicitor"
    OTHER = "other"


class Consent(StrEnum):
    """Whether a third party may complain for the service user."""

    NOT_NEEDED = "not_needed"  # the service user complains themself
    REQUESTED = "requested"
    GIVEN = "given"
    REFUSED = "refused"
    BEST_INTERESTS = "best_interests"  # capacity in question; accepted in their interests


class TriageDecision(StrEnum):
    ACCEPTED = "accepted"
    INFORMAL = "informal"  # resolved by the end of the next working day; not a complaint
    REQUEST_FOR_SERVICE = "request_for_service"
    WITHDRAWN = "withdrawn"
    INELIGIBLE = "ineligible"  # ineligible or redirected, with a reason


class IneligibleReason(StrEnum):
    SAFEGUARDING = "safeguarding"
    CORPORATE_ROUTE = "corporate_route"
    CORONER = "coroner"
    NO_CONSENT = "no_consent"
    OUT_OF_TIME = "out_of_time"
    SELF_FUNDER = "self_funder"
    OTHER = "other"


class ClockStopReason(StrEnum):
    AWAITING_CONSENT = "awaiting_consent"
    SAFEGUARDING = "safeguarding"
    OTHER = "other"


class SafeguardingRoute(StrEnum):
    ADULTS_SAFEGUARDING = "adults_safeguarding"
    LADO = "lado"
    MASH = "mash"


class RemedyKind(StrEnum):
    APOLOGY = "apology"
    SERVICE_CHANGE = "service_change"
    COMPENSATION = "compensation"
    REIMBURSEMENT = "reimbursement"
    OTHER = "other"


class ResolutionKind(StrEnum):
    MEDIATION = "mediation"
    MEETING = "meeting"


class OmbudsmanDecision(StrEnum):
    PREMATURE = "premature"
    NOT_INVESTIGATED = "not_investigated"
    UPHELD = "upheld"  # maladministration and injustice found
    NOT_UPHELD = "not_upheld"


class LearningStatus(StrEnum):
    """Where a learning action stands."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"  # with a reason
    NOT_RECORDED = "not_recorded"  # imported, past due, the old system did not say


class LearningSource(StrEnum):
    """Where a learning action came from."""

    RESPONSE = "response"  # a response at any stage
    OMBUDSMAN = "ombudsman"  # an Ombudsman decision's remedy or recommendation
    THEME_REVIEW = "theme_review"  # a review of complaints on one theme
    DIRECT = "direct"  # added to the register by hand


class LearningChange(StrEnum):
    """What changed in a learning action (``learning.action_changed``)."""

    RECORDED = "recorded"
    UPDATED = "updated"  # lead, due date, description, themes
    PROGRESSED = "progressed"  # a progress note; open becomes in progress
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REOPENED = "reopened"
    COMPLAINANT_TOLD = "complainant_told"
    SETTLED_BY_IMPORT = "settled_by_import"


class FollowUpStep(StrEnum):
    """A follow-up timer of the deadlines engine: before, at and after a due date."""

    REMINDER = "reminder"  # some working days before the due date
    OVERDUE = "overdue"  # the due date passed
    ESCALATION = "escalation"  # some working days overdue: the manager is told


class ProviderServiceKind(StrEnum):
    """What a commissioned provider does (contract monitoring groups by it)."""

    RESIDENTIAL = "residential"
    NURSING = "nursing"
    HOME_CARE = "home_care"
    SUPPORTED_LIVING = "supported_living"
    DAY_SERVICES = "day_services"
    OTHER = "other"


class ContractBasis(StrEnum):
    """What a contract's number counts: the denominator of its complaint rate."""

    PEOPLE = "people"
    BEDS = "beds"


class ProviderReturnKind(StrEnum):
    """What a provider told the council about in one row of its return."""

    COMPLAINT = "complaint"
    COMPLIMENT = "compliment"
