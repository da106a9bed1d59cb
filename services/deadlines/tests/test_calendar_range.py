"""Announced holidays outside the working-day calendar's range are refused, not stored.

Before, a GOV.UK document with a 1970 date was taken as it came: the day stored in
the calendar and announced with calendar.changed, although no deadline can be
counted across it.
"""

from __future__ import annotations

from complaints_deadlines.service import create
from complaints_shared.settings import Settings
from complaints_shared.testing.harness import running


async def test_announced_holidays_outside_the_calendar_are_refused(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        events = [
            {"title": "Royal celebration", "date": "2026-04-20"},
            {"title": "Epoch", "date": "1970-01-01"},
        ]
        answer = await suite.http.post(
            "/api/v1/calendar/announced", json={"england-and-wales": {"events": events}}
        )
        assert answer.status_code == 422, answer.text
        [problem] = answer.json()["detail"]
        assert problem["loc"] == ["body", "england-and-wales"]
        assert (
            "1970-01-01 is outside the calendar's range (1990-01-01 to 2099-12-31)"
            in (problem["msg"])
        )
        for start, end in (("1965-01-01", "1974-12-31"), ("2026-04-01", "2026-04-30")):
            kept = await suite.http.get("/api/v1/calendar", params={"from": start, "to": end})
            assert "announced" not in {day["source"] for day in kept.json()}  # all or nothing
        changed = f"complaints.{settings.organisation}.all.calendar.changed.v1"
        assert await suite.events(changed) == []
