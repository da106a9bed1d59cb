"""Reporting's composition root: it keeps the facts per case and counts them."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_reporting import learning
from complaints_reporting.models import Base, CaseFacts
from complaints_shared.auth import Principal, Role, requires
from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.events import CaseReceived, CaseResponded
from complaints_shared.contracts.vocabulary import Outcome
from complaints_shared.service import Service
from complaints_shared.settings import Settings


class Counts(BaseModel):
    received: int = 0
    responded: int = 0
    outcomes: dict[Outcome, int] = Field(default_factory=lambda: dict.fromkeys(Outcome, 0))


class Summary(BaseModel):
    organisation: str
    directorates: dict[str, Counts]
    total: Counts


async def _facts(session: AsyncSession, envelope: Envelope) -> CaseFacts:
    facts = await session.get(CaseFacts, envelope.case_id, with_for_update=True)
    if facts is None:
        facts = CaseFacts(case_id=envelope.case_id, directorate=envelope.directorate)
        session.add(facts)
    return facts


def create(settings: Settings) -> Service:
    service = Service("reporting", Base.metadata, settings)
    learning.register(service)

    @service.on(CaseReceived)
    async def received(envelope: Envelope, case: CaseReceived, session: AsyncSession) -> None:
        facts = await _facts(session, envelope)
        facts.received_on = case.received_on
        facts.channel = case.channel

    @service.on(CaseResponded)
    async def responded(envelope: Envelope, response: CaseResponded, session: AsyncSession) -> None:
        facts = await _facts(session, envelope)
        facts.responded_on = response.responded_on
        facts.outcome = response.outcome

    @service.http.get("/api/v1/reports/summary", response_model=Summary, tags=["reports"])
    async def summary(
        _: Annotated[
            Principal,
            requires(Role.REPORT_VIEWER, Role.COMPLAINTS_OFFICER, Role.SERVICE_MANAGER),
        ],
    ) -> Summary:
        """Complaints received and responded, by directorate and outcome (figures only)."""
        query = select(
            CaseFacts.directorate,
            CaseFacts.outcome,
            func.count(CaseFacts.received_on),
            func.count(CaseFacts.responded_on),
        ).group_by(CaseFacts.directorate, CaseFacts.outcome)
        async with service.db.transaction() as session:
            rows = (await session.execute(query)).all()
        directorates: dict[str, Counts] = {}
        total = Counts()
        for directorate, outcome, received_count, responded_count in rows:
            for counts in (directorates.setdefault(directorate, Counts()), total):
                counts.received += received_count
                counts.responded += responded_count
                if outcome is not None:
                    counts.outcomes[Outcome(outcome)] += responded_count
        return Summary(organisation=settings.organisation, directorates=directorates, total=total)

    return service
