"""A receipt date the calendar cannot count from is refused at intake, never parked later.

A complaint received on 1 June 1989 used to be logged (201), then deadlines failed
to date it and parked its event: a case with no deadlines and no letter, and nobody
told. Intake's bound and deadlines' arithmetic share one range; this checks the
boundary from both sides: a day before it is refused, the first day of it is dated
by deadlines without anything parked.
"""

from __future__ import annotations

from complaints_deadlines.service import create as create_deadlines
from complaints_intake.service import create as create_intake
from complaints_shared.contracts.subjects import DEAD_LETTERS
from complaints_shared.settings import Settings
from complaints_shared.testing.harness import eventually, running

BODY = {
    "directorate": "adults",
    "channel": "letter",
    "complainant": {"name": "Ann Example"},
    "summary": "Late visits",
}


async def test_the_earliest_receipt_intake_accepts_is_one_deadlines_dates(
    settings: Settings,
) -> None:
    async with running(settings, create_intake(settings), create_deadlines(settings)) as suite:
        refused = await suite.http.post(
            "/api/v1/complaints", json={**BODY, "received_on": "1989-06-01"}
        )
        assert refused.status_code == 422, refused.text
        assert "1990-01-01" in refused.json()["detail"][0]["msg"]

        earliest = await suite.http.post(
            "/api/v1/complaints", json={**BODY, "received_on": "1990-01-01"}
        )
        assert earliest.status_code == 201, earliest.text
        case_id = earliest.json()["id"]

        async def scheduled() -> list[dict] | None:
            answer = await suite.http.get("/api/v1/deadlines", params={"case_id": case_id})
            return answer.json() or None

        deadlines = await eventually(scheduled)
        # Mon 1 Jan 1990 was New Year's Day: 3 working days are Tue 2 to Thu 4 January.
        acknowledgement = next(d for d in deadlines if d["kind"] == "acknowledgement")
        assert acknowledgement["due"] == "1990-01-04"
        await eventually(suite.quiet)
        organisation = settings.organisation
        assert (
            await suite.messages(DEAD_LETTERS.name, f"dead_letter.complaints.{organisation}.>")
            == []
        )
        received = await suite.events(f"complaints.{organisation}.adults.case.received.v1")
        assert [str(event.case_id) for event in received] == [case_id]
