"""Processed-event ids: what makes every consumer idempotent.

JetStream delivers at least once, and the outbox may publish an event twice; a
consumer records each event id it has handled in the same transaction as the
handling, and skips ids it has seen.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import Column, MetaData, String, Table, Uuid, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_shared.db import UtcDateTime


def _processed_table(metadata: MetaData) -> Table:
    if "processed_events" in metadata.tables:
        return metadata.tables["processed_events"]
    return Table(
        "processed_events",
        metadata,
        Column("consumer", String(120), primary_key=True),
        Column("event_id", Uuid, primary_key=True),
        Column("processed_at", UtcDateTime, nullable=False),
    )


class ProcessedEvents:
    """The ids each consumer of one service has already handled."""

    def __init__(self, metadata: MetaData) -> None:
        self.table = _processed_table(metadata)

    async def claim(self, session: AsyncSession, consumer: str, event_id: uuid.UUID) -> bool:
        """Record ``event_id`` for ``consumer``; False if it was already handled.

        Two replicas racing on the same id both pass the check, but only one can
        commit the primary key: the other's transaction fails and is redelivered.
        """
        table = self.table
        seen = await session.scalar(
            select(table.c.event_id).where(
                table.c.consumer == consumer, table.c.event_id == event_id
            )
        )
        if seen is not None:
            return False
        await session.execute(
            insert(table).values(
                consumer=consumer, event_id=event_id, processed_at=datetime.now(UTC)
            )
        )
        return True
