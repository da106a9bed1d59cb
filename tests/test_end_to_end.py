"""The suite as users run it (`complaints up`), driven over HTTP.

Runs on the embedded defaults (bundled nats-server, SQLite files) and on PostgreSQL.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from complaints_shared.testing.suite import EXAMPLE_COMPLAINT as COMPLAINT
from complaints_shared.testing.suite import SuiteProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(params=["embedded", "postgresql"])
def suite(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SuiteProcess]:
    env = {}
    if request.param == "postgresql":
        env["COMPLAINTS_DATABASE_URL"] = request.getfixturevalue("postgres_database")
    process = SuiteProcess(tmp_path / "data", env).start()
    yield process
    process.kill()


def wait_for(get, check, timeout: float = 15.0):
    """Poll an HTTP GET until ``check(json)`` holds; return that JSON."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        body = get().json()
        if check(body):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout}s; last answer: {body}")
        time.sleep(0.05)


def flow_finished(client: httpx.Client, case_id: str, timeout: float = 15.0) -> tuple[list, list]:
    """Wait for a case's deadlines and acknowledgement letter.

    After a crash, a message that was in flight is redelivered once its ack wait
    (10 s) runs out, so callers after a kill allow for that.
    """
    deadlines = wait_for(
        lambda: client.get("/api/v1/deadlines", params={"case_id": case_id}),
        lambda body: len(body) == 3,  # acknowledgement, response, 6-month limit
        timeout,
    )
    letters = wait_for(
        lambda: client.get("/api/v1/letters", params={"case_id": case_id}),
        lambda body: len(body) >= 1,
        timeout,
    )
    return deadlines, letters


def test_a_complaint_flows_through_every_service(suite: SuiteProcess) -> None:
    with suite.client() as client:
        created = client.post("/api/v1/complaints", json=COMPLAINT)
        assert created.status_code == 201, created.text
        case = created.json()
        assert case["reference"] == "ASC-2026-00001"

        deadlines, letters = flow_finished(client, case["id"])
        due = {d["kind"]: d["due"] for d in deadlines}
        assert due == {
            "acknowledgement": "2026-04-09",
            "response": "2026-05-05",
            "statutory_limit": "2026-10-02",  # 6 calendar months
        }
        skipped = {d["kind"]: [s["reason"] for s in d["skipped"]] for d in deadlines}
        assert skipped["response"] == ["Good Friday", "Easter Monday", "May Day"]

        assert [letter["kind"] for letter in letters] == ["acknowledgement"]
        html = client.get(f"/api/v1/letters/{letters[0]['id']}", params={"format": "html"})
        assert html.headers["content-type"].startswith("text/html")
        for expected in (
            "ASC-2026-00001",
            "Ann Example",
            "Thursday 2 April 2026",  # received
            "Tuesday 5 May 2026",  # response due
            "Customer Relations Team",  # who handles it
            "advocate",
            "will not affect",
        ):
            assert expected in html.text, expected

        triaged = client.post(
            f"/api/v1/complaints/{case['id']}/triage",
            json={"decision": "accepted", "decided_on": "2026-04-02"},
        )
        assert triaged.status_code == 200, triaged.text
        response = client.post(
            f"/api/v1/complaints/{case['id']}/response",
            json={
                "outcome": "partially_upheld",
                "responded_on": "2026-04-30",
                "learning_actions": [
                    {
                        "description": "Rota checks",
                        "owner": "Home care manager",
                        "due_on": "2026-06-30",
                    },
                    {
                        "description": "Missed-visit alerts",
                        "owner": "Commissioning lead",
                        "due_on": "2026-07-31",
                    },
                ],
            },
        )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "responded"

        actions = wait_for(
            lambda: client.get("/api/v1/learning-actions", params={"case_id": case["id"]}),
            lambda body: len(body) == 2,
        )
        assert {a["lead"] for a in actions} == {"Home care manager", "Commissioning lead"}
        summary = wait_for(
            lambda: client.get("/api/v1/reports/summary"),
            lambda body: body["total"]["responded"] == 1,
        )
        adults = summary["directorates"]["adults"]
        assert adults["received"] == 1
        assert adults["outcomes"] == {"upheld": 0, "partially_upheld": 1, "not_upheld": 0}
        met = wait_for(
            lambda: client.get("/api/v1/deadlines", params={"case_id": case["id"]}),
            lambda body: all(d["status"] == "met" for d in body),
        )
        assert {d["kind"]: d["met_on"] for d in met}["response"] == "2026-04-30"

        again = client.post(
            f"/api/v1/complaints/{case['id']}/response",
            json={"outcome": "upheld", "responded_on": "2026-05-01"},
        )
        assert again.status_code == 409
        assert "ASC-2026-00001" in again.json()["detail"]


