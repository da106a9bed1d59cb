"""Transactional outbox: a state change and the events announcing it commit together.

A service stages events in its own ``outbox`` table inside the transaction that
changes its records; the relay publishes what is staged and marks it sent only
after JetStream has acknowledged it. A crash between publish and mark republishes
the same event id, which the stream drops as a duplicate (``Nats-Msg-Id``) and
consumers would ignore anyway (they remember what they applied).

Staging also numbers each case's events per stream (``Envelope.sequence``) from a
counter row updated in the same transaction, so the numbers have no gaps and no
repeats even with several replicas: consumers use them to apply a case's events in
order, whatever order the bus delivers them in (``complaints_shared.inbox``).
What a transaction stages is written once, as it commits (:meth:`Outbox.write`):
one counter update per case and one insert, however many events it announced.

The relay holds no transaction across the network: it claims a batch of rows for a
short lease (``claimed_until``) in one transaction, publishes the whole batch with
asynchronous JetStream publishes, and marks the acknowledged rows sent in one
statement. A replica that dies mid-batch leaves its claim to expire, and another
publishes the rows again; the duplicate window absorbs the repeat.

One event never stops the relay: the bus says what became of each (:class:`Outcome`),
and an event it can never take, or keeps refusing, is parked in its row with the
error (``parked_at``, ``error``) while the rows after it go on. Readiness reports
parked rows until an operator deals with them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, NamedTuple

import structlog
from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    Row,
    String,
    Text,
    Uuid,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.subjects import stream_for
from complaints_shared.db import Database, UtcDateTime, platform_table, upsert

log = structlog.get_logger(__name__)


class Outgoing(NamedTuple):
    """A staged event as the relay hands it to the bus."""

    event_id: str
    subject: str
    body: bytes
    stream: str


class Outcome(Enum):
    """What became of one event the relay tried to publish."""

    SENT = "sent"
    """Its stream has it."""
    UNAVAILABLE = "unavailable"
    """The bus is away or slow: try again, for as long as that lasts."""
    REFUSED = "refused"
    """The bus answered no: try again, and park the event if it keeps saying no."""
    UNPUBLISHABLE = "unpublishable"
    """It can never be published as it is (larger than the server takes): park it now."""


class Published(NamedTuple):
    outcome: Outcome
    error: str = ""
    """What the bus said, for the log and the parked row; never the event's content."""


PublishBatch = Callable[[Sequence[Outgoing]], Awaitable[list[Published]]]
"""Publishes a batch at once; says, for each event in order, what became of it."""

STAGED = "complaints.outbox.staged"
"""Where a session keeps the events staged in its transaction until it commits."""

CLAIM_SECONDS = 30.0
PUBLISHED_KEPT = timedelta(days=1)
"""How long a published row stays (well past the stream's duplicate window)."""
PRUNE_EVERY_SECONDS = 3600.0
"""How long a relay's claim on a batch lasts: past it, another replica may publish the rows."""


