"""Deadlines say what happened: breaches by the step's date, intake's copy current, imports settled."""

from __future__ import annotations

import json
from datetime import date, timedelta

from complaints_deadlines.service import create as create_deadlines
from complaints_intake.importing import import_lines
from complaints_intake.service import create as create_intake
from complaints_learning.service import create as create_learning
from complaints_letters.service import create as create_letters
from complaints_shared.calendar import WorkingDayCalendar, today_in_england
from complaints_shared.settings import Settings
from complaints_shared.testing.cases import Case
from complaints_shared.testing.harness import Running, eventually, running

CALENDAR = WorkingDayCalendar()
TODAY = today_in_england()


def _working_days_ago(count: int) -> date:
    day = TODAY
    while CALENDAR.between(day, TODAY) < count:
        day -= timedelta(days=1)
    return day


BASE = {
    "directorate": "childrens",
    "channel": "email",
    "complainant": {"name": "Jo Parent", "email": "jo@example.org"},  # letters can go
    "summary": "Nobody came to the review.",
}


async def _deadline(suite: Running, case: Case, kind: str, stage: int = 1) -> dict | None:
    answer = await suite.http.get("/api/v1/deadlines", params={"case_id": case.id})
    found = [d for d in answer.json() if (d["kind"], d["stage"]) == (kind, stage)]
    return found[0] if found else None


async def _breached(suite: Running, case: Case) -> dict | None:
    response = await _deadline(suite, case, "response")
    return response if response and response["breached"] else None


async def test_a_step_logged_late_but_dated_in_time_is_not_breached(settings: Settings) -> None:
    async with running(settings, create_intake(settings), create_deadlines(settings)) as suite:
        case = await Case.log(suite, BASE, received_on=str(_working_days_ago(12)))
        await case.act("triage", decision="accepted", decided_on=case.body["received_on"])
        # The wall clock passed the due day: the timer marks it breached, provisionally.
        due = (await eventually(lambda: _breached(suite, case)))["due"]
        # The officer records on Monday what happened on the due day itself.
        await case.act("response", outcome="not_upheld", responded_on=due)

        async def met() -> dict | None:
            response = await _deadline(suite, case, "response")
            return response if response["status"] == "met" else None

        response = await eventually(met)
        assert (response["met_on"], response["breached"]) == (due, False)
        await eventually(suite.quiet)  # its event published too
        events = await suite.events(f"complaints.{settings.organisation}.*.deadline.met.v1")
        on_time = [e.payload["on_time"] for e in events if str(e.case_id) == case.id]
        assert on_time == [True]


async def test_a_due_date_moved_later_takes_back_a_breach(settings: Settings) -> None:
    async with running(settings, create_intake(settings), create_deadlines(settings)) as suite:
        case = await Case.log(suite, BASE, received_on=str(_working_days_ago(11)))
        await case.act("triage", decision="accepted", decided_on=case.body["received_on"])
        await eventually(lambda: _breached(suite, case))
        await case.act("extension", working_days=20, reason="Complex", agreed_on=str(TODAY))

        async def cleared() -> dict | None:
            response = await _deadline(suite, case, "response")
            return response if not response["breached"] else None

        response = await eventually(cleared)
        assert date.fromisoformat(response["due"]) > TODAY and response["status"] == "open"
        await eventually(suite.quiet)  # its event published too
        events = await suite.events(f"complaints.{settings.organisation}.*.deadline.rescheduled.v1")
        assert [e.payload["breached"] for e in events if str(e.case_id) == case.id] == [False]


