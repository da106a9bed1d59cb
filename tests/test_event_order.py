"""Each service ends the same whether a case's events reach it in order or reversed.

Issue 7: consumers are order tolerant by design, and no handler waits on a retry for
another event. This checks it on histories the suite really produces:

1. All five services, driven over HTTP, make six cases: an adults complaint through
   allocation, extension, clock stop and restart, response with a learning action and
   closure; a children's complaint through Stage 1, escalation and Stage 2; a corporate
   complaint escalated to Stage 2 (its acknowledgement letters date its responses);
   one withdrawn and reopened; one whose clock a safeguarding referral stopped before
   triage; one left open. Every event of the organisation is read back from the
   streams.
2. Each consuming service is started again, fresh and alone, in copies that each have
   an organisation and a database of their own, and given every event of the streams
   it reads: one copy in the order they were produced, another in exactly the reverse
   order. The reversed copy first gets everything except each case's first event on
   each stream, and must hold all of it and record nothing (order is restored by
   holding, not by luck); then the first events.
3. Both must have recorded the same rows and published the same events, once what
   legitimately differs between two runs (ids they generated, wall-clock times, the
   organisation) is named rather than compared.

Within a stream the platform restores each case's order (``complaints_shared.consumer``).
Across streams there is no order to restore: a service reads each stream with its own
consumer, side by side, and handlers that hear of one case on two streams reconcile
(deadlines keeps an acknowledgement letter that comes before its case, meets a
cancelled deadline and stops the clock of a step met after the stop; letters waits for
both halves of the acknowledgement). So each copy applies the events its service
handles in exactly the order given, across streams too (:func:`_publish_in_turn`), and
a service that reads two streams gets two more copies, given one whole stream after
the other in each order: the acknowledgement letter after everything that happened to
its case, or before its case began. Those must end with the same rows as the in-order
copy; what they published is not compared, since hearing of a step late is announced
differently (an acknowledgement deadline cancelled by the closure, then met).
"""

from __future__ import annotations

import asyncio
import difflib
import re
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import permutations
from typing import Any

from sqlalchemy import Column, DateTime, TypeDecorator, func, select

from complaints_shared.calendar import WorkingDayCalendar, today_in_england
from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.subjects import DEAD_LETTERS, STREAMS, stream_for
from complaints_shared.plugins import service_factories
from complaints_shared.service import Service
from complaints_shared.settings import Settings
from complaints_shared.testing.harness import Running, eventually, running

SERVICES = ("intake", "deadlines", "letters", "learning", "reporting")
PLATFORM_TABLES = {"outbox", "outbox_sequences", "processed_events", "event_cursors", "held_events"}
# What each service must have recorded from these histories for the comparison to mean much.
MUST_RECORD = {
    "intake": ["case_deadlines"],
    "deadlines": ["deadlines", "deadline_changes", "timers", "case_officers", "published"],
    "letters": ["case_facts", "letters"],  # paused: it publishes when it sends
    "learning": ["learning_actions"],
    "reporting": ["case_facts"],
}


@dataclass(frozen=True)
class Produced:
    """An event as the suite produced it: its stream, its place there, the event."""

    stream: str
    position: int
    envelope: Envelope


@dataclass
class Copy:
    """What one copy of a service recorded and published, read from its database."""

    organisation: str
    tables: dict[str, list[dict[str, Any]]]
    published: list[dict[str, Any]]


IN_ORDER, REVERSED = "in order", "reversed"
COPIES_AT_ONCE = 16
"""Copies replayed side by side (each holds a few database connections per stream it reads)."""
Order = str | tuple[str, ...]  # IN_ORDER, REVERSED, or whole streams one after another


