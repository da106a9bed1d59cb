"""What intake records reaches the services that act on it: agreed periods, anonymity."""

from __future__ import annotations

from complaints_deadlines.service import create as create_deadlines
from complaints_intake.service import create as create_intake
from complaints_letters.service import create as create_letters
from complaints_shared.settings import Settings
from complaints_shared.testing.cases import Case
from complaints_shared.testing.harness import eventually, running

BASE = {
    "directorate": "adults",
    "received_on": "2026-03-02",
    "channel": "email",
    "summary": "Care package cut without a review.",
}


async def test_an_agreed_longer_relevant_period_moves_the_six_month_limit(
    settings: Settings,
) -> None:
    async with running(settings, create_intake(settings), create_deadlines(settings)) as suite:
        case = await Case.log(suite, BASE, complainant={"name": "Pat Example"})
        await case.act("triage", decision="accepted", decided_on="2026-03-03")

        async def limit() -> dict | None:
            answer = await suite.http.get("/api/v1/deadlines", params={"case_id": case.id})
            found = [d for d in answer.json() if d["kind"] == "statutory_limit"]
            return found[0] if found else None

        assert (await eventually(limit))["due"] == "2026-09-02"
        await case.act(
            "extension",
            step="statutory_limit",
            calendar_months=9,
            reason="Agreed with the complainant",
            agreed_on="2026-03-04",
        )

        async def moved() -> dict | None:
            found = await limit()
            return found if found and found["due"] != "2026-09-02" else None

        extended = await eventually(moved)
        assert (extended["due"], extended["calendar_months"]) == ("2026-12-02", 9)
        assert "extended by agreement to 9 months" in extended["changes"][0]["reason"]


async def test_an_anonymous_complainant_is_not_addressed_by_a_name(settings: Settings) -> None:
    services = create_intake(settings), create_deadlines(settings), create_letters(settings)
    async with running(settings, *services) as suite:
        case = await Case.log(
            suite, BASE, anonymous=True, complainant={"email": "someone@example.org"}
        )

        async def letter() -> str | None:
            letters = (await suite.http.get("/api/v1/letters", params={"case_id": case.id})).json()
            if not letters:
                return None
            answer = await suite.http.get(
                f"/api/v1/letters/{letters[0]['id']}", params={"format": "html"}
            )
            return answer.text

        html = await eventually(letter)
        assert "Dear Sir or Madam," in html
        assert "None" not in html
