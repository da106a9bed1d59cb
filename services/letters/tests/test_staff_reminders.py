"""Reminders to staff about learning actions: an email per chase, sent once, or a day's
digest sent once the day is over; through the local channel and GOV.UK Notify (fake)."""

from __future__ import annotations

import email
import email.policy
import html
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from complaints_letters.service import create
from complaints_letters.staff_reminders import digest_send_after
from complaints_shared.calendar import today_in_england
from complaints_shared.contracts.envelope import Envelope, new_event
from complaints_shared.contracts.events import LeadChased
from complaints_shared.contracts.vocabulary import FollowUpStep
from complaints_shared.settings import Settings
from complaints_shared.testing.harness import Running, eventually, running
from complaints_shared.testing.notify import FakeNotify

pytestmark = pytest.mark.usefixtures("pdf_rendering")


@pytest.fixture
def notify() -> Iterator[FakeNotify]:
    with FakeNotify() as fake:
        yield fake


def emailed_words(path: Path) -> str:
    """The words of an email the local channel wrote, white space folded."""
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    return " ".join(message.get_body().get_content().split())


def quick(settings: Settings, **changes: Any) -> Settings:
    return settings.model_copy(update={"letters_poll_seconds": 0.05, **changes})


def chased(settings: Settings, **changes: Any) -> Envelope:
    """Learning's chase of a lead, a reminder three working days before the due date
    unless ``changes`` say otherwise; it concerns no case."""
    fields: dict[str, Any] = {
        "action_id": uuid.uuid4(),
        "step": FollowUpStep.REMINDER,
        "recipient": "Sam Lead",
        "recipient_email": "sam.lead@council.example",
        "description": "Tell families at once when a carer's visit is moved",
        "lead": "Sam Lead",
        "service_area": "Home care",
        "due_on": date(2026, 12, 10),
        "working_days": 3,
        "case_references": ("ASC-2026-00021", "ASC-2026-00022"),
        "chased_on": today_in_england(),
        **changes,
    }
    return new_event(LeadChased(**fields), organisation=settings.organisation, directorate="adults")


async def staff_letters(suite: Running, kind: str) -> list[dict]:
    answer = await suite.http.get("/api/v1/letters", params={"kind": kind})
    assert answer.status_code == 200, answer.text
    return answer.json()


async def text_of(suite: Running, letter_id: str) -> str:
    page = await suite.http.get(f"/api/v1/letters/{letter_id}", params={"format": "text"})
    return html.unescape(" ".join(page.text.split()))


async def sent_events(suite: Running, settings: Settings) -> list[Envelope]:
    return await suite.events(f"complaints.{settings.organisation}.adults.letter.sent.v1")


async def test_a_chase_is_one_email_however_often_it_comes(settings: Settings) -> None:
    settings = quick(settings)
    async with running(settings, create(settings)) as suite:
        action_id = uuid.uuid4()
        chase = chased(settings, action_id=action_id)
        await suite.publish(chase)
        await suite.publish(chase, msg_id=str(uuid.uuid4()))  # republished past the window
        # The same step chased again as a new event: still the same reminder.
        await suite.publish(chased(settings, action_id=action_id))

        sent = await eventually(lambda: sent_events(suite, settings))
        await eventually(suite.quiet)
        [letter] = await staff_letters(suite, "learning_reminder")
        assert letter["case_id"] is None and letter["status"] == "delivered"
        assert [
            (e.payload["letter_id"], e.case_id) for e in await sent_events(suite, settings)
        ] == [(letter["id"], None)]
        assert sent[0].payload["kind"] == "learning_reminder"

        files = sorted((settings.data_dir / "outbox").glob("*.eml"))
        assert [f.name for f in files] == [f"learning-learning_reminder-{letter['id']}.eml"]
        text = emailed_words(files[0])
        assert "Tell families at once when a carer's visit is moved" in text
        assert "Lead: Sam Lead (Home care)" in text
        assert "Due: Thursday 10 December 2026" in text and "3 working days left" in text
        assert "ASC-2026-00021, ASC-2026-00022" in text
        assert "Our reference" not in text  # no case of its own

        # Staff letters are not case letters: not under a case, not editable.
        case_filter = {"case_id": str(uuid.uuid4())}
        assert (await suite.http.get("/api/v1/letters", params=case_filter)).json() == []
        edit = await suite.http.patch(
            f"/api/v1/letters/{letter['id']}", json={"wording": {"x": "y"}}
        )
        assert edit.status_code == 409


