"""The acknowledgement letter, from events arriving in either order, sent once."""

from __future__ import annotations

import html
import uuid
from datetime import date

from complaints_letters.service import create
from complaints_shared.settings import Settings
from complaints_shared.testing.events import case_received, response_deadline
from complaints_shared.testing.harness import Running, eventually, running


async def letters_of(suite: Running, case_id) -> list[dict]:
    answer = await suite.http.get("/api/v1/letters", params={"case_id": str(case_id)})
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_deadline_first_then_case_gives_one_letter_even_when_redelivered(
    settings: Settings,
) -> None:
    async with running(settings, create(settings)) as suite:
        received = case_received(settings, name="Ann <script>alert(1)</script> Example")
        deadline = response_deadline(received, due_on=date(2026, 5, 5))
        await suite.publish(deadline)
        await suite.publish(received)
        # The same facts again, as a republish after the duplicate window would deliver them.
        await suite.publish(deadline, msg_id=str(uuid.uuid4()))
        await suite.publish(received, msg_id=str(uuid.uuid4()))

        letters = await eventually(lambda: letters_of(suite, received.case_id))
        subject = f"complaints.{settings.organisation}.adults.letter.issued.v1"
        issued = await eventually(lambda: suite.events(subject))
        assert len(letters) == 1 and letters[0]["kind"] == "acknowledgement"
        assert [e.payload["letter_id"] for e in issued] == [letters[0]["id"]]
        assert issued[0].case_id == received.case_id
        assert issued[0].correlation_id == received.correlation_id

        page = (
            await suite.http.get(f"/api/v1/letters/{letters[0]['id']}", params={"format": "html"})
        ).text
        assert "<script>" not in page and "&lt;script&gt;" in page  # escaped, not executed
        text = " ".join(page.split())
        assert "Thursday 2 April 2026" in text and "Tuesday 5 May 2026" in text
        assert "ASC-2026-00001" in text
        assert "discuss with you how your complaint will be handled" in text  # adults' offer
        assert "will not affect" in text and "advocate" in text


async def test_childrens_letter_offers_the_childrens_advocacy_service(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        received = case_received(settings, directorate="childrens", reference="CSC-2026-00001")
        await suite.publish(received)
        await suite.publish(response_deadline(received, due_on=date(2026, 4, 17)))
        letters = await eventually(lambda: letters_of(suite, received.case_id))
        letter = (await suite.http.get(f"/api/v1/letters/{letters[0]['id']}")).json()
        assert letter["kind"] == "acknowledgement" and letter["case_id"] == str(received.case_id)
        page = (
            await suite.http.get(f"/api/v1/letters/{letter['id']}", params={"format": "html"})
        ).text
        text = html.unescape(" ".join(page.split()))
        assert "children's advocacy service" in text
        assert "complaint about Children's Services" in text


async def test_an_unknown_letter_is_a_404(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        answer = await suite.http.get(f"/api/v1/letters/{uuid.uuid4()}")
        assert answer.status_code == 404
        assert "no letter with id" in answer.json()["detail"]


async def test_no_letter_for_a_case_imported_from_an_old_system(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        old = case_received(settings, imported=True, received_on=date(2019, 6, 3))
        new = case_received(settings)
        for received in (old, new):
            await suite.publish(received)
            await suite.publish(response_deadline(received, due_on=date(2026, 5, 5)))
        await eventually(lambda: letters_of(suite, new.case_id))
        assert await letters_of(suite, old.case_id) == []
