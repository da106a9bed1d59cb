"""Reminders and breaches: fired when due, exactly once, even by two replicas."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date

from sqlalchemy import func, select

from complaints_deadlines.models import Timer
from complaints_deadlines.service import create
from complaints_shared.calendar import WorkingDayCalendar, today_in_england
from complaints_shared.settings import Settings
from complaints_shared.testing.events import case_received
from complaints_shared.testing.harness import eventually, running


async def _at_least(pending, n: int):
    found = await pending
    return found if len(found) >= n else None


async def test_a_reminder_before_the_due_day_and_a_breach_after_it(settings: Settings) -> None:
    settings = settings.model_copy(update={"timer_poll_seconds": 0.05})
    calendar = WorkingDayCalendar()
    # Received two working days ago: the acknowledgement is due on the next working day
    # (or the one after, at a weekend), so its reminder (2 working days before) is
    # already due and its breach is not.
    today = today_in_england()
    soon = case_received(settings, received_on=calendar.subtract(today, 2))
    ack_due = calendar.add(calendar.subtract(today, 2), 3)
    late = case_received(settings, received_on=date(2026, 1, 5))
    async with running(settings, create(settings)) as suite:
        await suite.publish(soon)
        await suite.publish(late)
        org = settings.organisation

        async def reminders_for_soon() -> list:
            found = await suite.events(f"complaints.{org}.adults.deadline.reminder.v1")
            return [e for e in found if e.case_id == soon.case_id]

        mine = await eventually(reminders_for_soon)
        breaches = await eventually(
            lambda: _at_least(suite.events(f"complaints.{org}.adults.deadline.breached.v1"), 3)
        )
        assert [e.payload["kind"] for e in mine] == ["acknowledgement"]
        assert mine[0].payload["working_days_left"] == calendar.between(today, ack_due)
        assert mine[0].payload["working_days_left"] in (1, 2)
        assert {e.case_id for e in breaches} == {late.case_id}
        assert sorted(e.payload["kind"] for e in breaches) == [
            "acknowledgement",
            "response",
            "statutory_limit",
        ]
        found = await suite.http.get("/api/v1/deadlines", params={"case_id": str(late.case_id)})
        assert all(d["breached"] for d in found.json())

        due = await suite.http.get(
            "/api/v1/deadlines/due", params={"directorate": "adults", "within_days": 2}
        )
        listed = {(d["case_id"], d["kind"]) for d in due.json()}
        assert (str(late.case_id), "response") in listed  # overdue
        assert (str(soon.case_id), "acknowledgement") in listed  # due within 2 days


async def test_imported_history_fires_nothing(settings: Settings) -> None:
    settings = settings.model_copy(update={"timer_poll_seconds": 0.05})
    async with running(settings, create(settings)) as suite:
        old = case_received(settings, received_on=date(2019, 6, 3), imported=True)
        marker = case_received(settings, received_on=date(2026, 1, 5))
        await suite.publish(old)
        await suite.publish(marker)
        subject = f"complaints.{settings.organisation}.adults.deadline.breached.v1"
        breaches = await eventually(lambda: _at_least(suite.events(subject), 3))
        await asyncio.sleep(0.3)
        assert {e.case_id for e in await suite.events(subject)} == {marker.case_id}
        assert len(breaches) == 3


async def test_two_replicas_fire_each_timer_once(
    settings: Settings, postgres_database: str
) -> None:
    settings = settings.model_copy(
        update={"database_url": postgres_database, "timer_poll_seconds": 0.01}
    )
    first, second = create(settings), create(settings)
    cases = 40
    async with running(settings, first) as suite, running(settings, second):
        for n in range(cases):
            await suite.publish(
                case_received(settings, received_on=date(2026, 1, 5), reference=f"ASC-2026-{n:05d}")
            )
        org = settings.organisation
        kinds = ("reminder", "breached")

        async def fired() -> dict[str, list] | None:
            found = {
                k: await suite.events(f"complaints.{org}.adults.deadline.{k}.v1") for k in kinds
            }
            return found if all(len(found[k]) >= 3 * cases for k in kinds) else None

        await eventually(fired, timeout=60)
        await asyncio.sleep(0.5)  # time for any duplicate to appear
        for kind in kinds:
            events = await suite.events(f"complaints.{org}.adults.deadline.{kind}.v1")
            per_deadline = Counter(e.payload["deadline_id"] for e in events)
            assert len(per_deadline) == 3 * cases
            assert set(per_deadline.values()) == {1}, f"{kind} fired twice"
        async with first.db.transaction() as session:
            pending = await session.scalar(
                select(func.count()).select_from(Timer).where(Timer.fired_at.is_(None))
            )
        assert pending == 0
