"""Intake's API and the events it publishes, on real NATS and both databases."""

from __future__ import annotations

import asyncio
import uuid

from complaints_intake.service import create
from complaints_shared.contracts.events import CaseReceived, CaseResponded
from complaints_shared.settings import Settings
from complaints_shared.testing.harness import Running, eventually, running

COMPLAINT = {
    "directorate": "adults",
    "received_on": "2026-04-02",
    "channel": "telephone",
    "complainant": {"name": "Ann Example", "phone": "01234 567890"},
    "summary": "The carer did not arrive on three mornings.",
}


async def log(suite: Running, **changes) -> dict:
    answer = await suite.http.post("/api/v1/complaints", json={**COMPLAINT, **changes})
    assert answer.status_code == 201, answer.text
    return answer.json()


async def accept(suite: Running, case: dict) -> None:
    answer = await suite.http.post(
        f"/api/v1/complaints/{case['id']}/triage",
        json={"decision": "accepted", "decided_on": case["received_on"]},
    )
    assert answer.status_code == 200, answer.text


async def test_references_run_per_directorate_and_year_even_when_posted_at_once(
    settings: Settings,
) -> None:
    async with running(settings, create(settings)) as suite:
        at_once = await asyncio.gather(*(log(suite) for _ in range(5)))
        child = await log(suite, directorate="childrens")
        older = await log(suite, received_on="2025-12-30")
        assert sorted(c["reference"] for c in at_once) == [f"ASC-2026-0000{n}" for n in range(1, 6)]
        assert child["reference"] == "CSC-2026-00001"
        assert child["procedure"] == "childrens"
        assert older["reference"] == "ASC-2025-00001"


