"""A provider's returns: each complaint or compliment it handled, and its nil returns.

A return is keyed by the provider's own reference and holds the whole row as the
provider last sent it. Sending a row again that says the same thing changes nothing and
announces nothing (a retried submission is never counted twice); one that says
something else is the next revision, announced as ``provider.return_recorded`` through
the outbox in the same transaction. The summary is the only free text, personal data
that stays here: the event carries the figures only.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from enum import Enum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from sqlalchemy import JSON, Date, ForeignKey, String, Text, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from complaints_intake.lifecycle import InvalidField, check_subjects
from complaints_intake.models import Base
from complaints_intake.providers.batches import RowProblem, RowStatus
from complaints_intake.providers.feed_formats import split_list
from complaints_intake.providers.models import Provider
from complaints_intake.schemas import Received
from complaints_shared.calendar import today_in_england
from complaints_shared.contracts.envelope import new_event
from complaints_shared.contracts.events import ProviderContract, ProviderReturnRecorded
from complaints_shared.contracts.limits import CODE_CHARS, MAX_ITEMS, Code, Label, Narrative
from complaints_shared.contracts.vocabulary import (
    OmbudsmanDecision,
    Outcome,
    ProviderReturnKind,
    ProviderServiceKind,
)
from complaints_shared.db import UtcDateTime
from complaints_shared.service import Service
from complaints_shared.settings import Settings

EVERY_DIRECTORATE = "all"
"""The envelope's directorate for a provider's event no single directorate owns."""


def _now() -> datetime:
    return datetime.now(UTC)


class ProviderReturn(Base):
    """One complaint or compliment a provider told the council about, as it now stands."""

    __tablename__ = "provider_returns"
    __table_args__ = (UniqueConstraint("provider_id", "provider_reference"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"), index=True)
    provider_reference: Mapped[str] = mapped_column(String(CODE_CHARS))
    kind: Mapped[str] = mapped_column(String(20))
    received_on: Mapped[date] = mapped_column(Date, index=True)
    service_kind: Mapped[str] = mapped_column(String(30))
    contract_reference: Mapped[str | None] = mapped_column(String(CODE_CHARS))
    primary_subject: Mapped[str | None] = mapped_column(String(120))
    other_subjects: Mapped[list] = mapped_column(JSON, default=list)
    summary: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(20))
    responded_on: Mapped[date | None] = mapped_column(Date)
    resolved: Mapped[bool] = mapped_column(default=False)
    withdrawn: Mapped[bool] = mapped_column(default=False)
    ombudsman_referred: Mapped[bool] = mapped_column(default=False)
    ombudsman_decision: Mapped[str | None] = mapped_column(String(30))
    referred_case_id: Mapped[uuid.UUID | None]
    referred_on: Mapped[date | None] = mapped_column(Date)
    revision: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now, onupdate=_now)


class NilReturn(Base):
    """A provider's word that it had no complaints in a quarter of a financial year."""

    __tablename__ = "provider_nil_returns"
    __table_args__ = (UniqueConstraint("provider_id", "year", "quarter"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"), index=True)
    year: Mapped[int]
    quarter: Mapped[int]
    declared_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)


def _split_text_list(value: Any) -> Any:
    """A list given as text (a CSV cell) is its parts between ``;``."""
    return split_list(value) if isinstance(value, str) else value


TextList = Annotated[list[Label], BeforeValidator(_split_text_list), Field(max_length=MAX_ITEMS)]


class ReturnRow(BaseModel):
    """One row of a return, in any format: an unknown field is named, not ignored.

    Values may be given as text (``2026-04-02``, ``true``, ``a;b``), as a CSV has them.
    """

    model_config = ConfigDict(extra="forbid")

    provider_reference: Code = Field(min_length=1, description="The provider's own reference.")
    provider: str | None = Field(
        default=None,
        max_length=CODE_CHARS,
        description="The provider's code, if the row names it: it must be the credentials' own.",
    )
    kind: ProviderReturnKind = ProviderReturnKind.COMPLAINT
    received_on: Received
    service_kind: ProviderServiceKind | None = Field(
        default=None, description="Absent: the contract's, else the provider's."
    )
    contract_reference: Code | None = Field(
        default=None, description="One of the provider's contracts in the register."
    )
    primary_subject: Label | None = None
    other_subjects: TextList = Field(default_factory=list)
    summary: Narrative | None = Field(
        default=None, description="Free text; kept by the council, never published."
    )
    outcome: Outcome | None = Field(default=None, description="Only with responded_on.")
    responded_on: Received | None = Field(default=None, description="Not before received_on.")
    resolved: bool = False
    withdrawn: bool = False
    ombudsman_referred: bool = False
    ombudsman_decision: OmbudsmanDecision | None = Field(
        default=None, description="Only with ombudsman_referred."
    )

    def inconsistencies(self) -> list[RowProblem]:
        """What the fields say against each other, each at the field to correct."""
        problems = []

        def wrong(field: str, reason: str) -> None:
            problems.append(RowProblem(field=field, reason=reason))

        if self.responded_on is not None and self.responded_on < self.received_on:
            wrong("responded_on", "cannot be before received_on")
        if self.outcome is not None and self.responded_on is None:
            wrong("outcome", "needs responded_on (the day the provider responded)")
        if self.ombudsman_decision is not None and not self.ombudsman_referred:
            wrong("ombudsman_decision", "needs ombudsman_referred")
        if self.kind is ProviderReturnKind.COMPLIMENT:
            for field in ("outcome", "responded_on", "ombudsman_referred", "withdrawn"):
                if getattr(self, field):
                    wrong(field, "a compliment has none")
        return problems


RECORDED_FIELDS = tuple(
    name for name in ReturnRow.model_fields if name not in {"provider_reference", "provider"}
)
"""What a row sets on its return (the reference keys it; the provider is the token's)."""


def contracts_of(provider: Provider) -> dict[str, ProviderContract]:
    return {c["reference"]: ProviderContract(**c) for c in provider.contracts}


def directorate_of(provider: Provider, contract_reference: str | None) -> str | None:
    """The directorate a provider's record belongs to: its contract's, else the one all
    its contracts share; None when that cannot be told."""
    contracts = contracts_of(provider)
    if contract_reference is not None and contract_reference in contracts:
        return contracts[contract_reference].directorate
    directorates = {contract.directorate for contract in contracts.values()}
    return directorates.pop() if len(directorates) == 1 else None


def row_values(
    row: ReturnRow, provider: Provider, settings: Settings
) -> dict[str, Any] | list[RowProblem]:
    """The columns ``row`` sets on its return, or the problems that stop it (the row's
    own, and what it says against the register: contract, provider, subjects)."""
    problems = row.inconsistencies()
    if row.provider is not None and row.provider != provider.code:
        problems.append(
            RowProblem(field="provider", reason="names another provider than the credentials'")
        )
    contracts = contracts_of(provider)
    contract = contracts.get(row.contract_reference or "")
    if row.contract_reference is not None and contract is None:
        known = ", ".join(sorted(contracts)) or "none"
        problems.append(
            RowProblem(
                field="contract_reference",
                reason=f"not one of this provider's contracts (registered: {known})",
            )
        )
    directorate = directorate_of(provider, row.contract_reference)
    if directorate in settings.directorates:
        try:
            check_subjects(
                settings.subjects.get(directorate, ()),
                row.primary_subject,
                row.other_subjects,
                directorate,
            )
        except InvalidField as invalid:
            problems.append(RowProblem(field=invalid.field, reason=str(invalid)))
    if problems:
        return problems
    values = row.model_dump(include=set(RECORDED_FIELDS))
    values["service_kind"] = (
        row.service_kind or (contract.service_kind if contract else None) or provider.service_kind
    )
    return {k: v.value if isinstance(v, Enum) else v for k, v in values.items()}


def stored_row(stored: ProviderReturn) -> dict[str, Any]:
    """A stored return as a row, to validate a change to it by the rules of a new one."""
    return {
        "provider_reference": stored.provider_reference,
        **{name: getattr(stored, name) for name in RECORDED_FIELDS},
    }


async def find(
    session: AsyncSession, provider: Provider, reference: str, lock: bool = False
) -> ProviderReturn | None:
    query = select(ProviderReturn).where(
        ProviderReturn.provider_id == provider.id, ProviderReturn.provider_reference == reference
    )
    return await session.scalar(query.with_for_update() if lock else query)


async def record(
    service: Service,
    session: AsyncSession,
    provider: Provider,
    reference: str,
    values: dict[str, Any],
) -> tuple[RowStatus, ProviderReturn]:
    """Create or change the return ``reference`` to ``values``; announce it unless unchanged."""
    stored = await find(session, provider, reference, lock=True)
    if stored is None:
        stored = ProviderReturn(
            id=uuid.uuid4(), provider_id=provider.id, provider_reference=reference, **values
        )
        session.add(stored)
        status = RowStatus.CREATED
    elif all(getattr(stored, name) == value for name, value in values.items()):
        return RowStatus.UNCHANGED, stored
    else:
        for name, value in values.items():
            setattr(stored, name, value)
        stored.revision += 1
        status = RowStatus.UPDATED
    await session.flush()
    await announce(service, session, provider, stored)
    return status, stored


async def announce(
    service: Service, session: AsyncSession, provider: Provider, stored: ProviderReturn
) -> None:
    """Stage ``provider.return_recorded`` for the return as it now stands (no summary)."""
    payload = ProviderReturnRecorded(
        return_id=stored.id,
        provider_id=provider.id,
        provider=provider.code,
        provider_reference=stored.provider_reference,
        revision=stored.revision,
        recorded_on=today_in_england(),
        **{name: getattr(stored, name) for name in RECORDED_FIELDS if name != "summary"},
        referred_case_id=stored.referred_case_id,
        referred_on=stored.referred_on,
    )
    await service.publish(
        session,
        new_event(
            payload,
            organisation=service.settings.organisation,
            directorate=directorate_of(provider, stored.contract_reference) or EVERY_DIRECTORATE,
            correlation_id=stored.id,
        ),
    )