def test_bad_input_names_each_bad_field(suite: SuiteProcess) -> None:
    bad = {
        **COMPLAINT,
        "channel": "pigeon",
        "received_on": "2026-13-01",
        "complainant": {"email": "not-an-email"},
        "directorate": "adults",
    }
    with suite.client() as client:
        answer = client.post("/api/v1/complaints", json=bad)
        assert answer.status_code == 422
        locations = {tuple(error["loc"]) for error in answer.json()["detail"]}
        assert locations == {
            ("body", "channel"),
            ("body", "received_on"),
            ("body", "complainant", "name"),
            ("body", "complainant", "email"),
        }
        unknown = client.post("/api/v1/complaints", json={**COMPLAINT, "directorate": "parks"})
        assert unknown.status_code == 422
        assert unknown.json()["detail"][0]["loc"] == ["body", "directorate"]
        assert "adults" in unknown.json()["detail"][0]["msg"]
        assert client.get("/api/v1/complaints").json() == []  # nothing half-made


def test_killed_mid_flow_the_restarted_suite_loses_nothing_and_sends_no_letter_twice(
    suite: SuiteProcess,
) -> None:
    with suite.client() as client:
        ids = [client.post("/api/v1/complaints", json=COMPLAINT).json()["id"] for _ in range(3)]
    suite.kill()  # SIGKILL right after the posts, with the flow under way

    suite.start()
    with suite.client() as client:
        for case_id in ids:
            deadlines, _ = flow_finished(client, case_id, timeout=40)
            assert len(deadlines) == 3
        references = sorted(c["reference"] for c in client.get("/api/v1/complaints").json())
        assert references == ["ASC-2026-00001", "ASC-2026-00002", "ASC-2026-00003"]
        summary = wait_for(
            lambda: client.get("/api/v1/reports/summary"),
            lambda body: body["total"]["received"] == 3,
            40,
        )
        assert summary["total"]["received"] == 3

    suite.kill()  # and once more, after everything was sent: redelivery must not resend
    suite.start()
    with suite.client() as client:
        import time

        time.sleep(1.5)
        for case_id in ids:
            letters = client.get("/api/v1/letters", params={"case_id": case_id}).json()
            kinds = [letter["kind"] for letter in letters]
            assert kinds.count("acknowledgement") == 1, letters  # (and holding drafts)


def test_ctrl_c_stops_cleanly_and_data_survives(suite: SuiteProcess) -> None:
    with suite.client() as client:
        case_id = client.post("/api/v1/complaints", json=COMPLAINT).json()["id"]
        flow_finished(client, case_id)
    assert suite.interrupt() == 0
    suite.start()
    with suite.client() as client:
        assert client.get(f"/api/v1/complaints/{case_id}").json()["reference"] == "ASC-2026-00001"
        letters = client.get("/api/v1/letters", params={"case_id": case_id}).json()
        assert [x["kind"] for x in letters].count("acknowledgement") == 1


