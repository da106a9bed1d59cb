"""The outbox relay never stops for one event: what the bus will not take is parked.

On real NATS and both databases: an event larger than the server takes (staged
past the size check, as an older version without it would have) is parked with the
error, later events still go out, and readiness says so. How the relay counts the
bus's answers is shown on both databases with a bus that answers as scripted.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import Column, MetaData, String, Table, insert, select

from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.events import CaseReceived
from complaints_shared.outbox import Outcome, Outgoing, Published
from complaints_shared.service import Service
from complaints_shared.settings import Settings
from complaints_shared.testing.events import case_received
from complaints_shared.testing.harness import eventually, running


def recorder(settings: Settings) -> tuple[Service, Table]:
    """A service that publishes complaints and records each one it receives."""
    metadata = MetaData()
    received = Table("received", metadata, Column("summary", String(200), primary_key=True))
    service = Service("recorder", metadata, settings)
    service.publishes(CaseReceived)

    @service.on(CaseReceived)
    async def record(_envelope: Envelope, case: CaseReceived, session) -> None:
        await session.execute(insert(received).values(summary=case.summary))

    return service, received


async def summaries(service: Service, table: Table) -> list[str]:
    async with service.db.read() as session:
        return sorted(await session.scalars(select(table.c.summary)))


async def test_an_event_the_bus_will_not_take_is_parked_and_the_rest_flow(
    settings: Settings,
) -> None:
    service, received = recorder(settings)
    async with running(settings, service) as suite:
        event = case_received(settings, summary="too large")
        oversized = event.model_copy(update={"payload": {**event.payload, "summary": "x" * 2**20}})
        async with service.db.transaction() as session:
            service.outbox.stage(session, oversized)
        async with service.db.transaction() as session:
            await service.publish(session, case_received(settings, summary="after it"))

        assert await eventually(lambda: summaries(service, received)) == ["after it"]
        readiness = await eventually(lambda: _not_ready(suite.http))
        assert readiness["services"]["recorder"]["outbox_parked"] == 1
        outbox = service.outbox.table
        async with service.db.read() as session:
            row = (
                await session.execute(select(outbox).where(outbox.c.event_id == oversized.id))
            ).one()
        assert row.parked_at is not None and row.published_at is None
        assert "max_payload" in row.error

        async with service.db.transaction() as session:  # the relay carries on
            await service.publish(session, case_received(settings, summary="later still"))
        await eventually(lambda: _when_has(summaries(service, received), "later still"))
        assert await suite.held() == 0


async def _not_ready(http) -> dict | None:
    answer = await http.get("/health/ready")
    return answer.json() if answer.status_code == 503 else None


async def _when_has(values, wanted: str) -> list[str] | None:
    found = await values
    return found if wanted in found else None


def bus_answering(answers: dict[str, list[Outcome]]):
    """A publish function whose bus gives each event (by summary) its next scripted answer."""

    async def publish(events: Sequence[Outgoing]) -> list[Published]:
        results = []
        for event in events:
            summary = Envelope.from_wire(event.body).payload["summary"]
            outcome = answers[summary].pop(0)
            results.append(Published(outcome, "" if outcome is Outcome.SENT else f"{outcome}!"))
        return results

    return publish


async def test_refusals_count_toward_parking_and_outages_do_not(settings: Settings) -> None:
    service, _ = recorder(settings)
    await service.prepare()
    try:
        for summary in ("refused", "fine"):
            async with service.db.transaction() as session:
                await service.publish(session, case_received(settings, summary=summary))
        refused, sent, away = Outcome.REFUSED, Outcome.SENT, Outcome.UNAVAILABLE
        publish = bus_answering(
            {"refused": [refused, away, away, refused, refused], "fine": [sent]}
        )

        async def attempt() -> int:
            return await service.outbox.publish_pending(service.db, publish, max_attempts=3)

        with pytest.raises(RuntimeError, match="did not take 1 of 2: Outcome.REFUSED!"):
            await attempt()
        for _ in range(2):  # the bus is away: that says nothing about the event
            with pytest.raises(RuntimeError, match="Outcome.UNAVAILABLE!"):
                await attempt()
        with pytest.raises(RuntimeError, match="did not take 1 of 1"):
            await attempt()
        assert await attempt() == 1  # the third refusal parks it
        assert await attempt() == 0  # and it is not tried again

        outbox = service.outbox.table
        async with service.db.read() as session:
            rows = {
                Envelope.from_wire(row.body).payload["summary"]: row
                for row in (await session.execute(select(outbox))).all()
            }
            assert await service.outbox.parked(session) == 1
        assert (rows["refused"].attempts, rows["refused"].error) == (3, "Outcome.REFUSED!")
        assert rows["refused"].parked_at is not None
        assert rows["fine"].published_at is not None and rows["fine"].parked_at is None
    finally:
        await service.db.dispose()


async def test_rows_published_long_ago_are_pruned_and_the_rest_kept(settings: Settings) -> None:
    """A published event lives on in its stream; its row (personal data in the body) goes
    after a day. Rows published lately stay."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import func, update

    service, received = recorder(settings)
    async with running(settings, service):
        for summary in ("old", "recent"):
            async with service.db.transaction() as session:
                await service.publish(session, case_received(settings, summary=summary))
        await eventually(lambda: _all_received(service, received, 2))
        table = service.outbox.table
        async with service.db.transaction() as session:
            first = await session.scalar(select(func.min(table.c.seq)))
            await session.execute(
                update(table)
                .where(table.c.seq == first)
                .values(published_at=datetime.now(UTC) - timedelta(days=2))
            )
        assert await service.outbox.prune(service.db) == 1
        async with service.db.read() as session:
            left = await session.scalar(select(func.count()).select_from(table))
        assert left == 1
        assert await service.outbox.prune(service.db) == 0


async def _all_received(service: Service, table: Table, n: int) -> bool:
    return len(await summaries(service, table)) >= n
