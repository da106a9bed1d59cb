"""NATS JetStream through FastStream: the broker connection, the streams, publishing.

Consuming is ``complaints_shared.consumer``; staging and relaying what a service
publishes is ``complaints_shared.outbox``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import structlog
from faststream.nats import NatsBroker
from nats.js.api import StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from complaints_shared.contracts.subjects import STREAMS
from complaints_shared.outbox import Outgoing
from complaints_shared.settings import Settings

log = structlog.get_logger(__name__)

DUPLICATE_WINDOW_SECONDS = 120.0
PUBLISH_TIMEOUT_SECONDS = 5.0


def make_broker(settings: Settings) -> NatsBroker:
    """A broker that reconnects forever and logs per-message lines at debug level."""
    if not settings.nats_url:
        raise ValueError("COMPLAINTS_NATS_URL is not set: which NATS server should I use?")
    return NatsBroker(
        settings.nats_url,
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        connect_timeout=5,
        logger=logging.getLogger("faststream"),  # through our structlog handler
        log_level=logging.DEBUG,
        graceful_timeout=10.0,
    )


async def ensure_streams(js: JetStreamContext, services: set[str]) -> None:
    """Create missing streams; a host running a stream's owner also updates its config.

    Every host owns the platform's dead-letter stream.
    """
    owners = services | {"platform"}
    for spec in STREAMS:
        config = StreamConfig(
            name=spec.name,
            description=spec.description,
            subjects=list(spec.subjects),
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
        )
        try:
            await js.stream_info(spec.name)
        except NotFoundError:
            await js.add_stream(config)
            log.info("stream created", stream=spec.name)
            continue
        if spec.owner in owners:
            await js.update_stream(config)


async def publish_batch(js: JetStreamContext, events: Sequence[Outgoing]) -> list[bool]:
    """Publish ``events`` without waiting for each ack in turn; say which the stream has.

    The event id is the ``Nats-Msg-Id``, so a batch published again after a crash or
    a timeout is deduplicated by the stream.
    """
    futures = [
        await js.publish_async(
            event.subject,
            event.body,
            stream=event.stream,
            headers={"Nats-Msg-Id": event.event_id, "content-type": "application/json"},
            wait_stall=PUBLISH_TIMEOUT_SECONDS,
        )
        for event in events
    ]
    if futures:
        await asyncio.wait(futures, timeout=PUBLISH_TIMEOUT_SECONDS)
    acked = []
    for future in futures:
        if not future.done():
            future.cancel()
        acked.append(future.done() and not future.cancelled() and future.exception() is None)
    return acked
