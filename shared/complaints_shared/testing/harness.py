"""Running services in a test, against real NATS and a real database.

``running(settings, *services)`` hosts the services exactly as ``complaints run``
does (same Host, same broker, same relay), minus uvicorn: HTTP goes through
httpx's ASGI transport, and the test gets a separate NATS connection to publish
events and read streams as another service would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

import httpx
import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy

from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.subjects import stream_for
from complaints_shared.runtime.host import Host
from complaints_shared.service import Service
from complaints_shared.settings import Settings

T = TypeVar("T")


@dataclass
class Running:
    host: Host
    http: httpx.AsyncClient
    nc: Client
    js: JetStreamContext

    async def publish(self, envelope: Envelope, msg_id: str | None = None) -> None:
        """Publish as a producer would (``Nats-Msg-Id`` = event id unless given)."""
        await self.js.publish(
            envelope.subject,
            envelope.to_wire(),
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


@asynccontextmanager
async def running(settings: Settings, *services: Service) -> AsyncIterator[Running]:
    host = Host(settings, list(services))
    host.start()
    try:
        await asyncio.wait_for(host.started.wait(), 30)
        nc = await nats.connect(settings.nats_url)
        try:
            transport = httpx.ASGITransport(app=host.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                yield Running(host, http, nc, nc.jetstream())
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
