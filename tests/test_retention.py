"""Retention: a case past its period is anonymised in every service; the figures stay.

All five services on real NATS, SQLite and PostgreSQL, driven over HTTP.
"""

from __future__ import annotations

from complaints_deadlines.service import create as deadlines
from complaints_intake.service import create as intake
from complaints_learning.service import create as learning
from complaints_letters.service import create as letters
from complaints_reporting.service import create as reporting
from complaints_shared.settings import Settings
from complaints_shared.testing.cases import Case
from complaints_shared.testing.harness import Running, eventually, running
from complaints_shared.testing.suite import EXAMPLE_COMPLAINT

NAME = "Rhiannon Retention-Test"
OLD = {
    **EXAMPLE_COMPLAINT,
    "received_on": "2018-03-01",
    "complainant": {"name": NAME, "email": "rhiannon@example.org", "address": "1 Old Lane"},
    "summary": f"{NAME}'s mother was left without care.",
}


async def _ended(suite: Running, body: dict, closed_on: str) -> Case:
    case = await Case.log(suite, body)
    await case.act("triage", decision="accepted", decided_on=body["received_on"])
    await case.act(
        "response",
        outcome="partially_upheld",
        responded_on=body["received_on"],
        learning_actions=[{"description": "Rota checks", "owner": "Lead", "due_on": closed_on}],
    )
    await case.act("closure", closed_on=closed_on, reason=f"Agreed with {NAME}")
    return case


async def _letter_text(suite: Running, case: Case) -> str:
    listed = (await suite.http.get("/api/v1/letters", params={"case_id": case.id})).json()
    if not listed:
        return ""
    html = await suite.http.get(f"/api/v1/letters/{listed[0]['id']}", params={"format": "html"})
    return html.text


async def test_a_case_past_retention_is_anonymised_everywhere_and_the_figures_stay(
    settings: Settings,
) -> None:
    settings = settings.model_copy(update={"retention_years": {"childrens": 10}})
    services = [f(settings) for f in (intake, deadlines, letters, learning, reporting)]
    async with running(settings, *services) as suite:
        expired = await _ended(suite, OLD, "2018-04-10")
        held = await _ended(suite, OLD, "2018-04-10")
        await held.act("legal-hold", held=True, reason="A claim is pending")
        recent = await _ended(suite, {**OLD, "received_on": "2024-03-01"}, "2024-04-10")
        childrens = await _ended(suite, {**OLD, "directorate": "childrens"}, "2018-04-10")
        for case in (expired, held, recent, childrens):
            await eventually(lambda case=case: _letter_text(suite, case), timeout=45)
        await eventually(suite.quiet, timeout=30)
        figures = (await suite.http.get("/api/v1/reports/summary")).json()
        assert NAME in await _letter_text(suite, expired)

        answer = await suite.http.post("/api/v1/retention/run")
        assert answer.json() == {"anonymised": 1}  # six years for adults, ten for children's
        await eventually(suite.quiet, timeout=30)

        gone = (await suite.http.get(f"/api/v1/complaints/{expired.id}")).json()
        assert gone["anonymised_on"] is not None
        assert (
            NAME not in str(gone) and "rhiannon@" not in str(gone) and "Old Lane" not in str(gone)
        )
        assert (gone["status"], gone["outcome"], gone["received_on"]) == (
            "closed",
            "partially_upheld",
            "2018-03-01",
        )
        history = (await suite.http.get(f"/api/v1/complaints/{expired.id}/history")).json()
        assert NAME not in str(history)
        assert history[-1]["action"] == "anonymised"
        letter = await _letter_text(suite, expired)
        assert NAME not in letter and "retention policy" in letter
        for kept in (held, recent, childrens):
            assert NAME in str((await suite.http.get(f"/api/v1/complaints/{kept.id}")).json())
            assert NAME in await _letter_text(suite, kept)
        # The annual figures do not change; an anonymised case takes no more actions.
        assert (await suite.http.get("/api/v1/reports/summary")).json() == figures
        await expired.act("reopening", reopened_on="2026-01-05", reason="x", expect=409)
        assert (await suite.http.post("/api/v1/retention/run")).json() == {"anonymised": 0}
        # Taking the hold off lets the next pass anonymise it.
        await held.act("legal-hold", held=False, reason="The claim was settled")
        assert (await suite.http.post("/api/v1/retention/run")).json() == {"anonymised": 1}
