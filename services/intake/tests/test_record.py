"""The record says what happened: dates in order, every stage kept, corrections audited."""

from __future__ import annotations

import json

from complaints_intake.importing import import_lines
from complaints_intake.service import create
from complaints_shared.settings import Settings
from complaints_shared.testing.cases import Case
from complaints_shared.testing.harness import Running, eventually, running

BASE = {
    "received_on": "2026-03-02",
    "channel": "email",
    "complainant": {"name": "Ali Parent", "email": "ali@example.org", "address": "2 Low Road"},
    "relationship": "parent",
    "summary": "Nobody told us the review had moved.",
}


def _refused_field(answer: dict, field: str, words: str) -> None:
    error = answer["detail"][0]
    assert error["loc"] == ["body", *field.split(".")], answer
    assert words in error["msg"], answer


async def _at_stage_three(suite: Running) -> Case:
    case = await Case.log(suite, BASE, directorate="childrens")
    await case.act("triage", decision="accepted", decided_on="2026-03-03")
    await case.act("response", outcome="not_upheld", responded_on="2026-03-13")
    await case.act("escalation", requested_on="2026-03-20")
    await case.act("response", outcome="not_upheld", responded_on="2026-04-20")
    await case.act("escalation", requested_on="2026-04-27")
    return case


