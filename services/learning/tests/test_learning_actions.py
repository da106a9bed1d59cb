"""Learning actions recorded from responses, once each."""

from __future__ import annotations

import uuid

from complaints_learning.service import create
from complaints_shared.settings import Settings
from complaints_shared.testing.events import case_received, case_responded
from complaints_shared.testing.harness import eventually, running


async def test_actions_of_a_response_are_kept_once_and_listed(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        received = case_received(settings)
        responded = case_responded(
            received,
            actions=[
                {
                    "description": "Missed-visit alerts",
                    "owner": "Commissioning lead",
                    "due_on": "2026-07-31",
                },
                {
                    "description": "Rota checks",
                    "owner": "Home care manager",
                    "due_on": "2026-06-30",
                },
            ],
        )
        childrens = case_received(settings, directorate="childrens")
        other = case_responded(
            childrens,
            actions=[
                {"description": "Advocacy leaflet", "owner": "IRO manager", "due_on": "2026-05-31"}
            ],
        )
        for case in (received, childrens):  # and who may see each (see Running.publish)
            await suite.publish(case)
        await suite.publish(responded)
        await suite.publish(responded, msg_id=str(uuid.uuid4()))  # redelivered later
        await suite.publish(other)

        async def listed(**params) -> list[dict]:
            answer = await suite.http.get("/api/v1/learning-actions", params=params)
            assert answer.status_code == 200, answer.text
            return answer.json()

        await eventually(lambda: _len_at_least(listed(), 3))
        mine = await listed(case_id=str(received.case_id))
        assert [a["description"] for a in mine] == ["Rota checks", "Missed-visit alerts"]
        assert {a["status"] for a in mine} == {"open"}
        assert [a["lead"] for a in await listed(directorate="childrens")] == ["IRO manager"]
        assert len(await listed()) == 3


async def _len_at_least(pending, n: int):
    found = await pending
    return found if len(found) >= n else None
