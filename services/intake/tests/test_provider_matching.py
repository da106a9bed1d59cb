"""Complaints and compliments refer to registered providers: by id, by matching free
text on arrival, and by the complaints team linking the names that did not match."""

from __future__ import annotations

import uuid

from complaints_intake.importing import import_lines
from complaints_intake.providers.matching import normalise
from complaints_intake.service import create
from complaints_shared.contracts.events import CaseCorrected, CaseReceived, ComplimentReceived
from complaints_shared.settings import Settings
from complaints_shared.testing.harness import Running, eventually, running

COMPLAINT = {
    "directorate": "adults",
    "received_on": "2026-04-02",
    "channel": "telephone",
    "complainant": {"name": "Ann Example", "phone": "01234 567890"},
    "summary": "The carer did not arrive on three mornings.",
}
COMPLIMENT = {
    "directorate": "adults",
    "received_on": "2026-04-03",
    "channel": "email",
    "service_area": "Home care",
    "summary": "The carers were wonderful.",
}
IMPORTED = (
    '{"reference": "ASC-2019-00001", "steps": [], "complaint": {"directorate": "adults", '
    '"received_on": "2019-06-03", "channel": "letter", "complainant": {"name": "Joan '
    'Whitfield"}, "summary": "Carers late.", "provider": "AKME"}}'
)
ACME = {
    "code": "acme-care",
    "name": "Acme Care Ltd",
    "service_kind": "home_care",
    "aliases": ["Acme Homecare"],
}


async def provider(suite: Running, **changes) -> dict:
    answer = await suite.http.post("/api/v1/providers", json={**ACME, **changes})
    assert answer.status_code == 201, answer.text
    return answer.json()


async def complaint(suite: Running, **changes) -> dict:
    answer = await suite.http.post("/api/v1/complaints", json={**COMPLAINT, **changes})
    assert answer.status_code == 201, answer.text
    return answer.json()


async def compliment(suite: Running, **changes) -> dict:
    answer = await suite.http.post("/api/v1/compliments", json={**COMPLIMENT, **changes})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_names_are_compared_without_case_punctuation_ltd_or_spacing() -> None:
    assert normalise("  St. Mary's   Care Ltd.") == normalise("st marys care") == "st marys care"
    assert normalise("Smith-Jones Care LIMITED") == "smith jones care"
    assert normalise("Acme Care") != normalise("Acme Carers")


async def test_a_complaint_and_a_compliment_name_a_registered_provider_by_id(
    settings: Settings,
) -> None:
    async with running(settings, create(settings)) as suite:
        acme = await provider(suite)
        case = await complaint(suite, provider_id=acme["id"], provider="whatever they said")
        assert (case["provider_id"], case["provider"]) == (acme["id"], "Acme Care Ltd")
        praised = await compliment(suite, provider_id=acme["id"])
        assert (praised["provider_id"], praised["provider"]) == (acme["id"], "Acme Care Ltd")

        received = f"complaints.{settings.organisation}.adults.case.received.v1"
        [event] = await eventually(lambda: suite.events(received))
        assert str(event.parse(CaseReceived).provider_id) == acme["id"]
        thanks = f"complaints.{settings.organisation}.adults.compliment.received.v1"
        [event] = await eventually(lambda: suite.events(thanks))
        assert str(event.parse(ComplimentReceived).provider_id) == acme["id"]

        unknown = str(uuid.uuid4())
        for path, body in (
            ("/api/v1/complaints", COMPLAINT),
            ("/api/v1/compliments", COMPLIMENT),
        ):
            answer = await suite.http.post(path, json={**body, "provider_id": unknown})
            assert answer.status_code == 422, answer.text
            assert answer.json()["detail"][0]["loc"] == ["body", "provider_id"]
        correction = await suite.http.post(
            f"/api/v1/complaints/{case['id']}/correction",
            json={"corrected_on": "2026-04-03", "reason": "wrong", "provider_id": unknown},
        )
        assert correction.status_code == 422
        assert correction.json()["detail"][0]["loc"] == ["body", "provider_id"]
        listed = (await suite.http.get("/api/v1/complaints")).json()
        assert [c["provider_id"] for c in listed] == [acme["id"]]


