"""Transactional outbox: a state change and the events announcing it commit together.

A service stages events in its own ``outbox`` table inside the transaction that
changes its records; the relay publishes what is staged, in order, and marks it
sent only after JetStream has acknowledged it. A crash between publish and mark
republishes the same event id, which the stream drops as a duplicate (``Nats-Msg-Id``)
and consumers would ignore anyway (they remember processed ids).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import structlog
from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.subjects import stream_for
from complaints_shared.db import Database, UtcDateTime

log = structlog.get_logger(__name__)

Publish = Callable[[Envelope, str], Awaitable[None]]
"""Publishes an envelope to the named stream, returning once the stream has it."""


def _outbox_table(metadata: MetaData) -> Table:
    if "outbox" in metadata.tables:
        return metadata.tables["outbox"]
    return Table(
        "outbox",
        metadata,
        Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("stream", String(64), nullable=False),
        Column("body", Text, nullable=False),
        Column("staged_at", UtcDateTime, nullable=False),
        Column("published_at", UtcDateTime),
        Index("ix_outbox_unpublished", "published_at", "seq"),
    )


class Outbox:
    """A service's outbox table and the relay that empties it onto the bus."""

    def __init__(self, metadata: MetaData) -> None:
        self.table = _outbox_table(metadata)
        self._wake = asyncio.Event()

    async def stage(self, session: AsyncSession, *envelopes: Envelope) -> None:
        """Queue ``envelopes`` for publishing, in order, when ``session``'s transaction commits."""
        if not envelopes:
            return
        staged_at = datetime.now(UTC)
        await session.execute(
            insert(self.table),
            [
                {
                    "event_id": envelope.id,
                    "stream": stream_for(envelope.type).name,
                    "body": envelope.model_dump_json(),
                    "staged_at": staged_at,
                }
                for envelope in envelopes
            ],
        )

    def wake(self) -> None:
        """Tell the relay there is something new, so it need not wait for its next poll."""
        self._wake.set()

    async def publish_pending(self, db: Database, publish: Publish, batch: int = 100) -> int:
        """Publish up to ``batch`` staged events in order; return how many went out.

        Rows are locked with SKIP LOCKED so several replicas of a service can relay
        at once on PostgreSQL without publishing the same row concurrently.
        """
        table = self.table
        async with db.transaction() as session:
            rows = (
                await session.execute(
                    select(table.c.seq, table.c.stream, table.c.body)
                    .where(table.c.published_at.is_(None))
                    .order_by(table.c.seq)
                    .limit(batch)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for row in rows:
                await publish(Envelope.from_wire(row.body), row.stream)
                await session.execute(
                    update(table)
                    .where(table.c.seq == row.seq)
                    .values(published_at=datetime.now(UTC))
                )
        return len(rows)

    async def relay(self, db: Database, publish: Publish, poll_seconds: float = 1.0) -> None:
        """Publish staged events until cancelled, surviving bus and database outages."""
        failures = 0
        while True:
            self._wake.clear()
            try:
                sent = await self.publish_pending(db, publish)
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                log.warning("outbox relay failed; will retry", exc_info=True, failures=failures)
                await asyncio.sleep(min(30.0, 0.5 * 2**failures))
                continue
            if sent == 0:
                try:
                    await asyncio.wait_for(self._wake.wait(), poll_seconds)
                except TimeoutError:
                    pass