async def test_a_step_dated_before_the_step_it_follows_is_refused(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        case = await Case.log(suite, BASE, directorate="childrens")
        await case.act("triage", decision="accepted", decided_on="2026-03-04")
        early = await case.act("response", outcome="upheld", responded_on="2026-03-03", expect=422)
        _refused_field(early, "responded_on", "before the complaint was triaged (2026-03-04)")
        await case.act("response", outcome="not_upheld", responded_on="2026-03-13")
        # A Stage 2 request dated before the Stage 1 response.
        early = await case.act("escalation", requested_on="2026-03-12", expect=422)
        _refused_field(early, "requested_on", "before the stage 1 response (2026-03-13)")
        await case.act("escalation", requested_on="2026-03-20")
        assert case.body["stage_started_on"] == "2026-03-20"
        # A Stage 2 response before its request.
        early = await case.act("response", outcome="upheld", responded_on="2026-03-19", expect=422)
        _refused_field(early, "responded_on", "before stage 2 began (2026-03-20)")
        await case.act("response", outcome="not_upheld", responded_on="2026-04-20")
        await case.act("escalation", requested_on="2026-04-27")
        # A panel before the Stage 3 request.
        early = await case.act("panel", held_on="2026-04-24", expect=422)
        _refused_field(early, "held_on", "before stage 3 began (2026-04-27)")
        await case.act("panel", held_on="2026-05-20")
        await case.act("panel-report", reported_on="2026-05-22")
        # A Stage 3 response on the day of receipt (and so before the panel reported).
        early = await case.act("response", outcome="upheld", responded_on="2026-03-02", expect=422)
        _refused_field(early, "responded_on", "before stage 3 began (2026-04-27)")
        early = await case.act("response", outcome="upheld", responded_on="2026-05-21", expect=422)
        _refused_field(early, "responded_on", "before the review panel reported (2026-05-22)")
        await case.act("response", outcome="upheld", responded_on="2026-06-01")
        early = await case.act("closure", closed_on="2026-05-29", expect=422)
        _refused_field(early, "closed_on", "before the response (2026-06-01)")
        await case.act("closure", closed_on="2026-06-02")
        early = await case.act("reopening", reopened_on="2026-06-01", reason="x", expect=422)
        _refused_field(early, "reopened_on", "before the case was closed (2026-06-02)")
        # An Ombudsman decision before its referral.
        await case.act("ombudsman-referral", referred_on="2026-07-01")
        early = await case.act(
            "ombudsman-decision", decided_on="2026-06-30", decision="upheld", expect=422
        )
        _refused_field(early, "decided_on", "before the referral to the Ombudsman (2026-07-01)")


async def test_points_agreed_before_they_are_answered(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        case = await Case.log(suite, BASE, directorate="adults")
        await case.act("triage", decision="accepted", decided_on="2026-03-03")
        await case.act("points", points=[{"summary": "Late visits"}], agreed_on="2026-03-10")
        early = await case.act("response", outcome="upheld", responded_on="2026-03-09", expect=422)
        _refused_field(early, "responded_on", "before the stage 1 points were agreed (2026-03-10)")


async def test_every_stage_keeps_its_points_and_every_referral_its_decision(
    settings: Settings,
) -> None:
    async with running(settings, create(settings)) as suite:
        case = await Case.log(suite, BASE, directorate="childrens")
        await case.act("triage", decision="accepted", decided_on="2026-03-03")
        await case.act("points", points=[{"summary": "Not told"}], agreed_on="2026-03-04")
        first = case.body["points"][0]["id"]
        await case.act(
            "response",
            outcome="partially_upheld",
            responded_on="2026-03-13",
            findings=[{"point_id": first, "outcome": "upheld"}],
            remedies=[{"kind": "apology", "description": "Written apology"}],
        )
        await case.act("escalation", requested_on="2026-03-20")
        await case.act(
            "points",
            points=[{"summary": "Not told"}, {"summary": "Plan not followed"}],
            agreed_on="2026-03-25",
        )
        assert [(p["stage"], p["summary"]) for p in case.body["points"]] == [
            (1, "Not told"),
            (2, "Not told"),
            (2, "Plan not followed"),
        ]
        # Agreeing Stage 2's points again replaces Stage 2's, never Stage 1's.
        await case.act("points", points=[{"summary": "Plan not followed"}], agreed_on="2026-03-26")
        assert [p["stage"] for p in case.body["points"]] == [1, 2]
        assert case.body["points"][0]["id"] == first
        await case.act("response", outcome="not_upheld", responded_on="2026-04-20")
        assert [(r["stage"], r["outcome"]) for r in case.body["responses"]] == [
            (1, "partially_upheld"),
            (2, "not_upheld"),
        ]
        assert case.body["responses"][0]["findings"] == [{"point_id": first, "outcome": "upheld"}]
        assert case.body["responses"][0]["remedies"][0]["kind"] == "apology"

        await case.act("ombudsman-referral", referred_on="2026-05-01")
        await case.act(
            "ombudsman-decision",
            decided_on="2026-05-20",
            decision="premature",
        )
        refused = await case.act("ombudsman-referral", referred_on="2026-05-19", expect=422)
        _refused_field(refused, "referred_on", "before the Ombudsman's earlier decision")
        await case.act("ombudsman-referral", referred_on="2026-06-01", ombudsman_reference="26 1")
        await case.act(
            "ombudsman-decision",
            decided_on="2026-08-03",
            decision="upheld",
            remedies=[
                {"kind": "compensation", "amount": "250.00", "description": "Time and trouble"}
            ],
        )
        assert [(o["referred_on"], o["decision"]) for o in case.body["ombudsman"]] == [
            ("2026-05-01", "premature"),
            ("2026-06-01", "upheld"),
        ]
        assert case.body["ombudsman"][1]["remedies"][0]["amount"] == "250.00"


async def test_details_are_corrected_by_an_audited_action(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        case = await Case.log(
            suite, BASE, directorate="adults", consent="requested", service_area="Reablement"
        )
        nothing = await case.act("correction", corrected_on="2026-03-05", reason="x", expect=422)
        assert "no field to correct" in nothing["detail"][0]["msg"]
        subject = await case.act(
            "correction",
            corrected_on="2026-03-05",
            reason="Misfiled",
            primary_subject="Not a real subject",
            expect=422,
        )
        _refused_field(subject, "primary_subject", "is not a adults subject")
        subjects = (await suite.http.get("/api/v1/subjects?directorate=adults")).json()
        await case.act(
            "correction",
            corrected_on="2026-03-05",
            reason="Consent arrived; the complaint is about home care; new address",
            consent="given",
            service_area="Home care",
            primary_subject=subjects[0],
            team=None,
            complainant={"address": "9 New Street"},
        )
        body = case.body
        assert (body["consent"], body["service_area"], body["primary_subject"]) == (
            "given",
            "Home care",
            subjects[0],
        )
        # The contact details not given are kept.
        given = {key: value for key, value in body["complainant"].items() if value is not None}
        assert given == {**BASE["complainant"], "address": "9 New Street"}
        corrections = [h for h in await case.history() if h["action"] == "correction"]
        assert [(h["actor"], h["event_type"]) for h in corrections] == [("staff", "case.corrected")]
        details = corrections[0]["details"]
        assert details["fields"] == [
            "complainant",
            "consent",
            "primary_subject",
            "service_area",
            "team",
        ]
        assert details["team"] is None and details["complainant"]["address"] == "9 New Street"
        events = await eventually(lambda: _types(suite, case, 2))
        assert events == ["case.received", "case.corrected"]
        # A closed case can still be corrected: the record must be right for the report.
        await case.act(
            "triage", decision="ineligible", reason="self_funder", decided_on="2026-03-06"
        )
        await case.act("correction", corrected_on="2026-03-09", reason="Typo", provider="Acme")
        assert case.body["provider"] == "Acme" and case.body["status"] == "closed"


async def test_stage_two_and_three_people_are_recorded_and_corrected(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        case = await Case.log(suite, BASE, directorate="childrens")
        await case.act("triage", decision="accepted", decided_on="2026-03-03")
        too_soon = await case.act(
            "appointment", appointed_on="2026-03-04", investigating_officer="IO", expect=409
        )
        assert "from stage 2" in too_soon["detail"]
        await case.act("response", outcome="not_upheld", responded_on="2026-03-13")
        await case.act("escalation", requested_on="2026-03-20")
        no_panel = await case.act(
            "appointment", appointed_on="2026-03-23", panellists=["A", "B", "C"], expect=422
        )
        _refused_field(no_panel, "panellists", "stage 2 has no review panel")
        await case.act(
            "appointment",
            appointed_on="2026-03-23",
            investigating_officer="Ivy Officer",
            independent_person="Ian Person",
        )
        await case.act(
            "appointment",
            appointed_on="2026-03-24",
            investigating_officer="Ivy Officer",
            independent_person="Irene Person",
            reason="Ian Person withdrew: a conflict of interest",
        )
        assert case.body["appointments"]["2"]["independent_person"] == "Irene Person"
        await case.act("response", outcome="not_upheld", responded_on="2026-04-20")
        await case.act("escalation", requested_on="2026-04-27")
        two = await case.act(
            "appointment", appointed_on="2026-04-28", panellists=["A", "B"], expect=422
        )
        _refused_field(two, "panellists", "three independent panellists")
        await case.act("appointment", appointed_on="2026-04-28", panellists=["P1", "P2", "P3"])
        assert case.body["appointments"]["3"]["panellists"] == ["P1", "P2", "P3"]
        assert case.body["appointments"]["2"]["independent_person"] == "Irene Person"
        history = [h["action"] for h in await case.history()]
        assert history.count("appointment") == 3


async def test_an_anonymous_complaint_needs_no_name(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        unnamed = {**BASE, "complainant": {"email": "someone@example.org"}}
        refused = await suite.http.post(
            "/api/v1/complaints", json={**unnamed, "directorate": "adults"}
        )
        assert refused.status_code == 422
        _refused_field(refused.json(), "complainant.name", "required unless")
        case = await Case.log(suite, unnamed, directorate="adults", anonymous=True)
        assert case.body["complainant"]["name"] is None and case.body["anonymous"] is True
        # Naming later takes the anonymity off in the same correction, or is refused.
        refused = await case.act(
            "correction", corrected_on="2026-03-03", reason="x", anonymous=False, expect=422
        )
        _refused_field(refused, "complainant.name", "required unless the complaint is anonymous")


async def test_the_adults_relevant_period_is_extended_by_agreement(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        case = await Case.log(suite, BASE, directorate="adults")
        await case.act("triage", decision="accepted", decided_on="2026-03-03")
        both = await case.act(
            "extension",
            step="statutory_limit",
            working_days=10,
            calendar_months=9,
            reason="x",
            agreed_on="2026-03-04",
            expect=422,
        )
        assert "give working_days or calendar_months" in both["detail"][0]["msg"]
        days = await case.act(
            "extension",
            step="statutory_limit",
            working_days=150,
            reason="x",
            agreed_on="2026-03-04",
            expect=409,
        )
        assert "cannot be extended in working days" in days["detail"]
        await case.act(
            "extension",
            step="statutory_limit",
            calendar_months=9,
            reason="Agreed with the complainant: a care review must come first",
            agreed_on="2026-03-04",
        )
        assert case.body["extensions"] == {"1.statutory_limit": 9}
        shorter = await case.act(
            "extension",
            step="statutory_limit",
            calendar_months=8,
            reason="x",
            agreed_on="2026-03-05",
            expect=409,
        )
        assert "already 9 months" in shorter["detail"]
        months = await case.act(
            "extension", calendar_months=7, reason="x", agreed_on="2026-03-05", expect=409
        )
        assert "is in working days" in months["detail"]
        extended = next(h for h in await case.history() if h["action"] == "extension")["details"]
        assert (extended["calendar_months"], extended["working_days"]) == (9, 0)


async def test_an_imported_reference_is_never_issued_again(settings: Settings) -> None:
    service = create(settings)
    async with running(settings, service) as suite:
        history = {
            "reference": "ASC-2026-00003",
            "complaint": {**BASE, "directorate": "adults", "received_on": "2026-01-05"},
            "steps": [],
        }
        report = await import_lines(service, [json.dumps(history)])
        assert report.imported == ["ASC-2026-00003"], report
        made = [(await Case.log(suite, BASE, directorate="adults")) for _ in range(4)]
        references = [case.body["reference"] for case in made]
        assert references == [f"ASC-2026-0000{n}" for n in (4, 5, 6, 7)]


async def _types(suite: Running, case: Case, count: int) -> list[str] | None:
    types = await case.events()
    return types if len(types) >= count else None
