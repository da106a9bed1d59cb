"""Intake lists cases by the due dates deadlines announces (two services, one bus)."""

from __future__ import annotations

from datetime import timedelta

from complaints_deadlines.service import create as create_deadlines
from complaints_intake.service import create as create_intake
from complaints_shared.calendar import WorkingDayCalendar, today_in_england
from complaints_shared.settings import Settings
from complaints_shared.testing.harness import eventually, running


async def test_cases_due_within_n_working_days(settings: Settings) -> None:
    calendar = WorkingDayCalendar()
    today = today_in_england()
    # Received 30 working days ago: both its deadlines have passed, so it is due now.
    overdue_from = today - timedelta(days=1)
    while calendar.between(overdue_from, today) < 30:
        overdue_from -= timedelta(days=1)
    intake, deadlines = create_intake(settings), create_deadlines(settings)
    async with running(settings, intake, deadlines) as suite:
        body = {
            "directorate": "adults",
            "channel": "email",
            "complainant": {"name": "Ann Example"},
            "summary": "Late visits",
        }
        fresh = (
            await suite.http.post("/api/v1/complaints", json={**body, "received_on": str(today)})
        ).json()
        old = (
            await suite.http.post(
                "/api/v1/complaints", json={**body, "received_on": str(overdue_from)}
            )
        ).json()

        async def due(days: int) -> list[str]:
            answer = await suite.http.get("/api/v1/complaints", params={"due_within_days": days})
            return sorted(case["reference"] for case in answer.json())

        # The fresh case's acknowledgement is due 3 working days from today.
        both = sorted([fresh["reference"], old["reference"]])
        assert await eventually(lambda: _equal(due(3), both)) == both
        assert await due(2) == [old["reference"]]
        assert await due(0) == [old["reference"]]


async def _equal(pending, expected):
    found = await pending
    return found if found == expected else None


async def test_out_of_range_dates_and_horizons_are_refused_by_name(settings: Settings) -> None:
    """The working-day calendar covers 1990 to 2099: nothing outside it is accepted."""
    intake, deadlines = create_intake(settings), create_deadlines(settings)
    async with running(settings, intake, deadlines) as suite:
        ancient = await suite.http.post(
            "/api/v1/complaints",
            json={
                "directorate": "adults",
                "received_on": "1989-06-01",
                "channel": "email",
                "complainant": {"name": "Ann Example"},
                "summary": "Late visits",
            },
        )
        assert ancient.status_code == 422
        assert [(e["loc"], "1990-01-01" in e["msg"]) for e in ancient.json()["detail"]] == [
            (["body", "received_on"], True)
        ]
        for path, name in (
            ("/api/v1/complaints", "due_within_days"),
            ("/api/v1/deadlines/due", "within_days"),
        ):
            answer = await suite.http.get(path, params={name: 100_000, "directorate": "adults"})
            assert answer.status_code == 422, answer.text
            assert answer.json()["detail"][0]["loc"] == ["query", name]
        for day in ("0", "1970-01-01", "2100-01-04"):
            added = await suite.http.put(
                f"/api/v1/calendar/closures/{day}", json={"reason": "Closed"}
            )
            assert added.status_code == 422, (day, added.text)
            assert added.json()["detail"][0]["loc"] == ["path", "day"]
            removed = await suite.http.delete(f"/api/v1/calendar/closures/{day}")
            assert removed.status_code == 422, (day, removed.text)
