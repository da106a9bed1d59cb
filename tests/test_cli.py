"""The `complaints` command as an operator uses it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from complaints_shared.plugins import service_factories
from complaints_shared.runtime.nats_permissions import (
    authorization,
    bus_users,
    password_environment,
    passwords,
)
from complaints_shared.runtime.natsserver import NatsServer, free_port
from complaints_shared.settings import Settings

COMPLAINTS = str(Path(sys.executable).parent / "complaints")
SERVICES = {"intake", "deadlines", "letters", "learning", "reporting"}


def complaints(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COMPLAINTS_")}
    return subprocess.run(
        [COMPLAINTS, *args],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_plugins_lists_every_installed_service() -> None:
    result = complaints("plugins", "--json")
    assert result.returncode == 0, result.stderr
    plugins = json.loads(result.stdout)
    services = {p["name"]: p for p in plugins if p["group"] == "complaints.services"}
    assert set(services) == SERVICES
    assert services["letters"]["distribution"] == "complaints-letters"
    assert services["letters"]["target"] == "complaints_letters.service:create"


def test_run_needs_its_servers_named() -> None:
    no_nats = complaints("run", "intake")
    assert no_nats.returncode == 2
    assert "COMPLAINTS_NATS_URL" in no_nats.stderr
    no_db = complaints("run", "intake", env={"COMPLAINTS_NATS_URL": "nats://127.0.0.1:1"})
    assert no_db.returncode == 2
    assert "COMPLAINTS_DATABASE_URL" in no_db.stderr
    no_issuer = complaints(
        "run",
        "intake",
        env={"COMPLAINTS_NATS_URL": "nats://127.0.0.1:1", "COMPLAINTS_DATABASE_URL": "sqlite://"},
    )
    assert no_issuer.returncode == 2
    assert "COMPLAINTS_OIDC_ISSUER" in no_issuer.stderr
    unknown = complaints(
        "run",
        "payroll",
        env={
            "COMPLAINTS_NATS_URL": "nats://127.0.0.1:1",
            "COMPLAINTS_DATABASE_URL": "sqlite://",
            "COMPLAINTS_OIDC_ISSUER": "https://issuer.example",
        },
    )
    assert unknown.returncode == 2
    assert "no service plugin named payroll" in unknown.stderr
    assert "letters" in unknown.stderr


@pytest.fixture
def nats_for_letters(tmp_path: Path) -> Iterator[tuple[NatsServer, str]]:
    """A server admitting only letters' user (as generated), and that user's password."""
    settings = Settings(organisation="runtest", database_url="sqlite+aiosqlite:///:memory:")
    users = bus_users([create(settings) for create in service_factories(["letters"]).values()])
    known = passwords(tmp_path / "passwords.json", [user.name for user in users])
    environment = password_environment(known)
    with NatsServer(
        tmp_path / "nats", authorization=authorization(users), environment=environment
    ) as server:
        yield server, known["letters"]


def test_run_serves_one_service_configured_from_the_environment(
    nats_for_letters: tuple[NatsServer, str], issuer, tmp_path: Path
) -> None:
    nats_server, password = nats_for_letters
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPLAINTS_")} | {
        "COMPLAINTS_NATS_URL": nats_server.url,
        "COMPLAINTS_NATS_USER": "letters",
        "COMPLAINTS_NATS_PASSWORD": password,
        "COMPLAINTS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/{{service}}.db",
        "COMPLAINTS_HTTP_PORT": str(port),
        "COMPLAINTS_ORGANISATION": "runtest",
        "COMPLAINTS_OIDC_ISSUER": issuer.url,
    }
    process = subprocess.Popen(
        [COMPLAINTS, "run", "letters"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 30
        ready = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1)
                if ready.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        assert ready is not None and ready.status_code == 200
        assert set(ready.json()["services"]) == {"letters"}
        assert (tmp_path / "letters.db").exists() and not (tmp_path / "intake.db").exists()
        only_letters = httpx.get(f"http://127.0.0.1:{port}/api/v1/complaints", timeout=5)
        assert only_letters.status_code == 404
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0].decode()
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the process ends by it,
    # as a container runtime expects; the log shows the services were stopped first.
    assert process.returncode == -signal.SIGTERM, output
    assert '"services stopped"' in output


def test_nats_config_is_for_the_organisation_named() -> None:
    result = complaints("nats-config", "--organisation", "acme")
    assert result.returncode == 0, result.stderr
    assert '"complaints.acme.*.case.received.v1"' in result.stdout
    assert '"$JS.ACK.COMPLAINTS_CASES.acme-letters-cases.>"' in result.stdout
    assert "demo" not in result.stdout
    assert "provider-" not in result.stdout  # no provider listens unless named


def test_nats_config_adds_a_listening_user_for_each_provider_named() -> None:
    result = complaints("nats-config", "--organisation", "acme", "--provider", "oakwood")
    assert result.returncode == 0, result.stderr
    assert 'user: "provider-oakwood"' in result.stdout
    assert "$NATS_PASSWORD_PROVIDER_OAKWOOD" in result.stdout
    assert '"complaints.acme.*.provider.return_recorded.v1.oakwood"' in result.stdout


def test_schema_check_names_what_is_out_of_date(tmp_path: Path) -> None:
    result = complaints("schemas", "--check", "--root", str(tmp_path))
    assert result.returncode == 1
    assert "case.received.v1.json" in result.stderr and "openapi.json" in result.stderr
    assert "nats-server.conf" in result.stderr
    assert not (tmp_path / "docs").exists()  # --check writes nothing


def test_workdays_counts_bank_holidays_and_the_organisations_closures() -> None:
    # 20 working days from Wed 23 Dec 2026 skip Christmas, Boxing Day (observed Mon 28)
    # and New Year's Day: Mon 25 Jan 2027.
    assert complaints("workdays", "add", "2026-12-23", "20").stdout.strip() == "2027-01-25"
    assert complaints("workdays", "between", "2026-12-23", "2027-01-25").stdout.strip() == "20"
    closures = {"COMPLAINTS_CLOSURES": '{"demo": {"2027-01-04": "Stocktake"}}'}
    closed = complaints("workdays", "add", "2026-12-23", "20", env=closures)
    assert closed.stdout.strip() == "2027-01-26"
    other = complaints(
        "workdays", "--organisation", "other", "add", "2026-12-23", "20", env=closures
    )
    assert other.stdout.strip() == "2027-01-25"
    outside = complaints("workdays", "add", "1985-01-01", "3")
    assert outside.returncode == 2
    assert "outside the calendar's range" in outside.stderr