async def test_every_service_ends_the_same_with_a_cases_events_reversed(
    settings: Settings, spare_database_url: Callable[[str], Awaitable[str]]
) -> None:
    # Reminders one working day ahead, so that the histories' dates leave no timer due.
    settings = settings.model_copy(update={"reminder_days": 1})
    history = await _histories(settings)

    copies = [(name, order) for name in SERVICES for order in _orders(settings, name)]
    # Two copies of one service cannot share a database; copies of different ones can.
    urls = {order: await spare_database_url(_label(order)) for order in {o for _, o in copies}}
    # Side by side, each in its own organisation: much faster than one after another;
    # a few at a time, so that their connections stay within PostgreSQL's 100.
    at_once = asyncio.Semaphore(COPIES_AT_ONCE)

    async def replay(name: str, order: Order) -> Copy:
        async with at_once:
            return await _replay(settings, urls[order], name, history, order)

    results = await asyncio.gather(
        *(replay(name, order) for name, order in copies), return_exceptions=True
    )
    replayed: dict[tuple[str, Order], Copy] = {}
    problems = []
    for (name, order), result in zip(copies, results, strict=True):
        if isinstance(result, AssertionError):
            problems.append(f"{name} ({_label(order)}): {result}")
        elif isinstance(result, BaseException):
            raise result
        else:
            replayed[(name, order)] = result

    given = {found for produced in history for found in _uuids(produced.envelope.model_dump())}
    for name, order in copies:
        if order != IN_ORDER and (name, order) in replayed and (name, IN_ORDER) in replayed:
            in_order, other = replayed[(name, IN_ORDER)], replayed[(name, order)]
            expected = Canonical(given, in_order.organisation)(in_order)
            empty = [table for table in MUST_RECORD[name] if not expected[table]]
            assert not empty, f"{name} recorded no {empty} from these histories"
            found = Canonical(given, other.organisation)(other)
            if order != REVERSED:  # what it announced may differ: see the module's docstring
                del expected["published"], found["published"]
            if found != expected:
                problems.append(
                    f"{name} ends differently {_label(order)}:\n{_diff(expected, found, order)}"
                )
    assert not problems, "\n\n".join(problems)


def _orders(settings: Settings, name: str) -> list[Order]:
    """In order and reversed; for a service that reads several streams, each whole in turn
    too: every order of two or three streams; for more (reporting reads four), each
    rotation, so each stream comes first once and last once without 24 copies."""
    service = service_factories([name])[name](
        settings.model_copy(update={"database_url": "sqlite+aiosqlite://"})  # never opened
    )
    streams = sorted(consumer.stream.name for consumer in service.consumers.values())
    if len(streams) < 2:
        return [IN_ORDER, REVERSED]
    if len(streams) <= 3:
        return [IN_ORDER, REVERSED, *permutations(streams)]
    return [IN_ORDER, REVERSED, *((*streams[i:], *streams[:i]) for i in range(len(streams)))]


# -- 1. real histories ---------------------------------------------------------------


async def _histories(settings: Settings) -> list[Produced]:
    """Run the whole suite through four cases; every event it produced, in order."""
    services = {
        name: create(settings) for name, create in service_factories(list(SERVICES)).items()
    }
    async with running(settings, *services.values()) as suite:
        await _make_histories(suite)
        await eventually(suite.quiet, timeout=20)
        history = await _produced(suite)
        fired, next_timer = await _timers(services["deadlines"])
    types = {produced.envelope.type for produced in history}
    assert types >= {
        "case.received",
        "case.triaged",
        "case.allocated",
        "case.extended",
        "case.clock_stopped",
        "case.clock_restarted",
        "case.responded",
        "case.escalated",
        "case.closed",
        "case.withdrawn",
        "case.reopened",
        "case.safeguarding_referred",
        "deadline.scheduled",
        "deadline.rescheduled",
        "deadline.paused",
        "deadline.resumed",
        "deadline.met",
        "deadline.cancelled",
        "letter.issued",
    }, types
    # No timer fired, nor will while the copies run: deadlines' events follow from the
    # case's events alone, the same for every copy.
    assert fired == 0 and not types & {"deadline.reminder", "deadline.breached"}
    assert next_timer is None or next_timer > datetime.now(UTC) + timedelta(minutes=10)
    return history


def _dates() -> tuple[date, date]:
    """The previous working day and today.

    With reminders one working day ahead, a complaint received on the previous
    working day has nothing due yet: its acknowledgement reminder is tomorrow's.
    """
    today = today_in_england()
    return WorkingDayCalendar().subtract(today, 1), today


async def _complaint(suite: Running, directorate: str, received_on: date) -> str:
    """Log a complaint and let its acknowledgement go out before anything else happens.

    That gives each history one order across streams (the letter, and the deadline it
    meets, before the case's next step), which the in-order copies then follow.
    """
    answer = await suite.http.post(
        "/api/v1/complaints",
        json={
            "directorate": directorate,
            "received_on": str(received_on),
            "channel": "email",
            "complainant": {"name": "Ann Example", "email": "ann@example.org"},
            "summary": "The carer did not arrive on three mornings.",
        },
    )
    assert answer.status_code == 201, answer.text
    await eventually(suite.quiet)  # quiet: the acknowledgement sent, too
    return answer.json()["id"]


async def _act(suite: Running, case_id: str, action: str, **body: Any) -> None:
    body = {key: str(value) if isinstance(value, date) else value for key, value in body.items()}
    answer = await suite.http.post(f"/api/v1/complaints/{case_id}/{action}", json=body)
    assert answer.status_code == 200, (action, answer.text)


