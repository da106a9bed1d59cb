"""The register's operations: every change to an action, made one way.

Each operation checks the action's state (a change that does not fit is a
:class:`Conflict`, the API's 409), changes the row, bumps ``revision``, writes an
``ActionHistory`` row and stages ``learning.action_changed`` with the whole snapshot in
the same transaction; a change of status then settles (or unsettles) its cases.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_learning import settling
from complaints_learning.models import (
    OPEN,
    SETTLED,
    ActionCase,
    ActionHistory,
    LearningAction,
    ProgressNote,
)
from complaints_shared.calendar import today_in_england
from complaints_shared.contracts import events
from complaints_shared.contracts.envelope import Envelope, new_event
from complaints_shared.contracts.vocabulary import LearningChange, LearningStatus
from complaints_shared.service import Service

SYSTEM = "learning"
"""Who changed an action when an event, not a person, changed it."""


class Conflict(Exception):
    """A change that does not fit the action's state; the message says why."""


async def case_ids_of(session: AsyncSession, action_id: uuid.UUID) -> list[uuid.UUID]:
    """The cases an action came from, in id order."""
    found = await session.scalars(
        select(ActionCase.case_id)
        .where(ActionCase.action_id == action_id)
        .order_by(ActionCase.case_id)
    )
    return list(found)


def snapshot(action: LearningAction, case_ids: Iterable[uuid.UUID]) -> events.LearningAction:
    """The action as ``learning.action_changed`` carries it (no notes or evidence)."""
    return events.LearningAction(
        action_id=action.id,
        description=action.description,
        lead=action.lead,
        lead_email=action.lead_email,
        service_area=action.service_area,
        team=action.team,
        due_on=action.due_on,
        case_ids=tuple(case_ids),
        stage=action.stage,
        source=action.source,
        subject=action.subject,
        themes=tuple(action.themes),
        status=action.status,
        identified_on=action.identified_on,
        completed_on=action.completed_on,
        cancelled_reason=action.cancelled_reason,
        complainant_told_on=action.complainant_told_on,
    )


def history(
    session: AsyncSession, action: LearningAction, change: str, who: str, description: str
) -> None:
    """Append a history row at the action's current revision."""
    session.add(
        ActionHistory(
            action_id=action.id,
            revision=action.revision,
            change=change,
            who=who,
            at=datetime.now(UTC),
            description=description[:500],
        )
    )


