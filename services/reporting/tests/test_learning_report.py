"""The learning section counts each action by its newest state, whatever order it came in."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from complaints_reporting.service import create
from complaints_shared.contracts.envelope import Envelope, new_event
from complaints_shared.contracts.events import YouSaidWeDid
from complaints_shared.contracts.vocabulary import LearningChange, LearningSource, LearningStatus
from complaints_shared.settings import Settings
from complaints_shared.testing.events import action_changed
from complaints_shared.testing.harness import eventually, running


def statement(settings: Settings, revision: int, published: bool, on: date) -> Envelope:
    return new_event(
        YouSaidWeDid(
            entry_id=uuid.UUID(int=7),
            revision=revision,
            published=published,
            you_said="Nobody told us when a visit was missed.",
            we_did="Agencies now tell families the same day.",
            service_area="Home care",
            published_on=on,
        ),
        organisation=settings.organisation,
        directorate="adults",
    )


async def test_learning_figures_for_a_financial_year(settings: Settings) -> None:
    done, late, cancelled, ombudsman, last_year = (uuid.uuid4() for _ in range(5))
    events = [
        # Completed on time, its completion arriving before its recording.
        action_changed(
            settings,
            done,
            3,
            LearningChange.COMPLETED,
            status=LearningStatus.DONE,
            completed_on=date(2026, 6, 20),
        ),
        action_changed(settings, done, 1, LearningChange.RECORDED),
        action_changed(
            settings, done, 2, LearningChange.PROGRESSED, status=LearningStatus.IN_PROGRESS
        ),
        # Past due and still open.
        action_changed(settings, late, 1, LearningChange.RECORDED, due_on=date(2026, 5, 29)),
        action_changed(
            settings,
            cancelled,
            2,
            LearningChange.CANCELLED,
            status=LearningStatus.CANCELLED,
            cancelled_reason="Superseded by the new contract",
        ),
        action_changed(
            settings,
            ombudsman,
            1,
            LearningChange.RECORDED,
            directorate="childrens",
            source=LearningSource.OMBUDSMAN,
            due_on=date(2027, 1, 15),
        ),
        # Identified and done in 2025-26: only its lateness at 2026-03-31 would count there.
        action_changed(
            settings,
            last_year,
            2,
            LearningChange.COMPLETED,
            status=LearningStatus.DONE,
            identified_on=date(2025, 11, 3),
            due_on=date(2026, 2, 27),
            completed_on=date(2026, 4, 14),
        ),
        statement(settings, 2, True, date(2026, 8, 3)),
        statement(settings, 1, False, date(2026, 8, 3)),  # the draft, arriving late
    ]
    async with running(settings, create(settings)) as suite:
        for event in events:
            await suite.publish(event)

        async def report(year: int) -> dict[str, Any]:
            answer = await suite.http.get("/api/v1/reports/learning", params={"year": year})
            assert answer.status_code == 200, answer.text
            return answer.json()

        async def counted() -> dict[str, Any] | None:
            body = await report(2026)
            adults = body["directorates"].get("adults", {})
            return body if adults.get("identified") == 3 and body["you_said_we_did"] else None

        body = await eventually(counted)
        assert (body["year"], body["starts_on"], body["ends_on"]) == (
            "2026-27",
            "2026-04-01",
            "2027-03-31",
        )
        assert body["directorates"]["adults"] == {
            "identified": 3,
            "from_ombudsman": 0,
            "completed": 2,  # one from last year, done in this one
            "completed_on_time": 1,
            "cancelled": 1,
            "overdue": 1,
            "complainants_told": 0,
        }
        assert body["directorates"]["childrens"]["from_ombudsman"] == 1
        assert body["directorates"]["childrens"]["overdue"] == 0
        assert body["you_said_we_did"]["adults"] == [
            {
                "published_on": "2026-08-03",
                "service_area": "Home care",
                "you_said": "Nobody told us when a visit was missed.",
                "we_did": "Agencies now tell families the same day.",
            }
        ]

        previous = await report(2025)
        assert previous["directorates"]["adults"]["identified"] == 1
        assert previous["directorates"]["adults"]["overdue"] == 1  # late at 31 March 2026
        assert previous["you_said_we_did"] == {}

        refused = await suite.http.get("/api/v1/reports/learning", params={"year": "last"})
        assert refused.status_code == 422
        assert "year" in refused.text
