"""Contract monitoring: complaints and compliments about commissioned providers, per
financial year and quarter, per provider and per kind of service.

Everything is counted from reporting's own copies (``provider_copies``, ``case_facts``).
A complaint is counted once: a provider's return and the council case it referred are
one complaint, dated when the provider received it and judged by the council's first
response once there is one. See docs/architecture.md, "Contract monitoring".
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from complaints_reporting.contract_monitoring_shapes import (
    Complaints,
    Figures,
    KindLine,
    Ombudsman,
    PeriodFigures,
    ProviderLine,
    ProvidersReport,
    ResponseTimes,
    ReturnStatus,
    TotalLine,
)
from complaints_reporting.models import CaseFacts, ProviderCopy, ReturnFacts
from complaints_reporting.periods import Period
from complaints_reporting.provider_facts import Facts
from complaints_shared.calendar import FinancialYear, WorkingDayCalendar
from complaints_shared.contracts.events import ProviderContract
from complaints_shared.contracts.vocabulary import (
    OmbudsmanDecision,
    Outcome,
    ProviderReturnKind,
    ProviderServiceKind,
)

RESPONSE_STANDARD = 20
"""Working days: the share of responses within it is reported."""
NOT_YET_DECIDED = "not_yet_decided"
NOT_RECORDED = "not recorded"
"""The subject of a complaint whose primary subject nobody recorded."""


@dataclass(frozen=True)
class Complaint:
    """One complaint about a provider, however many records tell of it."""

    provider_id: uuid.UUID
    directorate: str
    service_kind: str
    received_on: date
    notified: bool
    logged: bool
    outcome: str | None
    subject: str | None
    response_days: int | None
    ombudsman_referred: bool
    ombudsman_decision: str | None


@dataclass(frozen=True)
class Compliment:
    provider_id: uuid.UUID
    directorate: str
    service_kind: str
    received_on: date


def complaints(facts: Facts, calendar: WorkingDayCalendar) -> list[Complaint]:
    """Each complaint about a known provider once: every return not withdrawn (with the
    council case it referred, if any), then every council case not withdrawn that no
    such return referred."""
    providers = {p.provider_id: p for p in facts.providers}
    cases = [c for c in facts.cases if not c.withdrawn and c.received_on is not None]
    by_id = {c.case_id: c for c in cases}
    by_reference = {(c.provider_id, c.provider_reference): c for c in cases if c.provider_reference}
    linked: set[uuid.UUID] = set()
    found: list[Complaint] = []
    for row in facts.returns:
        if row.kind != ProviderReturnKind.COMPLAINT or row.withdrawn:
            continue
        case = by_id.get(row.referred_case_id) or by_reference.get(
            (row.provider_id, row.provider_reference)
        )
        if case is not None:
            linked.add(case.case_id)
        if row.provider_id in providers:
            found.append(_returned(row, case, providers[row.provider_id], calendar))
    for case in cases:
        provider = providers.get(case.provider_id)  # type: ignore[arg-type]
        if case.case_id not in linked and provider is not None:
            found.append(_logged(case, provider, calendar))
    return found


def _returned(
    row: ReturnFacts, case: CaseFacts | None, provider: ProviderCopy, calendar: WorkingDayCalendar
) -> Complaint:
    """A provider's complaint, judged by the council's first response once it referred it."""
    council = case is not None and case.responded_on is not None
    if council:
        outcome, days = case.outcome, _days(calendar, case.received_on, case.responded_on)
    else:
        outcome, days = row.outcome, _days(calendar, row.received_on, row.responded_on)
    return Complaint(
        provider_id=row.provider_id,
        directorate=case.directorate
        if case
        else _contract_directorate(provider, row.contract_reference) or row.directorate,
        service_kind=row.service_kind,
        received_on=row.received_on,
        notified=True,
        logged=case is not None,
        outcome=outcome,
        subject=(case.primary_subject if case else None) or row.primary_subject,
        response_days=days,
        ombudsman_referred=row.ombudsman_referred
        or (case is not None and case.ombudsman_referred_on is not None),
        ombudsman_decision=(case.ombudsman_decision if case else None) or row.ombudsman_decision,
    )


def _logged(case: CaseFacts, provider: ProviderCopy, calendar: WorkingDayCalendar) -> Complaint:
    assert case.received_on is not None
    return Complaint(
        provider_id=provider.provider_id,
        directorate=case.directorate,
        service_kind=provider.service_kind,
        received_on=case.received_on,
        notified=False,
        logged=True,
        outcome=case.outcome,
        subject=case.primary_subject,
        response_days=_days(calendar, case.received_on, case.responded_on),
        ombudsman_referred=case.ombudsman_referred_on is not None,
        ombudsman_decision=case.ombudsman_decision,
    )


def _days(
    calendar: WorkingDayCalendar, received_on: date | None, responded_on: date | None
) -> int | None:
    if received_on is None or responded_on is None:
        return None
    return calendar.between(received_on, responded_on)


def compliments(facts: Facts) -> list[Compliment]:
    """The providers' compliment returns (not withdrawn) and the council's compliments
    about them."""
    providers = {p.provider_id: p for p in facts.providers}
    found = [
        Compliment(
            row.provider_id,
            _contract_directorate(providers[row.provider_id], row.contract_reference)
            or row.directorate,
            row.service_kind,
            row.received_on,
        )
        for row in facts.returns
        if row.kind == ProviderReturnKind.COMPLIMENT
        and not row.withdrawn
        and row.provider_id in providers
    ]
    found += [
        Compliment(
            c.provider_id, c.directorate, providers[c.provider_id].service_kind, c.received_on
        )
        for c in facts.compliments
        if c.provider_id in providers
    ]
    return found


def contracts(provider: ProviderCopy) -> list[ProviderContract]:
    return [ProviderContract.model_validate(c) for c in provider.contracts]


def _contract_directorate(provider: ProviderCopy, reference: str | None) -> str | None:
    return next((c.directorate for c in contracts(provider) if c.reference == reference), None)


def runs_during(contract: ProviderContract, period: Period) -> bool:
    return contract.starts_on <= period.ends_on and (
        contract.ends_on is None or contract.ends_on >= period.starts_on
    )


def figures(found: Sequence[Complaint], compliments_found: int, places: int | None) -> Figures:
    """One period's figures from its complaints, compliments and places."""
    outcomes = Counter(c.outcome or NOT_YET_DECIDED for c in found)
    days = [c.response_days for c in found if c.response_days is not None]
    referred = sum(c.notified and c.logged for c in found)
    total = len(found)
    decisions = Counter(c.ombudsman_decision for c in found if c.ombudsman_decision)
    return Figures(
        complaints=Complaints(
            notified_by_provider=sum(c.notified for c in found),
            logged_by_council=sum(c.logged for c in found),
            referred_by_provider=referred,
            total=total,
        ),
        outcomes={key: outcomes[key] for key in (*Outcome, NOT_YET_DECIDED)},
        subjects=dict(sorted(Counter(c.subject or NOT_RECORDED for c in found).items())),
        response_times=ResponseTimes(
            responded=len(days),
            average_working_days=round(sum(days) / len(days), 1) if days else None,
            within_20_working_days=round(sum(d <= RESPONSE_STANDARD for d in days) / len(days), 3)
            if days
            else None,
            longest_working_days=max(days, default=None),
        ),
        ombudsman=Ombudsman(
            referred=sum(c.ombudsman_referred for c in found),
            decisions={d: decisions[d] for d in OmbudsmanDecision},
        ),
        compliments=compliments_found,
        places=places,
        complaints_per_100_places=round(total * 100 / places, 2) if places else None,
    )


