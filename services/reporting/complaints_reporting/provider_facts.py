"""Reading reporting's provider copies for a financial year.

A provider's return and the council case it referred are linked by the case's id (the
return's ``referred_case_id``) or by the provider's reference (the case's
``provider_reference``); either may fall outside the year, so the linked rows are read
too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_reporting.models import (
    CaseFacts,
    ComplimentFacts,
    NilReturn,
    ProviderCopy,
    ReturnFacts,
)
from complaints_shared.calendar import FinancialYear


@dataclass(frozen=True)
class Facts:
    """What reporting holds about providers for one financial year."""

    providers: Sequence[ProviderCopy]
    returns: Sequence[ReturnFacts]
    cases: Sequence[CaseFacts]
    compliments: Sequence[ComplimentFacts]
    nil_returns: frozenset[tuple[uuid.UUID, int]]
    """(provider, quarter) of the year's nil returns."""


async def load(
    session: AsyncSession, year: int, provider_ids: Iterable[uuid.UUID] | None = None
) -> Facts:
    """The year's providers, returns, council cases and compliments about providers (all
    providers, or only ``provider_ids``), with the cases and returns linked to them
    across the year's ends."""
    starts_on, ends_on = FinancialYear.of(year)
    only = None if provider_ids is None else set(provider_ids)

    def narrowed(query: Select[Any], column: Any) -> Select[Any]:
        """``query`` for the providers asked for only."""
        return query if only is None else query.where(column.in_(only))

    providers = list(
        await session.scalars(narrowed(select(ProviderCopy), ProviderCopy.provider_id))
    )
    returns = list(
        await session.scalars(
            narrowed(
                select(ReturnFacts).where(ReturnFacts.received_on.between(starts_on, ends_on)),
                ReturnFacts.provider_id,
            )
        )
    )
    cases = list(
        await session.scalars(
            narrowed(
                select(CaseFacts).where(
                    CaseFacts.provider_id.is_not(None),
                    CaseFacts.received_on.between(starts_on, ends_on),
                ),
                CaseFacts.provider_id,
            )
        )
    )
    cases += await _cases_referred(session, returns, cases)
    returns += await _returns_referring(session, cases, returns)
    compliments = await session.scalars(
        narrowed(
            select(ComplimentFacts).where(
                ComplimentFacts.provider_id.is_not(None),
                ComplimentFacts.received_on.between(starts_on, ends_on),
            ),
            ComplimentFacts.provider_id,
        )
    )
    nils = await session.scalars(
        narrowed(select(NilReturn).where(NilReturn.year == year), NilReturn.provider_id)
    )
    return Facts(
        providers=providers,
        returns=returns,
        cases=cases,
        compliments=list(compliments),
        nil_returns=frozenset((nil.provider_id, nil.quarter) for nil in nils),
    )


async def _cases_referred(
    session: AsyncSession, returns: Sequence[ReturnFacts], loaded: Sequence[CaseFacts]
) -> list[CaseFacts]:
    """The council cases ``returns`` referred that are not ``loaded`` (received after the
    year's end, or corrected to no provider)."""
    ids = {r.referred_case_id for r in returns if r.referred_case_id}
    references = {(r.provider_id, r.provider_reference) for r in returns}
    if not ids and not references:
        return []
    query = select(CaseFacts).where(
        or_(
            CaseFacts.case_id.in_(ids),
            CaseFacts.provider_reference.in_({reference for _, reference in references}),
        )
    )
    have = {c.case_id for c in loaded}
    return [
        case
        for case in await session.scalars(query)
        if case.case_id not in have
        and (case.case_id in ids or (case.provider_id, case.provider_reference) in references)
    ]


async def _returns_referring(
    session: AsyncSession, cases: Sequence[CaseFacts], loaded: Sequence[ReturnFacts]
) -> list[ReturnFacts]:
    """The returns that referred ``cases`` and are not ``loaded`` (received by the
    provider before the year began): the complaint is counted in their year."""
    ids = {c.case_id for c in cases}
    references = {(c.provider_id, c.provider_reference) for c in cases if c.provider_reference}
    query = select(ReturnFacts).where(
        or_(
            ReturnFacts.referred_case_id.in_(ids),
            ReturnFacts.provider_reference.in_({reference for _, reference in references}),
        )
    )
    have = {r.return_id for r in loaded}
    return [
        row
        for row in await session.scalars(query)
        if row.return_id not in have
        and (row.referred_case_id in ids or (row.provider_id, row.provider_reference) in references)
    ]
