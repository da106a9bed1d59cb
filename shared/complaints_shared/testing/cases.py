"""A case driven over intake's HTTP API, for tests of the lifecycle and what follows it."""

from __future__ import annotations

from typing import Any

from complaints_shared.contracts.events import CaseAccessChanged
from complaints_shared.testing.harness import Running


class Case:
    """A case under test: act on it over HTTP and check what it answers."""

    def __init__(self, suite: Running, body: dict) -> None:
        self.suite, self.body = suite, body
        self.id = body["id"]

    @classmethod
    async def log(cls, suite: Running, base: dict[str, Any], **changes: Any) -> Case:
        """Log ``base`` with ``changes`` as the harness's staff client."""
        answer = await suite.http.post("/api/v1/complaints", json={**base, **changes})
        assert answer.status_code == 201, answer.text
        return cls(suite, answer.json())

    async def act(self, action: str, expect: int = 200, **body: Any) -> dict:
        """Take ``action``; expect ``expect``; keep the case as answered when it succeeds."""
        answer = await self.suite.http.post(f"/api/v1/complaints/{self.id}/{action}", json=body)
        assert answer.status_code == expect, answer.text
        if expect == 200:
            self.body = answer.json()
        return answer.json()

    async def history(self) -> list[dict]:
        return (await self.suite.http.get(f"/api/v1/complaints/{self.id}/history")).json()

    async def events(self) -> list[str]:
        """The case's lifecycle events, in order (without ``case.access_changed``, which
        announces who may see the case beside them)."""
        subject = f"complaints.{self.suite.host.settings.organisation}.*.case.>"
        found = await self.suite.events(subject)
        return [
            e.type
            for e in found
            if str(e.case_id) == self.id and e.type != CaseAccessChanged.event_type
        ]
