"""Learning's composition root: it records the actions of each response and lists them."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_learning import you_said_we_did
from complaints_learning.models import Base, LearningAction
from complaints_shared.audit import Access
from complaints_shared.auth import Principal, requires
from complaints_shared.case_access import CASE_ROLES
from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.events import CaseResponded, HistoryImported
from complaints_shared.service import Service
from complaints_shared.settings import Settings


class LearningActionView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    case_id: uuid.UUID
    directorate: str
    description: str
    owner: str
    due_on: date
    status: str


def create(settings: Settings) -> Service:
    service = Service("learning", Base.metadata, settings)
    access = service.holds_cases()
    service.exports(LearningAction.case_id)
    you_said_we_did.register(service)

    @service.on(CaseResponded)
    async def record(envelope: Envelope, response: CaseResponded, session: AsyncSession) -> None:
        """Keep each learning action of a response, under the id intake gave it."""
        for action in response.learning_actions:
            session.add(
                LearningAction(
                    id=action.id,
                    case_id=envelope.case_id,
                    organisation=envelope.organisation,
                    directorate=envelope.directorate,
                    description=action.description,
                    owner=action.owner,
                    due_on=action.due_on,
                )
            )

    @service.on(HistoryImported)
    async def settle(envelope: Envelope, history: HistoryImported, session: AsyncSession) -> None:
        """An imported case's actions past their due date end as "not_recorded".

        The old system's record of whether they were done is not in the history, so
        they are neither left open forever nor counted as done.
        """
        await session.execute(
            update(LearningAction)
            .where(
                LearningAction.case_id == envelope.case_id,
                LearningAction.status == "open",
                LearningAction.due_on < history.imported_on,
            )
            .values(status="not_recorded")
            .execution_options(synchronize_session=False)
        )

    @service.http.get(
        "/api/v1/learning-actions", response_model=list[LearningActionView], tags=["learning"]
    )
    async def list_actions(
        request: Request,
        who: Annotated[Principal, requires(*CASE_ROLES)],
        case_id: uuid.UUID | None = None,
        directorate: str | None = None,
    ) -> list[LearningAction]:
        """Learning actions by due date, for a case or a directorate: those of the cases
        you may see."""
        query = (
            select(LearningAction)
            .where(access.visible(who, LearningAction.case_id))
            .order_by(LearningAction.due_on, LearningAction.id)
        )
        if case_id:
            query = query.where(LearningAction.case_id == case_id)
        if directorate:
            query = query.where(LearningAction.directorate == directorate)
        async with service.db.transaction() as session:
            actions = list(await session.scalars(query))
            await service.audit.record(
                session, request, who, Access.READ, "list_actions", [a.case_id for a in actions]
            )
        return actions

    return service