async def test_free_text_naming_a_provider_or_its_alias_is_matched_on_arrival(
    settings: Settings,
) -> None:
    async with running(settings, create(settings)) as suite:
        acme = await provider(suite)
        by_name = await complaint(suite, provider="acme care")
        by_alias = await complaint(suite, provider="ACME  Homecare.")
        stranger = await complaint(suite, provider="Zenith Care")
        praised = await compliment(suite, provider="Acme Care Limited")
        assert by_name["provider_id"] == by_alias["provider_id"] == acme["id"]
        assert by_name["provider"] == "acme care"  # as written: it means the same
        assert stranger["provider_id"] is None
        assert praised["provider_id"] == acme["id"]

        corrected = await suite.http.post(
            f"/api/v1/complaints/{stranger['id']}/correction",
            json={"corrected_on": "2026-04-03", "reason": "misheard", "provider": "Acme Care"},
        )
        assert corrected.status_code == 200, corrected.text
        assert corrected.json()["provider_id"] == acme["id"]
        unlinked = await suite.http.post(
            f"/api/v1/complaints/{by_name['id']}/correction",
            json={"corrected_on": "2026-04-03", "reason": "another", "provider": "Zenith Care"},
        )
        assert unlinked.json()["provider_id"] is None


async def test_unmatched_names_are_listed_and_linked_by_the_complaints_team(
    settings: Settings,
) -> None:
    async with running(settings, create(settings)) as suite:
        acme = await provider(suite)
        first = await complaint(suite, provider="Akme Care")
        second = await complaint(suite, provider="akme care ltd")
        other = await complaint(suite, provider="Zenith Lodge")
        await compliment(suite, provider="Akme Care")
        [intake] = suite.host.services
        imported = await import_lines(intake, [IMPORTED])
        assert imported.imported == ["ASC-2019-00001"]

        answer = await suite.http.get("/api/v1/providers/unmatched")
        assert answer.status_code == 200, answer.text
        listed = {entry["name"]: entry for entry in answer.json()}
        assert set(listed) == {"Akme Care", "Zenith Lodge", "AKME"}
        akme = listed["Akme Care"]
        assert akme["spellings"] == ["Akme Care", "akme care ltd"]
        assert (akme["cases"], akme["compliments"]) == (2, 1)
        assert akme["suggestion"]["code"] == "acme-care"
        assert "Ann Example" not in answer.text

        linking = await suite.http.post(
            f"/api/v1/providers/{acme['id']}/matches", json={"names": ["Akme Care", "AKME"]}
        )
        assert linking.status_code == 200, linking.text
        assert linking.json() == {
            "cases": 3,
            "compliments": 1,
            "cases_not_linked": 0,
            "aliases_added": ["Akme Care", "AKME"],
        }
        for case in (first, second):
            shown = (await suite.http.get(f"/api/v1/complaints/{case['id']}")).json()
            assert (shown["provider_id"], shown["provider"]) == (acme["id"], "Acme Care Ltd")
            history = (await suite.http.get(f"/api/v1/complaints/{case['id']}/history")).json()
            assert history[-1]["action"] == "correction"
        untouched = (await suite.http.get(f"/api/v1/complaints/{other['id']}")).json()
        assert untouched["provider_id"] is None
        [praised] = (await suite.http.get("/api/v1/compliments")).json()
        assert praised["provider_id"] == acme["id"]

        subject = f"complaints.{settings.organisation}.adults.case.corrected.v1"
        corrected = await eventually(lambda: _at_least(suite.events(subject), 3))
        linked = {str(event.case_id): event.parse(CaseCorrected) for event in corrected}
        assert linked[first["id"]].fields == ("provider", "provider_id")
        assert str(linked[first["id"]].provider_id) == acme["id"]
        assert {e.parse(CaseCorrected).provider for e in corrected} == {"Acme Care Ltd"}

        [entry] = (await suite.http.get("/api/v1/providers/unmatched")).json()
        assert entry["name"] == "Zenith Lodge"
        shown = (await suite.http.get(f"/api/v1/providers/{acme['id']}")).json()
        assert shown["aliases"] == ["Acme Homecare", "Akme Care", "AKME"]
        assert shown["revision"] == 2
        later = await complaint(suite, provider="Akme care.")
        assert later["provider_id"] == acme["id"]
        history = [IMPORTED.replace("00001", "00002")]
        assert (await import_lines(intake, history)).imported == ["ASC-2019-00002"]
        cases = (await suite.http.get("/api/v1/complaints")).json()
        [matched] = [c for c in cases if c["reference"] == "ASC-2019-00002"]
        assert (matched["provider_id"], matched["provider"]) == (acme["id"], "AKME")
        again = await import_lines(intake, history)
        assert (again.skipped, again.errors) == (["ASC-2019-00002"], [])

        again = await suite.http.post(
            f"/api/v1/providers/{acme['id']}/matches", json={"names": ["Akme Care"]}
        )
        assert again.json() == {
            "cases": 0,
            "compliments": 0,
            "cases_not_linked": 0,
            "aliases_added": [],
        }


async def _at_least(found, count: int) -> list:
    events = await found
    return events if len(events) >= count else []
