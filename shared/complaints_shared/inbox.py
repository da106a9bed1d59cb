"""What each consumer has applied, and what arrived before its turn.

JetStream delivers at least once and in no particular order across streams and
replicas. A consumer therefore keeps, in its service's own database and in the same
transaction as the work:

- for events about a case (numbered by the producer, ``Envelope.sequence``): the
  last number it applied per case (``event_cursors``). An event at or below it is a
  duplicate; the next one is applied; one further ahead is **held**
  (``held_events``) and applied as soon as the events before it have been. That is
  how every handler sees a case's events in the order they happened.
- for events about no case (``calendar.changed``), or from a producer that does not
  number them: the ids it has handled (``processed_events``).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Collection
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Text,
    Uuid,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_shared.contracts.envelope import Envelope
from complaints_shared.db import UtcDateTime, platform_table, upsert


class Inbox:
    """The consumers' record of one service: cursors, held events, processed ids."""

    def __init__(self, metadata: MetaData, service: str) -> None:
        self.service = service
        self.processed = platform_table(
            metadata,
            "processed_events",
            Column("consumer", String(120), primary_key=True),
            Column("event_id", Uuid, primary_key=True),
            Column("processed_at", UtcDateTime, nullable=False),
        )
        self.cursors = platform_table(
            metadata,
            "event_cursors",
            Column("consumer", String(120), primary_key=True),
            Column("case_id", Uuid, primary_key=True),
            Column("last", Integer, nullable=False),
        )
        self.held = platform_table(
            metadata,
            "held_events",
            Column("consumer", String(120), primary_key=True),
            Column("case_id", Uuid, primary_key=True),
            Column("sequence", Integer, primary_key=True),
            Column("body", Text, nullable=False),
            Column("held_at", UtcDateTime, nullable=False),
            Column("attempts", Integer, nullable=False, default=0),
            Column("error", Text),
        )

    async def claim(self, session: AsyncSession, consumer: str, event_id: uuid.UUID) -> bool:
        """Record ``event_id`` for ``consumer``; False if it was already handled.

        Two replicas racing on the same id both pass the check, but only one can
        commit the primary key: the other's transaction fails and is redelivered.
        """
        table = self.processed
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

    async def lock_cursors(
        self, session: AsyncSession, consumer: str, case_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, int]:
        """Each case's last applied number, its row locked until the transaction ends.

        Missing rows are created first, so two replicas handling events of one case
        always meet on the same row lock and take turns. Rows are taken in one order
        (sorted ids) so two batches cannot deadlock on them.

        On PostgreSQL each case is also locked for the whole service (an advisory
        lock), so the service's consumers of *different* streams take turns on a case
        too: a handler that reconciles two streams (an acknowledgement letter and the
        case it acknowledges) always sees what the other committed. SQLite's single
        writer gives the same for free.
        """
        if not case_ids:
            return {}
        ordered = sorted(case_ids, key=str)
        table = self.cursors
        if session.bind.dialect.name == "postgresql":
            await session.execute(
                text(
                    "SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) "
                    "WITH ORDINALITY AS t(k, i) ORDER BY i"
                ),
                {"keys": [self._lock_key(case_id) for case_id in ordered]},
            )
        await session.execute(
            upsert(session, table).on_conflict_do_nothing(),
            [{"consumer": consumer, "case_id": case_id, "last": 0} for case_id in ordered],
        )
        rows = await session.execute(
            select(table.c.case_id, table.c.last)
            .where(table.c.consumer == consumer, table.c.case_id.in_(ordered))
            .order_by(table.c.case_id)
            .with_for_update()
        )
        return {row.case_id: row.last for row in rows}

    def _lock_key(self, case_id: uuid.UUID) -> int:
        digest = hashlib.blake2b(f"{self.service}:{case_id}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big", signed=True)

    async def save_cursors(
        self, session: AsyncSession, consumer: str, cursors: dict[uuid.UUID, int]
    ) -> None:
        """Store each case's new last applied number (one statement for all)."""
        if not cursors:
            return
        table = self.cursors
        await session.execute(
            update(table)
            .where(table.c.consumer == consumer, table.c.case_id == bindparam("b_case"))
            .values(last=bindparam("b_last")),
            [{"b_case": case_id, "b_last": last} for case_id, last in cursors.items()],
            execution_options={"synchronize_session": False},
        )

    async def hold(self, session: AsyncSession, consumer: str, envelope: Envelope) -> None:
        """Keep an event that arrived before its turn (a redelivered one is kept once)."""
        await session.execute(
            upsert(session, self.held)
            .values(
                consumer=consumer,
                case_id=envelope.case_id,
                sequence=envelope.sequence,
                body=envelope.model_dump_json(),
                held_at=datetime.now(UTC),
                attempts=0,
            )
            .on_conflict_do_nothing()
        )

    async def cases_holding(
        self, session: AsyncSession, consumer: str, case_ids: Collection[uuid.UUID]
    ) -> set[uuid.UUID]:
        """Which of ``case_ids`` have events held for ``consumer``."""
        if not case_ids:
            return set()
        table = self.held
        rows = await session.scalars(
            select(table.c.case_id)
            .where(table.c.consumer == consumer, table.c.case_id.in_(list(case_ids)))
            .distinct()
        )
        return set(rows)

    async def held_event(
        self, session: AsyncSession, consumer: str, case_id: uuid.UUID, sequence: int
    ) -> Row | None:
        table = self.held
        return (
            await session.execute(
                select(table.c.body, table.c.attempts).where(
                    table.c.consumer == consumer,
                    table.c.case_id == case_id,
                    table.c.sequence == sequence,
                )
            )
        ).first()

    async def release(
        self, session: AsyncSession, consumer: str, case_id: uuid.UUID, sequence: int
    ) -> None:
        """Forget a held event: it has been applied, or parked for an operator."""
        table = self.held
        await session.execute(
            delete(table).where(
                table.c.consumer == consumer,
                table.c.case_id == case_id,
                table.c.sequence == sequence,
            )
        )

    async def failed(
        self,
        session: AsyncSession,
        consumer: str,
        case_id: uuid.UUID,
        sequence: int,
        error: str,
    ) -> None:
        """Count a failed attempt to apply a held event, keeping the error for an operator."""
        table = self.held
        await session.execute(
            update(table)
            .where(
                table.c.consumer == consumer,
                table.c.case_id == case_id,
                table.c.sequence == sequence,
            )
            .values(attempts=table.c.attempts + 1, error=error[:2000])
        )

    async def due(self, session: AsyncSession, consumer: str) -> list[uuid.UUID]:
        """Cases whose next event is held: their turn has come but nothing applied it yet.

        That happens when applying it failed, or when a replica held it while another
        was applying the event before it. The consumer retries these on its own.
        """
        held, cursors = self.held, self.cursors
        rows = await session.scalars(
            select(held.c.case_id)
            .join(
                cursors,
                and_(
                    cursors.c.consumer == held.c.consumer,
                    cursors.c.case_id == held.c.case_id,
                    held.c.sequence == cursors.c.last + 1,
                ),
            )
            .where(held.c.consumer == consumer)
            .limit(100)
        )
        return list(rows)

    async def waiting(self, session: AsyncSession) -> int:
        """How many events every consumer of this service holds, waiting for earlier ones."""
        return await session.scalar(select(func.count()).select_from(self.held)) or 0
