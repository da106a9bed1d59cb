"""Following up learning actions: the engine's timers, on real NATS and both databases.

The follow-up timers are fired here with ``fire_due`` and a ``now`` the test chooses
(the service's own timer loop polls once an hour in these tests, so it fires nothing
after start-up), except for two replicas racing with their own loops on PostgreSQL.
Times are UTC; in August and September England is on BST (UTC+1), so the start of a
day there is 23:00 UTC the day before.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from complaints_deadlines.calendar_store import CalendarStore
from complaints_deadlines.models import Deadline, DeadlineChange, FollowUp, Timer
from complaints_deadlines.service import create
from complaints_deadlines.timers import fire_due
from complaints_shared.calendar import WorkingDayCalendar, today_in_england
from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.vocabulary import LearningChange, LearningStatus
from complaints_shared.service import Service
from complaints_shared.settings import Settings
from complaints_shared.testing.events import action_changed as shared_action_changed
from complaints_shared.testing.harness import Running, eventually, running

# Fri 28 Aug 2026; Mon 31 Aug is the summer bank holiday.
DUE = date(2026, 8, 28)
START_OF_WED_26_AUG = datetime(2026, 8, 25, 23, tzinfo=UTC)  # 2 working days before
END_OF_FRI_28_AUG = datetime(2026, 8, 28, 23, tzinfo=UTC)
# 3 working days overdue: Tue 1 (1), Wed 2 (2), Thu 3 Sep (3); Mon 31 Aug not counted.
END_OF_THU_3_SEP = datetime(2026, 9, 3, 23, tzinfo=UTC)


def quiet_timers(settings: Settings) -> Settings:
    """The service's own loop fires once at start-up (nothing is due then), then waits."""
    return settings.model_copy(update={"timer_poll_seconds": 3600})


def action_changed(
    settings: Settings, action_id: uuid.UUID, revision: int, **fields: Any
) -> Envelope:
    """The shared builder with this file's timings: due on ``DUE``, reminded 2 working
    days before, escalated 3 after."""
    fields.setdefault("due_on", DUE)
    return shared_action_changed(
        settings,
        action_id,
        revision,
        fields.pop("change", LearningChange.RECORDED),
        reminder=fields.pop("reminder", 2),
        escalation=fields.pop("escalation", 3),
        **fields,
    )


async def applied(service: Service, action_id: uuid.UUID, revision: int) -> None:
    """Wait until ``revision`` of the action is the one this service follows."""

    async def probe() -> bool:
        async with service.db.read() as session:
            record = await session.get(FollowUp, action_id)
            return record is not None and record.revision == revision

    await eventually(probe)


async def pending(service: Service, action_id: uuid.UUID) -> dict[str, datetime]:
    """The action's timers not yet fired, by step (never two of one step)."""
    async with service.db.read() as session:
        rows = await session.execute(
            select(Timer.kind, Timer.fire_at)
            .join(Deadline, Deadline.id == Timer.deadline_id)
            .where(Deadline.case_id == action_id, Timer.fired_at.is_(None))
        )
        found = [tuple(row) for row in rows]
    assert len(found) == len(dict(found)), found
    return dict(found)


async def fire(service: Service, now: datetime) -> None:
    """One round of the engine's timer firing, as the service's loop runs it, at ``now``."""
    async with service.db.transaction() as session:
        await fire_due(service, CalendarStore(), session, now)


async def follow_ups(suite: Running, settings: Settings, expected: int) -> list[Envelope]:
    """The ``deadline.follow_up`` events published, once there are ``expected`` of them."""
    subject = f"complaints.{settings.organisation}.adults.deadline.follow_up.v1"

    async def probe() -> list[Envelope] | None:
        found = await suite.events(subject)
        return found if len(found) >= expected else None

    found = await eventually(probe)
    await eventually(suite.quiet)
    assert len(await suite.events(subject)) == expected, "a follow-up fired more than once"
    return found


