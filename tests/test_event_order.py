"""Every service ends in the same state whether a case's events arrive in order or reversed.

The whole suite first produces real histories over HTTP (an adults complaint through
extension, clock stop and response to closure; a children's complaint through Stage 2;
a withdrawn one). Then each consuming service is started twice, fresh, and given every
event of the streams it reads: once in the order they were produced, once in exactly
the reverse order. What each instance recorded must be the same,
and the reversed instance must have held events to get there (order restored by the
platform, not by luck). Across streams (``letter.issued`` against ``case.*``) the
handlers reconcile, and the state must still converge. See docs/architecture.md, "Events in any order".
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import make_url, select

from complaints_shared.calendar import WorkingDayCalendar, today_in_england
from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.subjects import CASES, DEADLINES, LETTERS, stream_for
from complaints_shared.plugins import service_factories
from complaints_shared.service import Service
from complaints_shared.settings import Settings
from complaints_shared.testing.fixtures import _admin
from complaints_shared.testing.harness import Running, eventually, running

PLATFORM_TABLES = {"outbox", "outbox_sequences", "processed_events", "event_cursors", "held_events"}
CONSUMERS = ("intake", "deadlines", "letters", "learning", "reporting")


def _working_days_ago(days: int) -> date:
    calendar, day = WorkingDayCalendar(), today_in_england()
    while calendar.between(day, today_in_england()) < days:
        day -= timedelta(days=1)
    return day


async def _post(suite: Running, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await suite.http.post(path, json=body)
    assert answer.status_code in (200, 201), (path, answer.text)
    return answer.json()


async def _histories(suite: Running) -> None:
    """Three cases through the lifecycle, as officers would record them."""
    start = _working_days_ago(6)
    day = [str(start + timedelta(days=n)) for n in range(10)]
    complainant = {"name": "Ann Example", "email": "ann@example.org"}
    adults = await _post(
        suite,
        "/api/v1/complaints",
        {
            "directorate": "adults",
            "received_on": day[0],
            "channel": "email",
            "complainant": complainant,
            "summary": "Late visits",
        },
    )
    base = f"/api/v1/complaints/{adults['id']}"
    await _post(suite, f"{base}/triage", {"decision": "accepted", "decided_on": day[0]})
    await _post(suite, f"{base}/allocate", {"officer": "O. Fficer", "allocated_on": day[0]})
    await _post(
        suite,
        f"{base}/extension",
        {"step": "response", "working_days": 30, "reason": "records", "agreed_on": day[1]},
    )
    await _post(suite, f"{base}/clock-stop", {"stopped_on": day[1], "reason": "awaiting_consent"})
    await _post(suite, f"{base}/clock-restart", {"restarted_on": day[2]})
    await _post(
        suite,
        f"{base}/response",
        {
            "outcome": "partially_upheld",
            "responded_on": day[3],
            "learning_actions": [
                {"description": "Rota checks", "owner": "Home care manager", "due_on": day[9]}
            ],
        },
    )
    await _post(suite, f"{base}/closure", {"closed_on": day[4]})

    childrens = await _post(
        suite,
        "/api/v1/complaints",
        {
            "directorate": "childrens",
            "received_on": day[0],
            "channel": "telephone",
            "complainant": complainant,
            "summary": "Missed contact",
        },
    )
    base = f"/api/v1/complaints/{childrens['id']}"
    await _post(suite, f"{base}/triage", {"decision": "accepted", "decided_on": day[0]})
    await _post(suite, f"{base}/response", {"outcome": "not_upheld", "responded_on": day[2]})
    await _post(suite, f"{base}/escalation", {"requested_on": day[3]})
    await _post(suite, f"{base}/response", {"outcome": "upheld", "responded_on": day[4]})

    withdrawn = await _post(
        suite,
        "/api/v1/complaints",
        {
            "directorate": "adults",
            "received_on": day[1],
            "channel": "letter",
            "complainant": complainant,
            "summary": "Changed my mind",
        },
    )
    await _post(suite, f"/api/v1/complaints/{withdrawn['id']}/withdrawal", {"withdrawn_on": day[2]})


async def _quiet(suite: Running, services: list[Service]) -> bool:
    """Every consumer has acknowledged everything, holds nothing, and outboxes are sent."""
    for service in services:
        for consumer in service.consumers.values():
            info = await suite.js.consumer_info(consumer.stream.name, consumer.name)
            if info.num_pending or info.num_ack_pending:
                return False
        async with service.db.read() as session:
            if await service.inbox.waiting(session):
                return False
            outbox = service.outbox.table
            unsent = await session.scalar(
                select(outbox.c.seq).where(outbox.c.published_at.is_(None)).limit(1)
            )
            if unsent is not None:
                return False
    return True


async def _produced(suite: Running, organisation: str) -> list[Envelope]:
    """Every event of ``organisation``, in the order it was produced."""
    found: list[tuple[datetime, int, Envelope]] = []
    for stream in (CASES, DEADLINES, LETTERS):
        for message in await suite.messages(stream.name, f"complaints.{organisation}.>"):
            envelope = Envelope.from_wire(message.data)
            found.append((envelope.occurred_at, message.metadata.sequence.stream, envelope))
    return [envelope for _, _, envelope in sorted(found, key=lambda t: (t[0], t[1]))]


def _normalise(value: Any, known: set[str], organisation: str) -> Any:
    """What may differ between two runs: generated ids, wall-clock times, the organisation."""
    if isinstance(value, dict):
        return {
            k: _normalise(v, known, organisation)
            for k, v in value.items()
            if not isinstance(v, datetime)
        }
    if isinstance(value, list | tuple):
        return [_normalise(v, known, organisation) for v in value]
    if isinstance(value, uuid.UUID):
        value = str(value)
    if isinstance(value, str):
        try:
            uuid.UUID(value)
        except ValueError:
            return value.replace(organisation, "<org>")
        return value if value in known else "<generated>"
    return value


async def _state(service: Service, known: set[str], organisation: str) -> dict[str, list[str]]:
    """The service's own tables, normalised and sorted.

    What it published is not compared: events about one case on two streams have no
    order between them, so the same facts can be announced in another order (an
    acknowledgement met before or after a withdrawal cancels the rest). The state
    they lead to must be the same.
    """
    state: dict[str, list[str]] = {}
    async with service.db.read() as session:
        for name, table in service.db.metadata.tables.items():
            if name in PLATFORM_TABLES:
                continue
            # A counter key numbers rows in the order they were written, which may differ.
            counter = table.autoincrement_column
            rows = (await session.execute(select(table))).mappings().all()
            state[name] = sorted(
                repr(_normalise(_without(dict(row), counter), known, organisation)) for row in rows
            )
    return state


def _without(row: dict[str, Any], column: Any) -> dict[str, Any]:
    return {k: v for k, v in row.items() if column is None or k != column.key}


@asynccontextmanager
async def _fresh_database(settings: Settings, tmp_path: Path, label: str) -> AsyncIterator[str]:
    """A database URL template of its own, on the same backend as ``settings``."""
    url = settings.database_url or ""
    if url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / label}/{{service}}.db"
        return
    admin = make_url(url).set(drivername="postgresql", database="postgres")
    admin_url = admin.render_as_string(hide_password=False)
    name = f"complaints_order_{uuid.uuid4().hex[:12]}"
    await _admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _replayed(
    settings: Settings, tmp_path: Path, name: str, events: list[Envelope], reverse: bool
) -> tuple[dict[str, list[str]], int]:
    """A fresh ``name`` fed ``events`` (reversed if asked); its state and the most it held."""
    organisation = f"o{uuid.uuid4().hex[:10]}"
    label = f"{name}-{'reverse' if reverse else 'in-order'}"
    async with _fresh_database(settings, tmp_path, label) as database_url:
        mine = settings.model_copy(
            update={"organisation": organisation, "database_url": database_url}
        )
        service = service_factories([name])[name](mine)
        streams = {consumer.stream.name for consumer in service.consumers.values()}
        feed = [
            e.model_copy(update={"organisation": organisation})
            for e in events
            if stream_for(e.type).name in streams
        ]
        held = 0
        # Each replay has its own message ids: the stream's duplicate window would drop a
        # second publish of the same event ids within two minutes.
        async with running(mine, service) as suite:
            if reverse:
                feed.reverse()
                # Everything but each case's first event: all of it must wait.
                later = [e for e in feed if e.sequence != 1]
                for envelope in later:
                    await suite.publish(envelope, f"{organisation}:{envelope.id}")
                held = await eventually(lambda: _held(service, len(later)))
                for envelope in feed:
                    if envelope.sequence == 1:
                        await suite.publish(envelope, f"{organisation}:{envelope.id}")
            else:
                for envelope in feed:
                    await suite.publish(envelope, f"{organisation}:{envelope.id}")
            await eventually(lambda: _quiet(suite, [service]), timeout=30)
            known = {str(e.id) for e in events} | {str(e.case_id) for e in events}
            known |= _uuids_in([e.payload for e in events])
            return await _state(service, known, organisation), held


async def _held(service: Service, expected: int) -> int | None:
    async with service.db.read() as session:
        held = await service.inbox.waiting(session)
    return held if held >= expected else None


def _uuids_in(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(_uuids_in(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_uuids_in(v) for v in value)) if value else set()
    if isinstance(value, str):
        try:
            uuid.UUID(value)
        except ValueError:
            return set()
        return {value}
    return set()


async def test_each_service_ends_the_same_with_events_reversed(
    settings: Settings, tmp_path: Path
) -> None:
    services = [create(settings) for create in service_factories().values()]
    async with running(settings, *services) as suite:
        await _histories(suite)
        await eventually(lambda: _quiet(suite, services), timeout=30)
        events = await _produced(suite, settings.organisation)
    assert {e.type for e in events} >= {
        "case.received",
        "case.escalated",
        "case.clock_stopped",
        "deadline.scheduled",
        "deadline.met",
        "letter.issued",
    }

    for name in CONSUMERS:
        in_order, _ = await _replayed(settings, tmp_path, name, events, reverse=False)
        reversed_, held = await _replayed(settings, tmp_path, name, events, reverse=True)
        assert held > 0, f"{name} held nothing: the test did not reverse anything"
        assert any(in_order.values()), f"{name} recorded nothing: the comparison is empty"
        assert reversed_ == in_order, f"{name} ends differently when events come reversed"
