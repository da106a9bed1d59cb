"""NATS JetStream through FastStream: the broker, the streams, reliable consumers.

Delivery rules (docs/architecture.md): durable pull consumers, explicit acks, a
bounded number of deliveries with backoff, and a message that keeps failing is
parked on the dead-letter stream with its error so the rest keep flowing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from faststream import AckPolicy
from faststream.message import StreamMessage
from faststream.nats import ConsumerConfig, DeliverPolicy, JStream, NatsBroker, NatsRouter, PullSub
from faststream.nats.annotations import NatsBroker as BrokerFromContext
from faststream.nats.annotations import NatsMessage
from nats.js.api import StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_shared.contracts.envelope import Envelope, EventPayload
from complaints_shared.contracts.subjects import (
    DEAD_LETTERS,
    STREAMS,
    dead_letter_subject,
    stream_for,
    subscription_subject,
)
from complaints_shared.db import Database
from complaints_shared.inbox import ProcessedEvents
from complaints_shared.settings import Settings

log = structlog.get_logger(__name__)

DUPLICATE_WINDOW_SECONDS = 120.0
# How long an unacknowledged delivery waits before JetStream redelivers it: also how
# long a message in flight when a process died waits. Handlers take milliseconds; a
# handler slower than this is redelivered concurrently and the inbox makes that safe.
ACK_WAIT_SECONDS = 10.0
PUBLISH_TIMEOUT_SECONDS = 5.0

Handler = Callable[[Envelope, Any, AsyncSession], Awaitable[None]]


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


async def publish_to_stream(broker: NatsBroker, envelope: Envelope, stream: str) -> None:
    """Publish and wait for the stream's ack; the event id deduplicates retries."""
    await broker.publish(
        envelope.to_wire(),
        subject=envelope.subject,
        headers={"Nats-Msg-Id": str(envelope.id), "content-type": "application/json"},
        stream=stream,
        timeout=PUBLISH_TIMEOUT_SECONDS,
    )


async def _raw_body(message: StreamMessage[Any]) -> bytes:
    """Hand the handler the undecoded bytes: parsing, and failing to, is the consumer's job."""
    return message.body


def _header_safe(text: str, limit: int = 2000) -> str:
    return " ".join(text.split())[:limit]


class EventConsumer:
    """One durable, idempotent, dead-lettering subscription of a service to one event."""

    def __init__(
        self,
        *,
        service: str,
        model: type[EventPayload],
        handler: Handler,
        db: Database,
        processed: ProcessedEvents,
        settings: Settings,
        after_commit: Callable[[], None],
    ) -> None:
        scope = settings.scope
        # Durable names identify organisation, service, event version and scope, so
        # several organisations or directorate deployments can share one NATS.
        self.name = "-".join(
            [settings.organisation, service, model.event_type.replace(".", "-")]
            + [f"v{model.schema_version}"]
            + ([] if scope == "*" else [scope])
        )
        self.model = model
        self.handler = handler
        self.db = db
        self.processed = processed
        self.settings = settings
        self.after_commit = after_commit
        self.subject = subscription_subject(model, settings.organisation, scope)
        self.stream = stream_for(model.event_type)

    def register(self, router: NatsRouter) -> None:
        router.subscriber(
            self.subject,
            stream=JStream(self.stream.name, declare=False),
            durable=self.name,
            pull_sub=PullSub(batch_size=10, timeout=5.0),
            deliver_policy=DeliverPolicy.ALL,
            # A safety net above our own limit: we park at settings.max_deliver, so
            # the server only stops redelivering if the process died every time.
            config=ConsumerConfig(
                ack_wait=ACK_WAIT_SECONDS, max_deliver=self.settings.max_deliver + 2
            ),
            ack_policy=AckPolicy.MANUAL,
            decoder=_raw_body,
            title=self.name,
            description=f"{self.model.event_type} v{self.model.schema_version}: "
            f"{(self.model.__doc__ or '').strip()}",
        )(self.on_message)

    async def on_message(
        self, body: bytes, message: NatsMessage, broker: BrokerFromContext
    ) -> None:
        """Handle, ack, retry with backoff, or park: exactly one of these, every time."""
        deliveries = message.raw_message.metadata.num_delivered
        try:
            envelope = Envelope.from_wire(body)
            payload = envelope.parse(self.model)
        except (ValidationError, ValueError) as error:
            await self.park(broker, message, f"unreadable event: {error}", deliveries)
            return
        with structlog.contextvars.bound_contextvars(
            consumer=self.name,
            event_id=str(envelope.id),
            case_id=str(envelope.case_id) if envelope.case_id else None,
            correlation_id=str(envelope.correlation_id),
        ):
            try:
                async with self.db.transaction() as session:
                    if await self.processed.claim(session, self.name, envelope.id):
                        await self.handler(envelope, payload, session)
                    else:
                        log.info("duplicate event ignored")
            except Exception as error:
                if deliveries >= self.settings.max_deliver:
                    reason = f"{type(error).__name__}: {error}"
                    await self.park(broker, message, reason, deliveries)
                    return
                backoff = self.settings.retry_backoff
                delay = backoff[min(deliveries, len(backoff)) - 1]
                log.warning(
                    "event handling failed; will retry",
                    exc_info=True,
                    deliveries=deliveries,
                    retry_in_seconds=delay,
                )
                await message.nack(delay=delay)
                return
        await message.ack()
        self.after_commit()

    async def park(
        self, broker: NatsBroker, message: NatsMessage, reason: str, deliveries: int
    ) -> None:
        """Move a message to the dead-letter stream with its error, then ack the original.

        If parking itself fails the original is nacked, so it is retried, never lost.
        """
        raw = message.raw_message
        headers = {
            "Nats-Msg-Id": f"{self.name}:{raw.metadata.sequence.stream}",
            "Complaints-Consumer": self.name,
            "Complaints-Original-Subject": raw.subject,
            "Complaints-Deliveries": str(deliveries),
            "Complaints-Error": _header_safe(reason),
        }
        try:
            await broker.publish(
                raw.data,
                subject=dead_letter_subject(self.settings.organisation, self.name),
                headers=headers,
                stream=DEAD_LETTERS.name,
                timeout=PUBLISH_TIMEOUT_SECONDS,
            )
        except Exception:
            log.exception("could not park message; it will be redelivered")
            await message.nack(delay=self.settings.retry_backoff[-1])
            return
        log.error("message parked on the dead-letter stream", reason=reason, deliveries=deliveries)
        await message.ack()
