"""A case's learning is settled when every action from it is done or cancelled.

At least one must be done (an all-cancelled case changed nothing to tell anyone
about). Settling counts a round and publishes ``learning.case_settled``, from which
letters writes to the complainant; an action added to the case or reopened later
unsettles it, so the next settling is the next round.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_learning.models import SETTLED, ActionCase, LearningAction, LearningCase
from complaints_shared.calendar import today_in_england
from complaints_shared.contracts.envelope import new_event
from complaints_shared.contracts.events import CaseLearningSettled, SettledAction
from complaints_shared.contracts.limits import MAX_POINTS
from complaints_shared.contracts.vocabulary import LearningStatus
from complaints_shared.service import Service


async def unsettle(session: AsyncSession, case_ids: Iterable[uuid.UUID]) -> None:
    """The cases have learning to do again."""
    cases = list(case_ids)
    if cases:
        await session.execute(
            update(LearningCase)
            .where(LearningCase.case_id.in_(cases))
            .values(settled=False)
            .execution_options(synchronize_session="fetch")
        )


async def settle(service: Service, session: AsyncSession, case_ids: Iterable[uuid.UUID]) -> None:
    """Settle each of the cases whose actions are now all settled, at least one done."""
    for case_id in case_ids:
        case = await session.get(LearningCase, case_id, with_for_update=True)
        if case is None or case.settled:
            continue
        actions = list(
            await session.scalars(
                select(LearningAction)
                .join(ActionCase, ActionCase.action_id == LearningAction.id)
                .where(ActionCase.case_id == case_id)
                .order_by(LearningAction.due_on, LearningAction.id)
            )
        )
        statuses = {action.status for action in actions}
        if not statuses <= set(SETTLED) or LearningStatus.DONE not in statuses:
            continue
        case.rounds += 1
        case.settled = True
        # Done ones first: if a case ever had more than an event can list, what the
        # complainant is told about is what changed.
        listed = sorted(actions, key=lambda a: a.status != LearningStatus.DONE)[:MAX_POINTS]
        payload = CaseLearningSettled(
            round=case.rounds,
            settled_on=today_in_england(),
            actions=tuple(
                SettledAction(
                    action_id=action.id,
                    description=action.description,
                    status=action.status,
                    completed_on=action.completed_on,
                    what_changed=action.what_changed or "",
                )
                for action in listed
            ),
        )
        await service.publish(
            session,
            new_event(
                payload,
                organisation=case.organisation,
                directorate=case.directorate,
                case_id=case.case_id,
            ),
        )