class Outbox:
    """A service's outbox table, its per-case event numbering, and the relay."""

    def __init__(self, metadata: MetaData) -> None:
        self.table = platform_table(
            metadata,
            "outbox",
            Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
            Column("event_id", Uuid, nullable=False, unique=True),
            Column("stream", String(64), nullable=False),
            Column("subject", String(255), nullable=False),
            Column("body", Text, nullable=False),
            Column("staged_at", UtcDateTime, nullable=False),
            Column("claimed_until", UtcDateTime),
            Column("published_at", UtcDateTime),
            Column("attempts", Integer, nullable=False, default=0),
            Column("error", Text),
            Column("parked_at", UtcDateTime),
            Index("ix_outbox_unpublished", "published_at", "seq"),
        )
        self.sequences = platform_table(
            metadata,
            "outbox_sequences",
            Column("stream", String(64), primary_key=True),
            Column("case_id", Uuid, primary_key=True),
            Column("last", Integer, nullable=False),
        )
        self._wake = asyncio.Event()

    def stage(self, session: AsyncSession, *envelopes: Envelope) -> None:
        """Queue ``envelopes`` for publishing when ``session``'s transaction commits."""
        session.info.setdefault(STAGED, []).extend(envelopes)

    @contextlib.asynccontextmanager
    async def savepoint(self, session: AsyncSession) -> AsyncIterator[None]:
        """A savepoint whose rollback also forgets the events staged inside it."""
        staged = session.info.setdefault(STAGED, [])
        mark = len(staged)
        try:
            async with session.begin_nested():
                yield
        except BaseException:
            del staged[mark:]
            raise

    async def write(self, session: AsyncSession) -> None:
        """Number and write what ``session`` staged (run by the database before commit).

        Each event about a case gets the next number in that case's series on its stream.
        """
        envelopes = session.info.pop(STAGED, None)
        if not envelopes:
            return
        # The relay is woken once these rows are committed, and only then: a transaction
        # that staged nothing costs the relay nothing (an empty claim is a write).
        event.listen(session.sync_session, "after_commit", self._after_commit, once=True)
        numbered = await self._number(session, envelopes)
        staged_at = datetime.now(UTC)
        await session.execute(
            insert(self.table),
            [
                {
                    "event_id": envelope.id,
                    "stream": stream_for(envelope.type).name,
                    "subject": envelope.subject,
                    "body": envelope.model_dump_json(),
                    "staged_at": staged_at,
                }
                for envelope in numbered
            ],
        )

    async def _number(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> list[Envelope]:
        wanted = Counter(
            (stream_for(e.type).name, e.case_id) for e in envelopes if e.case_id is not None
        )
        if not wanted:
            return list(envelopes)
        table = self.sequences
        next_number: dict[tuple[str, object], int] = {}
        for (stream, case_id), count in sorted(wanted.items(), key=lambda kv: str(kv[0])):
            statement = upsert(session, table).values(stream=stream, case_id=case_id, last=count)
            statement = statement.on_conflict_do_update(
                index_elements=[table.c.stream, table.c.case_id],
                set_={"last": table.c.last + count},
            ).returning(table.c.last)
            last = (await session.execute(statement)).scalar_one()
            next_number[(stream, case_id)] = last - count + 1
        numbered = []
        for envelope in envelopes:
            key = (stream_for(envelope.type).name, envelope.case_id)
            if envelope.case_id is None:
                numbered.append(envelope)
                continue
            numbered.append(envelope.model_copy(update={"sequence": next_number[key]}))
            next_number[key] += 1
        return numbered

    def _after_commit(self, _session: Any) -> None:
        """Tell the relay there is something new, so it need not wait for its next poll."""
        self._wake.set()

    async def publish_pending(
        self, db: Database, publish: PublishBatch, batch: int = 500, max_attempts: int = 5
    ) -> int:
        """Publish up to ``batch`` staged events; return how many it settled (sent or parked).

        An event the bus can never take is parked at once, and one it refuses
        ``max_attempts`` times is parked then, so one bad row never holds up the rest.
        Raises if any event is left to try again, so that the relay backs off.
        """
        rows = await self._claim(db, batch)
        if not rows:
            return 0
        results = await publish(
            [
                Outgoing(str(row.event_id), row.subject, row.body.encode(), row.stream)
                for row in rows
            ]
        )
        sent, unavailable, said = [], [], set()
        refused: dict[str, list[int]] = {}  # by error, so each error is one statement
        parked: dict[str, list[Row[Any]]] = {}
        for row, result in zip(rows, results, strict=True):
            if result.outcome is Outcome.SENT:
                sent.append(row.seq)
                continue
            if result.outcome is Outcome.UNAVAILABLE:
                unavailable.append(row.seq)
            elif result.outcome is Outcome.REFUSED and row.attempts + 1 < max_attempts:
                refused.setdefault(result.error, []).append(row.seq)
            else:
                parked.setdefault(result.error, []).append(row)
                continue
            said.add(result.error)
        await self._settle(db, sent, unavailable, refused, parked)
        waiting = len(unavailable) + sum(map(len, refused.values()))
        if waiting:
            raise RuntimeError(
                f"the bus did not take {waiting} of {len(rows)}: {'; '.join(sorted(said))}"
            )
        return len(sent) + sum(map(len, parked.values()))

    async def _claim(self, db: Database, batch: int) -> list[Row[Any]]:
        """The next unpublished rows, leased to this relay for :data:`CLAIM_SECONDS`."""
        table = self.table
        now = datetime.now(UTC)
        async with db.transaction() as session:
            rows = (
                await session.execute(
                    select(
                        table.c.seq,
                        table.c.event_id,
                        table.c.subject,
                        table.c.body,
                        table.c.stream,
                        table.c.attempts,
                    )
                    .where(
                        table.c.published_at.is_(None),
                        table.c.parked_at.is_(None),
                        or_(table.c.claimed_until.is_(None), table.c.claimed_until < now),
                    )
                    .order_by(table.c.seq)
                    .limit(batch)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if rows:
                await session.execute(
                    update(table)
                    .where(table.c.seq.in_([row.seq for row in rows]))
                    .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
                )
        return list(rows)

    async def _settle(
        self,
        db: Database,
        sent: list[int],
        unavailable: list[int],
        refused: dict[str, list[int]],
        parked: dict[str, list[Row[Any]]],
    ) -> None:
        """Record what became of a claimed batch, and free what is to be tried again.

        Freed rows go to the next round rather than waiting out the lease. A refusal
        counts toward parking; an outage does not (it says nothing about the event).
        """
        table = self.table
        now = datetime.now(UTC)
        async with db.transaction() as session:
            if sent:
                await session.execute(
                    update(table)
                    .where(table.c.seq.in_(sent))
                    .values(published_at=now, claimed_until=None)
                )
            if unavailable:
                await session.execute(
                    update(table).where(table.c.seq.in_(unavailable)).values(claimed_until=None)
                )
            for error, seqs in refused.items():
                await session.execute(
                    update(table)
                    .where(table.c.seq.in_(seqs))
                    .values(claimed_until=None, attempts=table.c.attempts + 1, error=error)
                )
            for error, rows in parked.items():
                await session.execute(
                    update(table)
                    .where(table.c.seq.in_([row.seq for row in rows]))
                    .values(
                        claimed_until=None,
                        attempts=table.c.attempts + 1,
                        error=error,
                        parked_at=now,
                    )
                )
        for error, rows in parked.items():
            for row in rows:
                log.error(
                    "outbox event parked: the bus will not take it; later events go on, and "
                    "readiness reports it until an operator deals with it",
                    event_id=str(row.event_id),
                    stream=row.stream,
                    subject=row.subject,
                    attempts=row.attempts + 1,
                    error=error,
                )

    async def parked(self, session: AsyncSession) -> int:
        """How many events were parked because the bus would not take them."""
        table = self.table
        query = select(func.count()).select_from(table).where(table.c.parked_at.is_not(None))
        return (await session.execute(query)).scalar_one()

    async def prune(self, db: Database, kept_for: timedelta = PUBLISHED_KEPT) -> int:
        """Delete rows published more than ``kept_for`` ago; returns how many.

        A published event lives on in its stream; the row only served the relay (and,
        for a while, whoever looks at what a service published). Its body carries
        personal data, which must not outlive retention in a table nobody reads.
        """
        cutoff = datetime.now(UTC) - kept_for
        async with db.transaction() as session:
            result = await session.execute(
                delete(self.table).where(self.table.c.published_at < cutoff)
            )
        return result.rowcount or 0

    async def relay(
        self,
        db: Database,
        publish: PublishBatch,
        poll_seconds: float = 1.0,
        max_attempts: int = 5,
    ) -> None:
        """Publish staged events until cancelled, surviving bus and database outages."""
        failures = 0
        pruned_at = float("-inf")
        while True:
            self._wake.clear()
            try:
                sent = await self.publish_pending(db, publish, max_attempts=max_attempts)
                failures = 0
                if sent == 0 and time.monotonic() - pruned_at > PRUNE_EVERY_SECONDS:
                    await self.prune(db)
                    pruned_at = time.monotonic()
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                log.warning("outbox relay failed; will retry", exc_info=True, failures=failures)
                await asyncio.sleep(min(30.0, 0.5 * 2**failures))
                continue
            if sent == 0:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
                # cancellation that lands as the event is set, and the relay never stops.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(poll_seconds):
                        await self._wake.wait()