async def test_logging_a_complaint_announces_it(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        case = await log(suite)
        assert case["status"] == "received" and case["procedure"] == "adults"
        assert (await suite.http.get(f"/api/v1/complaints/{case['id']}")).json() == case

        subject = f"complaints.{settings.organisation}.adults.case.received.v1"
        [event] = await eventually(lambda: suite.events(subject))
        assert str(event.case_id) == case["id"]
        assert (event.organisation, event.directorate) == (settings.organisation, "adults")
        received = event.parse(CaseReceived)
        assert received.reference == case["reference"]
        assert received.complainant.phone == "01234 567890"
        assert str(received.received_on) == "2026-04-02"


async def test_recording_the_response_once(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        case = await log(suite)
        await accept(suite, case)
        path = f"/api/v1/complaints/{case['id']}/response"
        early = await suite.http.post(
            path, json={"outcome": "upheld", "responded_on": "2026-04-01"}
        )
        assert early.status_code == 422
        assert early.json()["detail"][0]["loc"] == ["body", "responded_on"]

        answer = await suite.http.post(
            path,
            json={
                "outcome": "not_upheld",
                "responded_on": "2026-04-20",
                "learning_actions": [
                    {
                        "description": "Rota checks",
                        "owner": "Home care manager",
                        "due_on": "2026-06-30",
                    }
                ],
            },
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "responded"
        assert answer.json()["outcome"] == "not_upheld"

        again = await suite.http.post(
            path, json={"outcome": "upheld", "responded_on": "2026-04-21"}
        )
        assert again.status_code == 409
        assert "it is responded" in again.json()["detail"]

        subject = f"complaints.{settings.organisation}.adults.case.responded.v1"
        [event] = await eventually(lambda: suite.events(subject))
        response = event.parse(CaseResponded)
        assert response.outcome == "not_upheld"
        assert [a.owner for a in response.learning_actions] == ["Home care manager"]
        received_subject = f"complaints.{settings.organisation}.adults.case.received.v1"
        [received] = await suite.events(received_subject)
        assert event.correlation_id == received.correlation_id


async def test_what_is_refused_and_why(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        missing = await suite.http.post(
            f"/api/v1/complaints/{uuid.uuid4()}/response",
            json={"outcome": "upheld", "responded_on": "2026-04-20"},
        )
        assert missing.status_code == 404
        future = await suite.http.post(
            "/api/v1/complaints", json={**COMPLAINT, "received_on": "2999-01-01"}
        )
        assert future.status_code == 422
        assert future.json()["detail"][0]["loc"] == ["body", "received_on"]
        extra = await suite.http.post("/api/v1/complaints", json={**COMPLAINT, "colour": "red"})
        assert extra.status_code == 422
        assert extra.json()["detail"][0]["loc"] == ["body", "colour"]
        assert (await suite.http.get(f"/api/v1/complaints/{uuid.uuid4()}")).status_code == 404
        assert (await suite.http.get("/api/v1/complaints")).json() == []


async def test_listing_filters_by_directorate_and_status(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        adult = await log(suite)
        await accept(suite, adult)
        corporate = await log(suite, directorate="corporate")
        await suite.http.post(
            f"/api/v1/complaints/{corporate['id']}/allocate",
            json={"officer": "Pat Lee", "allocated_on": "2026-04-03"},
        )
        await suite.http.post(
            f"/api/v1/complaints/{adult['id']}/response",
            json={"outcome": "upheld", "responded_on": "2026-04-20"},
        )

        async def listed(**params) -> list[str]:
            cases = (await suite.http.get("/api/v1/complaints", params=params)).json()
            return sorted(c["reference"] for c in cases)

        assert await listed() == ["ASC-2026-00001", "CORP-2026-00001"]
        assert await listed(directorate="corporate") == ["CORP-2026-00001"]
        assert await listed(status="responded") == ["ASC-2026-00001"]
        assert await listed(officer="Pat Lee") == ["CORP-2026-00001"]
        assert await listed(stage=1) == ["ASC-2026-00001", "CORP-2026-00001"]
        assert await listed(stage=2) == []


async def test_what_is_too_large_is_refused_before_anything_is_recorded(
    settings: Settings,
) -> None:
    # An operator's NATS takes smaller messages than the default, so a response with
    # remedies that each fit their bounds can still make an event too large to publish.
    settings = settings.model_copy(update={"max_event_bytes": 8_000, "max_request_bytes": 200_000})
    async with running(settings, create(settings)) as suite:
        case = await log(suite)
        await accept(suite, case)
        path = f"/api/v1/complaints/{case['id']}/response"
        response = {"outcome": "upheld", "responded_on": "2026-04-20"}

        unbounded = await suite.http.post(
            path, json={**response, "remedies": [{"kind": "apology", "description": "x" * 100_000}]}
        )
        assert unbounded.status_code == 422
        [error] = unbounded.json()["detail"]
        assert (error["loc"], error["type"]) == (
            ["body", "remedies", 0, "description"],
            "string_too_long",
        )

        remedies = [{"kind": "apology", "description": "y" * 2_000}] * 5
        too_large = await suite.http.post(path, json={**response, "remedies": remedies})
        assert too_large.status_code == 422, too_large.text
        [error] = too_large.json()["detail"]
        assert (error["loc"], error["type"]) == (["body", "remedies"], "too_large")
        assert "case.responded" in error["msg"] and "8,000" in error["msg"]

        huge_body = await suite.http.post(
            path, content=b" " * 250_000, headers={"content-type": "application/json"}
        )
        assert huge_body.status_code == 413
        assert "200,000 bytes" in huge_body.json()["detail"]

        async def streamed():  # no Content-Length: refused once it passes the limit
            for _ in range(5):
                yield b" " * 50_000

        huge_stream = await suite.http.post(
            path, content=streamed(), headers={"content-type": "application/json"}
        )
        assert huge_stream.status_code == 413
        assert huge_stream.json() == huge_body.json()

        unchanged = (await suite.http.get(f"/api/v1/complaints/{case['id']}")).json()
        assert unchanged["status"] == "open" and unchanged["responses"] == []
        history = (await suite.http.get(f"/api/v1/complaints/{case['id']}/history")).json()
        assert "response" not in [entry["action"] for entry in history]

        fits = await suite.http.post(path, json={**response, "remedies": remedies[:1]})
        assert fits.status_code == 200, fits.text
        subject = f"complaints.{settings.organisation}.adults.case.responded.v1"
        [event] = await eventually(lambda: suite.events(subject))
        assert len(event.parse(CaseResponded).remedies) == 1