class Register:
    """The operations on the register of one service (its outbox and settings)."""

    def __init__(self, service: Service) -> None:
        self.service = service

    async def _changed(
        self,
        session: AsyncSession,
        action: LearningAction,
        change: LearningChange,
        who: str,
        description: str,
        cause: Envelope | None,
    ) -> list[uuid.UUID]:
        """Bump the revision, record it, announce the snapshot; returns the action's cases."""
        action.revision += 1
        history(session, action, change.value, who, description)
        await session.flush()
        cases = await case_ids_of(session, action.id)
        settings = self.service.settings
        payload = events.LearningActionChanged(
            revision=action.revision,
            change=change,
            changed_on=today_in_england(),
            changed_by=who,
            action=snapshot(action, cases),
            reminder_working_days=settings.learning_reminder_days,
            escalation_working_days=settings.learning_escalation_days,
        )
        await self.service.publish(
            session,
            new_event(
                payload,
                organisation=action.organisation,
                directorate=action.directorate,
                correlation_id=cause.correlation_id if cause else None,
                causation_id=cause.id if cause else None,
            ),
        )
        return cases

    async def record(
        self,
        session: AsyncSession,
        action: LearningAction,
        case_ids: Iterable[uuid.UUID],
        who: str,
        cause: Envelope | None = None,
    ) -> None:
        """Add a new action (status open, revision 1); its cases are no longer settled."""
        action.status = LearningStatus.OPEN
        action.revision = 0
        session.add(action)
        await session.flush()  # before its links (no relationship orders the inserts)
        cases = sorted(set(case_ids))
        session.add_all(ActionCase(action_id=action.id, case_id=case) for case in cases)
        await self._changed(
            session, action, LearningChange.RECORDED, who, f"recorded ({action.source})", cause
        )
        await settling.unsettle(session, cases)

    async def update(
        self, session: AsyncSession, action: LearningAction, changes: dict[str, Any], who: str
    ) -> None:
        """Change the action's details (lead, due date, description...), not its status."""
        self._refuse_unless(action, OPEN + (LearningStatus.NOT_RECORDED,), "changed")
        changed = sorted(k for k, v in changes.items() if getattr(action, k) != v)
        if not changed:
            return
        for key in changed:
            setattr(action, key, changes[key])
        await self._changed(
            session, action, LearningChange.UPDATED, who, "changed " + ", ".join(changed), None
        )

    async def progress(
        self, session: AsyncSession, action: LearningAction, text: str, who: str
    ) -> None:
        """Add a note of progress; an open action is then in progress."""
        self._refuse_unless(action, OPEN, "progressed")
        session.add(ProgressNote(action_id=action.id, at=datetime.now(UTC), by=who, text=text))
        action.status = LearningStatus.IN_PROGRESS
        await self._changed(session, action, LearningChange.PROGRESSED, who, "progress noted", None)

    async def complete(
        self,
        session: AsyncSession,
        action: LearningAction,
        *,
        evidence: str,
        links: list[str],
        completed_on: date,
        what_changed: str | None,
        who: str,
    ) -> None:
        """Done, with the evidence; its cases may now be settled."""
        self._refuse_unless(action, OPEN + (LearningStatus.NOT_RECORDED,), "completed")
        action.status = LearningStatus.DONE
        action.completed_on = completed_on
        action.evidence, action.evidence_links, action.what_changed = evidence, links, what_changed
        cases = await self._changed(
            session, action, LearningChange.COMPLETED, who, f"done on {completed_on}", None
        )
        await settling.settle(self.service, session, cases)

    async def cancel(
        self, session: AsyncSession, action: LearningAction, reason: str, who: str
    ) -> None:
        """Not to be done, and why; its cases may now be settled."""
        self._refuse_unless(action, OPEN + (LearningStatus.NOT_RECORDED,), "cancelled")
        action.status = LearningStatus.CANCELLED
        action.cancelled_reason = reason
        cases = await self._changed(
            session, action, LearningChange.CANCELLED, who, "cancelled", None
        )
        await settling.settle(self.service, session, cases)

    async def reopen(
        self, session: AsyncSession, action: LearningAction, reason: str, who: str
    ) -> None:
        """Back to open (the reason is a progress note); its cases are unsettled, so their
        next settling is a new round and the complainant is told again."""
        self._refuse_unless(action, SETTLED, "reopened")
        was = action.status
        session.add(ProgressNote(action_id=action.id, at=datetime.now(UTC), by=who, text=reason))
        action.status = LearningStatus.OPEN
        action.completed_on = action.cancelled_reason = action.complainant_told_on = None
        cases = await self._changed(
            session, action, LearningChange.REOPENED, who, f"reopened (was {was})", None
        )
        await settling.unsettle(session, cases)

    async def tell(
        self, session: AsyncSession, action: LearningAction, on: date, cause: Envelope
    ) -> None:
        """The complainant was sent the learning-update letter that reports this action."""
        action.complainant_told_on = on
        await self._changed(
            session, action, LearningChange.COMPLAINANT_TOLD, SYSTEM, f"told on {on}", cause
        )

    async def settle_by_import(
        self, session: AsyncSession, action: LearningAction, cause: Envelope
    ) -> None:
        """An imported history left it open past its due date: the old system did not say."""
        action.status = LearningStatus.NOT_RECORDED
        await self._changed(
            session,
            action,
            LearningChange.SETTLED_BY_IMPORT,
            SYSTEM,
            "not recorded by the imported history",
            cause,
        )

    @staticmethod
    def _refuse_unless(
        action: LearningAction, allowed: tuple[LearningStatus, ...], verb: str
    ) -> None:
        if action.status not in allowed:
            fits = " or ".join(s.value for s in allowed)
            msg = f"an action that is {action.status} cannot be {verb} (only one {fits})"
            raise Conflict(msg)
