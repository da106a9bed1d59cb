"""Themes: complaints by subject and actions by tag, per quarter, against the year before."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from complaints_learning.themes import quarter_of, trend
from complaints_shared.contracts.events import CaseCorrected
from complaints_shared.settings import Settings
from complaints_shared.testing.events import case_received
from complaints_shared.testing.harness import eventually


def test_quarters_of_the_financial_year_and_the_trend() -> None:
    assert quarter_of(date(2026, 4, 1), 2026) == 0
    assert quarter_of(date(2026, 12, 31), 2026) == 2
    assert quarter_of(date(2027, 3, 31), 2026) == 3
    assert quarter_of(date(2026, 3, 31), 2026) == -1  # the year before
    assert quarter_of(date(2025, 3, 31), 2026) is None
    assert quarter_of(date(2027, 4, 1), 2026) is None
    assert [trend(3, 0), trend(0, 0), trend(12, 10), trend(11, 10), trend(8, 10)] == [
        "new",
        "steady",
        "rising",
        "steady",
        "falling",
    ]


async def test_themes_by_directorate_and_service_area(
    settings: Settings, learning: Callable, action: Callable[..., dict[str, Any]]
) -> None:
    complaints = [  # received on, service area, primary subject, other subjects
        ("2026-04-20", "Home care", "Missed visits", ["Communication"]),
        ("2026-05-11", "Home care", "Missed visits", ["Missed visits"]),  # counted once
        ("2026-10-05", "Home care", "Missed visits", []),
        ("2026-01-12", "Home care", "Missed visits", []),  # the year before
        ("2026-06-01", "Reablement", "Communication", []),
        ("2024-12-01", "Home care", "Missed visits", []),  # outside both years
    ]
    async with learning(settings) as it:
        for number, (received_on, area, primary, others) in enumerate(complaints, 1):
            received = case_received(
                settings,
                received_on=date.fromisoformat(received_on),
                reference=f"ASC-2026-{number:05d}",
            )
            await it.suite.publish(received)
            await it.suite.publish(
                received.caused(
                    CaseCorrected(
                        corrected_on=date.fromisoformat(received_on),
                        reason="Subjects recorded",
                        fields=("service_area", "primary_subject", "other_subjects"),
                        service_area=area,
                        primary_subject=primary,
                        other_subjects=tuple(others),
                    )
                )
            )
        await it.respond(
            received,
            action("Rota checks", themes=["Communication", "Staffing"]),
            action("Call families", themes=["Communication"]),
        )

        async def themes(**params: Any) -> dict[str, Any]:
            answer = await it.suite.http.get(
                "/api/v1/learning/themes", params={"year": 2026, **params}
            )
            assert answer.status_code == 200, answer.text
            return answer.json()

        async def counted() -> dict[str, Any] | None:
            body = await themes()
            return body if sum(t["complaints_total"] for t in body["themes"]) == 5 else None

        body = await eventually(counted)
        assert body["year"] == "2026-27"
        by_key = {(t["theme"], t["service_area"]): t for t in body["themes"]}
        missed = by_key[("Missed visits", "Home care")]
        assert (missed["complaints"], missed["complaints_previous_year"]) == ([2, 0, 1, 0], 1)
        assert missed["trend"] == "rising"
        assert body["themes"][0] == missed  # the most complained of first
        # The last case's actions are tagged (identified the day of its response, in Q1).
        communication = by_key[("Communication", "Home care")]
        assert (communication["complaints_total"], communication["actions"]) == (1, [2, 0, 0, 0])
        assert by_key[("Staffing", "Home care")]["actions_total"] == 1
        assert by_key[("Communication", "Reablement")]["trend"] == "new"

        reablement = await themes(service_area="Reablement")
        assert [(t["theme"], t["complaints_total"]) for t in reablement["themes"]] == [
            ("Communication", 1)
        ]
        assert (await themes(directorate="childrens"))["themes"] == []
        refused = await it.suite.http.get("/api/v1/learning/themes", params={"year": "x"})
        assert refused.status_code == 422
