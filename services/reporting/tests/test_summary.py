"""The summary report counts what the events say, whatever order they come in."""

from __future__ import annotations

from complaints_reporting.service import create
from complaints_shared.contracts.vocabulary import Outcome
from complaints_shared.settings import Settings
from complaints_shared.testing.events import case_received, case_responded
from complaints_shared.testing.harness import eventually, running


async def test_counts_by_directorate_and_outcome(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        first = case_received(settings)
        second = case_received(settings)
        child = case_received(settings, directorate="childrens")
        await suite.publish(first)
        await suite.publish(second)
        # This response overtakes its case's received event.
        await suite.publish(case_responded(child, outcome=Outcome.PARTIALLY_UPHELD))
        await suite.publish(child)
        await suite.publish(case_responded(first, outcome=Outcome.UPHELD))

        async def summary() -> dict | None:
            body = (await suite.http.get("/api/v1/reports/summary")).json()
            total = body["total"]
            return body if (total["received"], total["responded"]) == (3, 2) else None

        body = await eventually(summary)
        assert body["organisation"] == settings.organisation
        assert body["directorates"]["adults"] == {
            "received": 2,
            "responded": 1,
            "outcomes": {"upheld": 1, "partially_upheld": 0, "not_upheld": 0},
        }
        assert body["directorates"]["childrens"] == {
            "received": 1,
            "responded": 1,
            "outcomes": {"upheld": 0, "partially_upheld": 1, "not_upheld": 0},
        }
        assert body["total"]["outcomes"] == {"upheld": 1, "partially_upheld": 1, "not_upheld": 0}
