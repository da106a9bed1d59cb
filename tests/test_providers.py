"""Commissioned providers across the suite, on real NATS and the test's database.

The council registers three providers. Two send their returns for the second quarter
of 2026-27 (July to September) through their own credentials, as JSON and as CSV,
each batch with good and bad rows; sent again, nothing changes. One refers a complaint,
which becomes a council case under the adults' procedure with its deadlines. Neither
provider can read or write the other's returns on any route, and the contract
monitoring report for the quarter gives the figures counted by hand below, with the
third provider flagged for a missing return.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx

from complaints_deadlines.service import create as create_deadlines
from complaints_intake.service import create as create_intake
from complaints_learning.service import create as create_learning
from complaints_letters.service import create as create_letters
from complaints_reporting.service import create as create_reporting
from complaints_shared.auth import Role
from complaints_shared.settings import Settings
from complaints_shared.testing.harness import Running, eventually, running
from complaints_shared.testing.issuer import LocalIssuer

SERVICES = (create_intake, create_deadlines, create_letters, create_learning, create_reporting)
YEAR, QUARTER = 2026, 2  # 1 July to 30 September 2026, ended


def provider(code: str, name: str, kind: str, places: int, basis: str) -> dict[str, Any]:
    return {
        "code": code,
        "name": name,
        "service_kind": kind,
        "contracts": [
            {
                "reference": f"{code.upper()}-1",
                "directorate": "adults",
                "starts_on": "2025-04-01",
                "places": places,
                "basis": basis,
            }
        ],
    }


ALPHA = provider("alpha-care", "Alpha Home Care Ltd", "home_care", 200, "people")
BETA = provider("beta-house", "Beta House Residential", "residential", 40, "beds")
GAMMA = provider("gamma-nursing", "Gamma Nursing Home", "nursing", 30, "beds")

ALPHA_ROWS = [
    {  # row 1: answered in 15 working days, upheld
        "provider_reference": "A-001",
        "received_on": "2026-07-10",
        "primary_subject": "Standard of care",
        "responded_on": "2026-07-31",
        "outcome": "upheld",
        "resolved": True,
        "summary": "Carers arrived late on four mornings.",
    },
    {  # row 2: not yet answered; referred to the council below
        "provider_reference": "A-002",
        "received_on": "2026-08-05",
        "primary_subject": "Communication",
        "summary": "Nobody told the family the rota had changed.",
    },
    {"provider_reference": "A-003", "received_on": "2026-13-01"},  # row 3: no such date
    {"provider_reference": "A-004", "kind": "compliment", "received_on": "2026-09-01"},
    {  # row 5: an outcome with no response
        "provider_reference": "A-005",
        "received_on": "2026-09-02",
        "outcome": "not_upheld",
    },
]

BETA_CSV = """provider_reference,received_on,primary_subject,responded_on,outcome,kind
B-001,2026-07-20,Standard of care,2026-08-28,not_upheld,complaint
B-002,2026-07-21,Standard of care,,,grumble
B-003,2026-09-15,Financial / cost issues,,,complaint
"""


async def sign_in_provider(issuer: LocalIssuer, code: str) -> str:
    return issuer.token(issuer.add_client(f"{code}-feed", Role.PROVIDER, provider=code))


def rows_of(report: dict[str, Any]) -> dict[int, tuple[str, list[str]]]:
    return {
        row["row"]: (row["status"], [problem["field"] for problem in row["problems"]])
        for row in report["rows"]
    }


async def test_two_providers_send_returns_refer_one_and_are_counted(
    settings: Settings, issuer: LocalIssuer
) -> None:
    async with running(settings, *(create(settings) for create in SERVICES)) as suite:
        ids = {}
        for details in (ALPHA, BETA, GAMMA):
            registered = await suite.http.post("/api/v1/providers", json=details)
            assert registered.status_code == 201, registered.text
            ids[details["code"]] = registered.json()["id"]
        alpha = suite.client(await sign_in_provider(issuer, "alpha-care"))
        beta = suite.client(await sign_in_provider(issuer, "beta-house"))
        async with alpha, beta:
            await send_returns(alpha, beta)
            case = await refer(suite, alpha)
            await cannot_cross(alpha, beta)
            # The council logs a complaint about Beta House itself.
            logged = await suite.http.post(
                "/api/v1/complaints",
                json={
                    "directorate": "adults",
                    "received_on": "2026-08-10",
                    "channel": "telephone",
                    "complainant": {"name": "Sam Example", "phone": "01234 567890"},
                    "summary": "My father's room was cold for a week.",
                    "provider_id": ids["beta-house"],
                    "primary_subject": "Standard of care",
                },
            )
            assert logged.status_code == 201, logged.text
            await counted(suite, alpha, case)


async def send_returns(alpha: httpx.AsyncClient, beta: httpx.AsyncClient) -> None:
    sent = await alpha.post("/api/v1/provider-feed/returns", json=ALPHA_ROWS)
    assert sent.status_code == 200, sent.text
    report = sent.json()
    assert rows_of(report) == {
        1: ("created", []),
        2: ("created", []),
        3: ("rejected", ["received_on"]),
        4: ("created", []),
        5: ("rejected", ["outcome"]),
    }
    assert "2026-13-01" not in sent.text  # what was sent is never echoed
    again = await alpha.post("/api/v1/provider-feed/returns", json=ALPHA_ROWS)
    assert (again.json()["unchanged"], again.json()["created"]) == (3, 0)

    sent = await beta.post(
        "/api/v1/provider-feed/returns",
        content=BETA_CSV.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert sent.status_code == 200, sent.text
    assert rows_of(sent.json()) == {
        1: ("created", []),
        2: ("rejected", ["kind"]),
        3: ("created", []),
    }
    again = await beta.post(
        "/api/v1/provider-feed/returns",
        content=BETA_CSV.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert again.json()["unchanged"] == 2

    listed = (await alpha.get("/api/v1/provider-feed/returns")).json()
    assert sorted(r["provider_reference"] for r in listed) == ["A-001", "A-002", "A-004"]


async def refer(suite: Running, alpha: httpx.AsyncClient) -> dict[str, Any]:
    """Alpha refers A-002: a council case under the adults' procedure, with deadlines."""
    referred = await alpha.post(
        "/api/v1/provider-feed/returns/A-002/referral",
        json={"complainant": {"name": "Jo Example", "email": "jo@example.org"}},
    )
    assert referred.status_code == 201, referred.text
    case_id = referred.json()["case_id"]
    again = await alpha.post(
        "/api/v1/provider-feed/returns/A-002/referral",
        json={"complainant": {"name": "Jo Example", "email": "jo@example.org"}},
    )
    assert (again.status_code, again.json()["case_id"]) == (200, case_id)

    case = (await suite.http.get(f"/api/v1/complaints/{case_id}")).json()
    assert case["procedure"] == "adults"
    assert case["provider"] == "Alpha Home Care Ltd"
    assert case["provider_reference"] == "A-002"

    async def deadlines() -> set[str]:
        found = await suite.http.get("/api/v1/deadlines", params={"case_id": case_id})
        kinds = {d["kind"] for d in found.json()}
        return kinds if {"acknowledgement", "response"} <= kinds else set()

    await eventually(deadlines)
    return case