def places(
    providers: Iterable[ProviderCopy],
    period: Period,
    directorate: str | None,
    kind: str | None = None,
) -> int | None:
    """People or beds contracted on the period's last day (of ``directorate``'s contracts,
    and of one kind of service); None when no such contract runs then."""
    running = [
        contract.places
        for provider in providers
        for contract in contracts(provider)
        if contract.covers(period.ends_on)
        and directorate in (None, contract.directorate)
        and kind in (None, contract.service_kind or provider.service_kind)
    ]
    return sum(running) if running else None


def contracted(provider: ProviderCopy, period: Period, directorate: str | None) -> bool:
    """Whether a contract of the provider (with ``directorate``) runs during the period."""
    return any(
        runs_during(contract, period) and directorate in (None, contract.directorate)
        for contract in contracts(provider)
    )


def return_status(
    provider: ProviderCopy, quarter: Period, facts: Facts, directorate: str | None, today: date
) -> ReturnStatus:
    """Whether the provider made its return for ``quarter``: any row received in it
    (a complaint or a compliment, withdrawn or not), or a nil return."""
    if not provider.active or not contracted(provider, quarter, directorate):
        return ReturnStatus.NOT_REQUIRED
    if any(
        row.provider_id == provider.provider_id and quarter.holds(row.received_on)
        for row in facts.returns
    ):
        return ReturnStatus.RECEIVED
    if (provider.provider_id, quarter.quarter) in facts.nil_returns:
        return ReturnStatus.NIL
    return ReturnStatus.DUE if quarter.ends_on >= today else ReturnStatus.MISSING


