"""Reminders to staff about learning actions: one email per chase, or a day's digest.

``learning.lead_chased`` concerns no case, so these letters have none (``case_id`` is
None) and carry case references only, never a complainant's details. They are drafted
approved and go by email to the address the chase gives; a chase without one fails
visibly when it is sent (the delivery worker's "no address" failure), never dropped.

- ``digest`` false: a ``learning_reminder`` keyed by the action, step and due date, so
  a redelivered or republished chase sends nothing more.
- ``digest`` true: the chase joins the recipient's ``learning_digest`` for the day it
  was made, which is not sent before :data:`DIGEST_SENT_AT` the next morning (London
  time): the first delivery pass after it sends it, once, with any number of replicas
  (the worker's claiming). A chase for a day whose digest has already started going
  starts another digest for that day, sent at once.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_letters.delivery import DeliveryAttempt
from complaints_letters.drafting import Drafter
from complaints_letters.kinds import Kind
from complaints_letters.models import SYSTEM, Letter, Status, history
from complaints_shared.calendar import LONDON, today_in_england
from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.events import LeadChased
from complaints_shared.contracts.vocabulary import FollowUpStep
from complaints_shared.service import Service

DIGEST_SENT_AT = time(7, 0)
"""A day's digest goes at the first delivery pass from this time the next day."""


def digest_send_after(day: date) -> datetime:
    """When the digest of ``day``'s chases may go: the next morning, London time."""
    return datetime.combine(day + timedelta(days=1), DIGEST_SENT_AT, tzinfo=LONDON)


def _chase(chased: LeadChased) -> dict[str, object]:
    """A chase as the templates show it, with its key (the action, step and due date)."""
    return {
        "key": f"{chased.action_id}.{chased.step}.{chased.due_on.isoformat()}",
        "step": str(chased.step),
        "description": chased.description,
        "lead": chased.lead,
        "service_area": chased.service_area,
        "due_on": chased.due_on.isoformat(),
        "working_days": chased.working_days,
        "to_manager": chased.to_manager,
        "case_references": list(chased.case_references),
    }


def _subject(chased: LeadChased) -> str:
    if chased.step == FollowUpStep.REMINDER:
        return "Learning action due soon"
    if chased.to_manager:
        return "Learning action overdue: for your attention as manager"
    return "Learning action overdue"


def _recipient_hash(chased: LeadChased) -> str:
    """Who a digest is for, in its key without their address: a digest of it."""
    who = (chased.recipient_email or f"name:{chased.recipient}").lower()
    return hashlib.sha256(who.encode()).hexdigest()[:16]


def register_staff_reminders(service: Service, drafter: Drafter) -> None:
    """Handle ``learning.lead_chased``: each chase a reminder, or a line in a digest."""

    @service.on(LeadChased)
    async def lead_chased(envelope: Envelope, chased: LeadChased, session: AsyncSession) -> None:
        """A lead or manager to be reminded: an email now, or a line in tomorrow's digest."""
        where = {
            "recipient": chased.recipient,
            "organisation": envelope.organisation,
            "directorate": envelope.directorate,
        }
        chase = _chase(chased)
        if not chased.digest:
            key = f"{Kind.LEARNING_REMINDER}.{chase['key']}"
            if await _staff_letter(session, key) is None:
                await drafter.draft_for_staff(
                    session,
                    Kind.LEARNING_REMINDER,
                    key,
                    {
                        "subject": _subject(chased),
                        "recipient_email": chased.recipient_email,
                        "chase": chase,
                    },
                    **where,
                )
            return
        await _add_to_digest(session, drafter, chased, chase, where)


async def _staff_letter(session: AsyncSession, key: str, lock: bool = False) -> Letter | None:
    query = select(Letter).where(Letter.case_id.is_(None), Letter.key == key)
    return await session.scalar(query.with_for_update() if lock else query)


async def _add_to_digest(
    session: AsyncSession,
    drafter: Drafter,
    chased: LeadChased,
    chase: dict[str, object],
    where: dict[str, str],
) -> None:
    """Add the chase to the recipient's digest for its day, unless a digest of that day
    has it already; a digest that has started going is left as it went."""
    stem = f"{Kind.LEARNING_DIGEST}.{chased.chased_on.isoformat()}.{_recipient_hash(chased)}"
    part = 1
    while (letter := await _staff_letter(session, f"{stem}.{part}", lock=True)) is not None:
        if any(item["key"] == chase["key"] for item in letter.facts["chases"]):
            return  # redelivered or republished: it is in already
        started = await session.scalar(
            select(exists().where(DeliveryAttempt.letter_id == letter.id))
        )
        if letter.status == Status.APPROVED and not started:
            letter.facts = {**letter.facts, "chases": [*letter.facts["chases"], chase]}
            drafter.render(letter, today_in_england())
            history(session, letter, SYSTEM, "added", f"chase {chase['step']}")
            return
        part += 1
    day = chased.chased_on
    await drafter.draft_for_staff(
        session,
        Kind.LEARNING_DIGEST,
        f"{stem}.{part}",
        {
            "subject": f"Learning actions to follow up: {day:%A} {day.day} {day:%B %Y}",
            "recipient_email": chased.recipient_email,
            "day": day.isoformat(),
            "chases": [chase],
        },
        send_after=digest_send_after(day),
        **where,
    )