async def test_intake_lists_cases_by_the_deadlines_as_they_now_stand(settings: Settings) -> None:
    async with running(settings, create_intake(settings), create_deadlines(settings)) as suite:
        case = await Case.log(suite, BASE, received_on=str(TODAY))
        await case.act("triage", decision="accepted", decided_on=str(TODAY))

        async def listed(days: int) -> bool:
            answer = await suite.http.get("/api/v1/complaints", params={"due_within_days": days})
            return case.id in {c["id"] for c in answer.json()}

        async def settles(days: int, expected: bool) -> bool:
            await eventually(suite.quiet)
            return await listed(days) == expected

        # Acknowledgement due in 3 working days, response in 10.
        assert await eventually(lambda: settles(3, True))
        assert await eventually(lambda: settles(2, False))
        # An extension moves the response: due within 10 no more, within 20 yes.
        await case.act("extension", working_days=20, reason="Complex", agreed_on=str(TODAY))
        await case.act("clock-stop", reason="awaiting_consent", stopped_on=str(TODAY))
        assert await eventually(lambda: settles(30, False))  # paused: not due
        await case.act("clock-restart", restarted_on=str(TODAY))
        assert await eventually(lambda: settles(30, True))
        assert await eventually(lambda: settles(10, True))  # the acknowledgement, still
        await case.act("withdrawal", withdrawn_on=str(TODAY))
        assert await eventually(lambda: settles(30, False))  # cancelled: not due


async def test_an_imported_history_leaves_nothing_open_that_it_ended(settings: Settings) -> None:
    services = create_intake(settings), create_deadlines(settings), create_learning(settings)
    async with running(settings, *services) as suite:
        complaint = {**BASE, "received_on": "2019-09-09"}
        lines = [
            {
                "reference": "OLD-1",
                "complaint": {**complaint, "directorate": "adults"},
                "steps": [
                    {
                        "action": "triage",
                        "decision": "ineligible",
                        "reason": "out_of_time",
                        "decided_on": "2019-09-10",
                    }
                ],
            },
            {
                "reference": "OLD-2",
                "complaint": complaint,
                "steps": [
                    {"action": "triage", "decision": "accepted", "decided_on": "2019-09-10"},
                    {
                        "action": "response",
                        "outcome": "upheld",
                        "responded_on": "2019-09-20",
                        "learning_actions": [
                            {"description": "Train staff", "owner": "Lead", "due_on": "2019-12-01"}
                        ],
                    },
                ],
            },
            {"reference": "OLD-3", "complaint": {**complaint, "received_on": str(TODAY)}},
        ]
        report = await import_lines(services[0], [json.dumps(line) for line in lines])
        assert report.imported == ["OLD-1", "OLD-2", "OLD-3"], report.errors
        await eventually(suite.quiet)
        cases = {c["reference"]: c for c in (await suite.http.get("/api/v1/complaints")).json()}

        async def states(reference: str) -> dict[tuple[int, str], str]:
            params = {"case_id": cases[reference]["id"]}
            found = (await suite.http.get("/api/v1/deadlines", params=params)).json()
            return {(d["stage"], d["kind"]): d["status"] for d in found}

        assert await states("OLD-1") == {
            (1, "acknowledgement"): "cancelled",
            (1, "response"): "cancelled",
            (1, "statutory_limit"): "cancelled",
        }
        assert await states("OLD-2") == {
            (1, "acknowledgement"): "cancelled",
            (1, "response"): "met",
            (1, "escalation_window"): "missed",
        }
        # Received today and still live: its response clock runs, with timers.
        assert (await states("OLD-3"))[(1, "response")] == "open"
        due = await suite.http.get("/api/v1/deadlines/due", params={"directorate": "childrens"})
        assert {d["case_id"] for d in due.json()} <= {cases["OLD-3"]["id"]}
        actions = await suite.http.get(
            "/api/v1/learning-actions", params={"case_id": cases["OLD-2"]["id"]}
        )
        assert [a["status"] for a in actions.json()] == ["not_recorded"]


async def _states(suite: Running, case: Case) -> dict[tuple[int, str], tuple[str, str]]:
    await eventually(suite.quiet)
    found = (await suite.http.get("/api/v1/deadlines", params={"case_id": case.id})).json()
    return {(d["stage"], d["kind"]): (d["status"], d["due"]) for d in found}


