"""Delivery semantics of the platform, on real NATS and both databases.

A small probe service records every CaseReceived it handles and re-announces it;
the tests publish to NATS as another service would and look at the probe's table
and at the streams.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Column, MetaData, String, Table, Uuid, func, insert, select

from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.events import CaseReceived, DeadlineScheduled
from complaints_shared.contracts.subjects import DEAD_LETTERS
from complaints_shared.contracts.vocabulary import DeadlineKind
from complaints_shared.runtime.natsserver import NatsServer
from complaints_shared.service import Service
from complaints_shared.settings import Settings
from complaints_shared.testing.events import case_received
from complaints_shared.testing.harness import Running, eventually, running

POISON = "poison"
FAIL_AFTER_STAGING = "fail after staging"


def probe(settings: Settings) -> tuple[Service, Table]:
    metadata = MetaData()
    handled = Table(
        "handled",
        metadata,
        Column("event_id", Uuid, primary_key=True),
        Column("summary", String(200)),
    )
    service = Service("probe", metadata, settings)
    service.publishes(DeadlineScheduled, CaseReceived)

    @service.on(CaseReceived)
    async def handle(envelope: Envelope, case: CaseReceived, session) -> None:
        if case.summary == POISON:
            raise RuntimeError("this complaint always breaks the probe")
        await session.execute(insert(handled).values(event_id=envelope.id, summary=case.summary))
        await service.publish(
            session,
            envelope.caused(
                DeadlineScheduled(
                    deadline_id=uuid.uuid4(),
                    kind=DeadlineKind.ACKNOWLEDGEMENT,
                    start_on=case.received_on,
                    due_on=case.received_on,
                    working_days=0,
                    rule="probe",
                )
            ),
        )
        if case.summary == FAIL_AFTER_STAGING:
            raise RuntimeError("fails after staging its event")

    return service, handled


def complaint(settings: Settings, summary: str) -> Envelope:
    return case_received(settings, summary=summary)


async def handled_summaries(service: Service, table: Table) -> list[str]:
    async with service.db.transaction() as session:
        return list(await session.scalars(select(table.c.summary).order_by(table.c.summary)))


def deadline_subject(settings: Settings) -> str:
    return f"complaints.{settings.organisation}.adults.deadline.scheduled.v1"


async def test_a_duplicate_publish_is_handled_once(settings: Settings) -> None:
    service, table = probe(settings)
    async with running(settings, service) as suite:
        event = complaint(settings, "late carer")
        await suite.publish(event)
        await suite.publish(event)  # same Nats-Msg-Id: the stream drops it
        # A republish after the duplicate window has a new message id, so it reaches the consumer.
        await suite.publish(event, msg_id=f"republished-{uuid.uuid4()}")
        marker = complaint(settings, "marker")
        await suite.publish(marker)

        await eventually(lambda: handled_summaries(service, table))
        assert await eventually(
            lambda: _when(handled_summaries(service, table), lambda s: "marker" in s)
        ) == ["late carer", "marker"]
        stored = await suite.messages("COMPLAINTS_CASES", event.subject)
        assert len(stored) == 3  # two copies of the event reached the stream, plus the marker
        caused = await eventually(lambda: _count(suite, deadline_subject(settings), 2))
        assert sorted(e.causation_id for e in caused) == sorted([event.id, marker.id])


async def test_a_failing_message_is_parked_and_the_rest_flow(settings: Settings) -> None:
    service, table = probe(settings)
    async with running(settings, service) as suite:
        poison = complaint(settings, POISON)
        await suite.publish(poison)
        await suite.publish(complaint(settings, "after the poison"))
        await suite.js.publish(
            poison.subject,
            b"{not json",
            stream="COMPLAINTS_CASES",
            headers={"Nats-Msg-Id": str(uuid.uuid4())},
        )

        assert await eventually(lambda: handled_summaries(service, table)) == ["after the poison"]
        parked = await eventually(lambda: _parked(suite, settings, 2), timeout=20)
        by_error = {msg.headers["Complaints-Error"].split(":")[0]: msg for msg in parked}
        broken = by_error["RuntimeError"]
        assert Envelope.from_wire(broken.data).id == poison.id
        assert broken.headers["Complaints-Deliveries"] == str(settings.max_deliver)
        assert "always breaks the probe" in broken.headers["Complaints-Error"]
        assert broken.headers["Complaints-Original-Subject"] == poison.subject
        unreadable = by_error["unreadable event"]
        assert unreadable.data == b"{not json"
        assert unreadable.headers["Complaints-Deliveries"] == "1"  # no point retrying
        assert await handled_summaries(service, table) == ["after the poison"]


async def test_staged_events_leave_only_with_their_transaction(settings: Settings) -> None:
    service, _ = probe(settings)
    async with running(settings, service) as suite:
        failing = complaint(settings, FAIL_AFTER_STAGING)
        await suite.publish(failing)
        await suite.publish(complaint(settings, "fine"))
        await eventually(lambda: _count(suite, deadline_subject(settings), 1))
        await eventually(lambda: _parked(suite, settings, 1), timeout=20)
        announced = await suite.events(deadline_subject(settings))
        assert [e.causation_id for e in announced] != [failing.id]
        assert len(announced) == 1
        outbox = service.outbox.table
        async with service.db.transaction() as session:
            unpublished = await session.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
        assert unpublished == 0


async def test_services_recover_when_nats_restarts(
    settings: Settings, own_nats_server: NatsServer
) -> None:
    settings = settings.model_copy(update={"nats_url": own_nats_server.url})
    service, table = probe(settings)
    async with running(settings, service) as suite:
        await suite.publish(complaint(settings, "before the outage"))
        await eventually(lambda: handled_summaries(service, table))

        own_nats_server.kill()
        # While the bus is down the outbox keeps what the service decides to announce.
        async with service.db.transaction() as session:
            await service.publish(session, complaint(settings, "staged during the outage"))
        own_nats_server.start()

        await eventually(
            lambda: _when(handled_summaries(service, table), lambda s: len(s) == 2), timeout=30
        )
        assert await handled_summaries(service, table) == [
            "before the outage",
            "staged during the outage",
        ]
        readiness = await suite.http.get("/health/ready")
        assert readiness.status_code == 200, readiness.json()


async def _when(values, condition):
    result = await values
    return result if condition(result) else None


async def _count(suite: Running, subject: str, n: int) -> list[Envelope] | None:
    events = await suite.events(subject)
    return events if len(events) >= n else None


async def _parked(suite: Running, settings: Settings, n: int):
    subject = f"dead_letter.complaints.{settings.organisation}.>"
    messages = await suite.messages(DEAD_LETTERS.name, subject)
    return messages if len(messages) >= n else None
