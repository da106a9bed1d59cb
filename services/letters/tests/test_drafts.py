"""Drafts, checks, versions and cancellation, from events as their producers publish them."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

from complaints_letters.service import create
from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.events import (
    CaseWithdrawn,
    DeadlineScheduled,
)
from complaints_shared.contracts.vocabulary import DeadlineKind
from complaints_shared.settings import Settings
from complaints_shared.testing.events import (
    case_received,
    case_responded,
    response_deadline,
    response_reminder,
)
from complaints_shared.testing.harness import Running, eventually, running


async def letters_of(suite: Running, case_id: uuid.UUID, **params: str) -> list[dict]:
    answer = await suite.http.get("/api/v1/letters", params={"case_id": str(case_id), **params})
    assert answer.status_code == 200, answer.text
    return answer.json()


async def one(suite: Running, case_id: uuid.UUID, kind: str) -> dict:
    async def found() -> dict | None:
        return next((x for x in await letters_of(suite, case_id) if x["kind"] == kind), None)

    return await eventually(found)


def window(received: Envelope, due_on: date) -> Envelope:
    return received.caused(
        DeadlineScheduled(
            deadline_id=uuid.uuid4(),
            kind=DeadlineKind.ESCALATION_WINDOW,
            start_on=date(2026, 4, 30),
            due_on=due_on,
            working_days=20,
            rule="test rule",
        )
    )


async def test_a_next_step_date_the_engine_disagrees_with_is_refused_until_refreshed(
    settings: Settings,
) -> None:
    async with running(settings, create(settings)) as suite:
        received = case_received(settings, directorate="childrens", reference="CSC-2026-00007")
        await suite.publish(received)
        await suite.publish(response_deadline(received, due_on=date(2026, 4, 17)))
        await suite.publish(case_responded(received, responded_on=date(2026, 4, 30)))
        response = await one(suite, received.case_id, "response")
        # 20 working days after Thursday 30 April 2026, past the early May and spring
        # bank holidays (4 and 25 May): Monday 1 June 2026.
        assert response["next_step_on"] == "2026-06-01"
        wording = {"introduction": "Our answer.", "conclusion": "Thank you."}
        edited = await suite.http.patch(
            f"/api/v1/letters/{response['id']}", json={"wording": wording}
        )
        assert edited.status_code == 200, edited.text

        approve = f"/api/v1/letters/{response['id']}/approve"
        refused = await suite.http.post(approve)
        assert refused.status_code == 409
        assert "the deadlines engine has not yet dated" in refused.text

        # The engine knows a closure day this service does not: its date is a day later.
        await suite.publish(window(received, date(2026, 6, 2)))

        async def disagreement() -> str | None:
            answer = await suite.http.post(approve)
            return answer.text if "but the deadlines engine says" in answer.text else None

        text = await eventually(disagreement)
        assert "Monday 1 June 2026" in text and "Tuesday 2 June 2026" in text
        refreshed = await suite.http.post(f"/api/v1/letters/{response['id']}/refresh")
        assert refreshed.json()["next_step_on"] == "2026-06-02"
        page = await suite.http.get(f"/api/v1/letters/{response['id']}", params={"format": "text"})
        assert "Tuesday 2 June 2026" in " ".join(page.text.split())
        # The staff client edited it; letters' default approval setting wants a second
        # person for responses, so the refusal now names only that.
        refused = await suite.http.post(approve)
        assert refused.status_code == 409
        assert refused.json()["detail"]["problems"] == [
            "a response letter needs a second person's approval: you wrote it"
        ]


async def test_editing_an_approved_letter_makes_a_new_version(settings: Settings) -> None:
    settings = settings.model_copy(update={"letters_approval": {}})
    async with running(settings, create(settings)) as suite:
        received = case_received(settings)
        await suite.publish(received)
        await suite.publish(response_reminder(received, due_on=date(2026, 4, 30)))
        holding = await one(suite, received.case_id, "holding")
        assert holding["status"] == "draft"
        url = f"/api/v1/letters/{holding['id']}"
        await suite.http.patch(url, json={"wording": {"explanation": "Still waiting."}})
        approved = await suite.http.post(f"{url}/approve")
        assert approved.status_code == 200, approved.text

        edited = await suite.http.patch(url, json={"wording": {"explanation": "Nearly done."}})
        assert edited.status_code == 200, edited.text
        second = edited.json()
        assert second["version"] == 2 and second["series"] == holding["id"]
        assert second["status"] == "draft" and second["id"] != holding["id"]
        listed = await letters_of(suite, received.case_id)
        assert [(x["version"], x["status"]) for x in listed] == [(2, "draft")]
        every = await letters_of(suite, received.case_id, all_versions="true")
        assert [(x["version"], x["status"]) for x in every] == [(1, "cancelled"), (2, "draft")]
        history = (await suite.http.get(f"{url}/history")).json()
        assert [h["action"] for h in history] == [
            "drafted",
            "edited",
            "approved",
            "cancelled",
            "drafted",
            "edited",
        ]
        gone = await suite.http.patch(url, json={"wording": {"explanation": "Again."}})
        assert gone.status_code == 409 and "cancelled" in gone.text


async def test_a_withdrawal_cancels_what_has_not_gone_and_confirms_it(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        received = case_received(settings)
        await suite.publish(received)
        await suite.publish(response_reminder(received, due_on=date(2026, 4, 30)))
        holding = await one(suite, received.case_id, "holding")
        await suite.publish(received.caused(CaseWithdrawn(withdrawn_on=date(2026, 4, 20))))
        withdrawal = await one(suite, received.case_id, "withdrawal")
        assert withdrawal["status"] != "draft"  # it needs nobody's words
        cancelled = (await suite.http.get(f"/api/v1/letters/{holding['id']}")).json()
        assert cancelled["status"] == "cancelled"
        assert cancelled["reason"] == "the complaint was withdrawn"


async def test_holding_letters_can_be_issued_automatically(settings: Settings) -> None:
    settings = settings.model_copy(update={"letters_automatic_holding": True})
    async with running(settings, create(settings)) as suite:
        received = case_received(settings)
        await suite.publish(received)
        await suite.publish(response_reminder(received, due_on=date(2026, 4, 30)))
        holding = await one(suite, received.case_id, "holding")
        assert holding["status"] != "draft"
        text = (
            await suite.http.get(f"/api/v1/letters/{holding['id']}", params={"format": "text"})
        ).text
        assert "Thursday 30 April 2026" in " ".join(text.split())
        assert "[To be written" not in text


async def test_a_response_in_easy_read_and_large_print(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        received = case_received(settings, directorate="childrens", reference="CSC-2026-00008")
        await suite.publish(received)
        await suite.publish(case_responded(received, responded_on=date(2026, 4, 30)))
        response = await one(suite, received.case_id, "response")
        url = f"/api/v1/letters/{response['id']}"

        async def text() -> str:
            return " ".join((await suite.http.get(url, params={"format": "text"})).text.split())

        standard = await text()
        assert "Please ask us by Monday 1 June 2026" in standard
        easy = await suite.http.patch(url, json={"variant": "easy_read"})
        assert easy.json()["variant"] == "easy_read"
        assert "You can ask us to look again. This is called Stage 2." in await text()
        assert "Tell us by Monday 1 June 2026" in await text()
        large = await suite.http.patch(url, json={"variant": "large_print"})
        assert large.json()["template"].startswith("response.large_print")
        assert "Please ask us by Monday 1 June 2026" in await text()
        wrong = await suite.http.patch(url, json={"variant": "tiny"})
        assert wrong.status_code == 422 and "variant" in wrong.text


async def test_a_councils_response_template_without_the_rights_paragraph_is_refused(
    settings: Settings, tmp_path: Path
) -> None:
    """The check reads the letter as rendered, so a council's own template that drops the
    Ombudsman paragraph cannot be approved."""
    own = tmp_path / "templates" / settings.organisation / "adults"
    own.mkdir(parents=True)
    (own / "response.html.j2").write_text(
        '{% extends "layout.html.j2" %}{% block body %}<p>{{ salutation }},</p>'
        '<p>Our answer: {{ outcome }}.</p>{{ words("introduction") }}'
        '{{ words("conclusion") }}{% endblock %}'
    )
    settings = settings.model_copy(update={"letters_templates_dir": tmp_path / "templates"})
    async with running(settings, create(settings)) as suite:
        received = case_received(settings)
        await suite.publish(received)
        await suite.publish(case_responded(received, responded_on=date(2026, 4, 30)))
        response = await one(suite, received.case_id, "response")
        assert f"override {settings.organisation}/adults" in response["template"]
        url = f"/api/v1/letters/{response['id']}"
        wording = {"introduction": "Our answer.", "conclusion": "Thank you."}
        await suite.http.patch(url, json={"wording": wording})
        refused = await suite.http.post(f"{url}/approve")
        assert refused.status_code == 409
        assert (
            "the paragraph on the right to go to the Ombudsman is missing"
            in (refused.json()["detail"]["problems"])
        )
