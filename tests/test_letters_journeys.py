"""Every letter a complaint's journey calls for, on real NATS: intake, deadlines and
letters together, driven over HTTP as a complaints team drives them.

Dates cross bank holidays on purpose (Christmas 2025, Easter and early May 2026); the
expected dates are counted by hand here, not by the code under test.
"""

from __future__ import annotations

import html
import io
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from complaints_deadlines.service import create as create_deadlines
from complaints_intake.service import create as create_intake
from complaints_letters.service import create as create_letters
from complaints_shared.auth import Role
from complaints_shared.settings import Settings
from complaints_shared.testing.cases import Case
from complaints_shared.testing.harness import Running, eventually, running
from complaints_shared.testing.issuer import LocalIssuer

APPROVER = "letters-approver"
GONE = ("sent", "delivered")


def suite_of(settings: Settings) -> AbstractAsyncContextManager[Running]:
    return running(
        settings, create_intake(settings), create_deadlines(settings), create_letters(settings)
    )


def words(text: str) -> str:
    return " ".join(html.unescape(text).split())


class Letters:
    """A case's letters over the API, as the officer (and a second person) sees them."""

    def __init__(self, suite: Running, case: Case, approver: Any) -> None:
        self.suite, self.case, self.approver = suite, case, approver

    async def all(self) -> list[dict]:
        answer = await self.suite.http.get("/api/v1/letters", params={"case_id": self.case.id})
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def one(
        self, kind: str, stage: int = 1, status: tuple[str, ...] = (), key_word: str = ""
    ) -> dict:
        """The case's letter of ``kind`` at ``stage`` (in ``status``, saying ``key_word``)."""

        async def found() -> dict | None:
            for letter in await self.all():
                same = letter["kind"] == kind and letter["stage"] == stage
                wanted = same and (not status or letter["status"] in status)
                if wanted and (not key_word or key_word in await self.text(letter)):
                    return letter
            return None

        return await eventually(found)

    async def text(self, letter: dict) -> str:
        answer = await self.suite.http.get(
            f"/api/v1/letters/{letter['id']}", params={"format": "text"}
        )
        return words(answer.text)

    async def write(self, letter: dict, **wording: str) -> dict:
        answer = await self.suite.http.patch(
            f"/api/v1/letters/{letter['id']}", json={"wording": wording}
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def approve(self, letter: dict, expect: int = 200) -> dict:
        """Approve, as an officer would, again while the API says to try in a moment
        (the deadlines engine has yet to date the next step: its event is on the way)."""

        async def tried() -> httpx.Response | None:
            answer = await self.approver.post(f"/api/v1/letters/{letter['id']}/approve")
            return None if "try again in a moment" in answer.text else answer

        answer = await eventually(tried)
        assert answer.status_code == expect, answer.text
        return answer.json()


@pytest.fixture
def approver_token(issuer: LocalIssuer) -> str:
    issuer.add_client(APPROVER, Role.COMPLAINTS_OFFICER, directorates=("*",))
    return issuer.token(APPROVER)


async def test_an_adults_complaint_acknowledged_extended_and_answered(
    settings: Settings, approver_token: str
) -> None:
    async with suite_of(settings) as suite, suite.client(approver_token) as approver:
        case = await Case.log(
            suite,
            {
                "directorate": "adults",
                "received_on": "2026-03-02",
                "channel": "email",
                "summary": "Care package cut without a review.",
                "complainant": {
                    "name": "Pat Example",
                    "address": "1 Example Road, Demotown, DT1 2AB",
                    "preferred_contact": "letter",
                },
            },
        )
        letters = Letters(suite, case, approver)
        acknowledgement = await letters.one("acknowledgement", status=GONE)
        text = await letters.text(acknowledgement)
        assert case.body["reference"] in text and "Pat Example" in text
        assert "Monday 30 March 2026" in text  # 20 working days from Monday 2 March
        assert "01234 567890" in text and "complaints@demo-council.example" in text

        await case.act("triage", decision="accepted", decided_on="2026-03-03")
        points = await case.act(
            "points",
            points=[{"summary": "The care package was cut"}, {"summary": "Nobody called back"}],
            agreed_on="2026-03-04",
        )
        await case.act(
            "extension",
            working_days=30,
            reason="we are waiting for the provider's records",
            agreed_on="2026-03-20",
        )
        holding = await letters.one("holding", status=("draft",), key_word="need longer")
        text = await letters.text(holding)
        assert "Monday 30 March 2026" in text  # the old date
        assert "Wednesday 15 April 2026" in text  # 30 working days: past Easter
        assert "waiting for the provider's records" in text
        refused = await letters.approve(holding, expect=409)
        assert "the officer's words are missing: explanation" in refused["detail"]["problems"]
        await letters.write(holding, explanation="We have asked the provider twice.")
        await letters.approve(holding)
        sent = await letters.one("holding", status=GONE)
        assert sent["issued_on"] <= "2026-12-31"

        point_ids = [point["id"] for point in points["points"]]
        await case.act(
            "response",
            outcome="partially_upheld",
            responded_on="2026-04-10",
            findings=[
                {"point_id": point_ids[0], "outcome": "upheld"},
                {"point_id": point_ids[1], "outcome": "not_upheld"},
            ],
            remedies=[
                {"kind": "compensation", "description": "For the missed care", "amount": "250.00"}
            ],
            learning_actions=[
                {
                    "description": "Review care packages before any change",
                    "owner": "Head of Care",
                    "due_on": "2026-06-30",
                }
            ],
        )
        response = await letters.one("response", status=("draft",))
        problems = (await letters.approve(response, expect=409))["detail"]["problems"]
        assert (
            "the finding on point 'The care package was cut' needs the officer's explanation"
            in problems
        )
        await letters.write(
            response,
            introduction="Thank you for your patience.",
            conclusion="We are sorry.",
            **{
                f"finding.{point_ids[0]}": "The package was cut without a review.",
                f"finding.{point_ids[1]}": "Our records show two calls.",
            },
        )
        # The officer who wrote it cannot approve it: a second person must.
        own = await suite.http.post(f"/api/v1/letters/{response['id']}/approve")
        assert own.status_code == 409 and "second person" in own.text
        await letters.approve(response)
        response = await letters.one("response", status=GONE)
        text = await letters.text(response)
        assert "Local Government and Social Care Ombudsman" in text and "www.lgo.org.uk" in text
        assert "12 months" in text and "£250.00" in text
        assert "Review care packages before any change" in text
        assert "partly upheld" in text and case.body["reference"] in text

        pdf = await suite.http.get(f"/api/v1/letters/{response['id']}", params={"format": "pdf"})
        if pdf.status_code == 503:
            pytest.skip("no Pango here (CI has it): " + pdf.text)
        page = PdfReader(io.BytesIO(pdf.content)).pages[0]
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)
        extracted = words(page.extract_text())
        assert case.body["reference"] in extracted and "Pat Example" in extracted

        history = (await suite.http.get(f"/api/v1/letters/{response['id']}/history")).json()
        actions = [entry["action"] for entry in history]
        assert actions[:3] == ["drafted", "edited", "approved"] and "sent" in actions


