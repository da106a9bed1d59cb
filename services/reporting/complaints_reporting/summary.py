"""The summary report: complaints received and responded, by directorate and outcome."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field
from sqlalchemy import func, select

from complaints_reporting.models import CaseFacts
from complaints_shared.auth import Principal, Role, requires
from complaints_shared.contracts.vocabulary import Outcome
from complaints_shared.service import Service


class Counts(BaseModel):
    received: int = 0
    responded: int = 0
    outcomes: dict[Outcome, int] = Field(default_factory=lambda: dict.fromkeys(Outcome, 0))


class Summary(BaseModel):
    organisation: str
    directorates: dict[str, Counts]
    total: Counts


def register(service: Service) -> None:
    """Serve ``GET /api/v1/reports/summary``."""

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
        return Summary(
            organisation=service.settings.organisation, directorates=directorates, total=total
        )
