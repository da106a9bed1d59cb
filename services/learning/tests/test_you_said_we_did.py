""" "You said, we did": drafted, reviewed by another person, published for anyone, withdrawn."""

from __future__ import annotations

import csv
import io

import httpx

from complaints_learning.service import create
from complaints_shared.auth import Role
from complaints_shared.contracts.events import YouSaidWeDid
from complaints_shared.settings import Settings
from complaints_shared.testing.events import case_received, case_responded
from complaints_shared.testing.harness import eventually, running
from complaints_shared.testing.issuer import LocalIssuer

ENTRY = {
    "directorate": "adults",
    "you_said": "When a home care visit was missed, nobody told the family.",
    "we_did": "Agencies must now tell the family and the council on the same day.",
    "service_area": "Home care",
    "themes": ["Communication with families"],
}


async def test_an_entry_is_reviewed_by_another_person_then_public(
    settings: Settings, issuer: LocalIssuer
) -> None:
    author = issuer.token(issuer.add_client("author", Role.COMPLAINTS_OFFICER, directorates=("*",)))
    reviewer = issuer.token(
        issuer.add_client("reviewer", Role.SERVICE_MANAGER, directorates=("*",))
    )
    async with running(settings, create(settings), token=author) as suite:
        writes, reviews = suite.http, suite.client(reviewer)
        public = suite.client(None)

        draft = await writes.post("/api/v1/you-said-we-did", json=ENTRY)
        assert draft.status_code == 201, draft.text
        entry = draft.json()
        assert (entry["status"], entry["author"]) == ("draft", "author")
        path = f"/api/v1/you-said-we-did/{entry['id']}"

        # The author cannot publish their own words; a draft is not public.
        own = await writes.post(f"{path}/publish")
        assert own.status_code == 409
        assert "someone else must review" in own.json()["detail"]
        assert "nobody told the family" not in (await public.get(PUBLIC)).text

        published = await reviews.post(f"{path}/publish")
        assert published.status_code == 200, published.text
        assert published.json()["reviewer"] == "reviewer"
        again = await reviews.post(f"{path}/publish")
        assert again.status_code == 409
        edited = await writes.patch(path, json={"we_did": "Something else"})
        assert edited.status_code == 409
        assert "only a draft's words change" in edited.json()["detail"]

        page = await public.get(PUBLIC)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "nobody told the family" in page.text
        assert "<td>Home care</td>" in page.text
        rows = await _csv(public, year=_this_year(entry, published.json()))
        assert rows == [
            ["published_on", "directorate", "service_area", "themes", "you_said", "we_did"],
            [
                published.json()["published_on"],
                "adults",
                "Home care",
                "Communication with families",
                ENTRY["you_said"],
                ENTRY["we_did"],
            ],
        ]
        assert await _csv(public, year=2001) == [rows[0]]

        # Withdrawn: gone from the public list, back to a draft with the reason.
        withdrawn = await writes.post(f"{path}/withdraw", json={"reason": "Wrong service named"})
        assert withdrawn.status_code == 200, withdrawn.text
        assert (withdrawn.json()["status"], withdrawn.json()["reviewer"]) == ("draft", None)
        assert len(await _csv(public)) == 1

        announced = await eventually(lambda: _announced(suite, entry["id"], 2))
        first, second = (e.parse(YouSaidWeDid) for e in announced)
        assert (first.revision, first.published, second.revision, second.published) == (
            1,
            True,
            2,
            False,
        )
        assert first.you_said == ENTRY["you_said"]
        assert all(e.case_id is None and e.directorate == "adults" for e in announced)

        listed = (await writes.get("/api/v1/you-said-we-did", params={"status": "draft"})).json()
        assert [e["withdrawn_reason"] for e in listed] == ["Wrong service named"]


async def test_text_with_personal_data_or_an_unfinished_action_is_refused(
    settings: Settings,
) -> None:
    async with running(settings, create(settings)) as suite:
        for field, text, kind in (
            ("you_said", "Email me at ann@example.org about it", "an email address"),
            ("we_did", "We rang 01632 960 123 to apologise", "a phone number"),
            ("you_said", "Case ASC-2026-00042 was ignored", "a case reference"),
            ("we_did", "Visited the home at CH1 2AB", "a postcode"),
        ):
            refused = await suite.http.post("/api/v1/you-said-we-did", json=ENTRY | {field: text})
            assert refused.status_code == 422, text
            [error] = refused.json()["detail"]
            assert error["loc"] == ["body", field]
            assert kind in error["msg"]
            assert text not in refused.text  # the error never repeats what was sent

        received = case_received(settings)
        responded = case_responded(
            received,
            actions=[{"description": "Rota checks", "owner": "Manager", "due_on": "2026-06-30"}],
        )
        await suite.publish(received)
        await suite.publish(responded)
        await eventually(lambda: _actions(suite.http))
        [action] = await _actions(suite.http)

        open_action = await suite.http.post(
            "/api/v1/you-said-we-did", json=ENTRY | {"action_ids": [action["id"]]}
        )
        assert open_action.status_code == 409
        assert "only done actions say what we did" in open_action.json()["detail"]
        elsewhere = await suite.http.post(
            "/api/v1/you-said-we-did",
            json=ENTRY | {"directorate": "childrens", "action_ids": [action["id"]]},
        )
        assert elsewhere.status_code == 422
        assert elsewhere.json()["detail"][0]["loc"] == ["body", "action_ids", "0"]

        done = await suite.http.post(
            f"/api/v1/learning-actions/{action['id']}/complete",
            json={"evidence": "Rota checked weekly since June", "completed_on": "2026-06-20"},
        )
        assert done.status_code == 200, done.text
        drafted = await suite.http.post(
            "/api/v1/you-said-we-did", json=ENTRY | {"action_ids": [action["id"]]}
        )
        assert drafted.status_code == 201, drafted.text
        assert drafted.json()["action_ids"] == [action["id"]]


PUBLIC = "/api/v1/public/you-said-we-did"


async def _csv(client: httpx.AsyncClient, **params: object) -> list[list[str]]:
    answer = await client.get(PUBLIC, params={"format": "csv", **params})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(answer.text)))


def _this_year(_entry: dict, published: dict) -> int:
    """The financial year the entry was published in (1 April to 31 March)."""
    year, month = int(published["published_on"][:4]), int(published["published_on"][5:7])
    return year if month >= 4 else year - 1


async def _announced(suite, entry_id: str, n: int) -> list | None:
    """The entry's announcements (the stream may hold other tests' entries)."""
    events = [
        e
        for e in await suite.events("complaints.*.*.learning.you_said_we_did.v1")
        if e.payload["entry_id"] == entry_id
    ]
    return events if len(events) >= n else None


async def _actions(http: httpx.AsyncClient) -> list[dict]:
    return (await http.get("/api/v1/learning-actions")).json()