async def _make_histories(suite: Running) -> None:
    earlier, today = _dates()
    adults = await _complaint(suite, "adults", earlier)
    await _act(suite, adults, "triage", decision="accepted", decided_on=earlier)
    await _act(
        suite, adults, "allocate", officer="Olu Officer", team="Home care", allocated_on=earlier
    )
    await _act(
        suite, adults, "extension", working_days=30, reason="Provider records", agreed_on=earlier
    )
    await _act(suite, adults, "clock-stop", reason="awaiting_consent", stopped_on=earlier)
    await _act(suite, adults, "clock-restart", restarted_on=today)
    due_on = str(today + timedelta(days=60))
    action = {"description": "Rota checks", "owner": "Home care manager", "due_on": due_on}
    await _act(
        suite,
        adults,
        "response",
        outcome="partially_upheld",
        responded_on=today,
        learning_actions=[action],
    )
    await _act(suite, adults, "closure", closed_on=today)

    childrens = await _complaint(suite, "childrens", earlier)
    await _act(suite, childrens, "triage", decision="accepted", decided_on=earlier)
    await _act(suite, childrens, "response", outcome="not_upheld", responded_on=earlier)
    await _act(suite, childrens, "escalation", requested_on=today)
    await eventually(suite.quiet)  # its Stage 2 acknowledgement sent
    await _act(suite, childrens, "response", outcome="upheld", responded_on=today)

    corporate = await _complaint(suite, "corporate", earlier)
    await _act(suite, corporate, "triage", decision="accepted", decided_on=earlier)
    await _act(suite, corporate, "response", outcome="not_upheld", responded_on=earlier)
    await _act(suite, corporate, "escalation", requested_on=today)
    await eventually(suite.quiet)  # its Stage 2 acknowledgement sent

    withdrawn = await _complaint(suite, "adults", earlier)
    await _act(suite, withdrawn, "withdrawal", withdrawn_on=today, reason="Sorted out")
    await _act(suite, withdrawn, "reopening", reopened_on=today, reason="It happened again")

    referred = await _complaint(suite, "childrens", earlier)
    await _act(suite, referred, "safeguarding", route="lado", referred_on=earlier, pause=True)
    await _act(suite, referred, "triage", decision="accepted", decided_on=today)
    await _act(suite, referred, "clock-restart", restarted_on=today)

    still_open = await _complaint(suite, "adults", today)
    await _act(suite, still_open, "triage", decision="accepted", decided_on=today)
    await _act(suite, still_open, "allocate", officer="Olu Officer", allocated_on=today)


async def _produced(suite: Running) -> list[Produced]:
    """Every event of the suite's organisation, from every stream, in production order."""
    organisation = suite.host.settings.organisation
    found = [
        Produced(spec.name, message.metadata.sequence.stream, envelope)
        for spec in STREAMS
        if spec is not DEAD_LETTERS
        for message in await suite.messages(spec.name, f"complaints.{organisation}.>")
        # Events about no case (a learning action's snapshots, ordered by their revision)
        # have no per-case order to restore: this test is not about them.
        if (envelope := Envelope.from_wire(message.data)).case_id is not None
    ]
    await _nothing_parked(suite)
    return _in_production_order(found)


def _in_production_order(events: list[Produced]) -> list[Produced]:
    """By ``occurred_at``, then place in the stream; each case's series in number order.

    An event's time is taken when it is made and its number when its transaction
    commits, so two transactions about one case could disagree by a hair: each case's
    events on a stream keep the slots they take, in number order.
    """
    assert all(p.envelope.sequence for p in events), "every event here is about a case"
    ordered = sorted(events, key=lambda p: (p.envelope.occurred_at, p.position))
    series: dict[tuple[str, uuid.UUID | None], list[Produced]] = defaultdict(list)
    for produced in ordered:
        series[(produced.stream, produced.envelope.case_id)].append(produced)
    for key, found in series.items():
        numbers = sorted(p.envelope.sequence or 0 for p in found)
        assert numbers == list(range(1, len(found) + 1)), (key, numbers)  # no gaps, no repeats
    numbered = {
        key: iter(sorted(found, key=lambda p: p.envelope.sequence or 0))
        for key, found in series.items()
    }
    return [next(numbered[(p.stream, p.envelope.case_id)]) for p in ordered]