async def deadline_subjects(suite: Running, settings: Settings) -> set[str]:
    """The types of every event on the deadlines stream for this test's organisation."""
    messages = await suite.messages("COMPLAINTS_DEADLINES", f"complaints.{settings.organisation}.>")
    return {".".join(m.subject.split(".")[3:5]) for m in messages}


def steps(events: list[Envelope]) -> list[tuple[str, str, str, int]]:
    return [
        (
            e.payload["step"],
            e.payload["due_on"],
            e.payload["fired_on"],
            e.payload["working_days"],
        )
        for e in events
    ]


async def test_three_timers_on_the_working_day_calendar_fire_at_their_moments(
    settings: Settings,
) -> None:
    settings = quiet_timers(settings)
    service = create(settings)
    action = uuid.uuid4()
    async with running(settings, service) as suite:
        await suite.publish(action_changed(settings, action, 1))
        await applied(service, action, 1)
        assert await pending(service, action) == {
            "reminder": START_OF_WED_26_AUG,
            "overdue": END_OF_FRI_28_AUG,
            "escalation": END_OF_THU_3_SEP,
        }
        for moment in (START_OF_WED_26_AUG, END_OF_FRI_28_AUG, END_OF_THU_3_SEP):
            await fire(service, moment - timedelta(seconds=1))  # not yet
            await fire(service, moment)
        events = await follow_ups(suite, settings, 3)
        assert steps(events) == [
            ("reminder", "2026-08-28", "2026-08-26", 2),  # Thu 27, Fri 28 left
            ("overdue", "2026-08-28", "2026-08-29", 0),
            ("escalation", "2026-08-28", "2026-09-04", 3),
        ]
        assert {e.case_id for e in events} == {None}
        assert {(e.organisation, e.directorate) for e in events} == {
            (settings.organisation, "adults")
        }
        assert {e.payload["subject_id"] for e in events} == {str(action)}
        assert {e.payload["kind"] for e in events} == {"learning_action"}
        assert len({e.payload["deadline_id"] for e in events}) == 1
        assert await pending(service, action) == {}
        # An action is never a case: nothing but follow-ups on the deadlines stream.
        assert await deadline_subjects(suite, settings) == {"deadline.follow_up"}


async def test_done_or_cancelled_stops_the_follow_up_and_reopening_resumes_it(
    settings: Settings,
) -> None:
    settings = quiet_timers(settings)
    service = create(settings)
    done, cancelled = uuid.uuid4(), uuid.uuid4()
    async with running(settings, service) as suite:
        await suite.publish(action_changed(settings, done, 1))
        await suite.publish(action_changed(settings, cancelled, 1))
        await applied(service, done, 1)
        await applied(service, cancelled, 1)
        await fire(service, START_OF_WED_26_AUG)  # both are reminded
        await suite.publish(
            action_changed(
                settings, done, 2, status=LearningStatus.DONE, change=LearningChange.COMPLETED
            )
        )
        await suite.publish(
            action_changed(
                settings,
                cancelled,
                2,
                status=LearningStatus.CANCELLED,
                change=LearningChange.CANCELLED,
            )
        )
        await applied(service, done, 2)
        await applied(service, cancelled, 2)
        assert await pending(service, done) == await pending(service, cancelled) == {}
        await fire(service, datetime(2026, 9, 10, tzinfo=UTC))  # past every moment
        assert len(await follow_ups(suite, settings, 2)) == 2  # the two reminders only

        # Reopened with the same due date: the reminder is not said again.
        await suite.publish(
            action_changed(
                settings,
                done,
                3,
                status=LearningStatus.IN_PROGRESS,
                change=LearningChange.REOPENED,
            )
        )
        await applied(service, done, 3)
        assert await pending(service, done) == {
            "overdue": END_OF_FRI_28_AUG,
            "escalation": END_OF_THU_3_SEP,
        }
        await fire(service, datetime(2026, 9, 10, tzinfo=UTC))
        events = await follow_ups(suite, settings, 4)
        mine = [e for e in events if e.payload["subject_id"] == str(done)]
        # Fired late, in the first hour of Thu 10 Sep: the whole working days overdue
        # are Tue 1 to Fri 4 and Mon 7 to Wed 9 Sep (Mon 31 Aug is the bank holiday).
        assert steps(mine) == [
            ("reminder", "2026-08-28", "2026-08-26", 2),
            ("overdue", "2026-08-28", "2026-09-10", 7),
            ("escalation", "2026-08-28", "2026-09-10", 7),
        ]
        assert await deadline_subjects(suite, settings) == {"deadline.follow_up"}


