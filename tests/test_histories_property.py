"""Random histories, valid and not, through the API and through the import: invariants hold.

Hypothesis draws a history for a procedure: its statutory path (triage, points,
response, escalation, panel, closure, the Ombudsman...) with steps dropped, random
actions put in and dates that run forwards, backwards or into the future. Each step
is sent to intake over HTTP with intake, deadlines and letters running on one bus;
what was accepted is then imported as a history of its own. Once the services are
quiet, these must hold for both copies of the case:

- every answer is 200, 409 or 422 (never a server error), and the import takes
  whatever the API accepted;
- the record's dates are in order: each step on or after receipt, each stage's
  response on or after the stage began, each escalation on or after the response it
  escalates, each Ombudsman decision on or after its referral;
- once a case is closed or withdrawn, none of its deadlines is open or paused;
- a met deadline is breached exactly when its step's date is after its due date;
- intake's "due within N days" list and deadlines' due list name the same cases.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Awaitable, Iterator
from datetime import date, timedelta
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from complaints_deadlines.service import create as create_deadlines
from complaints_intake.importing import import_lines
from complaints_intake.service import create as create_intake
from complaints_letters.service import create as create_letters
from complaints_shared.calendar import today_in_england
from complaints_shared.settings import Settings
from complaints_shared.testing.harness import Running, eventually, running

T = TypeVar("T")
TODAY = today_in_england()
FINAL = {"met", "cancelled", "missed"}

DATE_FIELD = {
    "triage": "decided_on",
    "allocate": "allocated_on",
    "points": "agreed_on",
    "extension": "agreed_on",
    "clock-stop": "stopped_on",
    "clock-restart": "restarted_on",
    "safeguarding": "referred_on",
    "resolution": "held_on",
    "response": "responded_on",
    "escalation": "requested_on",
    "panel": "held_on",
    "panel-report": "reported_on",
    "withdrawal": "withdrawn_on",
    "closure": "closed_on",
    "reopening": "reopened_on",
    "ombudsman-referral": "referred_on",
    "ombudsman-decision": "decided_on",
    "feedback": "recorded_on",
}

PATHS = {
    "adults": ["triage", "allocate", "points", "extension", "response", "closure"],
    "childrens": [
        "triage",
        "points",
        "response",
        "escalation",
        "appointment",
        "response",
        "escalation",
        "panel",
        "panel-report",
        "response",
        "closure",
    ],
    "corporate": ["triage", "response", "escalation", "response", "closure"],
}
DETOURS = [
    "clock-stop",
    "clock-restart",
    "safeguarding",
    "resolution",
    "withdrawal",
    "reopening",
    "ombudsman-referral",
    "ombudsman-decision",
    "feedback",
    "triage",
]


def _body(action: str, draw: st.DrawFn) -> dict[str, Any]:
    """The rest of an action's body besides its date."""
    one = draw
    match action:
        case "triage":
            decision = one(
                st.sampled_from(["accepted"] * 6 + ["withdrawn", "ineligible", "informal"])
            )
            extra = {"reason": "out_of_time"} if decision == "ineligible" else {}
            return {"decision": decision, **extra}
        case "allocate":
            return {"officer": "Officer A", "team": "Team A"}
        case "points":
            return {"points": [{"summary": "A point"}]}
        case "extension":
            return {"working_days": one(st.integers(11, 70)), "reason": "Complex"}
        case "clock-stop":
            return {"reason": one(st.sampled_from(["awaiting_consent", "other"]))}
        case "safeguarding":
            return {"route": "mash", "pause": one(st.booleans())}
        case "resolution":
            return {"kind": "meeting", "resolved": one(st.booleans())}
        case "response":
            outcome = one(st.sampled_from(["upheld", "partially_upheld", "not_upheld"]))
            return {"outcome": outcome}
        case "reopening":
            return {"reason": "It happened again"}
        case "ombudsman-decision":
            return {"decision": one(st.sampled_from(["premature", "upheld", "not_upheld"]))}
        case "appointment":
            return {"investigating_officer": "Ivy Officer", "independent_person": "Ian Person"}
        case _:
            return {}


@st.composite
def histories(draw: st.DrawFn) -> dict[str, Any]:
    """A procedure's path with steps dropped, detours added and dates jostled."""
    directorate = draw(st.sampled_from(sorted(PATHS)))
    received = TODAY - timedelta(days=draw(st.integers(40, 500)))
    steps: list[dict[str, Any]] = []
    day = received
    for planned in PATHS[directorate]:
        actions = [planned] if draw(st.integers(0, 9)) else []
        if draw(st.integers(0, 3)) == 0:
            actions.insert(draw(st.integers(0, len(actions))), draw(st.sampled_from(DETOURS)))
        for action in actions:
            day += timedelta(days=draw(st.integers(-4, 25)))
            when = day if day <= TODAY else TODAY + timedelta(days=draw(st.integers(0, 1)))
            field = DATE_FIELD.get(action, "appointed_on")
            steps.append({"action": action, field: when.isoformat(), **_body(action, draw)})
    return {"directorate": directorate, "received_on": received.isoformat(), "steps": steps}


