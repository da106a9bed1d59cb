"""The providers' feed on real NATS, both databases and the real issuer: batches in JSON and
CSV, what is announced (and what is not, on a resubmission), nil returns, referral to a
council case, and each provider seeing its own data only."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx
from sqlalchemy import update

from complaints_intake.providers.models import Provider
from complaints_intake.providers.retention import REMOVED
from complaints_intake.service import create
from complaints_shared.auth import Role
from complaints_shared.calendar import today_in_england
from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.events import (
    CaseReceived,
    ProviderNilReturn,
    ProviderReturnRecorded,
)
from complaints_shared.service import Service
from complaints_shared.settings import Settings
from complaints_shared.testing.harness import Running, eventually, running
from complaints_shared.testing.issuer import LocalIssuer

SUNRISE, MEADOW = "sunrise-care", "meadow-homes"


def contract(reference: str, directorate: str, **more: Any) -> dict[str, Any]:
    """A contract as the register keeps it (a ``ProviderContract`` as JSON)."""
    return {
        "reference": reference,
        "directorate": directorate,
        "starts_on": "2024-04-01",
        "ends_on": None,
        "places": 40,
        "basis": "people",
        "service_kind": None,
        **more,
    }


async def register(
    service: Service, code: str, name: str, contracts: list[dict], active: bool = True
) -> uuid.UUID:
    """A provider in the register, written as the register writes it (its own table)."""
    provider = Provider(
        id=uuid.uuid4(),
        code=code,
        name=name,
        service_kind="home_care",
        cqc_location_ids=[],
        contracts=contracts,
        contacts=[],
        aliases=[],
        active=active,
    )
    async with service.db.transaction() as session:
        session.add(provider)
    return provider.id


async def providers(service: Service) -> dict[str, uuid.UUID]:
    """Sunrise (one adults contract) and Meadow (an adults and a children's contract)."""
    return {
        SUNRISE: await register(service, SUNRISE, "Sunrise Care", [contract("SUN-1", "adults")]),
        MEADOW: await register(
            service,
            MEADOW,
            "Meadow Homes",
            [
                contract("MW-A", "adults", service_kind="residential"),
                contract("MW-C", "childrens", service_kind="supported_living"),
            ],
        ),
    }


def feed(suite: Running, issuer: LocalIssuer, code: str) -> httpx.AsyncClient:
    """An HTTP client holding credentials that speak for provider ``code``."""
    client = issuer.add_client(f"{code}-{uuid.uuid4().hex[:8]}", Role.PROVIDER, provider=code)
    return suite.client(issuer.token(client))


RETURNS = "/api/v1/provider-feed/returns"

SUNRISE_JSON = [
    {
        "provider_reference": "S-1",
        "received_on": "2026-04-10",
        "primary_subject": "Standard of care",
        "summary": "Carer late on three visits.",
        "outcome": "upheld",
        "responded_on": "2026-04-20",
    },
    {"provider_reference": "S-2", "kind": "compliment", "received_on": "2026-04-11"},
    {"provider_reference": "S-3", "received_on": "2026-04-12", "responded_on": "2026-04-01"},
    {"provider_reference": "S-4", "received_on": "2026-04-12", "colour": "blue"},
    {"provider_reference": "S-5", "received_on": "2026-04-12", "contract_reference": "NOPE"},
    "not a row",
]

SUNRISE_CSV = (
    "provider_reference,received_on,other_subjects,resolved,outcome,responded_on\r\n"
    "S-10,2026-05-02,Communication;Safeguarding,true,not_upheld,2026-05-09\r\n"
    "S-11,2026-05-03,,,,,surplus\r\n"
    ",,,,,\r\n"
    "S-12,2026-13-01,,,,\r\n"
    "S-13,2026-05-04,,,upheld,\r\n"
)

MEADOW_JSON = [
    {
        "provider_reference": "M-1",
        "received_on": "2026-04-15",
        "contract_reference": "MW-C",
        "primary_subject": "Service delay",
    },
    {"provider_reference": "M-2", "received_on": "2026-04-16"},
    {"provider_reference": "M-3", "received_on": "2026-04-16", "provider": SUNRISE},
]

MEADOW_CSV = (
    "provider_reference,received_on,contract_reference,withdrawn\n"
    "M-10,2026-06-01,MW-A,no\n"
    "M-11,2026-06-02,MW-A,perhaps\n"
)


def problems(report: dict) -> dict[int, set[tuple[str, str]]]:
    """Each rejected row's problems by row number (field, reason)."""
    return {
        row["row"]: {(p["field"], p["reason"]) for p in row["problems"]}
        for row in report["rows"]
        if row["status"] == "rejected"
    }


def fields(report: dict) -> dict[int, set[str]]:
    return {row: {field for field, _ in found} for row, found in problems(report).items()}


def statuses(report: dict) -> dict[int, str]:
    return {row["row"]: row["status"] for row in report["rows"]}


async def recorded(suite: Running, organisation: str, directorate: str, code: str) -> list:
    subject = f"complaints.{organisation}.{directorate}.provider.return_recorded.v1.{code}"
    return [event.parse(ProviderReturnRecorded) for event in await suite.events(subject)]


async def test_two_providers_send_batches_and_each_sees_only_its_own(
    settings: Settings, issuer: LocalIssuer
) -> None:
    service = create(settings)
    async with running(settings, service) as suite:
        ids = await providers(service)
        sunrise, meadow = feed(suite, issuer, SUNRISE), feed(suite, issuer, MEADOW)
        org = settings.organisation

        sent = await sunrise.post(RETURNS, json=SUNRISE_JSON)
        assert sent.status_code == 200, sent.text
        report = sent.json()
        assert (report["received"], report["created"], report["rejected"]) == (6, 2, 4)
        assert statuses(report) == {
            1: "created",
            2: "created",
            3: "rejected",
            4: "rejected",
            5: "rejected",
            6: "rejected",
        }
        assert problems(report)[3] == {("responded_on", "cannot be before received_on")}
        assert fields(report)[4] == {"colour"}
        assert fields(report)[5] == {"contract_reference"}
        assert problems(report)[6] == {("", "a row must be an object")}
        assert "Carer" not in sent.text  # nothing sent is echoed

        csv = await sunrise.post(RETURNS, content=SUNRISE_CSV, headers={"Content-Type": "text/csv"})
        assert csv.status_code == 200, csv.text
        assert statuses(csv.json()) == {1: "created", 2: "rejected", 4: "rejected", 5: "rejected"}
        assert fields(csv.json()) == {2: {""}, 4: {"received_on"}, 5: {"outcome"}}
        assert "7 cells" in problems(csv.json())[2].pop()[1]

        mine = await meadow.post(RETURNS, json=MEADOW_JSON)
        assert statuses(mine.json()) == {1: "created", 2: "created", 3: "rejected"}
        assert fields(mine.json()) == {3: {"provider"}}
        csv = await meadow.post(
            f"{RETURNS}?format=csv", content=MEADOW_CSV, headers={"Content-Type": "text/plain"}
        )
        assert statuses(csv.json()) == {1: "created", 2: "rejected"}
        assert fields(csv.json()) == {2: {"withdrawn"}}

        listed = (await sunrise.get(RETURNS)).json()
        assert [r["provider_reference"] for r in listed] == ["S-10", "S-2", "S-1"]
        s10 = listed[0]
        assert s10["other_subjects"] == ["Communication", "Safeguarding"]
        assert s10["resolved"] is True and s10["service_kind"] == "home_care"
        assert s10["revision"] == 1
        window = await sunrise.get(
            RETURNS, params={"received_from": "2026-04-11", "received_to": "2026-04-30"}
        )
        assert [r["provider_reference"] for r in window.json()] == ["S-2"]
        paged = await sunrise.get(RETURNS, params={"offset": 1, "limit": 1})
        assert [r["provider_reference"] for r in paged.json()] == ["S-2"]
        theirs = (await meadow.get(RETURNS)).json()
        assert {r["provider_reference"] for r in theirs} == {"M-1", "M-2", "M-10"}
        by_reference = {r["provider_reference"]: r for r in theirs}
        assert by_reference["M-1"]["service_kind"] == "supported_living"  # its contract's
        assert by_reference["M-10"]["service_kind"] == "residential"

        # Announced under the contract's directorate, the provider's code last; no summary.
        events = await eventually(lambda: _at_least(3, recorded(suite, org, "adults", SUNRISE)))
        assert {(e.provider_reference, e.revision) for e in events} == {
            ("S-1", 1),
            ("S-2", 1),
            ("S-10", 1),
        }
        assert all(e.provider_id == ids[SUNRISE] for e in events)
        [s1] = [e for e in events if e.provider_reference == "S-1"]
        assert (s1.outcome, s1.responded_on, s1.kind) == ("upheld", date(2026, 4, 20), "complaint")
        [m1] = await eventually(lambda: recorded(suite, org, "childrens", MEADOW))
        assert m1.provider_reference == "M-1" and m1.contract_reference == "MW-C"
        [m2] = await eventually(lambda: recorded(suite, org, "all", MEADOW))  # two directorates
        assert m2.provider_reference == "M-2"
        for event in await suite.events(f"complaints.{org}.*.provider.return_recorded.v1.*"):
            assert "summary" not in event.payload

        # The same batch again: nothing recorded, nothing announced.
        again = await sunrise.post(RETURNS, json=SUNRISE_JSON)
        assert (again.json()["created"], again.json()["unchanged"]) == (0, 2)
        await eventually(suite.drained)
        assert len(await recorded(suite, org, "adults", SUNRISE)) == 3

        # A correction is the next revision.
        corrected = {**SUNRISE_JSON[0], "outcome": "partially_upheld"}
        answer = await sunrise.post(RETURNS, json=corrected)
        assert statuses(answer.json()) == {1: "updated"}
        assert (await sunrise.get(f"{RETURNS}/S-1")).json()["revision"] == 2
        revisions = await eventually(lambda: _at_least(4, recorded(suite, org, "adults", SUNRISE)))
        assert [(e.revision, e.outcome) for e in revisions if e.provider_reference == "S-1"] == [
            (1, "upheld"),
            (2, "partially_upheld"),
        ]

        # A reference of another provider's is not found, as one that does not exist.
        for reference in ("M-1", "NOBODY"):
            for method, path, body in (
                ("GET", f"{RETURNS}/{reference}", None),
                ("PATCH", f"{RETURNS}/{reference}", {"resolved": True}),
                ("POST", f"{RETURNS}/{reference}/referral", {"complainant": {"name": "A N"}}),
            ):
                refused = await sunrise.request(method, path, json=body)
                assert refused.status_code == 404, (method, path, refused.text)
                assert refused.json() == {"detail": f"no return with reference {reference!r}"}
        assert "M-" not in (await sunrise.get(RETURNS)).text
        await sunrise.aclose()
        await meadow.aclose()


async def _at_least(count: int, found: Any) -> list:
    events = await found
    return events if len(events) >= count else []


async def test_changing_a_return_and_declaring_nil_returns(
    settings: Settings, issuer: LocalIssuer
) -> None:
    service = create(settings)
    async with running(settings, service) as suite:
        await providers(service)
        sunrise = feed(suite, issuer, SUNRISE)
        org = settings.organisation
        row = {"provider_reference": "S-1", "received_on": "2025-05-10", "summary": "Late."}
        assert (await sunrise.post(RETURNS, json=row)).status_code == 200

        early = await sunrise.patch(f"{RETURNS}/S-1", json={"responded_on": "2025-05-01"})
        assert early.status_code == 422
        assert early.json()["detail"][0]["loc"] == ["body", "responded_on"]
        alone = await sunrise.patch(f"{RETURNS}/S-1", json={"outcome": "upheld"})
        assert alone.json()["detail"][0]["loc"] == ["body", "outcome"]
        unknown = await sunrise.patch(f"{RETURNS}/S-1", json={"summary": "x"})
        assert unknown.status_code == 422  # a provider changes its summary by sending the row

        change = {"outcome": "upheld", "responded_on": "2025-05-20", "ombudsman_referred": True}
        changed = await sunrise.patch(f"{RETURNS}/S-1", json=change)
        assert changed.status_code == 200, changed.text
        assert changed.json()["revision"] == 2 and changed.json()["summary"] == "Late."
        same = await sunrise.patch(f"{RETURNS}/S-1", json={"outcome": "upheld"})
        assert same.json()["revision"] == 2
        events = await eventually(lambda: _at_least(2, recorded(suite, org, "adults", SUNRISE)))
        await eventually(suite.drained)
        events = await recorded(suite, org, "adults", SUNRISE)
        assert [(e.revision, e.outcome, e.ombudsman_referred) for e in events] == [
            (1, None, False),
            (2, "upheld", True),
        ]

        nil = "/api/v1/provider-feed/nil-returns"
        declared = await sunrise.post(nil, json={"year": 2025, "quarter": 3})
        assert declared.status_code == 201, declared.text
        assert declared.json()["status"] == "created"
        repeated = await sunrise.post(nil, json={"year": 2025, "quarter": 3})
        assert repeated.status_code == 200 and repeated.json()["status"] == "unchanged"
        contradicted = await sunrise.post(nil, json={"year": 2025, "quarter": 1})
        assert contradicted.status_code == 409
        assert "already has complaint returns" in contradicted.json()["detail"]
        future = await sunrise.post(nil, json={"year": today_in_england().year + 1, "quarter": 4})
        assert future.status_code == 422
        assert future.json()["detail"][0]["loc"] == ["body", "quarter"]
        assert (await sunrise.post(nil, json={"year": 2025, "quarter": 5})).status_code == 422

        subject = f"complaints.{org}.adults.provider.nil_return.v1.{SUNRISE}"
        [event] = await eventually(lambda: suite.events(subject))
        await eventually(suite.drained)
        assert len(await suite.events(subject)) == 1
        assert event.provider == SUNRISE
        assert (event.parse(ProviderNilReturn).year, event.parse(ProviderNilReturn).quarter) == (
            2025,
            3,
        )
        await sunrise.aclose()


async def test_a_referral_becomes_a_council_case_once(
    settings: Settings, issuer: LocalIssuer
) -> None:
    service = create(settings)
    async with running(settings, service) as suite:
        ids = await providers(service)
        sunrise, meadow = feed(suite, issuer, SUNRISE), feed(suite, issuer, MEADOW)
        org = settings.organisation
        sent = await sunrise.post(
            RETURNS,
            json=[
                {
                    "provider_reference": "S-1",
                    "received_on": "2026-04-10",
                    "summary": "Carer late on three visits.",
                    "primary_subject": "Standard of care",
                },
                {"provider_reference": "S-2", "kind": "compliment", "received_on": "2026-04-11"},
            ],
        )
        assert sent.json()["created"] == 2
        referral = {
            "complainant": {"name": "Ann Example", "email": "ann@example.org"},
            "relationship": "care_recipient",
        }
        referred = await sunrise.post(f"{RETURNS}/S-1/referral", json=referral)
        assert referred.status_code == 201, referred.text
        case_id = referred.json()["case_id"]
        assert referred.json()["reference"].startswith("ASC-")

        case = (await suite.http.get(f"/api/v1/complaints/{case_id}")).json()
        assert case["provider_id"] == str(ids[SUNRISE]) and case["provider"] == "Sunrise Care"
        assert case["provider_reference"] == "S-1"
        assert (case["procedure"], case["directorate"], case["channel"]) == (
            "adults",
            "adults",
            "other",
        )
        assert case["received_on"] == today_in_england().isoformat()
        assert case["summary"] == "Carer late on three visits."
        assert case["primary_subject"] == "Standard of care"

        [event] = await eventually(
            lambda: suite.events(f"complaints.{org}.adults.case.received.v1")
        )
        received = event.parse(CaseReceived)
        assert (received.provider_id, received.provider_reference) == (ids[SUNRISE], "S-1")
        assert str(event.case_id) == case_id

        again = await sunrise.post(f"{RETURNS}/S-1/referral", json=referral)
        assert again.status_code == 200 and again.json()["case_id"] == case_id
        stored = (await sunrise.get(f"{RETURNS}/S-1")).json()
        assert (stored["referred_case_id"], stored["revision"]) == (case_id, 2)
        recorded_events = await eventually(
            lambda: _at_least(3, recorded(suite, org, "adults", SUNRISE))
        )
        [latest] = [e for e in recorded_events if e.revision == 2]
        assert str(latest.referred_case_id) == case_id
        await eventually(suite.drained)
        assert len(await suite.events(f"complaints.{org}.adults.case.received.v1")) == 1

        compliment = await sunrise.post(f"{RETURNS}/S-2/referral", json=referral)
        assert compliment.status_code == 409

        # Meadow's contracts are with two directorates: the referral must say whose.
        await meadow.post(RETURNS, json={"provider_reference": "M-2", "received_on": "2026-04-16"})
        unsaid = await meadow.post(f"{RETURNS}/M-2/referral", json=referral)
        assert unsaid.status_code == 422
        assert [e["loc"] for e in unsaid.json()["detail"]] == [["body", "contract_reference"]]
        chosen = {**referral, "contract_reference": "MW-C"}
        no_summary = await meadow.post(f"{RETURNS}/M-2/referral", json=chosen)
        assert [e["loc"] for e in no_summary.json()["detail"]] == [["body", "summary"]]
        unnamed = {**chosen, "summary": "Moved rooms without notice.", "complainant": {}}
        nameless = await meadow.post(f"{RETURNS}/M-2/referral", json=unnamed)
        assert ["body", "complainant", "name"] in [e["loc"] for e in nameless.json()["detail"]]
        done = await meadow.post(
            f"{RETURNS}/M-2/referral", json={**chosen, "summary": "Moved rooms without notice."}
        )
        assert done.status_code == 201, done.text
        assert done.json()["reference"].startswith("CSC-")
        child = (await suite.http.get(f"/api/v1/complaints/{done.json()['case_id']}")).json()
        assert (child["procedure"], child["provider_id"]) == ("childrens", str(ids[MEADOW]))
        await sunrise.aclose()
        await meadow.aclose()


FEED_ROUTES = (
    ("POST", RETURNS, [{"provider_reference": "X", "received_on": "2026-04-10"}]),
    ("GET", RETURNS, None),
    ("GET", f"{RETURNS}/X", None),
    ("PATCH", f"{RETURNS}/X", {"resolved": True}),
    ("POST", f"{RETURNS}/X/referral", {"complainant": {"name": "A N"}, "summary": "s"}),
    ("POST", "/api/v1/provider-feed/nil-returns", {"year": 2025, "quarter": 1}),
)


async def _answers(client: httpx.AsyncClient) -> list[tuple[int, Any]]:
    found = []
    for method, path, body in FEED_ROUTES:
        answer = await client.request(method, path, json=body)
        found.append((answer.status_code, answer.json()))
    return found


async def test_only_an_active_registered_provider_uses_the_feed(
    settings: Settings, issuer: LocalIssuer
) -> None:
    service = create(settings)
    async with running(settings, service) as suite:
        ids = await providers(service)
        unregistered = feed(suite, issuer, "nobody-registered")
        refusal = {"detail": "these credentials speak for no active registered provider"}
        assert await _answers(unregistered) == [(403, refusal)] * len(FEED_ROUTES)
        staff = await _answers(suite.http)  # a complaints officer and administrator
        assert [status for status, _ in staff] == [403] * len(FEED_ROUTES)
        assert all("provider" in body["detail"] for _, body in staff)

        sunrise = feed(suite, issuer, SUNRISE)
        before = await _answers(sunrise)
        assert [status for status, _ in before] == [200, 200, 200, 200, 201, 201]
        async with service.db.transaction() as session:
            await session.execute(
                update(Provider).where(Provider.id == ids[SUNRISE]).values(active=False)
            )
        assert await _answers(sunrise) == [(403, refusal)] * len(FEED_ROUTES)
        await unregistered.aclose()
        await sunrise.aclose()


async def test_every_provider_event_ends_in_the_providers_code(
    settings: Settings, issuer: LocalIssuer
) -> None:
    service = create(settings)
    async with running(settings, service) as suite:
        await providers(service)
        meadow = feed(suite, issuer, MEADOW)
        await meadow.post(RETURNS, json=MEADOW_JSON[:2])
        await meadow.post("/api/v1/provider-feed/nil-returns", json={"year": 2025, "quarter": 2})
        everything: list[Envelope] = await eventually(
            lambda: _at_least(3, suite.events(f"complaints.{settings.organisation}.*.provider.>"))
        )
        assert {e.provider for e in everything} == {MEADOW}
        assert {e.subject.rsplit(".", 1)[-1] for e in everything} == {MEADOW}
        await meadow.aclose()


OLD_AND_NEW = [
    {  # answered in 2019: three years for adults' returns have long passed
        "provider_reference": "OLD-1",
        "received_on": "2019-05-01",
        "responded_on": "2019-05-20",
        "outcome": "not_upheld",
        "summary": "Carer did not arrive.",
    },
    {  # received last month: kept
        "provider_reference": "NEW-1",
        "received_on": "2026-10-01",
        "summary": "Medication given late.",
    },
]


async def test_summaries_past_retention_are_removed_and_the_figures_kept(
    settings: Settings, issuer: LocalIssuer
) -> None:
    settings = settings.model_copy(update={"retention_years": {"adults.provider_return": 3}})
    service = create(settings)
    async with running(settings, service) as suite:
        await providers(service)
        async with feed(suite, issuer, SUNRISE) as sunrise:
            sent = await sunrise.post(RETURNS, json=OLD_AND_NEW)
            assert sent.json()["created"] == 2, sent.text
            run = await suite.http.post("/api/v1/retention/run")
            assert run.status_code == 200, run.text
            old = (await sunrise.get(f"{RETURNS}/OLD-1")).json()
            new = (await sunrise.get(f"{RETURNS}/NEW-1")).json()
    assert old["summary"] == REMOVED
    assert (old["outcome"], old["received_on"]) == ("not_upheld", "2019-05-01")
    assert new["summary"] == "Medication given late."
