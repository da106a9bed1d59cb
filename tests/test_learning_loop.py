"""Learning closes the loop, on real NATS, with every service that takes part.

A response commits to two actions; deadlines' timers chase their leads (one before
its due date, one after it, past the August bank holiday, up to the manager) by
email through letters; one is completed with evidence and the other cancelled, and only
then is the complainant's learning-update letter drafted; sent, it is recorded in the
register. An Ombudsman's remedy with its own due date joins the register, and the
reporting service counts all of it for the annual report.
"""

from __future__ import annotations

from typing import Any

from complaints_deadlines.service import create as create_deadlines
from complaints_intake.service import create as create_intake
from complaints_learning.service import create as create_learning
from complaints_letters.service import create as create_letters
from complaints_reporting.service import create as create_reporting
from complaints_shared.calendar import WorkingDayCalendar, today_in_england
from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.events import LeadChased, LetterSent
from complaints_shared.settings import Settings
from complaints_shared.testing.cases import Case
from complaints_shared.testing.harness import Running, eventually, running

MANAGER = "home.care.manager@council.example"
COMPLAINT = {
    "directorate": "adults",
    "received_on": "2026-08-03",
    "channel": "email",
    "summary": "Visits were missed and nobody told us.",
    "service_area": "Home care",
    "complainant": {
        "name": "Pat Example",
        "email": "pat@example.org",
        "preferred_contact": "email",
        "learning_updates": True,
    },
}


async def events(suite: Running, event_type: str) -> list[Envelope]:
    org = suite.host.settings.organisation
    return await suite.events(f"complaints.{org}.*.{event_type}.v1")


