"""Delivering letters: by each channel, tried again, failed for good, and sent once.

Real parts only: the harness's NATS server, SQLite and PostgreSQL, the local channel's
files and a fake GOV.UK Notify over HTTP that Notify's own client talks to. The
letters are written straight into the letters database as approved (drafting and
approval are tested with them), and the worker is woken as approval will wake it.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import itertools
import stat
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_letters.channels import Outgoing
from complaints_letters.delivery import (
    Delivery,
    DeliveryAttempt,
    Prepare,
    recipient,
    register_delivery,
    resend,
)
from complaints_letters.formats import as_pdf
from complaints_letters.models import Base, CaseFacts, Letter, LetterEvent, Status
from complaints_shared.calendar import today_in_england
from complaints_shared.service import Service
from complaints_shared.settings import Settings
from complaints_shared.testing.harness import Running, eventually, running
from complaints_shared.testing.notify import FakeNotify

pytestmark = pytest.mark.usefixtures("pdf_rendering")

LETTER_HTML = "<h1>Demo Council</h1><p>Dear Ms Example</p><p>We have received your complaint.</p>"


@pytest.fixture
def notify() -> Iterator[FakeNotify]:
    with FakeNotify() as fake:
        yield fake


def fast(settings: Settings, **changes: Any) -> Settings:
    """Settings for a worker that polls often and waits little between tries."""
    return settings.model_copy(
        update={
            "letters_poll_seconds": 0.05,
            "letters_retry_backoff": (0.3, 0.3),
            "letters_send_timeout": 5.0,
            **changes,
        }
    )


def by_notify(settings: Settings, notify: FakeNotify, **changes: Any) -> Settings:
    return fast(
        settings,
        letters_channel="notify",
        notify_api_key=SecretStr(notify.api_key),
        notify_base_url=notify.url,
        notify_email_template_id=notify.email_template_id,
        **changes,
    )


def send_as_stored(settings: Settings) -> Prepare:
    """The worker's input for these tests: a letter's stored HTML and text, dated today
    (the service's own ``prepare`` renders a drafted letter again; drafting's tests and
    the journeys cover it)."""

    async def prepare(session: AsyncSession, letter: Letter) -> Outgoing:
        facts = await session.get(CaseFacts, letter.case_id)
        to = recipient(letter, facts)
        letter.issued_on = today_in_england()
        html = letter.html
        return Outgoing(
            letter_id=letter.id,
            route=to.route,
            kind=letter.kind,
            case_reference=facts.reference if facts else "",
            subject=f"{settings.organisation_name}: your complaint {facts.reference}",
            text=letter.text,
            pdf=lambda: as_pdf(html),
            email=to.email,
            address=to.address,
        )

    return prepare


def letters(settings: Settings) -> tuple[Service, Delivery]:
    """Letters with only its delivery worker."""
    service = Service("letters", Base.metadata, settings)
    return service, register_delivery(service, send_as_stored(settings))


async def approved(service: Service, delivery: Delivery, **letter: Any) -> uuid.UUID:
    """An approved letter to a complainant (as :func:`add_approved` makes it), and the
    worker told."""
    async with service.db.transaction() as session:
        letter_id = add_approved(session, service, **letter)
    delivery.wake()
    return letter_id


def add_approved(
    session: AsyncSession,
    service: Service,
    kind: str = "acknowledgement",
    stage: int = 1,
    email: str | None = "ann@example.org",
    address: str | None = None,
    preferred: str | None = None,
    reference: str = "ASC-2026-00001",
) -> uuid.UUID:
    case_id, letter_id = uuid.uuid4(), uuid.uuid4()
    complainant = {"name": "Ann Example", "email": email, "address": address}
    complainant["preferred_contact"] = preferred
    session.add(
        CaseFacts(
            case_id=case_id,
            reference=reference,
            organisation=service.settings.organisation,
            directorate="adults",
            complainant=complainant,
        )
    )
    session.add(
        Letter(
            id=letter_id,
            series=letter_id,
            case_id=case_id,
            key=f"{kind}.{stage}",
            kind=kind,
            stage=stage,
            status=Status.APPROVED,
            template=f"{kind}.html.j2",
            facts={},
            html=LETTER_HTML,
            text="Dear Ms Example\n\nWe have received your complaint.",
            drafted_by="officer",
            approved_by="manager",
        )
    )
    return letter_id


async def letter(service: Service, letter_id: uuid.UUID) -> Letter:
    async with service.db.read() as session:
        return await session.get(Letter, letter_id)


async def status_is(service: Service, letter_id: uuid.UUID, *wanted: str) -> Letter | None:
    found = await letter(service, letter_id)
    return found if found.status in wanted else None


async def attempts(service: Service, letter_id: uuid.UUID) -> list[DeliveryAttempt]:
    async with service.db.read() as session:
        query = select(DeliveryAttempt).where(DeliveryAttempt.letter_id == letter_id)
        return list(await session.scalars(query.order_by(DeliveryAttempt.attempt)))


async def history(service: Service, letter_id: uuid.UUID) -> list[str]:
    async with service.db.read() as session:
        query = select(LetterEvent).where(LetterEvent.letter_id == letter_id)
        return [e.action for e in await session.scalars(query.order_by(LetterEvent.id))]


async def events(suite: Running, settings: Settings, fact: str, letter_id: uuid.UUID) -> list:
    subject = f"complaints.{settings.organisation}.adults.letter.{fact}.v1"
    found = await suite.events(subject)
    return [e for e in found if e.payload["letter_id"] == str(letter_id)]


async def approved_by_post(service: Service, delivery: Delivery) -> uuid.UUID:
    """An approved response to a complainant who prefers letters and gave an address."""
    return await approved(
        service,
        delivery,
        kind="response",
        address="1 High Street\nDemo Town\nDT1 1AA",
        preferred="letter",
    )


async def test_the_local_channel_writes_the_letter_and_delivers_it_at_once(
    settings: Settings,
) -> None:
    settings = fast(settings)
    service, delivery = letters(settings)
    async with running(settings, service) as suite:
        letter_id = await approved(service, delivery, stage=2)
        done = await eventually(lambda: status_is(service, letter_id, Status.DELIVERED))
        assert (done.route, done.channel) == ("email", "local")
        assert done.issued_on is not None

        outbox = settings.data_dir / "outbox"
        eml = outbox / f"ASC-2026-00001-acknowledgement-{letter_id}.eml"
        message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        assert message["To"] == "ann@example.org"
        assert message["Subject"] == "Demo Council: your complaint ASC-2026-00001"
        assert "We have received your complaint." in message.get_content()
        assert stat.S_IMODE(eml.stat().st_mode) == 0o600
        assert list(outbox.glob("*.pdf")) == []  # an email is its words: no PDF rendered

        posted = await approved_by_post(service, delivery)
        await eventually(lambda: status_is(service, posted, Status.DELIVERED))
        pdf = outbox / f"ASC-2026-00001-response-{posted}.pdf"
        assert pdf.read_bytes().startswith(b"%PDF-")
        assert pdf.with_suffix(".txt").read_text().strip()
        for path in (pdf, pdf.with_suffix(".txt")):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600

        sent = await eventually(lambda: events(suite, settings, "sent", letter_id))
        delivered = await eventually(lambda: events(suite, settings, "delivered", letter_id))
        issued = await eventually(lambda: events(suite, settings, "issued", letter_id))
        assert sent[0].payload["channel"] == "local" and sent[0].payload["route"] == "email"
        assert delivered[0].case_id == sent[0].case_id == done.case_id
        # An escalation's acknowledgement meets that stage's deadline on the day it went.
        assert issued[0].payload["stage"] == 2
        assert issued[0].payload["issued_on"] == sent[0].payload["sent_on"]
        assert await history(service, letter_id) == ["sending", "sent", "delivered"]
        assert [a.outcome for a in await attempts(service, letter_id)] == ["delivered"]


async def test_notify_sends_email_with_the_pdf_and_post_as_a_precompiled_letter(
    settings: Settings, notify: FakeNotify
) -> None:
    settings = by_notify(settings, notify)
    service, delivery = letters(settings)
    async with running(settings, service) as suite:
        emailed = await approved(service, delivery, kind="holding")
        posted = await approved_by_post(service, delivery)
        await eventually(lambda: status_is(service, emailed, Status.SENT))
        await eventually(lambda: status_is(service, posted, Status.SENT))

        [email] = notify.with_reference(str(emailed))
        assert email.type == "email" and email.email_address == "ann@example.org"
        assert email.template_id == notify.email_template_id
        assert email.personalisation["subject"] == "Demo Council: your complaint ASC-2026-00001"
        assert "We have received your complaint." in email.personalisation["body"]
        assert email.pdf is not None and email.pdf.startswith(b"%PDF-")
        [post] = notify.with_reference(str(posted))
        assert post.type == "letter" and post.postage == "second"
        assert post.pdf is not None and post.pdf.startswith(b"%PDF-")
        assert (await letter(service, posted)).route == "post"

        notify.set_status(email.id, "delivered")
        notify.set_status(post.id, "received")  # printed and posted
        for letter_id in (emailed, posted):
            await eventually(lambda: status_is(service, letter_id, Status.DELIVERED))  # noqa: B023
            [delivered] = await eventually(lambda: events(suite, settings, "delivered", letter_id))  # noqa: B023
            assert delivered.payload["channel"] == "notify"
        assert await events(suite, settings, "issued", emailed) == []  # not an acknowledgement
        assert notify.posts == 2


async def test_notify_can_send_an_email_with_no_pdf(settings: Settings, notify: FakeNotify) -> None:
    settings = by_notify(settings, notify, notify_email_pdf=False)
    service, delivery = letters(settings)
    async with running(settings, service):
        emailed = await approved(service, delivery, kind="holding")
        await eventually(lambda: status_is(service, emailed, Status.SENT))
        [sent] = notify.with_reference(str(emailed))
        assert sent.type == "email" and sent.pdf is None
        assert set(sent.personalisation) == {"subject", "body"}
        assert "We have received your complaint." in sent.personalisation["body"]


async def test_a_failing_delivery_is_tried_again_then_failed_for_the_team(
    settings: Settings, notify: FakeNotify
) -> None:
    settings = by_notify(settings, notify)
    service, delivery = letters(settings)
    async with running(settings, service) as suite:
        notify.fail_next(429, "Exceeded rate limit for key type LIVE", "RateLimitError", times=3)
        letter_id = await approved(service, delivery)
        failed = await eventually(lambda: status_is(service, letter_id, Status.FAILED))
        assert "RateLimitError" in failed.reason

        tries = await attempts(service, letter_id)
        assert [a.outcome for a in tries] == ["failed"] * 3  # the first and two retries
        for before, after in itertools.pairwise(tries):
            assert (after.started_at - before.started_at).total_seconds() >= 0.3  # the wait
        await eventually(lambda: _count(events(suite, settings, "failed", letter_id), 3))
        reports = await events(suite, settings, "failed", letter_id)
        assert [e.payload["final"] for e in reports] == [False, False, True]
        assert await events(suite, settings, "sent", letter_id) == []
        assert notify.posts == 3 and notify.with_reference(str(letter_id)) == []

        # The team sends it again: all its tries afresh.
        async with service.db.transaction() as session:
            await resend(session, await session.get(Letter, letter_id), "officer")
        delivery.wake()
        await eventually(lambda: status_is(service, letter_id, Status.SENT))
        assert len(notify.with_reference(str(letter_id))) == 1
        actions = await history(service, letter_id)
        assert actions.count("failed") == 3 and "resend" in actions and actions[-1] == "sent"


async def _count(pending, n: int):
    found = await pending
    return found if len(found) >= n else None


async def test_a_permanent_failure_fails_the_letter_at_once(
    settings: Settings, notify: FakeNotify, capfd: pytest.CaptureFixture[str]
) -> None:
    settings = by_notify(settings, notify)
    service, delivery = letters(settings)
    async with running(settings, service) as suite:
        notify.fail_next(400, "email_address Not a valid email address", "ValidationError")
        bad_address = await approved(service, delivery)
        nowhere = await approved(service, delivery, email=None, address=None)
        failed = await eventually(lambda: status_is(service, bad_address, Status.FAILED))
        assert failed.reason == (
            "GOV.UK Notify 400: ValidationError: email_address Not a valid email address"
        )
        [report] = await eventually(lambda: events(suite, settings, "failed", bad_address))
        assert report.payload["final"] is True and report.payload["reason"] == failed.reason
        assert len(await attempts(service, bad_address)) == 1

        unsent = await eventually(lambda: status_is(service, nowhere, Status.FAILED))
        assert unsent.reason == "the complainant gave no email or postal address"
        assert notify.posts == 1
    logged = capfd.readouterr()
    assert str(bad_address) in logged.out  # ids and kinds only:
    for personal in ("ann@example.org", "Ann Example", "Dear Ms Example", "Not a valid email"):
        assert personal not in logged.out + logged.err


async def test_a_letter_that_fails_after_leaving_is_sent_again_as_a_new_attempt(
    settings: Settings, notify: FakeNotify
) -> None:
    settings = by_notify(settings, notify)
    service, delivery = letters(settings)
    async with running(settings, service) as suite:
        letter_id = await approved(service, delivery)
        await eventually(lambda: status_is(service, letter_id, Status.SENT))
        [first] = notify.with_reference(str(letter_id))
        notify.set_status(first.id, "temporary-failure")  # the inbox was full

        async def second_send():
            found = notify.with_reference(str(letter_id))
            return found if len(found) == 2 else None

        await eventually(second_send, timeout=10)
        second = next(n for n in notify.with_reference(str(letter_id)) if n.id != first.id)
        notify.set_status(second.id, "delivered")
        await eventually(lambda: status_is(service, letter_id, Status.DELIVERED))
        tries = await attempts(service, letter_id)
        assert [(a.outcome, a.provider_id) for a in tries] == [
            ("failed", first.id),
            ("delivered", second.id),
        ]
        [report] = await events(suite, settings, "failed", letter_id)
        assert report.payload["final"] is False and "temporary-failure" in report.payload["reason"]
        assert len(await events(suite, settings, "sent", letter_id)) == 2


async def test_a_send_notify_kept_but_answered_with_an_error_is_not_sent_twice(
    settings: Settings, notify: FakeNotify
) -> None:
    settings = by_notify(settings, notify)
    service, delivery = letters(settings)
    async with running(settings, service):
        notify.fail_next(500, "Internal server error", "Exception", record=True)
        letter_id = await approved(service, delivery)
        await eventually(lambda: status_is(service, letter_id, Status.SENT), timeout=10)
        [kept] = notify.with_reference(str(letter_id))
        [attempt] = await attempts(service, letter_id)
        assert (attempt.outcome, attempt.provider_id) == ("accepted", kept.id)
        assert notify.posts == 1


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_replicas_deliver_each_letter_once(
    settings: Settings, notify: FakeNotify
) -> None:
    settings = by_notify(settings, notify, letters_poll_seconds=0.01)
    (first, first_worker), (second, second_worker) = letters(settings), letters(settings)
    async with running(settings, first) as suite, running(settings, second):
        count = 40
        async with first.db.transaction() as session:
            ids = [
                add_approved(session, first, reference=f"ASC-2026-{n:05d}") for n in range(count)
            ]
        first_worker.wake()
        second_worker.wake()

        async def all_sent():
            found = [await status_is(first, i, Status.SENT) for i in ids]
            return all(found)

        await eventually(all_sent, timeout=60)
        await asyncio.sleep(0.5)  # time for any second send to show
        per_letter = Counter(n.reference for n in notify.sent)
        assert per_letter == Counter({str(i): 1 for i in ids})
        assert notify.posts == count
        subject = f"complaints.{settings.organisation}.adults.letter.sent.v1"
        announced = Counter(e.payload["letter_id"] for e in await suite.events(subject))
        assert announced == Counter({str(i): 1 for i in ids})
