"""Actions recorded from responses and Ombudsman decisions; leads chased; complainants told."""

from __future__ import annotations

import uuid
from datetime import date

from complaints_shared.contracts.envelope import new_event
from complaints_shared.contracts.events import (
    DeadlineFollowUp,
    HistoryImported,
    LeadChased,
    LetterSent,
    OmbudsmanDecided,
    Remedy,
)
from complaints_shared.contracts.vocabulary import (
    DeadlineKind,
    FollowUpStep,
    LearningChange,
    OmbudsmanDecision,
    RemedyKind,
)
from complaints_shared.settings import Settings
from complaints_shared.testing.harness import eventually


async def test_responses_and_ombudsman_remedies_become_actions(
    settings: Settings, learning, action
) -> None:
    async with learning(settings) as it:
        received = await it.case(officer="ivy")
        [rota] = await it.respond(
            received,
            action(
                "Rota checks",
                owner_email="lead@council.example",
                themes=("Rotas",),
                service_area="Reablement",
            ),
        )
        decided = OmbudsmanDecided(
            decided_on=date(2026, 5, 29),
            decision=OmbudsmanDecision.UPHELD,
            remedies=(
                Remedy(
                    kind=RemedyKind.SERVICE_CHANGE,
                    description="Train schedulers",
                    due_on=date(2026, 8, 14),
                    owner="Head of home care",
                ),
                Remedy(kind=RemedyKind.APOLOGY),
            ),
        )
        decision = received.caused(decided)
        await it.suite.publish(decision)
        ombudsman = await eventually(lambda: _at_least(it.actions(source="ombudsman"), 2))
        # A remedy keeps the date and lead the Ombudsman set; without, a month from the
        # decision, led by the case's officer.
        assert [(a["description"], a["due_on"], a["lead"]) for a in ombudsman] == [
            ("apology", "2026-06-29", "ivy"),
            ("Train schedulers", "2026-08-14", "Head of home care"),
        ]
        assert {a["service_area"] for a in ombudsman} == {"Home care"}
        assert {a["subject"] for a in ombudsman} == {"Missed visits"}
        [response] = await it.actions(source="response")
        assert response["id"] == rota
        assert response["service_area"] == "Reablement"  # the action's own, over the case's
        assert (response["stage"], response["themes"]) == (1, ["Rotas"])
        assert response["case_ids"] == [str(received.case_id)]
        assert response["lead_email"] == "lead@council.example"

        [recorded] = await it.changes(rota)
        assert (recorded.revision, recorded.change) == (1, LearningChange.RECORDED)
        assert recorded.action.subject == "Missed visits"
        envelopes = await it.published("learning.action_changed")
        assert len(envelopes) == 3
        assert {e.case_id for e in envelopes} == {None}

        await it.suite.publish(decision, msg_id=str(uuid.uuid4()))  # redelivered later
        assert len(await it.published("learning.action_changed")) == 3


async def test_follow_ups_chase_the_lead_then_the_manager(
    settings: Settings, learning, action
) -> None:
    settings = settings.model_copy(
        update={
            "learning_managers": {"Home care": "hc.manager@council.example"},
            "learning_chasing": "digest",
        }
    )
    async with learning(settings) as it:
        home_care = await it.case(service_area="Home care", reference="ASC-2026-00007")
        fostering = await it.case(service_area="Fostering", reference="ASC-2026-00008")
        [rota] = await it.respond(home_care, action("Rota checks", owner_email="tl@c.example"))
        [leaflet, done] = await it.respond(fostering, action("Leaflet"), action("Finished"))
        await it.act(done, "complete", evidence="Done and dusted")

        async def follow_up(action_id: str, step: FollowUpStep) -> None:
            payload = DeadlineFollowUp(
                deadline_id=uuid.uuid4(),
                kind=DeadlineKind.LEARNING_ACTION,
                subject_id=uuid.UUID(action_id),
                step=step,
                due_on=date(2026, 6, 30),
                fired_on=date(2026, 6, 23),
                working_days=5,
            )
            await it.suite.publish(
                new_event(payload, organisation=settings.organisation, directorate="adults")
            )

        await follow_up(rota, FollowUpStep.REMINDER)
        await follow_up(rota, FollowUpStep.ESCALATION)
        await follow_up(leaflet, FollowUpStep.ESCALATION)  # no manager for Fostering
        await follow_up(done, FollowUpStep.OVERDUE)  # done since: nobody is chased
        chased = [e.parse(LeadChased) for e in await it.published("learning.lead_chased")]
        assert [
            (str(c.action_id), c.step, c.recipient, c.recipient_email, c.to_manager) for c in chased
        ] == [
            (rota, FollowUpStep.REMINDER, "Team lead", "tl@c.example", False),
            (
                rota,
                FollowUpStep.ESCALATION,
                "Manager, Home care",
                "hc.manager@council.example",
                True,
            ),
            (leaflet, FollowUpStep.ESCALATION, "Team lead", None, False),
        ]
        assert all(c.digest for c in chased)
        assert chased[0].case_references == ("ASC-2026-00007",)
        # A chase is in the action's history, not a change of the action.
        detail = (await it.suite.http.get(f"/api/v1/learning-actions/{rota}")).json()
        assert [h["change"] for h in detail["history"]] == ["recorded", "chased", "chased"]
        assert detail["revision"] == 1


async def test_a_learning_update_letter_tells_the_complainant(
    settings: Settings, learning, action
) -> None:
    async with learning(settings) as it:
        received = await it.case()
        [done, cancelled] = await it.respond(received, action("Rota checks"), action("Spare"))
        await it.act(done, "complete", evidence="New rota", what_changed="Visits are checked")
        await it.act(cancelled, "cancel", reason="Covered by the rota checks")
        sent = LetterSent(
            letter_id=uuid.uuid4(),
            kind="learning_update",
            channel="notify",
            route="email",
            sent_on=date(2026, 7, 1),
        )
        other = sent.model_copy(update={"letter_id": uuid.uuid4(), "kind": "survey"})
        await it.suite.publish(received.caused(other))
        await it.suite.publish(received.caused(sent))

        async def told() -> list[dict]:
            return [a for a in await it.actions() if a["complainant_told_on"]]

        [action_told] = await eventually(told)
        assert (action_told["id"], action_told["complainant_told_on"]) == (done, "2026-07-01")
        changes = await it.changes(done)
        assert [(c.revision, c.change) for c in changes] == [
            (1, LearningChange.RECORDED),
            (2, LearningChange.COMPLETED),
            (3, LearningChange.COMPLAINANT_TOLD),
        ]
        assert changes[-1].action.complainant_told_on == date(2026, 7, 1)


async def _at_least(pending, n: int):
    found = await pending
    return found if len(found) >= n else None


async def test_an_imported_history_ends_what_it_left_open_past_its_due_date(
    settings: Settings, learning, action
) -> None:
    async with learning(settings) as it:
        received = await it.case()
        [past, future] = await it.respond(
            received, action("Old rota", "2026-05-31"), action("New rota", "2026-09-30")
        )
        imported = HistoryImported(
            imported_on=date(2026, 6, 15), status="closed", stage=1, ended=True
        )
        await it.suite.publish(received.caused(imported))
        changes = await it.changes(past)
        assert [(c.revision, c.change) for c in changes] == [
            (1, LearningChange.RECORDED),
            (2, LearningChange.SETTLED_BY_IMPORT),
        ]
        statuses = {a["id"]: a["status"] for a in await it.actions()}
        assert statuses == {past: "not_recorded", future: "open"}
        assert await it.published("learning.case_settled") == []