def _complaint(history: dict[str, Any]) -> dict[str, Any]:
    return {
        "directorate": history["directorate"],
        "received_on": history["received_on"],
        "channel": "email",
        "complainant": {"name": "Sam Example", "email": "sam@example.org"},
        "summary": "Generated history.",
    }


async def _replay(suite: Running, history: dict[str, Any]) -> tuple[dict, list[dict]]:
    """Send each step over HTTP; return the case and the steps it accepted."""
    answer = await suite.http.post("/api/v1/complaints", json=_complaint(history))
    assert answer.status_code == 201, answer.text
    case, accepted = answer.json(), []
    for step in history["steps"]:
        action = step["action"]
        body = {key: value for key, value in step.items() if key != "action"}
        answer = await suite.http.post(f"/api/v1/complaints/{case['id']}/{action}", json=body)
        assert answer.status_code in (200, 409, 422), (step, answer.status_code, answer.text)
        if answer.status_code == 200:
            case = answer.json()
            accepted.append(step)
    return case, accepted


def _dates_in_order(case: dict[str, Any], history: list[dict[str, Any]]) -> None:
    received = date.fromisoformat(case["received_on"])
    stage_began, responded = received, None
    referred = None
    for entry in history:
        details = entry["details"]
        dates = [date.fromisoformat(v) for k, v in details.items() if k.endswith("_on") and v]
        assert all(received <= day <= TODAY for day in dates), entry
        match entry["action"]:
            case "response":
                responded = date.fromisoformat(details["responded_on"])
                assert responded >= stage_began, entry
            case "escalation":
                stage_began = date.fromisoformat(details["requested_on"])
                assert responded is not None and stage_began >= responded, entry
            case "reopening":
                stage_began = date.fromisoformat(details["reopened_on"])
            case "ombudsman-referral":
                referred = date.fromisoformat(details["referred_on"])
            case "ombudsman-decision":
                assert referred is not None
                assert date.fromisoformat(details["decided_on"]) >= referred, entry


async def _check(suite: Running, case: dict[str, Any]) -> None:
    history = (await suite.http.get(f"/api/v1/complaints/{case['id']}/history")).json()
    _dates_in_order(case, history)
    deadlines = (await suite.http.get("/api/v1/deadlines", params={"case_id": case["id"]})).json()
    if case["status"] in ("closed", "withdrawn"):
        live = [(d["stage"], d["kind"], d["status"]) for d in deadlines if d["status"] not in FINAL]
        assert not live, (case["status"], live)
    for deadline in deadlines:
        if deadline["status"] == "met":
            late = date.fromisoformat(deadline["met_on"]) > date.fromisoformat(deadline["due"])
            assert deadline["breached"] == late, deadline
    for days in (0, 10, 60):
        listed = await suite.http.get("/api/v1/complaints", params={"due_within_days": days})
        in_intake = case["id"] in {c["id"] for c in listed.json()}
        due = await suite.http.get(
            "/api/v1/deadlines/due",
            params={"directorate": case["directorate"], "within_days": days},
        )
        in_deadlines = case["id"] in {d["case_id"] for d in due.json()}
        assert in_intake == in_deadlines, (days, case["status"], deadlines)


class InBackground:
    """Services running on an event loop of their own thread, for a synchronous test.

    Hypothesis drives a plain function once per example; the suite must outlive the
    examples, so it runs on a loop in another thread and each example hands it work.
    """

    def __init__(self, settings_: Settings) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        services = create_intake(settings_), create_deadlines(settings_), create_letters(settings_)
        self.intake = services[0]
        self.hosting = running(settings_, *services)
        self.suite: Running = self.run(self.hosting.__aenter__())

    def run(self, work: Awaitable[T], timeout: float = 120) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout)

    def close(self) -> None:
        try:
            self.run(self.hosting.__aexit__(None, None, None))
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()


@pytest.fixture
def background(settings: Settings) -> Iterator[InBackground]:
    hosted = InBackground(settings)
    yield hosted
    hosted.close()


async def _example(hosted: InBackground, history: dict[str, Any]) -> None:
    suite = hosted.suite
    case, accepted = await _replay(suite, history)
    reference = f"IMP-{uuid.uuid4().hex[:10]}"
    line = {"reference": reference, "complaint": _complaint(history), "steps": accepted}
    report = await import_lines(hosted.intake, [json.dumps(line)])
    assert report.imported == [reference], report.errors
    await eventually(suite.quiet, timeout=30)
    await _check(suite, case)
    listed = (await suite.http.get("/api/v1/complaints")).json()
    imported = next(c for c in listed if c["reference"] == reference)
    assert (imported["status"], imported["stage"], imported["outcome"]) == (
        case["status"],
        case["stage"],
        case["outcome"],
    )
    await _check(suite, imported)


@settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories())
def test_random_histories_keep_the_record_consistent(
    background: InBackground, history: dict[str, Any]
) -> None:
    background.run(_example(background, history))