async def test_actions_chased_settled_told_and_counted(settings: Settings) -> None:
    settings = settings.model_copy(
        update={
            "learning_reminder_days": 5,
            "learning_escalation_days": 3,
            "learning_managers": {"Home care": MANAGER},
        }
    )
    # Due three working days from now, so its reminder (five before) is already due.
    soon = WorkingDayCalendar().add(today_in_england(), 3).isoformat()
    services = (create_intake, create_deadlines, create_letters, create_learning, create_reporting)
    async with running(settings, *(create(settings) for create in services)) as suite:
        case = await Case.log(suite, COMPLAINT)
        await case.act("triage", decision="accepted", decided_on="2026-08-04")
        await case.act(
            "response",
            outcome="upheld",
            responded_on="2026-08-20",
            learning_actions=[
                {
                    "description": "Tell families the same day when a visit is missed",
                    "owner": "Commissioning lead",
                    "owner_email": "commissioning@council.example",
                    "due_on": soon,
                    "themes": ["Communication with families"],
                },
                {
                    "description": "Audit the rota system",
                    "owner": "Home care lead",
                    "owner_email": "home.care@council.example",
                    # Friday; Monday 31 August is a bank holiday, so three working days
                    # overdue is the end of Thursday 3 September.
                    "due_on": "2026-08-28",
                },
            ],
        )

        async def register(**params: Any) -> list[dict]:
            answer = await suite.http.get("/api/v1/learning-actions", params=params)
            assert answer.status_code == 200, answer.text
            return answer.json()

        listed = await eventually(lambda: _at_least(register(case_id=case.id), 2))
        by_lead = {a["lead"]: a for a in listed}
        families, rota = by_lead["Commissioning lead"], by_lead["Home care lead"]
        assert families["themes"] == ["Communication with families"]
        assert rota["service_area"] == "Home care" and rota["source"] == "response"

        # The leads are chased by deadlines' timers, by email through letters.
        async def chases() -> list[LeadChased] | None:
            found = [e.parse(LeadChased) for e in await events(suite, "learning.lead_chased")]
            return found if len(found) >= 3 else None

        chased = await eventually(chases, timeout=30)
        assert sorted((c.description[:4], c.step, c.recipient_email) for c in chased) == [
            ("Audi", "escalation", MANAGER),
            ("Audi", "overdue", "home.care@council.example"),
            ("Tell", "reminder", "commissioning@council.example"),
        ]
        escalation = next(c for c in chased if c.step == "escalation")
        assert escalation.to_manager and escalation.working_days >= 3
        assert escalation.case_references == (case.body["reference"],)

        async def reminders_sent() -> list[LetterSent] | None:
            sent = [e.parse(LetterSent) for e in await events(suite, "letter.sent")]
            staff = [s for s in sent if s.kind == "learning_reminder"]
            return staff if len(staff) >= 3 else None

        assert len(await eventually(reminders_sent, timeout=30)) == 3

        # One done with evidence: the complainant is not written to yet.
        done = await suite.http.post(
            f"/api/v1/learning-actions/{families['id']}/complete",
            json={
                "evidence": "Contract variation issued to all agencies",
                "evidence_links": ["https://intranet.council.example/contracts/variation-7"],
                "what_changed": "Agencies now phone the family the same day.",
            },
        )
        assert done.status_code == 200, done.text
        await eventually(suite.quiet)
        assert await _letters(suite, case, "learning_update") == []
        assert await events(suite, "learning.case_settled") == []

        # The other cancelled: now every action is settled, and the letter is drafted.
        cancelled = await suite.http.post(
            f"/api/v1/learning-actions/{rota['id']}/cancel",
            json={"reason": "The rota system is being replaced this year"},
        )
        assert cancelled.status_code == 200, cancelled.text
        [draft] = await eventually(lambda: _letters(suite, case, "learning_update"))
        assert draft["status"] == "draft"
        text = (
            await suite.http.get(f"/api/v1/letters/{draft['id']}", params={"format": "text"})
        ).text
        assert "Agencies now phone the family the same day." in text
        approved = await suite.http.post(f"/api/v1/letters/{draft['id']}/approve")
        assert approved.status_code == 200, approved.text

        async def told() -> dict | None:
            [action] = [a for a in await register(case_id=case.id) if a["id"] == families["id"]]
            return action if action["complainant_told_on"] else None

        assert (await eventually(told, timeout=30))["complainant_told_on"] == (
            today_in_england().isoformat()
        )

        # An Ombudsman's remedy, with the Ombudsman's own date, joins the register.
        other = await Case.log(suite, COMPLAINT | {"summary": "My assessment took a year."})
        await other.act("ombudsman-referral", referred_on="2026-09-01")
        await other.act(
            "ombudsman-decision",
            decided_on="2026-10-15",
            decision="upheld",
            remedies=[
                {
                    "kind": "service_change",
                    "description": "Review assessment waiting times",
                    "due_on": "2027-01-15",
                    "owner": "Head of assessment",
                }
            ],
        )
        [remedy] = await eventually(lambda: register(case_id=other.id, source="ombudsman"))
        assert (remedy["due_on"], remedy["lead"]) == ("2027-01-15", "Head of assessment")

        # Reporting heard all of it.
        async def figures() -> dict | None:
            answer = await suite.http.get("/api/v1/reports/learning", params={"year": 2026})
            adults = answer.json()["directorates"].get("adults", {})
            # Each action's events reach reporting on their own: wait for all three.
            complete = adults.get("complainants_told") == 1 and adults.get("identified") == 3
            return adults if complete else None

        assert await eventually(figures) == {
            "identified": 3,
            "from_ombudsman": 1,
            "completed": 1,
            "completed_on_time": 1,
            "cancelled": 1,
            "overdue": 0,
            "complainants_told": 1,
        }


async def _letters(suite: Running, case: Case, kind: str) -> list[dict]:
    answer = await suite.http.get("/api/v1/letters", params={"case_id": case.id})
    assert answer.status_code == 200, answer.text
    return [letter for letter in answer.json() if letter["kind"] == kind]


async def _at_least(pending, n: int):
    found = await pending
    return found if len(found) >= n else None
