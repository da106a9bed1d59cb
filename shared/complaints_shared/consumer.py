"""A service's subscription to one stream: batched, idempotent, in case order, dead-lettering.

Each service reads each stream it needs through **one** durable pull consumer
(``<org>-<service>-<stream>[-<scope>]``) that takes every event of its organisation
and scope on that stream, whether or not the service has a handler for its type: a
consumer must see all of a case's numbered events to know when it has the one
before the next (``complaints_shared.inbox``). Events without a handler only move
the case's cursor on.

Messages are fetched in batches and applied in **one transaction per batch**, then
acknowledged. If anything in a batch fails, the transaction is rolled back and each
message of the batch is applied alone, in its own transaction, so that one bad
message is retried with backoff, and at ``max_deliver`` parked on the dead-letter
stream with its error (described without input values, :mod:`complaints_shared.redaction`),
while the others go through. A message that cannot be read
is parked at once. No transaction is open while publishing or acknowledging.

A case's events that arrive early are held and applied, each in a savepoint, as
soon as their turn comes. If applying a held event fails, it stays held with its
error and the consumer retries it on its own (``RETRY_HELD_SECONDS``), parking it
after ``max_deliver`` attempts; later events of that case wait behind it, since
applying them without it would make a wrong record. An operator who replays the
parked event from the dead-letter stream lets them through.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from nats.aio.msg import Msg
from nats.errors import ConnectionClosedError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_shared.bus import PUBLISH_TIMEOUT_SECONDS
from complaints_shared.contracts.envelope import Envelope, EventPayload
from complaints_shared.contracts.subjects import DEAD_LETTERS, StreamSpec, dead_letter_subject
from complaints_shared.db import Database
from complaints_shared.inbox import Inbox
from complaints_shared.outbox import Outbox
from complaints_shared.redaction import describe
from complaints_shared.settings import Settings

log = structlog.get_logger(__name__)

# How long an unacknowledged delivery waits before JetStream redelivers it: also how
# long a message in flight when a process died waits. A batch takes milliseconds to
# a few hundred; one slower than this is redelivered while still running, which the
# cursors make harmless.
ACK_WAIT_SECONDS = 10.0
BATCH_SIZE = 200
FETCH_SECONDS = 1.0
RETRY_HELD_SECONDS = 5.0

Handler = Callable[[Envelope, Any, AsyncSession], Awaitable[None]]


class Unreadable(ValueError):
    """The message is not an event this consumer can read: park it, retrying will not help."""


@dataclass
class Delivery:
    """One message of a batch, read."""

    message: Msg
    envelope: Envelope
    payload: EventPayload | None  # None when this service has no handler for the type


@dataclass
class Park:
    """A held event that failed too often: to the dead-letter stream once the batch commits."""

    case_id: uuid.UUID
    sequence: int
    body: str
    subject: str
    attempts: int
    error: str


def _header_safe(text: str, limit: int = 2000) -> str:
    return " ".join(text.split())[:limit]


def _stream_label(stream: StreamSpec) -> str:
    return stream.name.removeprefix("COMPLAINTS_").lower().replace("_", "-")


def consumer_name(organisation: str, service: str, stream: StreamSpec, scope: str) -> str:
    """The durable consumer ``service`` reads ``stream`` through, e.g. ``demo-letters-deadlines``.

    Names identify organisation, service, stream and scope, so several organisations
    or directorate deployments can share one NATS; the bus permissions grant each
    service its own consumers by these names (``runtime/nats_permissions.py``).
    """
    return "-".join(
        [organisation, service, _stream_label(stream)] + ([] if scope == "*" else [scope])
    )


class StreamConsumer:
    """One service's durable, ordered, idempotent subscription to one stream."""

    def __init__(
        self,
        *,
        service: str,
        stream: StreamSpec,
        db: Database,
        inbox: Inbox,
        settings: Settings,
        outbox: Outbox,
    ) -> None:
        scope = settings.scope
        self.name = consumer_name(settings.organisation, service, stream, scope)
        self.stream = stream
        # The stream's subjects narrowed to this organisation and scope.
        self.subjects = [
            ".".join(["complaints", settings.organisation, scope, *subject.split(".")[3:]])
            for subject in stream.subjects
        ]
        self.db = db
        self.inbox = inbox
        self.settings = settings
        self.outbox = outbox
        self.handlers: dict[tuple[str, int], tuple[type[EventPayload], Handler]] = {}
        self._stopping = False
        self._retry_held_at = 0.0
        self._pending_parks: list[Park] = []

    @property
    def models(self) -> tuple[type[EventPayload], ...]:
        return tuple(model for model, _ in self.handlers.values())

    def add(self, model: type[EventPayload], handler: Handler) -> None:
        key = (model.event_type, model.schema_version)
        if key in self.handlers:
            raise ValueError(f"{self.name} already has a handler for {key[0]} v{key[1]}")
        self.handlers[key] = (model, handler)

    # -- the loop -----------------------------------------------------------------

    async def subscribe(self, js: JetStreamContext) -> JetStreamContext.PullSubscription:
        """Create or update the durable consumer, then bind a pull subscription to it."""
        await js.add_consumer(
            self.stream.name,
            config=ConsumerConfig(
                durable_name=self.name,
                filter_subjects=self.subjects,
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=ACK_WAIT_SECONDS,
                # A safety net above our own limit: we park at settings.max_deliver, so
                # the server only stops redelivering if the process died every time.
                max_deliver=self.settings.max_deliver + 2,
                max_ack_pending=4 * BATCH_SIZE,
                description=f"{self.name}: every event of {self.stream.name} in scope",
            ),
        )
        return await js.pull_subscribe_bind(self.name, stream=self.stream.name)

    async def run(self, js: JetStreamContext) -> None:
        """Fetch and apply batches until :meth:`stop`; survive bus and database outages."""
        failures = 0
        while True:
            try:
                subscription = await self.subscribe(js)
                break
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                log.warning("cannot subscribe yet; retrying", consumer=self.name, exc_info=True)
                await asyncio.sleep(min(30.0, 0.5 * 2**failures))
        try:
            while not self._stopping:
                await self._round(js, subscription)
        finally:
            # Unsubscribed, the connection can drain at shutdown without waiting for us.
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    async def _round(
        self, js: JetStreamContext, subscription: JetStreamContext.PullSubscription
    ) -> None:
        try:
            messages = await subscription.fetch(BATCH_SIZE, timeout=FETCH_SECONDS)
        except (NatsTimeout, TimeoutError):  # nats-py raises either when nothing came
            messages = []
        except ConnectionClosedError:
            await asyncio.sleep(1.0)
            return
        try:
            if messages:
                await self.handle(js, messages)
            if time.monotonic() >= self._retry_held_at:
                self._retry_held_at = time.monotonic() + RETRY_HELD_SECONDS
                await self.retry_held(js)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database or bus is away: messages come back, try again
            log.warning("consumer round failed; will retry", consumer=self.name, exc_info=True)
            await asyncio.sleep(1.0)

    def stop(self) -> None:
        """Finish the batch in hand, then stop fetching."""
        self._stopping = True

    # -- a batch ------------------------------------------------------------------

    async def handle(self, js: JetStreamContext, messages: Sequence[Msg]) -> None:
        deliveries: list[Delivery] = []
        for message in messages:
            try:
                deliveries.append(self.read(message))
            except Unreadable as error:
                await self.park_message(js, message, str(error))
        if not deliveries:
            return
        try:
            async with self.db.transaction() as session:
                await self.apply(session, deliveries)
        except Exception:
            log.info(
                "batch failed; applying its messages one at a time",
                consumer=self.name,
                size=len(deliveries),
                exc_info=True,
            )
            self._pending_parks.clear()
            for delivery in deliveries:
                await self.handle_alone(js, delivery)
            return
        for delivery in deliveries:
            await delivery.message.ack()
        await self.park_held(js)

    def read(self, message: Msg) -> Delivery:
        try:
            envelope = Envelope.from_wire(message.data)
        except (ValidationError, ValueError) as error:
            raise Unreadable(f"unreadable event: {describe(error)}") from None
        if envelope.sequence is not None and envelope.case_id is None:
            raise Unreadable(f"event {envelope.id} is numbered but names no case")
        found = self.handlers.get((envelope.type, envelope.schema_version))
        if found is None:
            return Delivery(message, envelope, None)
        try:
            return Delivery(message, envelope, envelope.parse(found[0]))
        except (ValidationError, ValueError) as error:
            raise Unreadable(f"unreadable {envelope.type} payload: {describe(error)}") from None

    async def handle_alone(self, js: JetStreamContext, delivery: Delivery) -> None:
        """Apply one message in its own transaction: ack, retry with backoff, or park."""
        message = delivery.message
        deliveries = message.metadata.num_delivered
        try:
            async with self.db.transaction() as session:
                await self.apply(session, [delivery])
        except Exception as error:
            self._pending_parks.clear()
            with self._bound(delivery.envelope):
                if deliveries >= self.settings.max_deliver:
                    await self.park_message(js, message, describe(error))
                    return
                backoff = self.settings.retry_backoff
                delay = backoff[min(deliveries, len(backoff)) - 1]
                log.warning(
                    "event handling failed; will retry",
                    exc_info=True,
                    deliveries=deliveries,
                    retry_in_seconds=delay,
                )
            await message.nak(delay=delay)
            return
        await message.ack()
        await self.park_held(js)

    async def apply(self, session: AsyncSession, deliveries: Sequence[Delivery]) -> None:
        """Apply what is due of ``deliveries``, hold what is early, skip what is done."""
        numbered = {d.envelope.case_id for d in deliveries if d.envelope.sequence is not None}
        cursors = await self.inbox.lock_cursors(session, self.name, numbered)
        holding = await self.inbox.cases_holding(session, self.name, numbered)
        moved: dict[uuid.UUID, int] = {}
        for delivery in deliveries:
            envelope = delivery.envelope
            if envelope.sequence is None:
                if await self.inbox.claim(session, self.name, envelope.id):
                    await self.dispatch(session, envelope, delivery.payload)
                continue
            case_id, last = envelope.case_id, cursors[envelope.case_id]
            if envelope.sequence <= last:
                continue  # applied before: a redelivery or a republished duplicate
            if envelope.sequence > last + 1:
                with self._bound(envelope):
                    log.info("event held until the case's earlier events arrive", after=last)
                await self.inbox.hold(session, self.name, envelope)
                holding.add(case_id)
                continue
            await self.dispatch(session, envelope, delivery.payload)
            last = envelope.sequence
            if case_id in holding:
                last = await self.apply_held(session, case_id, last)
            cursors[case_id] = moved[case_id] = last
        await self.inbox.save_cursors(session, self.name, moved)

    async def apply_held(self, session: AsyncSession, case_id: uuid.UUID, last: int) -> int:
        """Apply the case's held events that follow ``last``; return the new last."""
        while (
            held := await self.inbox.held_event(session, self.name, case_id, last + 1)
        ) is not None:
            envelope = Envelope.from_wire(held.body)
            try:
                async with self.outbox.savepoint(session):
                    found = self.handlers.get((envelope.type, envelope.schema_version))
                    payload = envelope.parse(found[0]) if found else None
                    await self.dispatch(session, envelope, payload)
            except Exception as error:
                reason = describe(error)
                with self._bound(envelope):
                    log.warning("held event failed; will retry", exc_info=True)
                await self.inbox.failed(session, self.name, case_id, last + 1, reason)
                if held.attempts + 1 >= self.settings.max_deliver:
                    self._pending_parks.append(
                        Park(
                            case_id,
                            last + 1,
                            held.body,
                            envelope.subject,
                            held.attempts + 1,
                            reason,
                        )
                    )
                return last
            await self.inbox.release(session, self.name, case_id, last + 1)
            last += 1
        return last

    async def dispatch(
        self, session: AsyncSession, envelope: Envelope, payload: EventPayload | None
    ) -> None:
        if payload is None:
            return
        _, handler = self.handlers[(envelope.type, envelope.schema_version)]
        with self._bound(envelope):
            await handler(envelope, payload, session)

    async def retry_held(self, js: JetStreamContext) -> None:
        """Apply held events whose turn has come but that nothing applied (see module doc)."""
        async with self.db.read() as session:
            due = await self.inbox.due(session, self.name)
        for case_id in due:
            async with self.db.transaction() as session:
                cursors = await self.inbox.lock_cursors(session, self.name, [case_id])
                last = await self.apply_held(session, case_id, cursors[case_id])
                if last != cursors[case_id]:
                    await self.inbox.save_cursors(session, self.name, {case_id: last})
            await self.park_held(js)

    # -- dead letters -------------------------------------------------------------

    async def park_held(self, js: JetStreamContext) -> None:
        """Move held events that failed ``max_deliver`` times to the dead-letter stream."""
        parks, self._pending_parks = self._pending_parks, []
        for park in parks:
            headers = self._dead_letter_headers(
                f"{self.name}:{park.case_id}:{park.sequence}",
                park.subject,
                park.attempts,
                park.error,
            )
            if await self._publish_dead_letter(js, park.body.encode(), headers):
                async with self.db.transaction() as session:
                    await self.inbox.release(session, self.name, park.case_id, park.sequence)
                log.error(
                    "held event parked on the dead-letter stream; the case's later events wait "
                    "for it to be replayed",
                    consumer=self.name,
                    case_id=str(park.case_id),
                    sequence=park.sequence,
                    reason=park.error,
                )

    async def park_message(self, js: JetStreamContext, message: Msg, reason: str) -> None:
        """Move a message to the dead-letter stream with its error, then ack the original.

        If parking itself fails the original is nacked, so it is retried, never lost.
        """
        deliveries = message.metadata.num_delivered
        headers = self._dead_letter_headers(
            f"{self.name}:{message.metadata.sequence.stream}", message.subject, deliveries, reason
        )
        if not await self._publish_dead_letter(js, message.data, headers):
            await message.nak(delay=self.settings.retry_backoff[-1])
            return
        log.error(
            "message parked on the dead-letter stream",
            consumer=self.name,
            reason=reason,
            deliveries=deliveries,
        )
        await message.ack()

    def _dead_letter_headers(
        self, message_id: str, subject: str, deliveries: int, reason: str
    ) -> dict[str, str]:
        return {
            "Nats-Msg-Id": message_id,
            "Complaints-Consumer": self.name,
            "Complaints-Original-Subject": subject,
            "Complaints-Deliveries": str(deliveries),
            "Complaints-Error": _header_safe(reason),
        }

    async def _publish_dead_letter(
        self, js: JetStreamContext, data: bytes, headers: dict[str, str]
    ) -> bool:
        try:
            await js.publish(
                dead_letter_subject(self.settings.organisation, self.name),
                data,
                stream=DEAD_LETTERS.name,
                headers=headers,
                timeout=PUBLISH_TIMEOUT_SECONDS,
            )
        except Exception:
            log.exception("could not park message; it will be retried", consumer=self.name)
            return False
        return True

    @contextlib.contextmanager
    def _bound(self, envelope: Envelope) -> Any:
        with structlog.contextvars.bound_contextvars(
            consumer=self.name,
            event_id=str(envelope.id),
            event_type=envelope.type,
            case_id=str(envelope.case_id) if envelope.case_id else None,
            correlation_id=str(envelope.correlation_id),
        ):
            yield
