"""A service: its database, its bus subscriptions, its HTTP routes, its outbox relay.

Each service distribution exposes a factory ``create(settings) -> Service`` under the
``complaints.services`` entry-point group. The factory is the service's composition
root: it builds the Service, registers handlers with :meth:`Service.on` and HTTP
routes on :attr:`Service.http`, closing over the service's own database. The runtime
host then runs one service (``complaints run``) or all of them (``complaints up``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from fastapi import APIRouter
from faststream.nats import NatsBroker, NatsRouter
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_shared.bus import EventConsumer, Handler, publish_to_stream
from complaints_shared.contracts.envelope import Envelope, EventPayload
from complaints_shared.db import Database
from complaints_shared.inbox import ProcessedEvents
from complaints_shared.outbox import Outbox
from complaints_shared.settings import Settings

log = structlog.get_logger(__name__)


class Service:
    """The pieces of one service that the runtime host starts, serves and stops."""

    def __init__(self, name: str, metadata: MetaData, settings: Settings) -> None:
        self.name = name
        self.settings = settings
        self.outbox = Outbox(metadata)
        self.processed = ProcessedEvents(metadata)
        self.db = Database(settings.database_url_for(name), metadata, schema=name)
        self.bus = NatsRouter()
        self.http = APIRouter()
        self.consumers: list[EventConsumer] = []
        self._startup: list[Callable[[], Awaitable[None]]] = []
        self._background: list[Callable[[], Awaitable[None]]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._broker: NatsBroker | None = None

    def on(self, model: type[EventPayload]) -> Callable[[Handler], Handler]:
        """Register ``handler(envelope, payload, session)`` for events of ``model``.

        The handler runs inside a database transaction; events it stages with
        :meth:`publish` go out only if that transaction commits.
        """

        def register(handler: Handler) -> Handler:
            consumer = EventConsumer(
                service=self.name,
                model=model,
                handler=handler,
                db=self.db,
                processed=self.processed,
                settings=self.settings,
                after_commit=self.outbox.wake,
            )
            consumer.register(self.bus)
            self.consumers.append(consumer)
            return handler

        return register

    async def publish(self, session: AsyncSession, *envelopes: Envelope) -> None:
        """Stage ``envelopes`` in this service's outbox, inside ``session``'s transaction."""
        await self.outbox.stage(session, *envelopes)

    def on_startup(self, step: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """Run ``step`` once the tables exist, before traffic (retried until it succeeds)."""
        self._startup.append(step)
        return step

    def background(self, task: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """Run ``task`` for as long as the service runs, beside the outbox relay."""
        self._background.append(task)
        return task

    async def prepare(self) -> None:
        """Create this service's schema and tables, then run its start-up steps."""
        await self.db.create_schema()
        for step in self._startup:
            await step()

    def start(self, broker: NatsBroker) -> None:
        """Start publishing this service's outbox on ``broker``, and its background tasks."""
        self._broker = broker

        async def publish(envelope: Envelope, stream: str) -> None:
            await publish_to_stream(broker, envelope, stream)

        self._tasks = [
            asyncio.create_task(
                self.outbox.relay(self.db, publish), name=f"{self.name}-outbox-relay"
            ),
            *(
                asyncio.create_task(task(), name=f"{self.name}-{task.__name__}")
                for task in self._background
            ),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.db.dispose()

    async def readiness(self) -> dict[str, Any]:
        """What this service depends on, and whether each is there."""
        checks = {
            "database": await self.db.ping(),
            "bus": self._broker is not None and await self._broker.ping(timeout=0.2),
            "background_tasks": bool(self._tasks) and not any(t.done() for t in self._tasks),
        }
        return {"ready": all(checks.values()), **checks}
