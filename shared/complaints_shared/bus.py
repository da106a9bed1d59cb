"""NATS JetStream through FastStream: the broker connection, the streams, publishing.

Consuming is ``complaints_shared.consumer``; staging and relaying what a service
publishes is ``complaints_shared.outbox``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace

import nats.errors
import nats.js.errors
import structlog
from faststream.nats import NatsBroker, NatsUserPassword
from nats.js.api import PubAck, StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from complaints_shared.contracts.subjects import DEAD_LETTERS, StreamSpec
from complaints_shared.outbox import Outcome, Outgoing, Published
from complaints_shared.settings import NatsCredentials, Settings

log = structlog.get_logger(__name__)

DUPLICATE_WINDOW_SECONDS = 120.0
PUBLISH_TIMEOUT_SECONDS = 5.0


def inbox_prefix(user: str) -> str:
    """Where ``user``'s replies and pull-consumer deliveries arrive (``_INBOX_<user>.>``).

    A prefix of its own, rather than the shared ``_INBOX``, so a service may subscribe
    to its own replies only, never to another service's deliveries.
    """
    return f"_INBOX_{user}"


def make_broker(settings: Settings, credentials: NatsCredentials | None = None) -> NatsBroker:
    """A broker that reconnects forever and logs per-message lines at debug level.

    With ``credentials`` it connects as that user, with that user's inbox prefix.
    """
    if not settings.nats_url:
        raise ValueError("COMPLAINTS_NATS_URL is not set: which NATS server should I use?")
    auth: dict[str, object] = {}
    if credentials is not None:
        auth = {
            "security": NatsUserPassword(credentials.user, credentials.password),
            "inbox_prefix": inbox_prefix(credentials.user),
        }
    return NatsBroker(
        settings.nats_url,
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        connect_timeout=5,
        logger=logging.getLogger("faststream"),  # through our structlog handler
        log_level=logging.DEBUG,
        graceful_timeout=10.0,
        **auth,
    )


def stream_config(spec: StreamSpec, settings: Settings) -> StreamConfig:
    """The configuration a stream is created with: its subjects, and the settings'
    replicas and retention."""
    return StreamConfig(
        name=spec.name,
        description=spec.description,
        subjects=list(spec.subjects),
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        num_replicas=settings.stream_replicas,
        max_age=settings.stream_max_age_seconds(),
        max_bytes=settings.stream_max_bytes,
    )


# What an operator may have set differently, and is left as they set it.
_KEPT = ("num_replicas", "max_age", "max_bytes", "storage", "duplicate_window")


async def ensure_streams(
    js: JetStreamContext, streams: Sequence[StreamSpec], service: str, settings: Settings
) -> None:
    """Create each missing one of ``streams`` as configured; add to one only what it lacks.

    ``streams`` are those ``service`` uses (:attr:`Service.streams`): its permissions
    cover no other. A stream that exists is the operator's: its replicas, retention
    and limits stay as they are, whatever this process's settings say (the
    differences are logged). Only the stream's owner adds subjects it publishes on
    that the stream lacks; every service owns the platform's dead-letter stream.
    """
    for spec in streams:
        wanted = stream_config(spec, settings)
        try:
            current = (await js.stream_info(spec.name)).config
        except NotFoundError:
            await js.add_stream(wanted)
            log.info(
                "stream created",
                stream=spec.name,
                **{name: getattr(wanted, name) for name in _KEPT},
            )
            continue
        if spec.owner not in (service, DEAD_LETTERS.owner):
            continue
        differs = {
            name: {"kept": getattr(current, name), "configured": getattr(wanted, name)}
            for name in _KEPT
            if getattr(current, name) != getattr(wanted, name)
        }
        if differs:
            log.info("stream kept as it is configured on the server", stream=spec.name, **differs)
        subjects = list(current.subjects or [])
        missing = [subject for subject in spec.subjects if subject not in subjects]
        if missing:
            await js.update_stream(replace(current, subjects=subjects + missing))
            log.info("stream subjects added", stream=spec.name, subjects=missing)


def message_headers(event: Outgoing) -> dict[str, str]:
    """The headers an event travels with: its id (so the stream drops a republished copy)
    and its stream (so a subject another stream took would be refused, not misfiled)."""
    return {
        "Nats-Msg-Id": event.event_id,
        "Nats-Expected-Stream": event.stream,
        "content-type": "application/json",
    }


def message_size(event: Outgoing) -> int:
    """The bytes a server counts against its ``max_payload``: the header block and the body."""
    headers = message_headers(event)
    block = len(b"NATS/1.0\r\n\r\n") + sum(len(k) + len(v) + 4 for k, v in headers.items())
    return block + len(event.body)


# An answer that says nothing about the event itself: the bus is away, busy or slow.
_UNAVAILABLE = (
    TimeoutError,
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionDrainingError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.StaleConnectionError,
    nats.errors.NoRespondersError,
    nats.js.errors.NoStreamResponseError,
    nats.js.errors.ServiceUnavailableError,
    nats.js.errors.TooManyStalledMsgsError,
)
# An answer that will not change however often the same event is sent.
_UNPUBLISHABLE = (
    nats.errors.MaxPayloadError,
    nats.errors.BadSubjectError,
    nats.js.errors.BadRequestError,  # e.g. over the stream's maximum message size
)


def _result(error: BaseException | None) -> Published:
    if error is None:
        return Published(Outcome.SENT)
    said = f"{type(error).__name__}: {error}".strip().rstrip(":")
    if isinstance(error, _UNAVAILABLE):
        return Published(Outcome.UNAVAILABLE, said)
    if isinstance(error, _UNPUBLISHABLE):
        return Published(Outcome.UNPUBLISHABLE, said)
    return Published(Outcome.REFUSED, said)


async def publish_batch(
    js: JetStreamContext, events: Sequence[Outgoing], max_payload: int
) -> list[Published]:
    """Publish ``events`` without waiting for each ack in turn; say what became of each.

    The event id is the ``Nats-Msg-Id``, so a batch published again after a crash or
    a timeout is deduplicated by the stream. An event over the server's
    ``max_payload`` (headers included) is not sent at all: the server would drop the
    connection for it.
    """
    pending: list[asyncio.Future[PubAck] | Published] = []
    for event in events:
        if (size := message_size(event)) > max_payload:
            said = f"{size} bytes, over the server's max_payload of {max_payload}"
            pending.append(Published(Outcome.UNPUBLISHABLE, said))
            continue
        try:
            pending.append(
                await js.publish_async(
                    event.subject,
                    event.body,
                    headers=message_headers(event),
                    wait_stall=PUBLISH_TIMEOUT_SECONDS,
                )
            )
        except Exception as error:  # noqa: BLE001 - said in the result, for the relay to judge
            pending.append(_result(error))
    futures = [p for p in pending if isinstance(p, asyncio.Future)]
    if futures:
        await asyncio.wait(futures, timeout=PUBLISH_TIMEOUT_SECONDS)
    results = []
    for item in pending:
        if isinstance(item, Published):
            results.append(item)
        elif not item.done():
            item.cancel()
            results.append(_result(TimeoutError("no acknowledgement in time")))
        else:
            results.append(_result(None if item.cancelled() else item.exception()))
    return results
