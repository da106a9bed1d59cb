"""What the provider register's API accepts and returns."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from complaints_intake.schemas import Strict
from complaints_shared.contracts.events import ProviderContact, ProviderContract
from complaints_shared.contracts.limits import MAX_ITEMS, Code, Name, ProviderCode
from complaints_shared.contracts.vocabulary import ProviderServiceKind

AnyName = Annotated[Name, Field(min_length=1)]


class ProviderDetails(Strict):
    """A provider's whole record: registering sets it, replacing sets it again."""

    code: ProviderCode = Field(
        description="Short and unique (lower-case letters, digits, hyphens): in the "
        "provider's credentials, its events' subjects and its returns. It never changes.",
        examples=["acme-care"],
    )
    name: AnyName
    service_kind: ProviderServiceKind
    cqc_location_ids: list[Code] = Field(default_factory=list, max_length=MAX_ITEMS)
    contracts: list[ProviderContract] = Field(default_factory=list, max_length=MAX_ITEMS)
    contacts: list[ProviderContact] = Field(default_factory=list, max_length=MAX_ITEMS)
    aliases: list[AnyName] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="Other names it is known by: free text on complaints matches them.",
    )
    active: bool = True

    @model_validator(mode="wrap")
    @classmethod
    def _contracts_in_order(cls, data: Any, handler: ModelWrapValidatorHandler) -> Any:
        """Each contract ends on or after it starts, and has its own reference; reported
        at the contract's field, beside every other error of the body."""
        ours = _contract_errors(data.get("contracts") if isinstance(data, dict) else None)
        try:
            details = handler(data)
        except ValidationError as invalid:
            if not ours:
                raise
            theirs = [
                InitErrorDetails(
                    type=PydanticCustomError(e["type"], e["msg"], e.get("ctx")),
                    loc=e["loc"],
                    input=e["input"],
                )
                for e in invalid.errors(include_url=False)
            ]
            raise ValidationError.from_exception_data(cls.__name__, theirs + ours) from None
        if ours:
            raise ValidationError.from_exception_data(cls.__name__, ours)
        return details


def _contract_errors(contracts: Any) -> list[InitErrorDetails]:
    """Contracts ending before they start, and repeated references, as raw input has them."""
    if not isinstance(contracts, list):
        return []
    errors: list[InitErrorDetails] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(contracts):
        try:
            contract = ProviderContract.model_validate(raw)
        except ValidationError:
            continue  # its own errors are reported already
        if contract.ends_on is not None and contract.ends_on < contract.starts_on:
            errors.append(_error(index, "ends_on", "is before starts_on", contract.ends_on))
        if contract.reference in seen:
            reason = f"repeats contracts.{seen[contract.reference]}'s reference"
            errors.append(_error(index, "reference", reason, contract.reference))
        seen.setdefault(contract.reference, index)
    return errors


def _error(index: int, field: str, reason: str, value: Any) -> InitErrorDetails:
    return InitErrorDetails(
        type=PydanticCustomError("value_error", reason),
        loc=("contracts", index, field),
        input=value,
    )


class ProviderView(BaseModel):
    """A provider as the register holds it; ``revision`` counts its changes from 1."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    name: str
    service_kind: ProviderServiceKind
    cqc_location_ids: list[str]
    contracts: list[ProviderContract]
    contacts: list[ProviderContact] = Field(
        description="Left out (empty) for a report viewer: they are people's details."
    )
    aliases: list[str]
    active: bool
    revision: int
    updated_at: datetime


class MatchRequest(Strict):
    names: list[AnyName] = Field(
        min_length=1,
        max_length=MAX_ITEMS,
        description="Free-text provider names (as /api/v1/providers/unmatched lists them) "
        "that mean this provider; compared as matching normalises them.",
    )


class Matched(BaseModel):
    """What linking names to a provider did."""

    cases: int = Field(description="Cases linked, each by a correction in its history.")
    compliments: int = Field(description="Compliments linked.")
    cases_not_linked: int = Field(
        description="Cases with one of the names that could not be corrected (anonymised)."
    )
    aliases_added: list[str]


class Suggestion(BaseModel):
    provider_id: uuid.UUID
    code: str
    name: str


class UnmatchedName(BaseModel):
    """A free-text provider name no registered provider has: how often, and a guess."""

    model_config = ConfigDict(from_attributes=True)

    name: str = Field(description="Its commonest spelling.")
    spellings: list[str] = Field(description="Every spelling that normalises alike.")
    cases: int
    compliments: int
    suggestion: Suggestion | None = Field(
        description="The registered provider whose name or alias is closest, if any is close."
    )
