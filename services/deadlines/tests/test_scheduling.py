"""Deadlines scheduled from real case events, on real NATS and both databases.

Expected dates are worked out by hand from the England and Wales bank holidays.
"""

from __future__ import annotations

from datetime import date

from complaints_deadlines.service import create
from complaints_shared.contracts.vocabulary import Outcome
from complaints_shared.settings import Settings
from complaints_shared.testing.events import acknowledgement_letter, case_received, case_responded
from complaints_shared.testing.harness import Running, eventually, running


async def deadlines_of(suite: Running, case_id, count: int = 2) -> list[dict] | None:
    answer = await suite.http.get("/api/v1/deadlines", params={"case_id": str(case_id)})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return body if len(body) == count else None


def due(deadlines: list[dict]) -> dict[str, str]:
    return {d["kind"]: d["due"] for d in deadlines}


async def test_each_procedure_across_christmas_and_easter(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        # Wed 23 Dec 2026: Christmas Fri 25, Boxing Day Sat 26 -> substitute Mon 28 Dec,
        # New Year Fri 1 Jan 2027.
        adults = case_received(settings, directorate="adults", received_on=date(2026, 12, 23))
        # Corporate: acknowledge in 5 (24, 29, 30, 31 Dec, 4 Jan), then respond 10 working
        # days after the acknowledgement (5-8, 11-15, 18 Jan).
        corporate = case_received(settings, directorate="corporate", received_on=date(2026, 12, 23))
        # Thu 25 Mar 2027: Good Friday 26 Mar, Easter Monday 29 Mar 2027.
        childrens = case_received(settings, directorate="childrens", received_on=date(2027, 3, 25))
        for event in (adults, corporate, childrens):
            await suite.publish(event)

        adult_deadlines = await eventually(lambda: deadlines_of(suite, adults.case_id))
        assert due(adult_deadlines) == {"acknowledgement": "2026-12-30", "response": "2027-01-25"}
        response = next(d for d in adult_deadlines if d["kind"] == "response")
        assert [s["day"] for s in response["skipped"]] == ["2026-12-25", "2026-12-28", "2027-01-01"]
        assert [s["reason"] for s in response["skipped"]] == [
            "Christmas Day",
            "Boxing Day (observed)",
            "New Year's Day",
        ]
        assert "20 working days" in response["rule"]
        assert response["start"] == "2026-12-23" and response["working_days"] == 20

        corporate_deadlines = await eventually(lambda: deadlines_of(suite, corporate.case_id))
        assert due(corporate_deadlines) == {
            "acknowledgement": "2027-01-04",
            "response": "2027-01-18",
        }
        child_deadlines = await eventually(lambda: deadlines_of(suite, childrens.case_id))
        assert due(child_deadlines) == {"acknowledgement": "2027-04-01", "response": "2027-04-12"}

        subject = f"complaints.{settings.organisation}.*.deadline.scheduled.v1"
        announced = await eventually(lambda: _at_least(suite.events(subject), 6))
        assert {(e.case_id, e.payload["kind"], e.payload["due_on"]) for e in announced} >= {
            (adults.case_id, "response", "2027-01-25"),
            (childrens.case_id, "acknowledgement", "2027-04-01"),
        }
        assert all(e.correlation_id in {adults.id, corporate.id, childrens.id} for e in announced)


async def test_steps_that_happen_meet_their_deadlines_whatever_the_order(
    settings: Settings,
) -> None:
    async with running(settings, create(settings)) as suite:
        received = case_received(settings, received_on=date(2026, 4, 2))
        # The response arrives before deadlines has heard of the case: it is retried
        # until the deadline exists, then met.
        await suite.publish(
            case_responded(received, outcome=Outcome.NOT_UPHELD, responded_on=date(2026, 5, 6))
        )
        await suite.publish(received)
        await suite.publish(acknowledgement_letter(received, issued_on=date(2026, 4, 8)))

        async def all_met() -> list[dict] | None:
            found = await deadlines_of(suite, received.case_id)
            return found if found and all(d["status"] == "met" for d in found) else None

        met = {d["kind"]: d for d in await eventually(all_met)}
        assert met["acknowledgement"]["met_on"] == "2026-04-08"
        assert met["response"]["met_on"] == "2026-05-06"  # a day after 5 May: late

        subject = f"complaints.{settings.organisation}.adults.deadline.met.v1"
        events = await eventually(lambda: _at_least(suite.events(subject), 2))
        on_time = {e.payload["kind"]: e.payload["on_time"] for e in events}
        assert on_time == {"acknowledgement": True, "response": False}


async def test_a_procedure_nobody_configured_is_parked_not_guessed(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        event = case_received(settings, procedure="housing")
        await suite.publish(event)
        subject = f"dead_letter.complaints.{settings.organisation}.>"
        parked = await eventually(
            lambda: _at_least(suite.messages("COMPLAINTS_DEAD_LETTERS", subject), 1), timeout=20
        )
        assert "no procedure named 'housing'" in parked[0].headers["Complaints-Error"]
        assert await deadlines_of(suite, event.case_id, count=0) == []


async def _at_least(pending, n: int):
    found = await pending
    return found if len(found) >= n else None
