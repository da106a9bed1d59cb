"""Retention: cases past their retention period lose their personal data, everywhere.

Once a day (``COMPLAINTS_RETENTION_CHECK_SECONDS``) intake finds the cases that ended
(closed or withdrawn) more than their retention period ago
(``COMPLAINTS_RETENTION_YEARS``, by directorate and kind), with no legal hold and no
Ombudsman referral awaiting a decision, and anonymises its record: the complainant's
and service user's names and contact details, every free-text field, the history's
copies of them and the equalities record. It then announces ``case.anonymised``, on
which every other service removes what it holds (letters: the letters themselves).
What the figures need stays: dates, stages, outcomes, reasons from the fixed lists,
service areas, subjects. Several replicas may run the pass: a case is taken under a
row lock, and anonymising one twice changes nothing. The same pass removes providers'
returns' summaries past retention (:mod:`complaints_intake.providers.retention`).
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any

import structlog
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_intake.lifecycle import ENDED
from complaints_intake.models import Case, Equalities, HistoryEntry
from complaints_intake.providers.retention import forget_summaries
from complaints_intake.recording import record
from complaints_shared.auth import Principal, Role, requires
from complaints_shared.calendar import add_months, today_in_england
from complaints_shared.contracts.events import CaseAnonymised
from complaints_shared.contracts.vocabulary import ClockStopReason, IneligibleReason
from complaints_shared.service import Service

log = structlog.get_logger(__name__)

REMOVED = "[removed: past retention]"
FREE_TEXT = frozenset(
    {
        "name",
        "email",
        "phone",
        "address",
        "postcode",
        "accessibility_needs",
        "summary",
        "desired_outcome",
        "description",
        "notes",
        "comments",
        "reason",
        "redirected_to",
    }
)
"""Keys whose string values are personal or free text wherever they appear."""
LISTED_REASONS = frozenset(IneligibleReason) | frozenset(ClockStopReason)
"""Reasons from the fixed lists are figures (the annual report counts them): kept."""


def scrub(value: Any) -> Any:
    """``value`` with every free-text string under a :data:`FREE_TEXT` key removed."""
    if isinstance(value, dict):
        return {
            key: (
                REMOVED
                if key in FREE_TEXT
                and isinstance(item, str)
                and item
                and item not in LISTED_REASONS
                else scrub(item)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [scrub(item) for item in value]
    return value


def expired(case: Case, settings: Any, today: date) -> date | None:
    """The last day ``case`` was kept whole if that is past, else None (it has not
    ended, is held, awaits the Ombudsman, was anonymised, or is within its period)."""
    if case.anonymised_on is not None or case.legal_hold is not None:
        return None
    until = retained_until(case, settings)
    return until if until is not None and until < today else None


def retained_until(case: Case, settings: Any) -> date | None:
    """The last day ``case`` is kept whole, or None while it has not ended (or the
    Ombudsman has yet to decide on it)."""
    if case.status not in ENDED or not case.closure:
        return None
    if case.ombudsman and "decision" not in case.ombudsman[-1]:
        return None
    ended = date.fromisoformat(case.closure["closed_on"])
    return add_months(ended, 12 * settings.retention_for(case.directorate, case.kind))


def anonymise(case: Case) -> None:
    """Remove the personal data from ``case`` itself (its history is :func:`run`'s)."""
    case.complainant = {}
    case.service_user = None
    case.summary = REMOVED
    for column in (
        "points",
        "triage",
        "clock_stopped",
        "safeguarding",
        "resolutions",
        "responses",
        "panel",
        "closure",
        "ombudsman",
        "feedback",
    ):
        setattr(case, column, scrub(getattr(case, column)))


async def _anonymise_one(service: Service, session: AsyncSession, case: Case, until: date) -> None:
    today = today_in_england()
    anonymise(case)
    case.anonymised_on = today
    await session.execute(delete(Equalities).where(Equalities.case_id == case.id))
    await session.execute(
        update(HistoryEntry).where(HistoryEntry.case_id == case.id).values(details={})
    )
    await record(
        service,
        session,
        case,
        "anonymised",
        CaseAnonymised(anonymised_on=today, retained_until=until),
        "retention",
    )


async def run(service: Service) -> int:
    """One pass: anonymise every case past retention; returns how many."""
    today = today_in_england()
    async with service.db.read() as session:
        ended = await session.scalars(
            select(Case).where(Case.status.in_(ENDED), Case.anonymised_on.is_(None))
        )
        due = [case.id for case in ended if expired(case, service.settings, today)]
    done = 0
    for case_id in due:  # each under its row lock, checked again: another replica may act
        async with service.db.transaction() as session:
            case = await session.get(Case, case_id, with_for_update=True)
            until = expired(case, service.settings, today) if case is not None else None
            if until is None:
                continue
            await _anonymise_one(service, session, case, until)
            done += 1
    if done:
        log.info("cases anonymised past retention", count=done)
    async with service.db.transaction() as session:
        summaries = await forget_summaries(session, service.settings, today)
    if summaries:
        log.info("provider return summaries removed past retention", count=summaries)
    return done


def register_retention(service: Service) -> None:
    """Run :func:`run` at start and every ``retention_check_seconds``; and on demand, for
    an administrator, at ``POST /api/v1/retention/run``."""

    @service.http.post("/api/v1/retention/run", tags=["retention"])
    async def run_retention(
        _: Annotated[Principal, requires(Role.ADMINISTRATOR)],
    ) -> dict[str, int]:
        """Anonymise every case past its retention period now (the daily pass)."""
        return {"anonymised": await run(service)}

    @service.background
    async def retention() -> None:
        while True:
            try:
                await run(service)
            except Exception:
                log.exception("retention pass failed; trying again at the next")
            await asyncio.sleep(service.settings.retention_check_seconds)