async def cannot_cross(alpha: httpx.AsyncClient, beta: httpx.AsyncClient) -> None:
    """Every feed route, with the other provider's reference: as if it did not exist."""
    for client, theirs in ((alpha, "B-001"), (beta, "A-001")):
        for method, path, body in (
            ("GET", f"/api/v1/provider-feed/returns/{theirs}", None),
            ("PATCH", f"/api/v1/provider-feed/returns/{theirs}", {"resolved": True}),
            (
                "POST",
                f"/api/v1/provider-feed/returns/{theirs}/referral",
                {"complainant": {"name": "X Example", "email": "x@example.org"}},
            ),
        ):
            answer = await client.request(method, path, json=body)
            assert answer.status_code == 404, (method, path, answer.text)
    own = {"alpha": {"A-001", "A-002", "A-004"}, "beta": {"B-001", "B-003"}}
    for name, client in (("alpha", alpha), ("beta", beta)):
        listed = (await client.get("/api/v1/provider-feed/returns")).json()
        assert {r["provider_reference"] for r in listed} == own[name]
    # A row naming the other provider is refused, and nothing of it lands.
    forged = await alpha.post(
        "/api/v1/provider-feed/returns",
        json=[
            {"provider_reference": "B-009", "provider": "beta-house", "received_on": "2026-07-01"}
        ],
    )
    assert forged.status_code == 422
    assert rows_of(forged.json()) == {1: ("rejected", ["provider"])}
    nil = await beta.post("/api/v1/provider-feed/nil-returns", json={"year": YEAR, "quarter": 1})
    assert nil.status_code == 201, nil.text


