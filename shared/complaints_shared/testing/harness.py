"""Running services in a test, against real NATS and a real database.

``running(settings, *services)`` hosts the services exactly as ``complaints run``
does (same Host, same broker, same relay), minus uvicorn: HTTP goes through
httpx's ASGI transport, and the test gets a separate NATS connection to publish
events and read streams as another service would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

import httpx
import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy, PubAck
from nats.js.errors import NotFoundError
from sqlalchemy import select

from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.events import CaseAccessChanged, CaseReceived
from complaints_shared.contracts.subjects import DEAD_LETTERS, STREAMS, stream_for
from complaints_shared.runtime.host import Host
from complaints_shared.service import Service
from complaints_shared.settings import NatsCredentials, Settings
from complaints_shared.testing.issuer import LocalIssuer

T = TypeVar("T")


PUBLISH_TIMEOUT = 30.0
"""Seconds a test's publish waits for the stream's acknowledgement."""


@dataclass
class Running:
    host: Host
    http: httpx.AsyncClient
    nc: Client
    js: JetStreamContext
    transport: httpx.ASGITransport

    def client(self, token: str | None) -> httpx.AsyncClient:
        """Another HTTP client to the same services, sending ``token`` (None: no token)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(transport=self.transport, base_url="http://test", headers=headers)

    async def publish(
        self, envelope: Envelope, msg_id: str | None = None, *, announce_access: bool = True
    ) -> PubAck:
        """Publish as a producer would (``Nats-Msg-Id`` = event id unless given).

        The acknowledgement says whether the stream kept it (``duplicate``: it had
        the same id within its duplicate window, and dropped it). A ``case.received``
        is followed, as intake follows it, by the case's ``case.access_changed``, so the
        services' need-to-know lets the test's staff client see the case (unless
        ``announce_access`` is False: a replay of intake's own events has its own).
        """
        ack = await self._publish(envelope, msg_id)
        if announce_access and envelope.type == CaseReceived.event_type and not ack.duplicate:
            received = envelope.parse(CaseReceived)
            await self._publish(
                envelope.caused(CaseAccessChanged(service_area=received.service_area))
            )
        return ack

    async def _publish(self, envelope: Envelope, msg_id: str | None = None) -> PubAck:
        # A loaded two-core CI machine has taken over nats-py's default 5 s to acknowledge;
        # waiting longer is safe (the Nats-Msg-Id makes a publish idempotent).
        return await self.js.publish(
            envelope.subject,
            envelope.to_wire(),
            timeout=PUBLISH_TIMEOUT,
            stream=stream_for(envelope.type).name,
            headers={"Nats-Msg-Id": msg_id or str(envelope.id)},
        )

    async def messages(self, stream: str, subject: str) -> list[Msg]:
        """Every message now in ``stream`` on ``subject`` (wildcards allowed), in order."""
        info = await self.js.stream_info(stream, subjects_filter=subject)
        expected = sum((info.state.subjects or {}).values())
        if expected == 0:
            return []
        subscription = await self.js.pull_subscribe(
            subject,
            stream=stream,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, inactive_threshold=5.0),
        )
        found: list[Msg] = []
        try:
            while len(found) < expected:
                found += await subscription.fetch(expected - len(found), timeout=5)
        finally:
            await subscription.unsubscribe()
        return found

    async def events(self, subject: str) -> list[Envelope]:
        """Every event on ``subject`` (``complaints.<org>.<dir>.<type>.v<n>``), in order."""
        event_type = ".".join(subject.split(".")[3:5])
        stream = stream_for(event_type).name
        return [Envelope.from_wire(msg.data) for msg in await self.messages(stream, subject)]

    async def drained(self) -> bool:
        """Whether the hosted services have handled everything the bus has for them.

        Every consumer has nothing pending or awaiting acknowledgement and every
        outbox is published (or parked, which the bus would not take), and every
        background task that can say so is idle (letters: nothing approved unsent). Events held until earlier ones arrive may remain (see
        :meth:`held`). The organisation's message count on each stream is read before
        and after, so a relay publishing while the consumers are being asked cannot
        make this answer early.
        """
        before = await self._message_counts()
        for service in self.host.services:
            for consumer in service.consumers.values():
                info = await self.js.consumer_info(consumer.stream.name, consumer.name)
                if info.num_pending or info.num_ack_pending:
                    return False
            outbox = service.outbox.table
            async with service.db.read() as session:
                unsent = await session.scalar(
                    select(outbox.c.seq)
                    .where(outbox.c.published_at.is_(None), outbox.c.parked_at.is_(None))
                    .limit(1)
                )
            if unsent is not None or not await service.idle():
                return False
        return await self._message_counts() == before

    async def held(self) -> int:
        """How many events the hosted services hold, waiting for earlier ones."""
        total = 0
        for service in self.host.services:
            async with service.db.read() as session:
                total += await service.inbox.waiting(session)
        return total

    async def quiet(self) -> bool:
        """Drained (:meth:`drained`) and holding nothing: the services have caught up."""
        return await self.drained() and await self.held() == 0

    async def _message_counts(self) -> list[int]:
        organisation = self.host.settings.organisation
        counts = []
        for spec in STREAMS:
            subject = (
                f"dead_letter.complaints.{organisation}.>"
                if spec is DEAD_LETTERS
                else f"complaints.{organisation}.>"
            )
            try:
                info = await self.js.stream_info(spec.name, subjects_filter=subject)
            except NotFoundError:  # no hosted service uses it, so nobody made it: empty
                counts.append(0)
                continue
            counts.append(sum((info.state.subjects or {}).values()))
        return counts


@asynccontextmanager
async def running(
    settings: Settings,
    *services: Service,
    token: str | None = None,
    credentials: Mapping[str, NatsCredentials] | None = None,
    observer: NatsCredentials | None = None,
) -> AsyncIterator[Running]:
    """Host ``services``. The HTTP client sends ``token``, by default the staff client's
    from the issuer the settings trust (see ``complaints_shared.testing.issuer``). On a
    server that asks who connects, each service connects as ``credentials`` says and the
    test's own connection as ``observer`` (``admin``)."""
    if token is None and settings.oidc_issuer in LocalIssuer.serving:
        token = LocalIssuer.serving[settings.oidc_issuer].token()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    host = Host(settings, list(services), credentials)
    host.start()
    try:
        await asyncio.wait_for(host.started.wait(), 30)
        login = {} if observer is None else {"user": observer.user, "password": observer.password}
        nc = await nats.connect(settings.nats_url, **login)
        try:
            transport = httpx.ASGITransport(app=host.app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://test", headers=headers
            ) as http:
                yield Running(host, http, nc, nc.jetstream(), transport)
        finally:
            await nc.close()
    finally:
        await host.stop()


async def eventually(
    check: Callable[[], Awaitable[T]], timeout: float = 15.0, interval: float = 0.05
) -> T:
    """Poll ``check`` until it returns something truthy; fail with its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout}s; last result: {result!r}")
        await asyncio.sleep(interval)
