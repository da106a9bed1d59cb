"""A service: its database, its bus subscriptions, its HTTP routes, its outbox relay.

Each service distribution exposes a factory ``create(settings) -> Service`` under the
``complaints.services`` entry-point group. The factory is the service's composition
root: it builds the Service, registers handlers with :meth:`Service.on` and HTTP
routes on :attr:`Service.http`, closing over the service's own database. The runtime
host then runs one service (``complaints run``) or all of them (``complaints up``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import structlog
from fastapi import APIRouter
from nats.js.client import JetStreamContext
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from complaints_shared.audit import AuditTrail
from complaints_shared.auth.routes import REFUSALS
from complaints_shared.bus import publish_batch
from complaints_shared.case_access import CaseAccess
from complaints_shared.consumer import Handler, StreamConsumer
from complaints_shared.contracts.envelope import Envelope, EventPayload
from complaints_shared.contracts.subjects import DEAD_LETTERS, STREAMS, StreamSpec, stream_for
from complaints_shared.db import Database
from complaints_shared.event_size import check_size
from complaints_shared.inbox import Inbox
from complaints_shared.outbox import Outbox, Outgoing, Published
from complaints_shared.settings import Settings
from complaints_shared.strict_input import StrictRoute
from complaints_shared.subject_access import export_routes

log = structlog.get_logger(__name__)


class Service:
    """The pieces of one service that the runtime host starts, serves and stops."""

    def __init__(self, name: str, metadata: MetaData, settings: Settings) -> None:
        self.name = name
        self.settings = settings
        self.outbox = Outbox(metadata)
        self.inbox = Inbox(metadata, name)
        self.db = Database(settings.database_url_for(name), metadata, schema=name)
        self.db.before_commit.append(self.outbox.write)
        self.http = APIRouter(route_class=StrictRoute, responses=REFUSALS)
        self.audit = AuditTrail(metadata)
        self.http.include_router(self.audit.routes(name, self.db))
        self.case_access: CaseAccess | None = None
        self.consumers: dict[str, StreamConsumer] = {}
        self.published_events: tuple[type[EventPayload], ...] = ()
        self._declared: set[tuple[str, int]] = set()
        self._startup: list[Callable[[], Awaitable[None]]] = []
        self._background: list[Callable[[], Awaitable[None]]] = []
        self._idle_checks: list[Callable[[], Awaitable[bool]]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False
        self._js: JetStreamContext | None = None
        self._ping: Callable[[], Awaitable[bool]] | None = None
        self._max_payload: Callable[[], int] | None = None

    def on(self, model: type[EventPayload]) -> Callable[[Handler], Handler]:
        """Register ``handler(envelope, payload, session)`` for events of ``model``.

        The handler runs inside a database transaction, with the other events of its
        batch; events it stages with :meth:`publish` go out only if that transaction
        commits. A case's events reach it in the order they happened
        (``complaints_shared.consumer``), each exactly once.
        """

        def register(handler: Handler) -> Handler:
            stream = stream_for(model.event_type)
            if stream.name not in self.consumers:
                self.consumers[stream.name] = StreamConsumer(
                    service=self.name,
                    stream=stream,
                    db=self.db,
                    inbox=self.inbox,
                    settings=self.settings,
                    outbox=self.outbox,
                )
            self.consumers[stream.name].add(model, handler)
            return handler

        return register

    def holds_cases(self, *, decides: bool = False) -> CaseAccess:
        """Keep who may see each case, for this service's need-to-know filtering.

        Intake ``decides`` (it writes its copy as it publishes ``case.access_changed``);
        every other service holding case records follows that event.
        """
        self.case_access = CaseAccess(self.db.metadata)
        if not decides:
            self.case_access.follow(self)
        return self.case_access

    def exports(
        self,
        *case_columns: InstrumentedAttribute,
        linked: Mapping[InstrumentedAttribute, InstrumentedAttribute] | None = None,
    ) -> None:
        """Offer the rows of each column's table whose value is one of a person's cases
        to the subject access export (``complaints_shared.subject_access``), and those of
        each ``linked`` key's table found through its link column."""
        self.http.include_router(
            export_routes(self.name, self.db, self.audit, case_columns, linked)
        )

    def publishes(self, *models: type[EventPayload]) -> None:
        """Declare the events this service publishes (its send operations in AsyncAPI).

        :meth:`publish` refuses any other, so the declaration cannot drift from the code.
        """
        self.published_events += tuple(m for m in models if m not in self.published_events)
        self._declared = {(m.event_type, m.schema_version) for m in self.published_events}

    @property
    def consumed_events(self) -> tuple[type[EventPayload], ...]:
        """The events this service has handlers for (its receive operations in AsyncAPI)."""
        return tuple(m for consumer in self.consumers.values() for m in consumer.models)

    @property
    def streams(self) -> tuple[StreamSpec, ...]:
        """The streams this service publishes on or reads, and the dead-letter stream if it
        reads any (its consumers park there): those it creates if missing, and the only
        ones its bus permissions cover."""
        used = {stream_for(m.event_type).name for m in self.published_events} | set(self.consumers)
        if self.consumers:
            used.add(DEAD_LETTERS.name)
        return tuple(spec for spec in STREAMS if spec.name in used)

    async def publish(self, session: AsyncSession, *envelopes: Envelope) -> None:
        """Stage ``envelopes`` in this service's outbox, inside ``session``'s transaction.

        Raises :class:`~complaints_shared.event_size.EventTooLarge` for one the bus
        would not carry, so the transaction records nothing (the API answers 422).
        """
        limit = self.max_event_bytes()
        for envelope in envelopes:
            if (envelope.type, envelope.schema_version) not in self._declared:
                msg = (
                    f"{self.name} publishes {envelope.type} v{envelope.schema_version} "
                    "but does not declare it: add it to service.publishes(...)"
                )
                raise ValueError(msg)
            check_size(envelope, limit)
        self.outbox.stage(session, *envelopes)

    def max_event_bytes(self) -> int:
        """The largest event this service may stage: as configured, or less if the server
        it is connected to takes less."""
        configured = self.settings.max_event_bytes
        return min(configured, self._max_payload()) if self._max_payload else configured

    def on_startup(self, step: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """Run ``step`` once the tables exist, before traffic (retried until it succeeds)."""
        self._startup.append(step)
        return step

    def background(self, task: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """Run ``task`` for as long as the service runs, beside the outbox relay."""
        self._background.append(task)
        return task

    def idle_when(self, check: Callable[[], Awaitable[bool]]) -> Callable[[], Awaitable[bool]]:
        """Say how a background task tells it has nothing in hand (letters: none approved
        and unsent), so "caught up" covers work done outside the consumers too."""
        self._idle_checks.append(check)
        return check

    async def idle(self) -> bool:
        """Whether every background task that can say so has nothing in hand."""
        for check in self._idle_checks:
            if not await check():
                return False
        return True

    async def prepare(self) -> None:
        """Create this service's schema and tables, then run its start-up steps."""
        await self.db.create_schema()
        for step in self._startup:
            await step()

    def start(
        self,
        js: JetStreamContext,
        ping: Callable[[], Awaitable[bool]],
        max_payload: Callable[[], int],
        *,
        work: bool = True,
    ) -> None:
        """Start consuming, relaying this service's outbox, and its background tasks;
        with ``work`` false, none of them: its HTTP routes only, while another process
        does its work (``complaints up``'s front, ``runtime/workers.py``).

        ``ping`` says whether the bus connection is up (for readiness); ``max_payload``
        the most bytes the server takes in one message, as it last said.
        """
        self._js, self._ping, self._max_payload = js, ping, max_payload
        self._started = True
        if not work:
            return

        async def publish(events: Sequence[Outgoing]) -> list[Published]:
            return await publish_batch(js, events, max_payload())

        self._tasks = [
            asyncio.create_task(
                self.outbox.relay(self.db, publish, max_attempts=self.settings.max_deliver),
                name=f"{self.name}-outbox-relay",
            ),
            *(
                asyncio.create_task(consumer.run(js), name=f"{consumer.name}-consumer")
                for consumer in self.consumers.values()
            ),
            *(
                asyncio.create_task(task(), name=f"{self.name}-{task.__name__}")
                for task in self._background
            ),
        ]

    async def stop(self) -> None:
        """Let consumers finish the batch in hand, then stop everything and close the database."""
        for consumer in self.consumers.values():
            consumer.stop()
        consumer_tasks = [t for t in self._tasks if t.get_name().endswith("-consumer")]
        if consumer_tasks:
            await asyncio.wait(consumer_tasks, timeout=5.0)
        for task in self._tasks:
            # Cancel until it is done: on Python 3.11 an asyncio.wait_for inside a library
            # (the connection pool's, nats-py's) can swallow a cancellation that lands
            # just as what it waits for completes, and the task would run on.
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=1.0)
            if not task.cancelled() and task.exception() is not None:
                log.error(
                    "background task had failed", task=task.get_name(), exc_info=task.exception()
                )
        await self.db.dispose()

    async def readiness(self) -> dict[str, Any]:
        """What this service depends on, and whether each is there.

        An event parked in the outbox (the bus would not take it) makes the service
        not ready until an operator deals with it; events held for earlier ones are
        only a figure.
        """
        checks = {
            "database": await self.db.ping(),
            "bus": self._ping is not None and await self._ping(),
            "background_tasks": self._started and not any(t.done() for t in self._tasks),
        }
        report: dict[str, Any] = {"ready": all(checks.values()), **checks}
        if self._started and checks["database"]:  # so the tables exist
            async with self.db.read() as session:
                report["events_held"] = await self.inbox.waiting(session)
                report["outbox_parked"] = await self.outbox.parked(session)
            report["ready"] = report["ready"] and report["outbox_parked"] == 0
        return report