async def counted(suite: Running, alpha: httpx.AsyncClient, case: dict[str, Any]) -> None:
    """The quarter's contract monitoring report, against a hand count.

    Alpha: notified A-001 and A-002 (A-004 is a compliment); A-002 was referred, so the
    council's case for it is the same complaint: 2 in all, 1 upheld, 1 not yet decided
    (the council has not answered A-002); A-001 answered in 15 working days. 200 people
    contracted: 1.0 per 100. One compliment.
    Beta: notified B-001 and B-003, and the council logged one: 3 in all; B-001 not
    upheld after 29 working days (Monday 20 July to Friday 28 August: six weeks less
    one day); 40 beds: 7.5 per 100.
    Gamma: nothing, and no nil return: missing.
    """

    async def report() -> dict[str, Any] | None:
        found = await suite.http.get(
            "/api/v1/reports/providers", params={"year": YEAR, "quarter": QUARTER}
        )
        totals = {p["code"]: p["figures"]["complaints"] for p in found.json()["providers"]}
        complete = (
            totals.get("alpha-care", {}).get("logged_by_council") == 1
            and totals.get("beta-house", {}).get("total") == 3
        )
        return found.json() if complete else None

    found = await eventually(report)
    by_code = {line["code"]: line for line in found["providers"]}
    alpha_figures = by_code["alpha-care"]["figures"]
    assert alpha_figures["complaints"] == {
        "notified_by_provider": 2,
        "logged_by_council": 1,
        "referred_by_provider": 1,
        "total": 2,
    }
    assert alpha_figures["outcomes"]["upheld"] == 1
    assert alpha_figures["outcomes"]["not_yet_decided"] == 1
    assert alpha_figures["response_times"]["longest_working_days"] == 15
    assert alpha_figures["compliments"] == 1
    assert (alpha_figures["places"], alpha_figures["complaints_per_100_places"]) == (200, 1.0)
    beta_figures = by_code["beta-house"]["figures"]
    assert beta_figures["complaints"]["total"] == 3
    assert beta_figures["outcomes"]["not_upheld"] == 1
    assert beta_figures["response_times"]["longest_working_days"] == 29
    assert (beta_figures["places"], beta_figures["complaints_per_100_places"]) == (40, 7.5)
    assert [code for code, line in by_code.items() if line["missing_return"]] == ["gamma-nursing"]

    as_csv = await suite.http.get(
        "/api/v1/reports/providers", params={"year": YEAR, "quarter": QUARTER, "format": "csv"}
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert any(
        "Gamma Nursing Home" in ",".join(row) for row in csv.reader(io.StringIO(as_csv.text))
    )

    mine = (
        await alpha.get("/api/v1/reports/providers/mine", params={"year": YEAR, "quarter": QUARTER})
    ).json()
    assert [line["code"] for line in mine["providers"]] == ["alpha-care"]
    assert mine["providers"][0]["figures"]["complaints"]["total"] == 2
    assert "beta-house" not in str(mine) and "Beta House" not in str(mine)
