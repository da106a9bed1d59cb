"""Each procedure walked through its paths, and the transitions it refuses."""

from __future__ import annotations

import asyncio

from complaints_intake.service import create
from complaints_shared.settings import Settings
from complaints_shared.testing.cases import Case
from complaints_shared.testing.harness import eventually, running

BASE = {
    "received_on": "2026-03-02",
    "channel": "letter",
    "point_of_receipt": "complaints_team",
    "complainant": {"name": "Bea Parent", "address": "1 High Street"},
    "relationship": "parent",
    "summary": "Contact arrangements were changed without telling us.",
    "service_user": {"name": "Child A", "gender": "female", "age_band": "10-15"},
    "advocacy_offered": True,
}


async def test_adults_from_receipt_to_the_ombudsman(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        case = await Case.log(suite, BASE, directorate="adults")
        await case.act("triage", decision="accepted", decided_on="2026-03-03")
        await case.act(
            "allocate", officer="Sam Investigator", team="Home care", allocated_on="2026-03-03"
        )
        points = await case.act(
            "points",
            agreed_on="2026-03-04",
            points=[
                {"summary": "Not told of change", "desired_outcome": "An apology"},
                {"summary": "Contact cancelled twice"},
            ],
        )
        first, second = (p["id"] for p in points["points"])
        await case.act(
            "extension", working_days=30, reason="Awaiting provider records", agreed_on="2026-03-10"
        )
        await case.act("clock-stop", reason="awaiting_consent", stopped_on="2026-03-11")
        assert case.body["status"] == "paused"
        await case.act("clock-restart", restarted_on="2026-03-16")
        await case.act(
            "response",
            outcome="partially_upheld",
            responded_on="2026-04-10",
            findings=[
                {"point_id": first, "outcome": "upheld"},
                {"point_id": second, "outcome": "not_upheld"},
            ],
            remedies=[
                {"kind": "apology"},
                {"kind": "compensation", "description": "Time and trouble", "amount": "150.00"},
            ],
            learning_actions=[
                {
                    "description": "Tell families of changes",
                    "owner": "Team lead",
                    "due_on": "2026-06-30",
                }
            ],
        )
        await case.act("closure", closed_on="2026-04-11")
        await case.act(
            "ombudsman-referral", referred_on="2026-05-01", ombudsman_reference="26 001 234"
        )
        await case.act(
            "ombudsman-decision",
            decided_on="2026-07-01",
            decision="upheld",
            remedies=[{"kind": "reimbursement", "amount": "75.50"}],
        )
        await case.act(
            "feedback", recorded_on="2026-07-02", satisfied=False, comments="Took too long"
        )

        body = case.body
        assert (body["status"], body["stage"], body["outcome"]) == ("closed", 1, "partially_upheld")
        assert body["officer"] == "Sam Investigator" and body["extensions"] == {"1.response": 30}
        assert body["responses"][0]["remedies"][1]["amount"] == "150.00"
        assert [o["decision"] for o in body["ombudsman"]] == ["upheld"]
        assert "gender" not in body  # equalities data is kept apart
        history = await case.history()
        assert [h["action"] for h in history] == [
            "received",
            "triage",
            "allocate",
            "points",
            "extension",
            "clock-stop",
            "clock-restart",
            "response",
            "closure",
            "ombudsman-referral",
            "ombudsman-decision",
            "feedback",
        ]
        assert {h["actor"] for h in history} == {"staff"}  # the signed-in client, from its token
        assert history[0]["at"].endswith(("Z", "+00:00"))
        assert [h["status_after"] for h in history][:3] == ["received", "open", "open"]
        assert history[7]["details"]["findings"][0]["outcome"] == "upheld"
        events = await eventually(lambda: _all(case.events(), 12))
        assert events == [h["event_type"] for h in history]
        assert events[-3:] == [
            "case.ombudsman_referred",
            "case.ombudsman_decided",
            "case.feedback_recorded",
        ]


async def test_childrens_complaint_through_all_three_stages(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        case = await Case.log(suite, BASE, directorate="childrens")
        assert case.body["reference"].startswith("CSC-2026-")
        await case.act("triage", decision="accepted", decided_on="2026-03-02")
        await case.act("extension", working_days=21, reason="x", agreed_on="2026-03-05", expect=409)
        await case.act("extension", working_days=20, reason="Complex", agreed_on="2026-03-05")
        await case.act("response", outcome="not_upheld", responded_on="2026-03-27")
        # Stage 2 asked for within 20 working days of the Stage 1 response.
        escalated = await case.act("escalation", requested_on="2026-04-10")
        assert (escalated["status"], escalated["stage"], escalated["outcome"]) == ("open", 2, None)
        await case.act(
            "extension",
            working_days=65,
            reason="Independent person unavailable",
            agreed_on="2026-04-20",
        )
        await case.act("response", outcome="partially_upheld", responded_on="2026-06-01")
        await case.act("escalation", requested_on="2026-06-05")
        assert case.body["stage"] == 3
        refused = await case.act(
            "response", outcome="upheld", responded_on="2026-06-10", expect=409
        )
        assert "after the review panel has reported" in refused["detail"]
        await case.act("panel-report", reported_on="2026-07-01", expect=409)
        await case.act("panel", held_on="2026-07-10")
        early = await case.act("panel-report", reported_on="2026-07-09", expect=422)
        assert early["detail"][0]["loc"] == ["body", "reported_on"]
        await case.act("panel-report", reported_on="2026-07-15")
        await case.act("response", outcome="upheld", responded_on="2026-08-01")
        no_stage_four = await case.act("escalation", requested_on="2026-08-03", expect=409)
        assert "Ombudsman" in no_stage_four["detail"]
        assert [r["stage"] for r in case.body["responses"]] == [1, 2, 3]
        assert case.body["panel"] == {"held_on": "2026-07-10", "reported_on": "2026-07-15"}
        events = await eventually(lambda: _all(case.events(), 11))
        assert events.count("case.escalated") == 2 and "case.panel_reported" in events


async def test_a_late_escalation_is_accepted_but_marked(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        case = await Case.log(suite, BASE, directorate="corporate")
        await case.act("triage", decision="accepted", decided_on="2026-03-02")
        await case.act("response", outcome="not_upheld", responded_on="2026-03-10")
        # 20 working days after 10 March 2026 is 9 April (Easter: 3 and 6 April skipped).
        await case.act("escalation", requested_on="2026-04-10")
        escalations = [h for h in await case.history() if h["action"] == "escalation"]
        assert escalations[0]["details"]["within_window"] is False
        assert escalations[0]["details"]["to_stage"] == 2


async def test_withdrawn_and_reopened(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        case = await Case.log(suite, BASE, directorate="adults")
        await case.act("triage", decision="accepted", decided_on="2026-03-02")
        await case.act("withdrawal", withdrawn_on="2026-03-05", reason="Resolved with the team")
        assert case.body["status"] == "withdrawn"
        refused = await case.act(
            "response", outcome="upheld", responded_on="2026-03-06", expect=409
        )
        assert "it is withdrawn" in refused["detail"]
        await case.act("reopening", reopened_on="2026-03-09", reason="Problem came back")
        assert case.body["status"] == "open" and case.body["closure"] is None


async def test_ineligible_with_its_reason(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        case = await Case.log(suite, BASE, directorate="adults")
        missing = await case.act(
            "triage", decision="ineligible", decided_on="2026-03-03", expect=422
        )
        assert missing["detail"][0]["loc"] == ["body", "reason"]
        await case.act(
            "triage",
            decision="ineligible",
            reason="self_funder",
            decided_on="2026-03-03",
            notes="Arranges and pays for own care",
        )
        assert case.body["status"] == "closed"
        assert case.body["triage"]["reason"] == "self_funder"
        assert case.body["closure"]["reason"] == "ineligible"
        events = await eventually(lambda: _all(case.events(), 2))
        assert events == ["case.received", "case.triaged"]


async def test_transitions_that_do_not_fit_are_refused_with_the_reason(
    settings: Settings,
) -> None:
    async with running(settings, create(settings)) as suite:
        case = await Case.log(suite, BASE, directorate="adults")
        untriaged = await case.act(
            "response", outcome="upheld", responded_on="2026-03-05", expect=409
        )
        assert "it is received" in untriaged["detail"]
        await case.act("triage", decision="accepted", decided_on="2026-03-02")
        await case.act("triage", decision="accepted", decided_on="2026-03-02", expect=409)
        await case.act("clock-restart", restarted_on="2026-03-03", expect=409)
        ack = await case.act(
            "extension",
            step="acknowledgement",
            working_days=5,
            reason="x",
            agreed_on="2026-03-03",
            expect=409,
        )
        assert "cannot be extended" in ack["detail"]
        over = await case.act(
            "extension", working_days=130, reason="x", agreed_on="2026-03-03", expect=409
        )
        assert "beyond the cap of 129" in over["detail"]
        await case.act("panel", held_on="2026-03-04", expect=409)
        await case.act(
            "ombudsman-decision", decided_on="2026-03-04", decision="premature", expect=409
        )
        before = await case.act("allocate", officer="X", allocated_on="2026-03-01", expect=422)
        assert before["detail"][0]["loc"] == ["body", "allocated_on"]
        bad_point = await case.act(
            "response",
            outcome="upheld",
            responded_on="2026-03-05",
            findings=[{"point_id": "00000000-0000-0000-0000-000000000000", "outcome": "upheld"}],
            expect=422,
        )
        assert bad_point["detail"][0]["loc"] == ["body", "findings", "0", "point_id"]
        # A premature referral is recorded; a second one before a decision is refused.
        await case.act("ombudsman-referral", referred_on="2026-03-04")
        await case.act("ombudsman-referral", referred_on="2026-03-05", expect=409)
        await case.act("ombudsman-decision", decided_on="2026-03-06", decision="premature")
        history = [h["action"] for h in await case.history()]
        # refused actions leave no trace
        assert history == ["received", "triage", "ombudsman-referral", "ombudsman-decision"]
        missing = await suite.http.post(
            "/api/v1/complaints/00000000-0000-0000-0000-000000000000/closure",
            json={"closed_on": "2026-03-06"},
        )
        assert missing.status_code == 404


async def test_a_retried_creation_makes_one_case(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        body = {**BASE, "directorate": "adults"}
        key = {"Idempotency-Key": "intake-form-7f3a"}
        first = await suite.http.post("/api/v1/complaints", json=body, headers=key)
        retry = await suite.http.post("/api/v1/complaints", json=body, headers=key)
        assert (first.status_code, retry.status_code) == (201, 200)
        assert retry.json()["id"] == first.json()["id"]
        other = await suite.http.post(
            "/api/v1/complaints", json={**body, "summary": "different"}, headers=key
        )
        assert other.status_code == 409
        assert len((await suite.http.get("/api/v1/complaints")).json()) == 1
        racing_key = {"Idempotency-Key": "intake-form-race"}
        raced = await asyncio.gather(
            *(
                suite.http.post("/api/v1/complaints", json=body, headers=racing_key)
                for _ in range(4)
            )
        )
        assert [r.status_code for r in raced].count(201) == 1
        assert {r.status_code for r in raced} <= {200, 201}
        assert len({r.json()["id"] for r in raced}) == 1
        assert len((await suite.http.get("/api/v1/complaints")).json()) == 2
        subject = f"complaints.{settings.organisation}.adults.case.received.v1"
        assert len(await eventually(lambda: _all(suite.events(subject), 2))) == 2


async def test_compliments_are_logged_with_who_they_praise(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        answer = await suite.http.post(
            "/api/v1/compliments",
            json={
                "directorate": "adults",
                "received_on": "2026-03-02",
                "channel": "email",
                "service_area": "Home care",
                "team": "North",
                "provider": "Caring Hands Ltd",
                "summary": "The carers were wonderful.",
            },
        )
        assert answer.status_code == 201, answer.text
        listed = await suite.http.get("/api/v1/compliments", params={"directorate": "adults"})
        assert [c["provider"] for c in listed.json()] == ["Caring Hands Ltd"]
        subject = f"complaints.{settings.organisation}.adults.compliment.received.v1"
        [event] = await eventually(lambda: suite.events(subject))
        assert event.payload["team"] == "North"


async def _all(pending, n: int):
    found = await pending
    return found if len(found) >= n else None


async def test_subjects_come_from_the_directorates_taxonomy(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        adults = await suite.http.get("/api/v1/subjects", params={"directorate": "adults"})
        assert "Financial / cost issues" in adults.json()
        await Case.log(
            suite,
            BASE,
            directorate="adults",
            primary_subject="Financial / cost issues",
            other_subjects=["Communication"],
        )
        wrong = await suite.http.post(
            "/api/v1/complaints",
            json={
                **BASE,
                "directorate": "childrens",
                "primary_subject": "Attitude of staff",
                "other_subjects": ["Financial / cost issues"],
            },
        )
        assert wrong.status_code == 422
        assert wrong.json()["detail"][0]["loc"] == ["body", "other_subjects", "0"]
        assert (
            await suite.http.get("/api/v1/subjects", params={"directorate": "x"})
        ).status_code == 404
