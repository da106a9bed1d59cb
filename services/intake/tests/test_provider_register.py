"""The provider register: its API, its events per directorate, its CSV import, its roles."""

from __future__ import annotations

import uuid

from complaints_intake.service import create
from complaints_shared.auth import Role
from complaints_shared.contracts.events import ProviderChanged
from complaints_shared.settings import Settings
from complaints_shared.testing.harness import Running, eventually, running
from complaints_shared.testing.issuer import LocalIssuer

ACME = {
    "code": "acme-care",
    "name": "Acme Care Ltd",
    "service_kind": "home_care",
    "cqc_location_ids": ["1-101"],
    "contracts": [
        {
            "reference": "HC-2026-01",
            "directorate": "adults",
            "starts_on": "2026-04-01",
            "ends_on": "2027-03-31",
            "places": 40,
        },
    ],
    "contacts": [
        {"name": "Pat Manager", "role": "Registered manager", "email": "pat@acme-care.co.uk"}
    ],
    "aliases": ["Acme Homecare"],
}


def code() -> str:
    return f"p-{uuid.uuid4().hex[:8]}"


async def add(suite: Running, **changes) -> dict:
    answer = await suite.http.post("/api/v1/providers", json={**ACME, **changes})
    assert answer.status_code == 201, answer.text
    return answer.json()


def subject(settings: Settings, directorate: str, provider: str = "*") -> str:
    return f"complaints.{settings.organisation}.{directorate}.provider.changed.v1.{provider}"


async def changes(suite: Running, settings: Settings, directorate: str, provider: str) -> list:
    return [
        e.parse(ProviderChanged)
        for e in await suite.events(subject(settings, directorate, provider))
    ]


async def test_registering_announces_the_provider_under_its_contracts_directorate(
    settings: Settings,
) -> None:
    async with running(settings, create(settings)) as suite:
        provider = await add(suite)
        assert provider["revision"] == 1 and provider["code"] == "acme-care"
        assert provider["contracts"][0]["places"] == 40
        assert (await suite.http.get(f"/api/v1/providers/{provider['id']}")).json() == provider

        [event] = await eventually(lambda: suite.events(subject(settings, "adults", "acme-care")))
        assert event.subject.endswith(".adults.provider.changed.v1.acme-care")
        assert event.provider == "acme-care"
        changed = event.parse(ProviderChanged)
        assert changed.revision == 1
        assert str(changed.provider.provider_id) == provider["id"]
        assert changed.provider.aliases == ("Acme Homecare",)
        assert changed.provider.contracts[0].reference == "HC-2026-01"
        assert await suite.events(subject(settings, "childrens")) == []


