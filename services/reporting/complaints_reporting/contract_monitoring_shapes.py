"""What the contract monitoring report says, in JSON (the CSV and the page flatten it)."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field

from complaints_shared.contracts.vocabulary import OmbudsmanDecision, ProviderServiceKind


class ReturnStatus(StrEnum):
    """Where a provider's return for a quarter stands."""

    RECEIVED = "received"
    """At least one row (a complaint or a compliment) received in the quarter."""
    NIL = "nil"
    """A nil return for the quarter."""
    DUE = "due"
    """Nothing yet, and the quarter has not ended."""
    MISSING = "missing"
    """Nothing, and the quarter has ended."""
    NOT_REQUIRED = "not_required"
    """Inactive, or no contract ran during the quarter."""


class Complaints(BaseModel):
    notified_by_provider: int = Field(
        0, description="The provider's complaint returns received in the period, not withdrawn."
    )
    logged_by_council: int = Field(0, description="Council cases about the provider.")
    referred_by_provider: int = Field(
        0, description="Of both: complaints the provider referred to the council (counted once)."
    )
    total: int = 0


class ResponseTimes(BaseModel):
    """Working days from receipt to (first) response."""

    responded: int = 0
    average_working_days: float | None = None
    within_20_working_days: float | None = Field(
        None, description="The share (0 to 1) answered within 20 working days."
    )
    longest_working_days: int | None = None


class Ombudsman(BaseModel):
    referred: int = 0
    decisions: dict[OmbudsmanDecision, int] = Field(
        default_factory=lambda: dict.fromkeys(OmbudsmanDecision, 0)
    )


class Figures(BaseModel):
    """One period's figures for a provider, a kind of service or everything."""

    complaints: Complaints
    outcomes: dict[str, int] = Field(
        description="upheld, partially_upheld, not_upheld, not_yet_decided"
    )
    subjects: dict[str, int] = Field(description="Complaints by primary subject.")
    response_times: ResponseTimes
    ombudsman: Ombudsman
    compliments: int
    places: int | None = Field(
        description="People or beds contracted on the period's last day (None: no contract)."
    )
    complaints_per_100_places: float | None


class PeriodFigures(BaseModel):
    quarter: int | None
    label: str
    starts_on: date
    ends_on: date
    figures: Figures
    return_status: ReturnStatus | None = Field(
        None, description="A provider's, for a quarter; None for the year and for groups."
    )
    missing_return: bool = False


class ProviderLine(BaseModel):
    provider_id: uuid.UUID
    code: str
    name: str
    service_kind: ProviderServiceKind
    active: bool
    figures: Figures
    return_status: ReturnStatus | None = Field(None, description="For a quarter's report.")
    missing_return: bool
    missing_quarters: list[int] = Field(description="Quarters whose return is missing.")
    quarters: list[PeriodFigures] = Field(description="A year's report: its four quarters.")


class KindLine(BaseModel):
    service_kind: ProviderServiceKind
    providers: int = Field(description="Providers listed whose own kind this is.")
    figures: Figures
    quarters: list[PeriodFigures]


class TotalLine(BaseModel):
    figures: Figures
    quarters: list[PeriodFigures]


class ProvidersReport(BaseModel):
    organisation: str
    year: str
    quarter: int | None
    starts_on: date
    ends_on: date
    as_at: date
    directorate: str | None
    providers: list[ProviderLine]
    service_kinds: list[KindLine]
    total: TotalLine
