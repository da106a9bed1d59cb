"""The learning-update letter: drafted from learning's settlement when the complainant
agreed to hear, once per round, whichever of case and settlement comes first; approved by
an officer and sent like any other letter."""

from __future__ import annotations

import html
import uuid
from datetime import date

import pytest

from complaints_letters.service import create
from complaints_shared.contracts.envelope import Envelope, new_event
from complaints_shared.contracts.events import (
    CaseCorrected,
    CaseLearningSettled,
    CaseReceived,
    Complainant,
    SettledAction,
)
from complaints_shared.contracts.vocabulary import Channel, LearningStatus
from complaints_shared.settings import Settings
from complaints_shared.testing.harness import Running, eventually, running


def received_case(
    settings: Settings, agreed: bool | None, reference: str, anonymous: bool = False
) -> Envelope:
    """A complaint whose complainant did (True), did not (False) or was not asked (None)
    whether they want to hear what changed; an anonymous one gave no way to reach them."""
    complainant = (
        Complainant(learning_updates=agreed)
        if anonymous
        else Complainant(name="Ann Example", email="ann@example.org", learning_updates=agreed)
    )
    return new_event(
        CaseReceived(
            reference=reference,
            procedure=settings.directorate("adults").procedure,
            received_on=date(2026, 4, 2),
            channel=Channel.EMAIL,
            complainant=complainant,
            summary="The carer did not arrive on three mornings.",
            anonymous=anonymous,
        ),
        organisation=settings.organisation,
        directorate="adults",
        case_id=uuid.uuid4(),
    )


def settled(received: Envelope, round_: int, *actions: SettledAction) -> Envelope:
    """Learning's settlement of the case's actions, as learning publishes it (on its own
    stream, so it is no part of the case's chain of numbered events)."""
    return new_event(
        CaseLearningSettled(round=round_, settled_on=date(2026, 9, 1), actions=actions),
        organisation=received.organisation,
        directorate=received.directorate,
        case_id=received.case_id,
    )


def agreement(received: Envelope, agreed: bool) -> Envelope:
    """Intake's correction of the complainant: now they do, or do not, want to hear."""
    return received.caused(
        CaseCorrected(
            corrected_on=date(2026, 9, 3),
            reason="Asked on the phone",
            fields=("complainant",),
            complainant=Complainant(
                name="Ann Example", email="ann@example.org", learning_updates=agreed
            ),
        )
    )


ROTA = SettledAction(
    action_id=uuid.uuid4(),
    description="Tell families at once when a carer's visit is moved",
    status=LearningStatus.DONE,
    completed_on=date(2026, 8, 14),
    what_changed="The rota team now phones the family the same day a visit moves.",
)
TRAINING = SettledAction(
    action_id=uuid.uuid4(),
    description="Retrain the night team on medication records",
    status=LearningStatus.CANCELLED,
)
AUDIT = SettledAction(
    action_id=uuid.uuid4(),
    description="Audit missed visits every month",
    status=LearningStatus.DONE,
    completed_on=date(2026, 11, 2),
)


async def updates(suite: Running, case_id: uuid.UUID) -> list[dict]:
    answer = await suite.http.get(
        "/api/v1/letters", params={"case_id": str(case_id), "kind": "learning_update"}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def text_of(suite: Running, letter_id: str) -> str:
    page = await suite.http.get(f"/api/v1/letters/{letter_id}", params={"format": "text"})
    return html.unescape(" ".join(page.text.split()))


async def test_a_settlement_before_its_case_is_drafted_once_per_round(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        received = received_case(settings, agreed=True, reference="ASC-2026-00011")
        first = settled(received, 1, ROTA, TRAINING)
        await suite.publish(first)
        await suite.publish(received)
        await suite.publish(first, msg_id=str(uuid.uuid4()))  # a republish, past the window

        drafted = await eventually(lambda: updates(suite, received.case_id))
        await eventually(suite.quiet)
        assert [(x["status"], x["stage"]) for x in await updates(suite, received.case_id)] == [
            ("draft", 1)
        ]
        text = await text_of(suite, drafted[0]["id"])
        assert "What we changed because of your complaint" in text
        assert "Tell families at once when a carer's visit is moved" in text
        assert "The rota team now phones the family the same day a visit moves." in text
        assert "Friday 14 August 2026" in text
        assert "decided not to go ahead" in text
        assert "Retrain the night team on medication records" in text
        assert "ASC-2026-00011" in text and "[To be written" not in text

        await suite.publish(settled(received, 2, AUDIT))  # an action added later, now done

        async def two() -> list[dict] | None:
            found = await updates(suite, received.case_id)
            return found if len(found) == 2 else None

        second = next(x for x in await eventually(two) if x["id"] != drafted[0]["id"])
        text = await text_of(suite, second["id"])
        assert "Audit missed visits every month" in text and "not to go ahead" not in text


async def test_no_letter_unless_the_complainant_agreed_and_one_when_they_agree_later(
    settings: Settings,
) -> None:
    async with running(settings, create(settings)) as suite:
        declined = received_case(settings, agreed=False, reference="ASC-2026-00012")
        unasked = received_case(settings, agreed=None, reference="ASC-2026-00013")
        nameless = received_case(settings, True, reference="ASC-2026-00015", anonymous=True)
        for received in (declined, unasked, nameless):
            await suite.publish(received)
            await suite.publish(settled(received, 1, ROTA))
        await eventually(suite.quiet)
        for received in (declined, unasked, nameless):
            assert await updates(suite, received.case_id) == []

        # Asked later, they said yes: the settlement already heard of is written now.
        await suite.publish(agreement(unasked, True))
        letters = await eventually(lambda: updates(suite, unasked.case_id))
        assert [x["status"] for x in letters] == ["draft"]

        # They changed their mind before it went: it is cancelled, not sent.
        await suite.publish(agreement(unasked, False))

        async def cancelled() -> dict | None:
            found = (await updates(suite, unasked.case_id))[0]
            return found if found["status"] == "cancelled" else None

        assert (await eventually(cancelled))["reason"] == "the complainant no longer wishes to hear"


@pytest.mark.usefixtures("pdf_rendering")
async def test_once_approved_it_is_sent_and_announced_as_a_learning_update(
    settings: Settings,
) -> None:
    settings = settings.model_copy(update={"letters_poll_seconds": 0.05})
    async with running(settings, create(settings)) as suite:
        received = received_case(settings, agreed=True, reference="ASC-2026-00014")
        await suite.publish(received)
        await suite.publish(settled(received, 1, ROTA))
        draft = (await eventually(lambda: updates(suite, received.case_id)))[0]
        subject = f"complaints.{settings.organisation}.adults.letter.sent.v1"
        await eventually(suite.quiet)
        assert await suite.events(subject) == []  # not before an officer approves it

        approved = await suite.http.post(f"/api/v1/letters/{draft['id']}/approve")
        assert approved.status_code == 200, approved.text
        sent = await eventually(lambda: suite.events(subject))
        assert [(e.payload["letter_id"], e.payload["kind"]) for e in sent] == [
            (draft["id"], "learning_update")
        ]
        assert sent[0].case_id == received.case_id
        outbox = settings.data_dir / "outbox"
        assert (outbox / f"ASC-2026-00014-learning_update-{draft['id']}.eml").exists()