async def test_by_notify_the_reminder_is_one_email_to_the_lead(
    settings: Settings, notify: FakeNotify
) -> None:
    settings = quick(
        settings,
        letters_channel="notify",
        notify_api_key=SecretStr(notify.api_key),
        notify_base_url=notify.url,
        notify_email_template_id=notify.email_template_id,
    )
    async with running(settings, create(settings)) as suite:
        chase = chased(settings, step=FollowUpStep.OVERDUE, working_days=2)
        await suite.publish(chase)
        await suite.publish(chase, msg_id=str(uuid.uuid4()))  # republished past the window
        await eventually(lambda: sent_events(suite, settings))
        await eventually(suite.quiet)
        [letter] = await staff_letters(suite, "learning_reminder")
        [email] = notify.sent
        assert email.reference == letter["id"] and email.type == "email"
        assert email.email_address == "sam.lead@council.example"
        assert email.personalisation["subject"].endswith("Learning action overdue")
        assert "Overdue by 2 working days" in " ".join(email.personalisation["body"].split())


async def test_an_escalation_tells_the_manager_why(settings: Settings) -> None:
    settings = quick(settings)
    async with running(settings, create(settings)) as suite:
        await suite.publish(
            chased(
                settings,
                step=FollowUpStep.ESCALATION,
                recipient="Jo Manager",
                recipient_email="jo.manager@council.example",
                to_manager=True,
                working_days=10,
            )
        )
        [letter] = await eventually(lambda: staff_letters(suite, "learning_reminder"))
        text = await text_of(suite, letter["id"])
        assert "Dear Jo Manager" in text
        assert "You are told as the manager responsible, because this action is 10 working" in text
        assert "days overdue" in text and "Sam Lead" in text


async def test_a_chase_without_an_email_address_fails_for_the_team_to_see(
    settings: Settings,
) -> None:
    settings = quick(settings)
    async with running(settings, create(settings)) as suite:
        await suite.publish(chased(settings, recipient_email=None))

        async def failed_letters() -> list[dict]:
            answer = await suite.http.get("/api/v1/letters", params={"status": "failed"})
            return answer.json()

        [letter] = await eventually(failed_letters)
        assert letter["kind"] == "learning_reminder"
        assert "no email address" in letter["reason"]
        subject = f"complaints.{settings.organisation}.adults.letter.failed.v1"
        [event] = await eventually(lambda: suite.events(subject))
        assert event.payload["final"] is True and event.case_id is None


async def test_a_days_chases_go_in_one_digest_once_the_day_is_over(settings: Settings) -> None:
    """Yesterday's chases come in while letters is paused (as a day's chases come in
    before its digest is due); unpaused, the next delivery pass sends yesterday's digests
    and keeps today's for tomorrow morning."""
    today = today_in_england()
    yesterday = today - timedelta(days=1)
    first = chased(settings, digest=True, chased_on=yesterday)
    second = chased(
        settings,
        digest=True,
        chased_on=yesterday,
        description="Audit missed visits every month",
        step=FollowUpStep.OVERDUE,
        working_days=1,
    )
    later = chased(settings, digest=True, chased_on=today, description="Review the rota")
    other = chased(
        settings, digest=True, chased_on=yesterday, recipient_email="alex@council.example"
    )
    paused = quick(settings, letters_paused=True)
    async with running(paused, create(paused)) as suite:
        for event in (first, second, later, other):
            await suite.publish(event)
        await suite.publish(second, msg_id=str(uuid.uuid4()))  # a republish adds nothing
        await eventually(suite.quiet)
        digests = await staff_letters(suite, "learning_digest")
        assert [x["status"] for x in digests] == ["approved"] * 3

    settings = quick(settings)
    async with running(settings, create(settings)) as suite:
        await eventually(suite.quiet)
        digests = {x["id"]: x for x in await staff_letters(suite, "learning_digest")}
        [waiting] = [x for x in digests.values() if x["status"] == "approved"]
        assert datetime.fromisoformat(waiting["send_after"]) == digest_send_after(today)
        assert "Review the rota" in await text_of(suite, waiting["id"])
        assert sorted(x["status"] for x in digests.values()) == [
            "approved",
            "delivered",
            "delivered",
        ]
        sent = [e.payload["letter_id"] for e in await sent_events(suite, settings)]
        assert sorted(sent) == sorted(k for k, x in digests.items() if x["status"] == "delivered")

        files = sorted((settings.data_dir / "outbox").glob("learning-learning_digest-*.eml"))
        texts = [emailed_words(f) for f in files]
        assert len(texts) == 2
        [gathered] = [t for t in texts if "Audit missed visits every month" in t]
        assert "Tell families at once when a carer's visit is moved" in gathered
        assert "(2 in all)" in gathered and "Review the rota" not in gathered