async def _timers(deadlines: Service) -> tuple[int, datetime | None]:
    """How many timers deadlines has fired, and when its next one fires."""
    timers = deadlines.db.metadata.tables["timers"]
    async with deadlines.db.read() as session:
        fired = await session.scalar(select(func.count()).where(timers.c.fired_at.is_not(None)))
        next_timer = await session.scalar(
            select(func.min(timers.c.fire_at)).where(timers.c.fired_at.is_(None))
        )
    return fired or 0, next_timer


async def _nothing_parked(suite: Running) -> None:
    organisation = suite.host.settings.organisation
    parked = await suite.messages(DEAD_LETTERS.name, f"dead_letter.complaints.{organisation}.>")
    assert not parked, "parked: " + "; ".join(
        f"{m.headers.get('Complaints-Original-Subject')}: {m.headers.get('Complaints-Error')}"
        for m in parked
    )


# -- 2. each service, in order and reversed ------------------------------------------


def _label(order: Order) -> str:
    if isinstance(order, str):
        return order
    return " then ".join(stream.removeprefix("COMPLAINTS_").lower() for stream in order)


async def _replay(
    settings: Settings, database_url: str, name: str, history: list[Produced], order: Order
) -> Copy:
    """A fresh copy of service ``name`` fed ``history`` in ``order``; what it kept."""
    # Short enough for an organisation slug with four streams: the words, no "then".
    slug = _label(order).replace(" then ", "-").replace(" ", "-")
    organisation = f"{settings.organisation}-{name}-{slug}"
    mine = settings.model_copy(
        # What letters drafts from the events is compared; sending, which follows in its
        # own time, is its delivery tests' (services/letters/tests/test_delivery*.py).
        update={"organisation": organisation, "database_url": database_url, "letters_paused": True}
    )
    service = service_factories([name])[name](mine)
    streams = {consumer.stream.name for consumer in service.consumers.values()}
    feed = [
        produced.envelope.model_copy(update={"organisation": organisation})
        for produced in history
        if produced.stream in streams
    ]
    async with running(mine, service) as suite:
        if order == REVERSED:
            feed.reverse()
            later = [envelope for envelope in feed if envelope.sequence != 1]
            for envelope in later:
                await _publish(suite, envelope)
            await eventually(suite.drained)
            held, recorded = await suite.held(), await _recorded(service)
            assert held == len(later), (
                f"it held {held} of the {len(later)} events that came before their case's first"
            )
            assert not any(recorded.values()), f"it recorded before any case began: {recorded}"
            # Each first event lets its case's held chain on that stream through, handled
            # events and all, so the chains are let through one at a time: two streams'
            # chains applied side by side would race (an acknowledgement heard of before
            # or after a clock stop is announced differently, though it ends the same).
            for first in (e for e in feed if e.sequence == 1):
                await _publish(suite, first)
                await eventually(suite.drained)
        else:
            if order != IN_ORDER:  # whole streams one after another, each in order
                feed.sort(key=lambda envelope: order.index(stream_for(envelope.type).name))
            most_held = await _publish_in_turn(suite, service, feed)
            assert most_held == 0, f"it held {most_held} events that came in order"
        caught_up = await _within(suite.quiet, 20)
        await _nothing_parked(suite)
        assert caught_up, f"it never caught up: {await suite.held()} events still held"
        return Copy(organisation, await _recorded(service), await _published(service))


async def _within(check: Callable[[], Awaitable[bool]], timeout: float) -> bool:
    """Whether ``check`` comes true within ``timeout`` seconds."""
    try:
        await eventually(check, timeout=timeout)
    except AssertionError:
        return False
    return True


async def _publish(suite: Running, envelope: Envelope) -> None:
    # The streams remember ids for two minutes whatever the organisation, and the suite
    # has just published these: each copy's Nats-Msg-Id is made its own.
    # Intake's own case.access_changed events are in the history being replayed.
    ack = await suite.publish(
        envelope, msg_id=f"{envelope.organisation}:{envelope.id}", announce_access=False
    )
    assert not ack.duplicate, envelope


async def _publish_in_turn(suite: Running, service: Service, events: list[Envelope]) -> int:
    """Publish ``events`` so that ``service`` applies the ones it handles in this order.

    Each stream has its own consumer and they run side by side, so before a handled
    event on another stream than the last handled one, wait until the service has
    caught up. Events it has no handler for only move a case's cursor on: where they
    fall between streams makes no difference. Returns the most it held at a wait.
    """
    handled = {(model.event_type, model.schema_version) for model in service.consumed_events}
    last_stream, most_held = None, 0
    for envelope in events:
        stream = stream_for(envelope.type).name
        if (envelope.type, envelope.schema_version) in handled:
            if last_stream not in (None, stream):
                await eventually(suite.drained)
                most_held = max(most_held, await suite.held())
            last_stream = stream
        await _publish(suite, envelope)
    return most_held