def signed_in_client(suite: SuiteProcess, name: str, *options: str) -> str:
    """A token for a client made as the README makes one: `complaints clients add`, then
    client credentials at the embedded issuer."""
    complaints = Path(sys.executable).parent / "complaints"
    added = subprocess.run(
        [complaints, "clients", "add", name, *options, "--data-dir", str(suite.data_dir)],
        capture_output=True,
        text=True,
        check=True,
    )
    secret = added.stdout.rsplit("client secret: ", 1)[1].strip()
    return httpx.post(
        f"{suite.url}/issuer/token",
        data={"grant_type": "client_credentials"},
        auth=(name, secret),
    ).json()["access_token"]


def test_the_first_run_creates_an_administrator_who_can_sign_in(tmp_path: Path) -> None:
    """Nothing but the README: the first `up` prints how to sign in; a script's client
    made with `complaints clients add` gets a token from the embedded issuer."""

    suite = SuiteProcess(tmp_path / "data").start()
    try:
        printed = re.search(r"username admin, password (\S+)", suite.tail(50))
        assert printed, suite.tail(50)
        with httpx.Client(base_url=suite.url, timeout=10) as anonymous:
            assert anonymous.get("/api/v1/complaints").status_code == 401
            discovery = anonymous.get("/issuer/.well-known/openid-configuration").json()
            assert discovery["issuer"] == f"{suite.url}/issuer"
            assert anonymous.get("/health/ready").status_code == 200
        token = signed_in_client(suite, "reader", "--role", "report_viewer")
        with httpx.Client(
            base_url=suite.url, headers={"Authorization": f"Bearer {token}"}
        ) as reader:
            assert reader.get("/api/v1/reports/summary").status_code == 200
            assert reader.get("/api/v1/complaints").status_code == 403
        suite.interrupt()
        suite.start()  # the administrator exists now: no new password
        assert "username admin" not in suite.tail(50)
    finally:
        suite.kill()


def test_a_provider_sends_its_first_return_as_the_readme_shows(tmp_path: Path) -> None:
    """The README's steps for a provider, on `complaints up`: the council registers it
    and makes its credentials with the command; it signs in by client credentials and
    sends the README's own CSV; sent again, nothing changes; its figures are its own."""

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    returns_csv = re.search(r"cat > returns.csv <<'CSV'\n(.*?)\nCSV\n", readme, re.DOTALL)
    assert returns_csv, "the README's provider section lost its CSV"
    suite = SuiteProcess(tmp_path / "data").start()
    try:
        with suite.client() as council:
            registered = council.post(
                "/api/v1/providers",
                json={
                    "code": "brookfield",
                    "name": "Brookfield Home Care Ltd",
                    "service_kind": "home_care",
                    "contracts": [
                        {
                            "reference": "ASC-HC-17",
                            "directorate": "adults",
                            "starts_on": "2026-04-01",
                            "places": 240,
                        }
                    ],
                },
            )
            assert registered.status_code == 201, registered.text
        token = signed_in_client(
            suite, "brookfield-feed", "--role", "provider", "--provider", "brookfield"
        )
        with httpx.Client(
            base_url=suite.url, headers={"Authorization": f"Bearer {token}"}, timeout=10
        ) as provider:
            body = returns_csv.group(1).encode() + b"\n"
            headers = {"content-type": "text/csv"}
            sent = provider.post("/api/v1/provider-feed/returns", content=body, headers=headers)
            assert sent.status_code == 200, sent.text
            assert (sent.json()["created"], sent.json()["rejected"]) == (2, 0)
            again = provider.post("/api/v1/provider-feed/returns", content=body, headers=headers)
            assert again.json()["unchanged"] == 2
            assert provider.get("/api/v1/complaints").status_code == 403
            mine = wait_for(
                lambda: provider.get(
                    "/api/v1/reports/providers/mine", params={"year": 2026, "quarter": 2}
                ),
                lambda body: (
                    body.get("providers")
                    and body["providers"][0]["figures"]["complaints"]["total"] == 2
                ),
                timeout=30,
            )
            assert [line["code"] for line in mine["providers"]] == ["brookfield"]
    finally:
        suite.kill()