async def test_an_older_or_repeated_revision_changes_nothing(settings: Settings) -> None:
    settings = quiet_timers(settings)
    service = create(settings)
    action = uuid.uuid4()
    newer = action_changed(
        settings,
        action,
        2,
        due_on=date(2026, 9, 4),
        status=LearningStatus.IN_PROGRESS,
        change=LearningChange.PROGRESSED,
    )
    async with running(settings, service) as suite:
        await suite.publish(newer)
        await applied(service, action, 2)
        await suite.publish(action_changed(settings, action, 1))  # recorded, arriving late
        # The same revision again under another event id (republished by learning).
        await suite.publish(action_changed(settings, action, 2, due_on=date(2026, 9, 11)))
        await suite.publish(newer, msg_id="redelivered")
        await eventually(suite.quiet)
        async with service.db.read() as session:
            deadline = await session.scalar(select(Deadline).where(Deadline.case_id == action))
            changes = await session.scalars(select(DeadlineChange))
            assert deadline.due_on == date(2026, 9, 4)
            assert list(changes) == []
        # Fri 4 Sep: 2 working days before is Wed 2; 3 after: Mon 7, Tue 8, Wed 9.
        assert await pending(service, action) == {
            "reminder": datetime(2026, 9, 1, 23, tzinfo=UTC),
            "overdue": datetime(2026, 9, 4, 23, tzinfo=UTC),
            "escalation": datetime(2026, 9, 9, 23, tzinfo=UTC),
        }


async def test_moving_the_due_date_gives_new_timers(settings: Settings) -> None:
    settings = quiet_timers(settings)
    service = create(settings)
    action = uuid.uuid4()
    async with running(settings, service) as suite:
        await suite.publish(action_changed(settings, action, 1))
        await applied(service, action, 1)
        await fire(service, START_OF_WED_26_AUG)
        await fire(service, END_OF_FRI_28_AUG)
        await follow_ups(suite, settings, 2)
        # Put back to Fri 4 Sep, reminding 5 working days before: Thu 3, Wed 2, Tue 1,
        # Fri 28, Thu 27 Aug (the bank holiday on Mon 31 Aug is not counted).
        await suite.publish(
            action_changed(
                settings,
                action,
                2,
                due_on=date(2026, 9, 4),
                change=LearningChange.UPDATED,
                reminder=5,
            )
        )
        await applied(service, action, 2)
        assert await pending(service, action) == {
            "reminder": datetime(2026, 8, 26, 23, tzinfo=UTC),
            "overdue": datetime(2026, 9, 4, 23, tzinfo=UTC),
            "escalation": datetime(2026, 9, 9, 23, tzinfo=UTC),
        }
        # Its reminder moment has passed but not the due date: it fires at once.
        await fire(service, datetime(2026, 8, 29, 11, tzinfo=UTC))
        await fire(service, datetime(2026, 9, 9, 23, tzinfo=UTC))
        events = await follow_ups(suite, settings, 5)
        assert steps(events) == [
            ("reminder", "2026-08-28", "2026-08-26", 2),
            ("overdue", "2026-08-28", "2026-08-29", 0),
            ("reminder", "2026-09-04", "2026-08-29", 4),  # Tue 1 to Fri 4
            ("overdue", "2026-09-04", "2026-09-10", 3),
            ("escalation", "2026-09-04", "2026-09-10", 3),
        ]
        async with service.db.read() as session:
            moves = list(
                await session.execute(select(DeadlineChange.old_due_on, DeadlineChange.new_due_on))
            )
        assert [tuple(m) for m in moves] == [(DUE, date(2026, 9, 4))]


