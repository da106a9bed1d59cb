"""The annual report's learning section: actions identified, completed and overdue, and
"you said, we did", from the learning service's events only.

Learning publishes each action's and each entry's whole state after every change, with
a revision; the read model keeps the newest, so replaying the stream from the start
(``reporting rebuild``) or receiving it out of order gives the same figures.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_reporting.models import ActionFacts, StatementFacts
from complaints_reporting.snapshots import keep_newest
from complaints_shared.auth import Principal, Role, requires
from complaints_shared.calendar import FinancialYear, today_in_england
from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.events import LearningActionChanged, YouSaidWeDid
from complaints_shared.contracts.vocabulary import LearningSource, LearningStatus
from complaints_shared.service import Service

STILL_OWED = (LearningStatus.OPEN, LearningStatus.IN_PROGRESS, LearningStatus.DONE)


class LearningFigures(BaseModel):
    """One directorate's learning actions in a financial year.

    ``overdue`` is as at the end of the year, or today while the year runs: actions due
    before then and not done by then, whenever they were identified. ``cancelled`` counts
    the year's identified actions that were cancelled.
    """

    identified: int = 0
    from_ombudsman: int = 0
    completed: int = 0
    completed_on_time: int = 0
    cancelled: int = 0
    overdue: int = 0
    complainants_told: int = 0


class Statement(BaseModel):
    published_on: date
    service_area: str | None
    you_said: str
    we_did: str


class LearningReport(BaseModel):
    year: str
    starts_on: date
    ends_on: date
    as_at: date
    directorates: dict[str, LearningFigures]
    you_said_we_did: dict[str, list[Statement]]


def register(service: Service) -> None:
    """Keep the newest state of each action and entry; serve the learning figures."""

    @service.on(LearningActionChanged)
    async def action_changed(
        envelope: Envelope, changed: LearningActionChanged, session: AsyncSession
    ) -> None:
        action = changed.action
        await keep_newest(
            session,
            ActionFacts(
                action_id=action.action_id,
                revision=changed.revision,
                directorate=envelope.directorate,
                service_area=action.service_area,
                source=action.source,
                status=action.status,
                identified_on=action.identified_on,
                due_on=action.due_on,
                completed_on=action.completed_on,
                complainant_told_on=action.complainant_told_on,
            ),
        )

    @service.on(YouSaidWeDid)
    async def statement(envelope: Envelope, entry: YouSaidWeDid, session: AsyncSession) -> None:
        await keep_newest(
            session,
            StatementFacts(
                entry_id=entry.entry_id,
                revision=entry.revision,
                directorate=envelope.directorate,
                published=entry.published,
                published_on=entry.published_on,
                service_area=entry.service_area,
                you_said=entry.you_said,
                we_did=entry.we_did,
            ),
        )

    @service.http.get("/api/v1/reports/learning", response_model=LearningReport, tags=["reports"])
    async def learning_report(
        _: Annotated[
            Principal,
            requires(Role.REPORT_VIEWER, Role.COMPLAINTS_OFFICER, Role.SERVICE_MANAGER),
        ],
        year: Annotated[int, Query(ge=2000, le=2100, description="2017 means 2017-18")],
        directorate: str | None = None,
    ) -> LearningReport:
        """Learning actions identified, completed and overdue in a financial year, by
        directorate, with the "you said, we did" entries published in it (figures and
        public-safe text only)."""
        starts_on, ends_on = financial = FinancialYear.of(year)
        as_at = min(ends_on, today_in_england())
        actions = select(ActionFacts)
        statements = select(StatementFacts).where(
            StatementFacts.published.is_(True),
            StatementFacts.published_on.between(starts_on, ends_on),
        )
        if directorate:
            actions = actions.where(ActionFacts.directorate == directorate)
            statements = statements.where(StatementFacts.directorate == directorate)
        async with service.db.transaction() as session:
            facts = list(await session.scalars(actions))
            published = list(
                await session.scalars(
                    statements.order_by(StatementFacts.published_on, StatementFacts.entry_id)
                )
            )
        figures: dict[str, LearningFigures] = {}
        for action in facts:
            _count(
                figures.setdefault(action.directorate, LearningFigures()), action, starts_on, as_at
            )
        listed: dict[str, list[Statement]] = {}
        for entry in published:
            listed.setdefault(entry.directorate, []).append(
                Statement.model_validate(entry, from_attributes=True)
            )
        return LearningReport(
            year=financial.label,
            starts_on=starts_on,
            ends_on=ends_on,
            as_at=as_at,
            directorates=figures,
            you_said_we_did=listed,
        )


def _count(figures: LearningFigures, action: ActionFacts, starts_on: date, as_at: date) -> None:
    """Add one action to its directorate's figures for the year from ``starts_on``."""
    if starts_on <= action.identified_on <= as_at:
        figures.identified += 1
        figures.from_ombudsman += action.source == LearningSource.OMBUDSMAN
    completed = action.completed_on
    if action.status == LearningStatus.DONE and completed and starts_on <= completed <= as_at:
        figures.completed += 1
        figures.completed_on_time += completed <= action.due_on
    if action.status == LearningStatus.CANCELLED and starts_on <= action.identified_on <= as_at:
        figures.cancelled += 1
    if _overdue_at(action, as_at):
        figures.overdue += 1
    told = action.complainant_told_on
    if told and starts_on <= told <= as_at:
        figures.complainants_told += 1


def _overdue_at(action: ActionFacts, as_at: date) -> bool:
    """Past due on ``as_at`` and not done by then (done later still counts for a past year)."""
    if action.status not in STILL_OWED or action.identified_on > as_at or action.due_on >= as_at:
        return False
    return action.completed_on is None or action.completed_on > as_at
