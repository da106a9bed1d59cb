"""The register over HTTP: each operation, its refusals, who sees what, and settling."""

from __future__ import annotations

import uuid
from datetime import timedelta

from complaints_shared.auth.principal import Role
from complaints_shared.calendar import today_in_england
from complaints_shared.contracts.events import CaseAccessChanged, CaseLearningSettled
from complaints_shared.contracts.vocabulary import LearningChange, LearningStatus
from complaints_shared.settings import Settings
from complaints_shared.testing.issuer import LocalIssuer


def _field(answer, *loc: str | int) -> None:
    """A 422 naming the field at ``loc`` (under the body)."""
    assert answer.status_code == 422, answer.text
    assert ["body", *loc] in [e["loc"] for e in answer.json()["detail"]], answer.text


async def test_a_cases_learning_settles_when_all_is_settled_and_again_after_reopening(
    settings: Settings, learning, action
) -> None:
    async with learning(settings) as it:
        received = await it.case()
        [rota, leaflet] = await it.respond(
            received, action("Rota checks", "2026-06-30"), action("Leaflet", "2026-07-31")
        )
        other = await it.case(reference="ASC-2026-00002")
        [spare] = await it.respond(other, action("Spare"))
        await it.act(spare, "cancel", reason="Not needed")  # all cancelled: nothing to tell

        progressed = await it.act(rota, "progress", text="Draft rota written")
        assert progressed["status"] == LearningStatus.IN_PROGRESS
        await it.act(
            rota,
            "complete",
            evidence="The rota is in use",
            evidence_links=["https://intranet.example/rota"],
            completed_on="2026-06-20",
            what_changed="Visits are checked each morning",
        )
        assert await it.published("learning.case_settled") == []  # the leaflet is open
        await it.act(leaflet, "cancel", reason="The rota checks cover it")
        [first] = await it.published("learning.case_settled")
        assert first.case_id == received.case_id
        settled = first.parse(CaseLearningSettled)
        assert settled.round == 1
        assert [(str(a.action_id), a.status, a.what_changed) for a in settled.actions] == [
            (rota, LearningStatus.DONE, "Visits are checked each morning"),
            (leaflet, LearningStatus.CANCELLED, ""),
        ]

        # What does not fit the action's state is a 409 saying why.
        refused = await it.act(leaflet, "complete", 409, evidence="Printed")
        assert "cancelled" in refused["detail"]
        await it.act(rota, "progress", 409, text="More")
        await it.act(leaflet, "reopen", reason="Needed after all")
        assert "open" in (await it.act(leaflet, "reopen", 409, reason="Again"))["detail"]
        await it.act(leaflet, "complete", evidence="Leaflet printed")
        rounds = [
            e.parse(CaseLearningSettled).round for e in await it.published("learning.case_settled")
        ]
        assert rounds == [1, 2]
        changes = await it.changes(leaflet)
        assert [(c.revision, c.change) for c in changes] == [
            (1, LearningChange.RECORDED),
            (2, LearningChange.CANCELLED),
            (3, LearningChange.REOPENED),
            (4, LearningChange.COMPLETED),
        ]
        assert changes[-1].action.status == LearningStatus.DONE

        # Bad input names the field.
        post = it.suite.http.post
        url = f"/api/v1/learning-actions/{spare}"
        _field(await post(f"{url}/reopen", json={}), "reason")
        _field(await post(f"{url}/reopen", json={"reason": ""}), "reason")
        await it.act(spare, "reopen", reason="Needed after all")
        _field(await post(f"{url}/complete", json={}), "evidence")
        tomorrow = (today_in_england() + timedelta(days=1)).isoformat()
        later = {"evidence": "Done", "completed_on": tomorrow}
        _field(await post(f"{url}/complete", json=later), "completed_on")
        early = {"evidence": "Done", "completed_on": "2026-01-01"}  # before it was identified
        _field(await post(f"{url}/complete", json=early), "completed_on")
        links = {"evidence": "Done", "evidence_links": ["not a link"]}
        _field(await post(f"{url}/complete", json=links), "evidence_links", 0)
        _field(await post(f"{url}/cancel", json={"reason": "x", "extra": 1}), "extra")
        missing = await it.suite.http.get(f"/api/v1/learning-actions/{uuid.uuid4()}")
        assert missing.status_code == 404

        detail = (await it.suite.http.get(f"/api/v1/learning-actions/{rota}")).json()
        assert [n["text"] for n in detail["notes"]] == ["Draft rota written"]
        assert detail["evidence"] == "The rota is in use"
        assert detail["evidence_links"] == ["https://intranet.example/rota"]
        assert [(h["revision"], h["change"]) for h in detail["history"]] == [
            (1, "recorded"),
            (2, "progressed"),
            (3, "completed"),
        ]
        trail = await it.suite.http.get(
            "/api/v1/audit/learning", params={"case_id": str(received.case_id)}
        )
        assert {e["what"] for e in trail.json()} >= {
            "list_actions",
            "progress_action",
            "complete_action",
            "cancel_action",
            "reopen_action",
            "get_action",
        }
        assert {e["access"] for e in trail.json() if e["what"] == "complete_action"} == {"change"}