async def test_a_reminder_after_the_due_day_says_nothing(settings: Settings) -> None:
    settings = quiet_timers(settings)
    service = create(settings)
    action = uuid.uuid4()
    async with running(settings, service) as suite:
        await suite.publish(action_changed(settings, action, 1))
        await applied(service, action, 1)
        await fire(service, END_OF_FRI_28_AUG)  # the service was down since before the 26th
        events = await follow_ups(suite, settings, 1)
        assert steps(events) == [("overdue", "2026-08-28", "2026-08-29", 0)]
        assert await pending(service, action) == {"escalation": END_OF_THU_3_SEP}


async def test_a_calendar_change_moves_follow_up_timers_silently(settings: Settings) -> None:
    settings = quiet_timers(settings)
    service = create(settings)
    action = uuid.uuid4()
    async with running(settings, service) as suite:
        await suite.publish(action_changed(settings, action, 1))
        await applied(service, action, 1)
        # Closed on Wed 26 Aug and Wed 2 Sep: the reminder is at the start of Tue 25 Aug
        # (2 working days before Fri 28 are Thu 27, Tue 25), the escalation at the end
        # of Fri 4 Sep (Tue 1, Thu 3, Fri 4); the due date stays learning's.
        for day in ("2026-08-26", "2026-09-02"):
            answer = await suite.http.put(
                f"/api/v1/calendar/closures/{day}", json={"reason": "Office move"}
            )
            assert answer.json()["deadlines_moved"] == 0
        start_of_tue_25_aug = datetime(2026, 8, 24, 23, tzinfo=UTC)
        assert await pending(service, action) == {
            "reminder": start_of_tue_25_aug,
            "overdue": END_OF_FRI_28_AUG,
            "escalation": datetime(2026, 9, 4, 23, tzinfo=UTC),
        }
        await fire(service, start_of_tue_25_aug)
        events = await follow_ups(suite, settings, 1)
        assert steps(events) == [("reminder", "2026-08-28", "2026-08-25", 2)]
        assert (await suite.http.delete("/api/v1/calendar/closures/2026-09-02")).status_code == 200
        assert await pending(service, action) == {
            "overdue": END_OF_FRI_28_AUG,
            "escalation": END_OF_THU_3_SEP,
        }
        async with service.db.read() as session:
            deadline = await session.scalar(select(Deadline).where(Deadline.case_id == action))
        assert deadline.due_on == DUE
        await eventually(suite.quiet)
        assert await deadline_subjects(suite, settings) == {
            "deadline.follow_up",
            "calendar.changed",
        }


async def test_two_replicas_fire_each_follow_up_once(
    settings: Settings, postgres_database: str
) -> None:
    settings = settings.model_copy(
        update={"database_url": postgres_database, "timer_poll_seconds": 0.01}
    )
    calendar = WorkingDayCalendar()
    today = today_in_england()
    # 10 working days overdue (overdue and escalation fire, the reminder is spent
    # silently), and due in 3 working days (its reminder, 5 before, fires at once).
    late = [uuid.uuid4() for _ in range(20)]
    soon = [uuid.uuid4() for _ in range(20)]
    first, second = create(settings), create(settings)
    async with running(settings, first) as suite, running(settings, second):
        for action in late:
            await suite.publish(
                action_changed(settings, action, 1, due_on=calendar.subtract(today, 10), reminder=5)
            )
        for action in soon:
            await suite.publish(
                action_changed(settings, action, 1, due_on=calendar.add(today, 3), reminder=5)
            )
        events = await follow_ups(suite, settings, 2 * len(late) + len(soon))
        await asyncio.sleep(0.5)  # time for any duplicate to appear
        assert len(await suite.events(events[0].subject)) == len(events)
        fired = Counter((e.payload["subject_id"], e.payload["step"]) for e in events)
        assert set(fired.values()) == {1}
        assert set(fired) == {
            *((str(a), step) for a in late for step in ("overdue", "escalation")),
            *((str(a), "reminder") for a in soon),
        }
        assert await deadline_subjects(suite, settings) == {"deadline.follow_up"}