@dataclass(frozen=True)
class _Counted:
    """One period's complaints and compliments, ready to be split by group."""

    found: Sequence[Complaint]
    praised: Sequence[Compliment]

    def figures(
        self, period: Period, belongs: Callable[[Complaint | Compliment], bool], places: int | None
    ) -> Figures:
        return figures(
            [c for c in self.found if period.holds(c.received_on) and belongs(c)],
            sum(period.holds(c.received_on) and belongs(c) for c in self.praised),
            places,
        )


def report(
    facts: Facts,
    period: Period,
    *,
    directorate: str | None,
    calendar: WorkingDayCalendar,
    today: date,
    organisation: str,
) -> ProvidersReport:
    """The contract monitoring report for ``period`` (a year also shows its quarters).

    Providers listed are those with a contract (of ``directorate``) running during the
    period, or with a complaint or compliment in it.
    """
    counted = _Counted(
        [c for c in complaints(facts, calendar) if directorate in (None, c.directorate)],
        [c for c in compliments(facts) if directorate in (None, c.directorate)],
    )
    quarters = period.quarters()
    busy = {
        c.provider_id for c in (*counted.found, *counted.praised) if period.holds(c.received_on)
    }
    listed = sorted(
        (p for p in facts.providers if p.provider_id in busy or contracted(p, period, directorate)),
        key=lambda p: (p.name.casefold(), p.code),
    )

    def line(
        belongs: Callable[[Complaint | Compliment], bool],
        providers: Sequence[ProviderCopy],
        kind: str | None = None,
        provider: ProviderCopy | None = None,
    ) -> tuple[Figures, list[PeriodFigures]]:
        shown = []
        for quarter in quarters:
            status = (
                return_status(provider, quarter, facts, directorate, today) if provider else None
            )
            shown.append(
                PeriodFigures(
                    quarter=quarter.quarter,
                    label=quarter.label,
                    starts_on=quarter.starts_on,
                    ends_on=quarter.ends_on,
                    figures=counted.figures(
                        quarter, belongs, places(providers, quarter, directorate, kind)
                    ),
                    return_status=status,
                    missing_return=status == ReturnStatus.MISSING,
                )
            )
        whole = counted.figures(period, belongs, places(providers, period, directorate, kind))
        return whole, shown

    provider_lines = []
    for provider in listed:
        whole, shown = line(
            lambda c, p=provider: c.provider_id == p.provider_id, [provider], provider=provider
        )
        if period.quarter:
            status = return_status(provider, period, facts, directorate, today)
            missing = [period.quarter] if status == ReturnStatus.MISSING else []
        else:
            status = None
            missing = [q.quarter for q in shown if q.missing_return]  # type: ignore[misc]
        provider_lines.append(
            ProviderLine(
                provider_id=provider.provider_id,
                code=provider.code,
                name=provider.name,
                service_kind=provider.service_kind,
                active=provider.active,
                figures=whole,
                return_status=status,
                missing_return=bool(missing),
                missing_quarters=missing,
                quarters=shown,
            )
        )
    kind_lines = []
    for kind in ProviderServiceKind:
        whole, shown = line(lambda c, k=kind: c.service_kind == k, listed, kind=kind)
        kind_lines.append(
            KindLine(
                service_kind=kind,
                providers=sum(p.service_kind == kind for p in listed),
                figures=whole,
                quarters=shown,
            )
        )
    whole, shown = line(lambda _: True, listed)
    return ProvidersReport(
        organisation=organisation,
        year=FinancialYear.of(period.year).label,
        quarter=period.quarter,
        starts_on=period.starts_on,
        ends_on=period.ends_on,
        as_at=today,
        directorate=directorate,
        providers=provider_lines,
        service_kinds=kind_lines,
        total=TotalLine(figures=whole, quarters=shown),
    )