def _wall_clock_or_surrogate(column: Column) -> bool:
    """Columns that say when a row was written, or in what order: not what happened."""
    kind = column.type.impl_instance if isinstance(column.type, TypeDecorator) else column.type
    return isinstance(kind, DateTime) or column is column.table.autoincrement_column


async def _recorded(service: Service) -> dict[str, list[dict[str, Any]]]:
    """Every row of the service's own tables (not the platform's), tables in key order."""
    recorded = {}
    async with service.db.read() as session:
        for table in service.db.metadata.sorted_tables:
            if table.name not in PLATFORM_TABLES:
                kept = [c for c in table.columns if not _wall_clock_or_surrogate(c)]
                rows = await session.execute(select(*kept))
                recorded[table.name] = [dict(row) for row in rows.mappings()]
    return recorded


async def _published(service: Service) -> list[dict[str, Any]]:
    """What the service published, as a consumer reads it (event ids and numbers aside).

    Numbers are left out because a transaction that announces several things, such as
    pausing a case's deadlines, announces them in no particular order.
    """
    async with service.db.read() as session:
        bodies = list(await session.scalars(select(service.outbox.table.c.body)))
    fields = {"type", "schema_version", "directorate", "case_id", "payload"}
    return [Envelope.from_wire(body).model_dump(mode="json", include=fields) for body in bodies]


# -- 3. comparing ----------------------------------------------------------------------


class Canonical:
    """A copy's record with what two runs may differ in named rather than compared.

    Ids from the events given are kept; ids the copy generated (deadlines, letters,
    timers) become ``<id N>``, numbered in order of first appearance with tables in
    key order and rows sorted, so a timer still names *its* deadline. The copy's
    organisation becomes ``<org>``. Wall-clock and insertion-order columns were left
    out when reading.
    """

    def __init__(self, given: set[str], organisation: str) -> None:
        self.given, self.organisation = given, organisation
        self.names: dict[str, str] = {}

    def __call__(self, copy: Copy) -> dict[str, list[str]]:
        shown = {name: self._rows(rows) for name, rows in copy.tables.items()}
        shown["published"] = self._rows(copy.published)
        return shown

    def _rows(self, rows: list[dict[str, Any]]) -> list[str]:
        keys = [repr(self._show(row)) for row in rows]
        ambiguous = {key for key in keys if keys.count(key) > 1 and "<new id>" in key}
        assert not ambiguous, f"rows that differ only in generated ids: {ambiguous}"
        for _, row in sorted(zip(keys, rows, strict=True), key=lambda pair: pair[0]):
            self._name(row)
        return sorted(repr(self._show(row)) for row in rows)

    def _name(self, value: Any) -> None:
        """Number the generated ids in ``value`` not named yet, in the order shown."""
        if isinstance(value, dict):
            for _, item in sorted(value.items()):
                self._name(item)
        elif isinstance(value, list | tuple):
            for item in value:
                self._name(item)
        elif _is_uuid(value) and str(value) not in self.given and str(value) not in self.names:
            self.names[str(value)] = f"<id {len(self.names) + 1}>"

    def _show(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: self._show(item) for key, item in sorted(value.items())}
        if isinstance(value, list | tuple):
            return [self._show(item) for item in value]
        if _is_uuid(value):
            value = str(value)
            return value if value in self.given else self.names.get(value, "<new id>")
        if isinstance(value, str):  # e.g. a file named for its letter
            value = _UUID_IN_TEXT.sub(lambda found: self._show(found.group(0)), value)
            return value.replace(self.organisation, "<org>")
        return value


_UUID_IN_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _uuids(value: Any) -> set[str]:
    if isinstance(value, dict):
        return {found for item in value.values() for found in _uuids(item)}
    if isinstance(value, list | tuple):
        return {found for item in value for found in _uuids(item)}
    return {str(value)} if _is_uuid(value) else set()


def _is_uuid(value: Any) -> bool:
    if isinstance(value, uuid.UUID):
        return True
    if not isinstance(value, str) or len(value) != 36:
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _diff(expected: dict[str, list[str]], found: dict[str, list[str]], order: Order) -> str:
    lines = []
    for table, rows in expected.items():
        if found.get(table) != rows:
            lines.append(f"-- {table} (- in order, + {_label(order)})")
            lines += difflib.unified_diff(rows, found.get(table, []), lineterm="", n=0)
    return "\n".join(lines)
