"""The learning service running against real NATS, with the case events a test needs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest

from complaints_learning.service import create
from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.events import CaseAllocated, CaseCorrected, LearningActionChanged
from complaints_shared.settings import Settings
from complaints_shared.testing.events import case_received, case_responded
from complaints_shared.testing.harness import Running, eventually, running


@dataclass
class Learning:
    """The running service and what a test does with it."""

    suite: Running
    settings: Settings

    async def case(
        self,
        *,
        directorate: str = "adults",
        service_area: str = "Home care",
        reference: str = "ASC-2026-00001",
        officer: str | None = None,
    ) -> Envelope:
        """A case received, its service area and subject corrected in, perhaps allocated."""
        received = case_received(self.settings, directorate=directorate, reference=reference)
        await self.suite.publish(received)
        correction = CaseCorrected(
            corrected_on=date(2026, 4, 3),
            reason="Service area learnt",
            fields=("service_area", "primary_subject"),
            service_area=service_area,
            primary_subject="Missed visits",
        )
        await self.suite.publish(received.caused(correction))
        if officer:
            await self.suite.publish(
                received.caused(CaseAllocated(officer=officer, allocated_on=date(2026, 4, 3)))
            )
        return received

    async def respond(self, received: Envelope, *actions: dict[str, Any]) -> list[str]:
        """The case's response with ``actions``; returns their ids once they are listed."""
        response = case_responded(received, actions=list(actions))
        await self.suite.publish(response)
        ids = [a["id"] for a in response.payload["learning_actions"]]
        await eventually(lambda: self._listed(ids))
        return ids

    async def _listed(self, ids: list[str]) -> bool:
        found = {a["id"] for a in await self.actions()}
        return set(ids) <= found

    async def actions(self, client: httpx.AsyncClient | None = None, **params: Any) -> list[dict]:
        answer = await (client or self.suite.http).get("/api/v1/learning-actions", params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def act(
        self, action_id: str, operation: str, expect: int = 200, **body: Any
    ) -> dict | list:
        answer = await self.suite.http.post(
            f"/api/v1/learning-actions/{action_id}/{operation}", json=body
        )
        assert answer.status_code == expect, answer.text
        return answer.json()

    async def published(self, event_type: str) -> list[Envelope]:
        """What learning published of ``event_type`` (e.g. ``learning.case_settled``),
        once its outbox is empty."""
        await eventually(self.suite.quiet)
        return await self.suite.events(f"complaints.{self.settings.organisation}.*.{event_type}.v1")

    async def changes(self, action_id: str) -> list[LearningActionChanged]:
        """The action's ``learning.action_changed`` snapshots, in revision order."""
        found = [
            e.parse(LearningActionChanged)
            for e in await self.published(LearningActionChanged.event_type)
        ]
        mine = [c for c in found if str(c.action.action_id) == action_id]
        return sorted(mine, key=lambda c: c.revision)


@pytest.fixture
def learning() -> Callable[[Settings], AbstractAsyncContextManager[Learning]]:
    """``async with learning(settings) as it:`` the service running with ``settings``."""

    @asynccontextmanager
    async def run(settings: Settings) -> AsyncIterator[Learning]:
        async with running(settings, create(settings)) as suite:
            yield Learning(suite, settings)

    return run


def spec(description: str, due_on: str = "2026-06-30", **more: Any) -> dict[str, Any]:
    """A learning action as a response gives it (id added by ``case_responded``)."""
    return {"description": description, "owner": "Team lead", "due_on": due_on, **more}


@pytest.fixture
def action() -> Callable[..., dict[str, Any]]:
    """``action(description, due_on=..., **more)``: a response's learning action."""
    return spec