async def test_a_childrens_complaint_to_stage_3_every_letter_in_order(
    settings: Settings, approver_token: str
) -> None:
    async with suite_of(settings) as suite, suite.client(approver_token) as approver:
        case = await Case.log(
            suite,
            {
                "directorate": "childrens",
                "received_on": "2025-12-01",
                "channel": "email",
                "summary": "My son's placement was changed without telling us.",
                "complainant": {
                    "name": "Sam Example",
                    "email": "sam@example.org",
                    "preferred_contact": "email",
                },
            },
        )
        letters = Letters(suite, case, approver)
        await letters.one("acknowledgement", status=GONE)
        await case.act("triage", decision="accepted", decided_on="2025-12-02")

        async def answer(stage: int, on: str, **wording: str) -> str:
            response = await letters.one("response", stage, status=("draft",))
            await letters.write(
                response,
                introduction="Here is our response.",
                conclusion="We hope this helps.",
                **wording,
            )
            await letters.approve(response)
            return await letters.text(await letters.one("response", stage, status=GONE))

        await case.act("response", outcome="not_upheld", responded_on="2025-12-15")
        # 20 working days from Monday 15 December 2025, past Christmas, Boxing Day and
        # New Year's Day: Thursday 15 January 2026.
        assert "Thursday 15 January 2026" in await answer(1, "2025-12-15")

        await case.act("escalation", requested_on="2026-01-12")
        await case.act(
            "appointment",
            appointed_on="2026-01-13",
            investigating_officer="Jo Investigator",
            independent_person="Alex Person",
        )
        acknowledgement = await letters.one("acknowledgement", 2, status=GONE)
        text = await letters.text(acknowledgement)
        assert "Monday 12 January 2026" in text and "Stage 2" in text

        await case.act("response", outcome="partially_upheld", responded_on="2026-04-02")
        # 20 working days from Thursday 2 April 2026, past Good Friday, Easter Monday and
        # the early May bank holiday: Tuesday 5 May 2026.
        assert "Tuesday 5 May 2026" in await answer(2, "2026-04-02")

        await case.act("escalation", requested_on="2026-04-20")
        acknowledgement = await letters.one("acknowledgement", 3, status=GONE)
        assert "review panel" in await letters.text(acknowledgement)

        invitation = await suite.http.post(
            "/api/v1/letters",
            json={
                "case_id": case.id,
                "kind": "panel_invitation",
                "stage": 3,
                "wording": {
                    "panel_on": "Tuesday 19 May 2026",
                    "panel_time": "10am",
                    "place": "Committee Room 2, Town Hall",
                },
            },
        )
        assert invitation.status_code == 201, invitation.text
        await letters.approve(invitation.json())
        text = await letters.text(await letters.one("panel_invitation", 3, status=GONE))
        assert "Committee Room 2, Town Hall" in text and "Tuesday 19 May 2026" in text

        await case.act("panel", held_on="2026-05-19")
        await case.act("panel-report", reported_on="2026-05-22")
        await case.act("response", outcome="upheld", responded_on="2026-06-05")
        text = await answer(3, "2026-06-05")
        assert "its report is enclosed" in text
        assert "Local Government and Social Care Ombudsman" in text

        kinds = [(x["kind"], x["stage"]) for x in await letters.all() if x["status"] in GONE]
        assert kinds == [
            ("acknowledgement", 1),
            ("response", 1),
            ("acknowledgement", 2),
            ("response", 2),
            ("acknowledgement", 3),
            ("panel_invitation", 3),
            ("response", 3),
        ]


