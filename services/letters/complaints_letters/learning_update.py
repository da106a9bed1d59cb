"""The learning-update letter: what the council changed because of the complaint.

Learning announces a case's settled actions (``learning.case_settled``, one round at a
time) on its own stream, so the settlement may come before the case does. It is kept
in the case's facts (``CaseFacts.settled``) and a letter is drafted, once per round,
whenever the case, the settlement and the complainant's agreement to hear
(``learning_updates``) are all there: by the settlement's handler, by ``case.received``
or by a ``case.corrected`` that gives the agreement later. A correction withdrawing it
cancels such letters that have not gone.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_letters.drafting import Drafter
from complaints_letters.kinds import Kind
from complaints_letters.models import OPEN, SYSTEM, CaseFacts, Letter, cancel
from complaints_shared.contracts.events import CaseLearningSettled
from complaints_shared.contracts.vocabulary import LearningStatus


def note_settlement(facts: CaseFacts, settled: CaseLearningSettled) -> None:
    """Keep a round's settled actions for its letter: what was done (and what changed),
    and what the council decided not to do (without its internal reasons)."""
    done = [
        {
            "description": action.description,
            "completed_on": action.completed_on.isoformat() if action.completed_on else None,
            "what_changed": action.what_changed,
        }
        for action in settled.actions
        if action.status == LearningStatus.DONE
    ]
    not_done = [
        {"description": action.description}
        for action in settled.actions
        if action.status == LearningStatus.CANCELLED
    ]
    facts.settled = {
        **facts.settled,
        str(settled.round): {
            "settled_on": settled.settled_on.isoformat(),
            "done": done,
            "not_done": not_done,
        },
    }


def agreed(facts: CaseFacts) -> bool:
    """Whether the complainant said yes to hearing what changed (not asked: no)."""
    return (facts.complainant or {}).get("learning_updates") is True


async def draft_learning_updates(session: AsyncSession, drafter: Drafter, facts: CaseFacts) -> None:
    """Draft each settled round's letter not yet drafted, if the case is here and its
    complainant agreed; cancel those not gone if they no longer agree."""
    if facts.reference is None:
        return  # the case has not arrived: case.received comes back here
    if not agreed(facts):
        pending = await session.scalars(
            select(Letter).where(
                Letter.case_id == facts.case_id,
                Letter.kind == Kind.LEARNING_UPDATE,
                Letter.status.in_(OPEN),
            )
        )
        for letter in pending:
            cancel(session, letter, SYSTEM, "the complainant no longer wishes to hear")
        return
    for round_, settlement in sorted(facts.settled.items(), key=lambda item: int(item[0])):
        await drafter.draft(
            session,
            facts,
            Kind.LEARNING_UPDATE,
            f"learning_update.{round_}",
            {"round": int(round_), **settlement},
        )