async def test_a_provider_with_no_contract_is_announced_to_all(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        await add(suite, code="lonely", contracts=[])
        [event] = await eventually(lambda: suite.events(subject(settings, "all", "lonely")))
        assert event.parse(ProviderChanged).provider.contracts == ()


async def test_replacing_bumps_the_revision_and_tells_the_directorates_before_and_after(
    settings: Settings,
) -> None:
    async with running(settings, create(settings)) as suite:
        provider = await add(suite)
        path = f"/api/v1/providers/{provider['id']}"
        moved = {**ACME, "contracts": [{**ACME["contracts"][0], "directorate": "childrens"}]}
        answer = await suite.http.put(path, json=moved)
        assert answer.status_code == 200, answer.text
        assert answer.json()["revision"] == 2
        assert answer.json()["contracts"][0]["directorate"] == "childrens"

        adults = await eventually(
            lambda: _at_least(changes(suite, settings, "adults", "acme-care"), 2)
        )
        [childrens] = await eventually(lambda: changes(suite, settings, "childrens", "acme-care"))
        assert [c.revision for c in adults] == [1, 2]
        assert childrens.revision == 2 and childrens.provider == adults[1].provider
        assert childrens.provider.contracts[0].directorate == "childrens"

        same = await suite.http.put(path, json=moved)
        assert same.status_code == 200 and same.json()["revision"] == 2
        await eventually(suite.drained)
        assert len(await changes(suite, settings, "childrens", "acme-care")) == 1


async def _at_least(found, count: int) -> list:
    events = await found
    return events if len(events) >= count else []


async def test_bad_details_are_refused_naming_the_field(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        provider = await add(suite)
        duplicate = await suite.http.post("/api/v1/providers", json=ACME)
        assert duplicate.status_code == 409
        assert "acme-care" in duplicate.json()["detail"]

        backwards = {**ACME["contracts"][0], "starts_on": "2026-04-01", "ends_on": "2026-03-31"}
        answer = await suite.http.post(
            "/api/v1/providers",
            json={
                **ACME,
                "code": code(),
                "name": "",
                "contracts": [backwards],
                "contacts": [{"name": "Pat", "email": "pat@home.invalid"}],
            },
        )
        assert answer.status_code == 422
        errors = {tuple(e["loc"]): e["msg"] for e in answer.json()["detail"]}
        assert set(errors) == {
            ("body", "name"),
            ("body", "contracts", 0, "ends_on"),
            ("body", "contacts", 0, "email"),
        }
        assert errors["body", "contacts", 0, "email"] == "value is not a valid email address"

        unknown = {**ACME["contracts"][0], "directorate": "housing"}
        answer = await suite.http.post(
            "/api/v1/providers", json={**ACME, "code": code(), "contracts": [unknown]}
        )
        assert answer.status_code == 422
        [error] = answer.json()["detail"]
        assert error["loc"] == ["body", "contracts", "0", "directorate"]
        assert "adults" in error["msg"]

        renamed = await suite.http.put(
            f"/api/v1/providers/{provider['id']}", json={**ACME, "code": "other"}
        )
        assert renamed.status_code == 422
        assert renamed.json()["detail"][0]["loc"] == ["body", "code"]
        missing = await suite.http.get(f"/api/v1/providers/{uuid.uuid4()}")
        assert missing.status_code == 404


async def test_listing_filters_by_active_kind_and_text(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        await add(suite)
        await add(
            suite,
            code="bay-view",
            name="Bay View Nursing",
            service_kind="nursing",
            aliases=["Bayview"],
            active=False,
        )

        async def codes(**query) -> list[str]:
            answer = await suite.http.get("/api/v1/providers", params=query)
            assert answer.status_code == 200, answer.text
            return [p["code"] for p in answer.json()]

        assert await codes() == ["acme-care", "bay-view"]
        assert await codes(active="false") == ["bay-view"]
        assert await codes(service_kind="home_care") == ["acme-care"]
        assert await codes(q="BAYVIEW") == ["bay-view"]
        assert await codes(q="acme-") == ["acme-care"]
        assert await codes(q="homecare") == ["acme-care"]
        assert await codes(q="nobody") == []


async def test_who_may_keep_and_read_the_register(settings: Settings, issuer: LocalIssuer) -> None:
    provider_client = issuer.add_client("acme-feed", Role.PROVIDER, provider="acme-care")
    viewer = issuer.add_client("figures", Role.REPORT_VIEWER)
    manager = issuer.add_client("manager", Role.SERVICE_MANAGER, service_areas=("Home care",))
    async with running(settings, create(settings)) as suite:
        provider = await add(suite)
        one = f"/api/v1/providers/{provider['id']}"
        routes = [
            ("POST", "/api/v1/providers", {"json": {**ACME, "code": code()}}),
            ("GET", "/api/v1/providers", {}),
            ("GET", "/api/v1/providers/unmatched", {}),
            (
                "POST",
                "/api/v1/providers/import",
                {"content": b"code,name,service_kind\n", "headers": {"content-type": "text/csv"}},
            ),
            ("GET", one, {}),
            ("PUT", one, {"json": ACME}),
            ("POST", f"{one}/matches", {"json": {"names": ["Acme"]}}),
        ]
        async with suite.client(issuer.token(provider_client)) as as_provider:
            for method, path, kwargs in routes:
                answer = await as_provider.request(method, path, **kwargs)
                assert answer.status_code == 403, (method, path, answer.text)
        async with suite.client(issuer.token(viewer)) as as_viewer:
            shown = (await as_viewer.get(one)).json()
            assert shown["name"] == "Acme Care Ltd" and shown["contacts"] == []
            assert (await as_viewer.put(one, json=ACME)).status_code == 403
        async with suite.client(issuer.token(manager)) as as_manager:
            [listed] = (await as_manager.get("/api/v1/providers")).json()
            assert listed["contacts"][0]["name"] == "Pat Manager"
            assert (await as_manager.post("/api/v1/providers/import")).status_code == 403
        async with suite.client(None) as anonymous:
            assert (await anonymous.get("/api/v1/providers")).status_code == 401

        audit = (await suite.http.get("/api/v1/audit/intake")).json()
        assert {"register_provider", "get_provider", "list_providers"} <= {
            entry["what"] for entry in audit
        }


HEADER = (
    "code,name,service_kind,cqc_location_ids,contract_reference,directorate,starts_on,"
    "ends_on,places,basis,contract_service_kind,contact_name,contact_role,contact_email,"
    "contact_phone,aliases,active\n"
)
REGISTER = HEADER + (
    # acme: two contracts, one contact repeated, details given once
    "acme-care,Acme Care Ltd,home_care,1-101;1-102,HC-1,adults,2026-04-01,,40,people,,"
    "Pat Manager,Manager,pat@acme-care.co.uk,,Acme Homecare; Acme,true\n"
    "acme-care,,,,HC-2,childrens,2026-04-01,2027-03-31,5,,supported_living,"
    "Pat Manager,Manager,pat@acme-care.co.uk,,,\n"
    # bay view: a good row and a bad one (the contract ends before it starts)
    "bay-view,Bay View Nursing,nursing,,BV-1,adults,2026-04-01,,30,beds,,,,,,,\n"
    "bay-view,,,,BV-2,adults,2026-04-01,2026-01-01,5,,,,,,,,\n"
    # cedar: an unknown directorate; dale: an unknown kind, and a row with no code
    "cedar,Cedar House,residential,,C-1,housing,2026-04-01,,10,,,,,,,,\n"
    "dale,Dale Lodge,castle,,,,,,,,,,,,,,\n"
    ",No Code Ltd,residential,,,,,,,,,,,,,,\n"
)


async def import_csv(suite: Running, body: str, status: int = 200) -> dict:
    answer = await suite.http.post(
        "/api/v1/providers/import",
        content=body.encode(),
        headers={"content-type": "text/csv; charset=utf-8"},
    )
    assert answer.status_code == status, answer.text
    return answer.json()


async def test_importing_the_register_from_csv(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        report = await import_csv(suite, REGISTER)
        assert (report["received"], report["created"], report["rejected"]) == (7, 2, 5)
        rows = {row["row"]: row for row in report["rows"]}
        assert [rows[n]["status"] for n in (1, 2)] == ["created", "created"]
        assert rows[3]["status"] == "rejected"
        assert rows[3]["problems"] == [
            {"field": "", "reason": "not imported: provider bay-view's row(s) 4 are invalid"}
        ]
        assert rows[4]["problems"] == [{"field": "ends_on", "reason": "is before starts_on"}]
        assert {(p["field"]) for p in rows[5]["problems"]} == {"directorate"}
        assert "adults" in rows[5]["problems"][0]["reason"]
        assert [p["field"] for p in rows[6]["problems"]] == ["service_kind"]
        assert rows[7]["problems"] == [{"field": "code", "reason": "is required"}]
        assert "pat@acme-care.co.uk" not in str(report)

        [acme] = (await suite.http.get("/api/v1/providers", params={"q": "acme"})).json()
        assert acme["cqc_location_ids"] == ["1-101", "1-102"]
        assert acme["aliases"] == ["Acme Homecare", "Acme"]
        assert [c["reference"] for c in acme["contracts"]] == ["HC-1", "HC-2"]
        assert acme["contracts"][1]["service_kind"] == "supported_living"
        assert len(acme["contacts"]) == 1
        assert [p["code"] for p in (await suite.http.get("/api/v1/providers")).json()] == [
            "acme-care"
        ]
        adults = await eventually(lambda: changes(suite, settings, "adults", "acme-care"))
        childrens = await eventually(lambda: changes(suite, settings, "childrens", "acme-care"))
        assert len(adults) == len(childrens) == 1

        again = await import_csv(suite, REGISTER)
        assert (again["unchanged"], again["created"], again["updated"]) == (2, 0, 0)
        await eventually(suite.drained)
        assert len(await changes(suite, settings, "adults", "*")) == 1

        renamed = REGISTER.replace("Acme Care Ltd", "Acme Care")
        assert (await import_csv(suite, renamed))["updated"] == 2
        assert (
            len(
                await eventually(
                    lambda: _at_least(changes(suite, settings, "adults", "acme-care"), 2)
                )
            )
            == 2
        )


async def test_an_import_with_no_valid_row_is_refused(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        report = await import_csv(suite, HEADER + "dale,Dale Lodge,castle,,,,,,,,,,,,,,\n", 422)
        assert report["rejected"] == report["received"] == 1
        [error] = (await import_csv(suite, "code,name\nx,y\n", 422))["detail"]
        assert error["loc"] == ["body"] and "service_kind" in error["msg"]
        answer = await suite.http.post("/api/v1/providers/import", json={"code": "x"})
        assert answer.status_code == 415
        conflicting = HEADER + (
            "e-one,Eden,home_care,,,,,,,,,,,,,,\ne-one,Eden Care,home_care,,,,,,,,,,,,,,\n"
        )
        [first, second] = (await import_csv(suite, conflicting, 422))["rows"]
        assert second["problems"] == [
            {"field": "name", "reason": "differs from row 1's for the same code"}
        ]
        assert first["problems"][0]["field"] == ""