async def test_a_third_party_complaint_awaiting_consent(settings: Settings) -> None:
    async with suite_of(settings) as suite:
        case = await Case.log(
            suite,
            {
                "directorate": "adults",
                "received_on": "2026-03-02",
                "channel": "letter",
                "summary": "My mother's care visits are late.",
                "complainant": {"name": "Chris Example", "address": "2 Example Road, DT1 2AB"},
                "relationship": "son_or_daughter",
                "consent": "requested",
            },
        )
        letters = Letters(suite, case, suite.http)
        awaited = await letters.one("consent_awaited", status=GONE)
        assert "We have written to ask them" in await letters.text(awaited)
        started = await suite.http.post(
            "/api/v1/letters",
            json={
                "case_id": case.id,
                "kind": "consent_request",
                "wording": {
                    "recipient_name": "Mrs Example",
                    "recipient_address": "3 Care Home Lane, DT1 3CD",
                },
            },
        )
        assert started.status_code == 201, started.text
        text = await letters.text(started.json())
        assert "Dear Mrs Example" in text and "made on your behalf by Chris Example" in text


async def test_an_ineligible_complaint_says_why_and_where_it_went(settings: Settings) -> None:
    async with suite_of(settings) as suite:
        case = await Case.log(
            suite,
            {
                "directorate": "adults",
                "received_on": "2026-03-02",
                "channel": "email",
                "summary": "Events of 2023.",
                "complainant": {"name": "Lee Example", "email": "lee@example.org"},
            },
        )
        await case.act(
            "triage",
            decision="ineligible",
            reason="out_of_time",
            decided_on="2026-03-03",
            redirected_to="Not redirected",
        )
        letters = Letters(suite, case, suite.http)
        text = await letters.text(await letters.one("ineligible", status=GONE))
        assert "more than 12 months" in text and "good reason" in text
        assert case.body["reference"] in text