async def test_a_safeguarding_pause_before_triage_stops_the_clock(settings: Settings) -> None:
    async with running(settings, create_intake(settings), create_deadlines(settings)) as suite:
        start = _working_days_ago(2)
        case = await Case.log(suite, BASE, received_on=str(start))
        referred = await case.act("safeguarding", route="mash", referred_on=str(start))
        assert case.body["status"] == "received" and case.body["clock_stopped"]
        events = await eventually(lambda: _referrals(suite, case))
        assert events == [True]
        states = await _states(suite, case)
        assert {status for status, _ in states.values()} == {"paused"}, (referred, states)
        # Triage still happens; the accepted case waits, stopped, until the clock restarts.
        await case.act("triage", decision="accepted", decided_on=str(TODAY))
        assert case.body["status"] == "paused"
        await case.act("clock-restart", restarted_on=str(TODAY))
        assert case.body["status"] == "open"
        restarted = await _states(suite, case)
        assert restarted[(1, "response")][0] == "open"
        # Two working days stopped: the response is due two working days later.
        before = date.fromisoformat(states[(1, "response")][1])
        assert restarted[(1, "response")][1] == str(CALENDAR.add(before, 2))
        again = await case.act("clock-restart", restarted_on=str(TODAY), expect=409)
        assert "it is open" in again["detail"]


async def _referrals(suite: Running, case: Case) -> list[bool] | None:
    subject = f"complaints.{suite.host.settings.organisation}.*.case.safeguarding_referred.v1"
    found = [e.payload["pauses_complaint"] for e in await suite.events(subject)]
    return found or None


async def test_a_reopened_case_has_a_clock_again(settings: Settings) -> None:
    async with running(settings, create_intake(settings), create_deadlines(settings)) as suite:
        case = await Case.log(suite, BASE, received_on=str(_working_days_ago(30)))
        await case.act("triage", decision="accepted", decided_on=case.body["received_on"])
        await case.act("response", outcome="upheld", responded_on=str(_working_days_ago(20)))
        await case.act("closure", closed_on=str(_working_days_ago(19)))
        closed = await _states(suite, case)
        assert closed[(1, "escalation_window")][0] == "cancelled"
        await case.act("reopening", reopened_on=str(TODAY), reason="It happened again")
        reopened = await _states(suite, case)
        assert reopened[(1, "response")] == ("open", str(CALENDAR.add(TODAY, 10)))
        answer = await suite.http.get("/api/v1/complaints", params={"due_within_days": 10})
        assert case.id in {c["id"] for c in answer.json()}
        # Its next response opens the window to ask for Stage 2 again.
        await case.act("response", outcome="upheld", responded_on=str(TODAY))
        responded = await _states(suite, case)
        assert responded[(1, "response")][0] == "met"
        assert responded[(1, "escalation_window")] == ("open", str(CALENDAR.add(TODAY, 20)))


async def test_an_escalation_is_acknowledged_and_its_response_counts_from_then(
    settings: Settings,
) -> None:
    services = create_intake(settings), create_deadlines(settings), create_letters(settings)
    async with running(settings, *services) as suite:
        corporate = {**BASE, "directorate": "corporate", "received_on": str(_working_days_ago(15))}
        case = await Case.log(suite, corporate)
        await case.act("triage", decision="accepted", decided_on=corporate["received_on"])
        await case.act("response", outcome="not_upheld", responded_on=str(_working_days_ago(3)))
        await case.act("escalation", requested_on=str(_working_days_ago(1)))
        states = await _states(suite, case)
        assert states[(2, "acknowledgement")][0] == "met"
        answer = await suite.http.get("/api/v1/letters", params={"case_id": case.id})
        # Letters follow two streams (cases, deadlines): either may be written first.
        acknowledgements = [x for x in answer.json() if x["kind"] == "acknowledgement"]
        letters = sorted(acknowledgements, key=lambda letter: letter["stage"])
        assert [(letter["kind"], letter["stage"]) for letter in letters] == [
            ("acknowledgement", 1),
            ("acknowledgement", 2),
        ]
        acknowledged = date.fromisoformat(letters[1]["issued_on"])
        assert states[(2, "response")] == ("open", str(CALENDAR.add(acknowledged, 20)))
