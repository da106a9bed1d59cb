"""An anonymous complaint keeps no name anywhere: not in intake's record, its API, its events
or a letter; it gets letters only if it left an email or postal address, and with neither
no acknowledgement is owed (deadlines cancels it, saying why, rather than breach it)."""

from __future__ import annotations

import json

from complaints_deadlines.service import create as create_deadlines
from complaints_intake.importing import import_lines
from complaints_intake.service import create as create_intake
from complaints_letters.service import create as create_letters
from complaints_shared.settings import Settings
from complaints_shared.testing.cases import Case
from complaints_shared.testing.harness import Running, eventually, running

NAME = "Zebedee Quibblesworth"
BASE = {
    "directorate": "adults",
    "received_on": "2026-03-02",
    "channel": "email",
    "summary": "Care package cut without a review.",
    "anonymous": True,
}


def services(settings: Settings) -> tuple:
    return create_intake(settings), create_deadlines(settings), create_letters(settings)


async def case_events(suite: Running, case_id: str, *event_types: str) -> list[dict]:
    """The payloads of the case's events of these types (every case, deadline and letter
    event if none is named)."""
    found = []
    for event_type in event_types or ("case.*", "deadline.*", "letter.*"):
        subject = f"complaints.{suite.host.settings.organisation}.*.{event_type}.>"
        found += [e.payload for e in await suite.events(subject) if str(e.case_id) == case_id]
    return found


async def letters_of(suite: Running, case_id: str) -> list[dict]:
    return (await suite.http.get("/api/v1/letters", params={"case_id": case_id})).json()


async def deadlines_of(suite: Running, case_id: str) -> dict[tuple[int, str], dict]:
    answer = await suite.http.get("/api/v1/deadlines", params={"case_id": case_id})
    return {(d["stage"], d["kind"]): d for d in answer.json()}


async def test_a_name_given_with_an_anonymous_complaint_is_kept_nowhere(
    settings: Settings,
) -> None:
    async with running(settings, *services(settings)) as suite:
        case = await Case.log(
            suite,
            BASE,
            complainant={"name": NAME, "address": "7 Hidden Lane, Anytown"},
            relationship="care_recipient",
            service_user={"name": NAME, "age_band": "65-74"},
        )
        assert case.body["complainant"]["name"] is None
        assert case.body["complainant"]["address"] == "7 Hidden Lane, Anytown"
        assert case.body["service_user"] is None  # they complain for themselves
        letters = await eventually(lambda: letters_of(suite, case.id))
        page = (
            await suite.http.get(f"/api/v1/letters/{letters[0]['id']}", params={"format": "html"})
        ).text
        assert "Dear Sir or Madam," in page and "7 Hidden Lane" in page and "Anytown" in page
        assert await eventually(suite.quiet)
        everything = [
            json.dumps(await case_events(suite, case.id)),
            json.dumps(await case.history()),
            json.dumps(case.body),
            page,
        ]
        assert all(NAME not in text and "Quibblesworth" not in text for text in everything)


async def test_with_no_contact_route_no_letter_is_sent_and_no_acknowledgement_is_owed(
    settings: Settings,
) -> None:
    async with running(settings, *services(settings)) as suite:
        case = await Case.log(suite, BASE, directorate="corporate", complainant={"phone": "0"})
        written = await Case.log(
            suite, BASE, directorate="corporate", complainant={"email": "someone@example.org"}
        )
        await eventually(lambda: letters_of(suite, written.id))

        async def acknowledgement_cancelled() -> dict | None:
            found = (await deadlines_of(suite, case.id)).get((1, "acknowledgement"))
            return found if found and found["status"] == "cancelled" else None

        await eventually(acknowledgement_cancelled)
        deadlines = await deadlines_of(suite, case.id)
        assert deadlines[(1, "response")]["status"] == "open"  # the investigation still runs
        cancelled = [
            e
            for e in await case_events(suite, case.id, "deadline.cancelled")
            if e["kind"] == "acknowledgement"
        ]
        assert [e["reason"] for e in cancelled] == [
            "anonymous, with no email or postal address: no acknowledgement can be sent"
        ]

        # The corporate Stage 2 has an acknowledgement of its own: not owed either.
        await case.act("triage", decision="accepted", decided_on="2026-03-03")
        await case.act("response", outcome="not_upheld", responded_on="2026-03-10")
        await case.act("escalation", requested_on="2026-03-11")

        async def stage_two() -> dict | None:
            found = (await deadlines_of(suite, case.id)).get((2, "acknowledgement"))
            return found if found and found["status"] == "cancelled" else None

        await eventually(stage_two)
        assert await eventually(suite.quiet)
        assert await letters_of(suite, case.id) == []
        deadlines = await deadlines_of(suite, case.id)
        assert [deadlines[(stage, "acknowledgement")]["breached"] for stage in (1, 2)] == [
            False,
            False,
        ]


async def test_a_correction_making_a_case_anonymous_removes_the_name(settings: Settings) -> None:
    async with running(settings, create_intake(settings)) as suite:
        case = await Case.log(suite, {**BASE, "anonymous": False}, complainant={"name": NAME})
        corrected = await case.act(
            "correction", corrected_on="2026-03-03", reason="asked to be anonymous", anonymous=True
        )
        assert corrected["complainant"]["name"] is None
        [event] = await eventually(lambda: case_events(suite, case.id, "case.corrected"))
        assert event["complainant"]["name"] is None and event["anonymous"] is True
        assert event["fields"] == ["anonymous", "complainant"]


async def test_the_import_keeps_no_name_for_an_anonymous_complaint(settings: Settings) -> None:
    service = create_intake(settings)
    line = {
        "reference": "OLD-1",
        "complaint": {**BASE, "received_on": "2019-06-03", "complainant": {"name": NAME}},
        "steps": [],
    }
    async with running(settings, service) as suite:
        report = await import_lines(service, [json.dumps(line)])
        assert report.imported == ["OLD-1"], report.errors
        [case] = (await suite.http.get("/api/v1/complaints")).json()
        assert case["complainant"]["name"] is None
        [received] = await eventually(lambda: case_events(suite, case["id"], "case.received"))
        assert received["complainant"]["name"] is None and received["anonymous"] is True
        # Importing the same line again finds nothing different.
        again = await import_lines(service, [json.dumps(line)])
        assert again.skipped == ["OLD-1"] and not again.errors
