"""Chasing a learning action's lead when its follow-up timers fire.

Deadlines keeps the timers (it follows ``learning.action_changed``) and says when one
fires (``deadline.follow_up``); learning decides who is told and publishes
``learning.lead_chased`` for letters to send. A reminder or an overdue notice goes to
the lead; an escalation to the manager configured for the action's service area (or
``*``), or, with none configured, to the lead again.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_learning.models import OPEN, ActionCase, LearningAction, LearningCase
from complaints_learning.register import SYSTEM, history
from complaints_shared.calendar import today_in_england
from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.events import DeadlineFollowUp, LeadChased
from complaints_shared.contracts.limits import MAX_ITEMS
from complaints_shared.contracts.vocabulary import DeadlineKind, FollowUpStep
from complaints_shared.service import Service


def register_chasing(service: Service) -> None:
    """Answer each learning action's follow-up with a chase of its lead or manager."""
    settings = service.settings

    @service.on(DeadlineFollowUp)
    async def follow_up(envelope: Envelope, due: DeadlineFollowUp, session: AsyncSession) -> None:
        """Chase an action still being worked on. One done or cancelled since the timer
        was set, or given a new due date (deadlines hears of it after), is left alone:
        the timers of its new state will follow."""
        if due.kind != DeadlineKind.LEARNING_ACTION:
            return
        action = await session.get(LearningAction, due.subject_id)
        if action is None or action.status not in OPEN or action.due_on != due.due_on:
            return
        manager = None
        if due.step == FollowUpStep.ESCALATION:
            managers = settings.learning_managers
            manager = managers.get(action.service_area or "", managers.get("*"))
        references = await session.scalars(
            select(LearningCase.reference)
            .join(ActionCase, ActionCase.case_id == LearningCase.case_id)
            .where(ActionCase.action_id == action.id)
            .order_by(LearningCase.reference)
            .limit(MAX_ITEMS)
        )
        chase = LeadChased(
            action_id=action.id,
            step=due.step,
            recipient=f"Manager, {action.service_area or action.directorate}"
            if manager
            else action.lead,
            recipient_email=manager or action.lead_email,
            to_manager=manager is not None,
            description=action.description,
            lead=action.lead,
            service_area=action.service_area,
            due_on=action.due_on,
            working_days=due.working_days,
            case_references=tuple(references),
            digest=settings.learning_chasing == "digest",
            chased_on=today_in_england(),
        )
        await service.publish(
            session, envelope.caused(chase, case_id=None, directorate=action.directorate)
        )
        told = "the manager" if manager else "the lead"
        history(session, action, "chased", SYSTEM, f"{due.step} sent to {told}")