async def test_actions_added_by_hand_changed_listed_and_seen_by_whom_they_should(
    settings: Settings, learning, action, issuer: LocalIssuer
) -> None:
    tag = uuid.uuid4().hex[:8]
    manager = issuer.add_client(f"hc-{tag}", Role.SERVICE_MANAGER, service_areas=("Home care",))
    childrens = issuer.add_client(f"cs-{tag}", Role.COMPLAINTS_OFFICER, directorates=("childrens",))
    investigator = issuer.add_client(f"ivy-{tag}", Role.INVESTIGATING_OFFICER)
    today = today_in_england()
    async with learning(settings) as it:
        received = await it.case()
        await it.suite.publish(
            received.caused(CaseAccessChanged(service_area="Home care", officers=(investigator,)))
        )
        overdue = (today - timedelta(days=10)).isoformat()
        [rota] = await it.respond(received, action("Rota checks", overdue))

        async def add(expect: int = 201, **body) -> dict:
            answer = await it.suite.http.post("/api/v1/learning-actions", json=body)
            assert answer.status_code == expect, answer.text
            return answer.json()

        soon = (today + timedelta(days=3)).isoformat()
        later = (today + timedelta(days=90)).isoformat()
        review = await add(
            description="Review carers' induction",
            lead="Training lead",
            due_on=later,
            source="theme_review",
            directorate="adults",
            service_area="Home care",
            themes=["Induction"],
        )
        assert (review["case_ids"], review["case_id"], review["source"]) == (
            [],
            None,
            "theme_review",
        )
        assert review["identified_on"] == today.isoformat()
        remedy = await add(
            description="Apologise in writing",
            lead="Head of service",
            due_on=soon,
            source="ombudsman",
            case_ids=[str(received.case_id)],
        )
        assert (remedy["directorate"], remedy["service_area"], remedy["subject"]) == (
            "adults",
            "Home care",
            "Missed visits",
        )
        base = {"description": "D", "lead": "L", "due_on": later}
        _field(
            await it.suite.http.post("/api/v1/learning-actions", json={**base, "source": "direct"}),
            "directorate",
        )
        unknown = {**base, "source": "direct", "case_ids": [str(uuid.uuid4())]}
        _field(await it.suite.http.post("/api/v1/learning-actions", json=unknown), "case_ids", 0)
        response = {**base, "source": "response", "directorate": "adults"}
        _field(await it.suite.http.post("/api/v1/learning-actions", json=response), "source")

        # Who sees what.
        def ids(found: list[dict]) -> set[str]:
            return {a["id"] for a in found}

        async with it.suite.client(issuer.token(manager)) as as_manager:
            assert ids(await it.actions(as_manager)) == {rota, review["id"], remedy["id"]}
            edit = await as_manager.patch(
                f"/api/v1/learning-actions/{review['id']}",
                json={"lead": "Learning lead", "team": "Training"},
            )
            assert edit.status_code == 200, edit.text
            assert (edit.json()["lead"], edit.json()["revision"]) == ("Learning lead", 2)
            url = f"/api/v1/learning-actions/{review['id']}"
            _field(await as_manager.patch(url, json={"lead": None}), "lead")
            _field(await as_manager.patch(url, json={"due_on": "2026-01-01"}), "due_on")
        async with it.suite.client(issuer.token(childrens)) as as_childrens:
            assert await it.actions(as_childrens) == []
            seen = await as_childrens.get(f"/api/v1/learning-actions/{review['id']}")
            assert seen.status_code == 404
            note = await as_childrens.post(
                f"/api/v1/learning-actions/{rota}/progress", json={"text": "Hello"}
            )
            assert note.status_code == 404
        async with it.suite.client(issuer.token(investigator)) as as_investigator:
            assert ids(await it.actions(as_investigator)) == {rota, remedy["id"]}
            url = f"/api/v1/learning-actions/{rota}"
            note = await as_investigator.post(f"{url}/progress", json={"text": "Started"})
            assert note.status_code == 200, note.text
            done = await as_investigator.post(f"{url}/complete", json={"evidence": "Done"})
            assert done.status_code == 403

        # Filters, by due date.
        async def listed(**params) -> list[str]:
            return [a["id"] for a in await it.actions(**params)]

        assert await listed() == [rota, remedy["id"], review["id"]]
        assert await listed(overdue="true") == [rota]
        assert await listed(due_within=5) == [rota, remedy["id"]]
        assert await listed(source="ombudsman") == [remedy["id"]]
        assert await listed(lead="Learning lead") == [review["id"]]
        assert await listed(status="in_progress") == [rota]
        assert await listed(service_area="Home care", case_id=str(received.case_id)) == [
            rota,
            remedy["id"],
        ]
        bad = await it.suite.http.get("/api/v1/learning-actions", params={"due_within": -1})
        assert bad.status_code == 422
        assert ["query", "due_within"] in [e["loc"] for e in bad.json()["detail"]]
