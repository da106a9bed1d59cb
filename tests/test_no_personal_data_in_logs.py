"""No complainant's details in the logs or the dead-letter stream, even when things fail.

The whole suite runs as ``complaints up`` (its real logging), and the database refuses,
through a trigger, first a request's insert (a 500) and then a handler's (retried, then
parked on the dead-letter stream). The complaint's name, email, address and summary are
distinctive; none may appear in anything the suite logged or in the parked message's
headers. On the embedded default, the files it made are owner-only.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import nats
import pytest
from sqlalchemy import make_url

from complaints_shared.contracts.subjects import DEAD_LETTERS
from complaints_shared.runtime.nats_permissions import ADMIN, PASSWORDS_FILE
from complaints_shared.testing.suite import SuiteProcess

pytestmark = pytest.mark.e2e

SECRETS = ("Quibblesworth", "zq-secret", "Hidden Lane", "XYZZY")
COMPLAINT = {
    "directorate": "adults",
    "received_on": "2026-04-02",
    "channel": "email",
    "complainant": {
        "name": "Zebedee Quibblesworth",
        "email": "zq-secret@example.org",
        "address": "7 Hidden Lane, Anytown",
    },
    "summary": "XYZZY: the carer did not arrive.",
}
REFUSE = "refused by the test"


class Refusals:
    """Makes one of a service's tables refuse inserts, on the suite's database."""

    def __init__(self, data_dir: Path, postgres_url: str | None) -> None:
        self.data_dir, self.postgres_url = data_dir, postgres_url

    def refuse(self, service: str, table: str) -> None:
        if self.postgres_url is None:
            self._sqlite(
                service,
                f"CREATE TRIGGER refuse BEFORE INSERT ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{REFUSE}'); END",
            )
        else:
            self._postgres(
                f"CREATE OR REPLACE FUNCTION public.refuse() RETURNS trigger LANGUAGE plpgsql "
                f"AS $$ BEGIN RAISE EXCEPTION '{REFUSE}'; END $$; "
                f"CREATE TRIGGER refuse BEFORE INSERT ON {service}.{table} "
                "FOR EACH ROW EXECUTE FUNCTION public.refuse()"
            )

    def allow(self, service: str, table: str) -> None:
        if self.postgres_url is None:
            self._sqlite(service, "DROP TRIGGER refuse")
        else:
            self._postgres(f"DROP TRIGGER refuse ON {service}.{table}")

    def _sqlite(self, service: str, statement: str) -> None:
        connection = sqlite3.connect(self.data_dir / f"{service}.db", timeout=30)
        try:
            connection.execute(statement)
        finally:
            connection.close()

    def _postgres(self, statement: str) -> None:
        async def run() -> None:
            url = make_url(self.postgres_url).set(drivername="postgresql")
            connection = await asyncpg.connect(url.render_as_string(hide_password=False))
            try:
                await connection.execute(statement)
            finally:
                await connection.close()

        asyncio.run(run())


@pytest.fixture(params=["embedded", "postgresql"])
def suite(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[SuiteProcess, Refusals]]:
    env = {"COMPLAINTS_MAX_DELIVER": "2", "COMPLAINTS_RETRY_BACKOFF": "[0.2]"}
    postgres_url = None
    if request.param == "postgresql":
        postgres_url = env["COMPLAINTS_DATABASE_URL"] = request.getfixturevalue("postgres_database")
    process = SuiteProcess(tmp_path / "data", env).start()
    yield process, Refusals(process.data_dir, postgres_url)
    process.kill()


def wait_for_log(process: SuiteProcess, text: str, timeout: float = 30.0) -> None:
    async def poll() -> None:
        while text not in process.log_path.read_text(errors="replace"):
            await asyncio.sleep(0.1)

    asyncio.run(asyncio.wait_for(poll(), timeout))


async def dead_letter_errors(nats_url: str, data_dir: Path) -> list[str]:
    """The dead letters' errors, read as the bus's ``admin`` (its password is in the
    suite's data folder, as operators' tools find it)."""
    known = json.loads((data_dir / "nats" / PASSWORDS_FILE).read_text())
    connection = await nats.connect(nats_url, user=ADMIN, password=known[ADMIN])
    try:
        js = connection.jetstream()
        subscription = await js.pull_subscribe(">", stream=DEAD_LETTERS.name)
        messages = await subscription.fetch(10, timeout=5)
        return [message.headers["Complaints-Error"] for message in messages]
    finally:
        await connection.close()


def test_failures_log_no_personal_data(suite: tuple[SuiteProcess, Refusals]) -> None:
    process, refusals = suite
    refusals.refuse("intake", "cases")
    failed = httpx.post(f"{process.url}/api/v1/complaints", json=COMPLAINT, timeout=10)
    assert failed.status_code == 500
    refusals.allow("intake", "cases")

    refusals.refuse("letters", "case_facts")
    logged = httpx.post(f"{process.url}/api/v1/complaints", json=COMPLAINT, timeout=10)
    assert logged.status_code == 201, logged.text
    wait_for_log(process, "message parked on the dead-letter stream")

    log = process.log_path.read_text(errors="replace")
    assert "Exception in ASGI application" in log  # the failed request was logged...
    assert "event handling failed; will retry" in log  # ...and so was the failed handler
    for secret in SECRETS:
        assert secret not in log
    nats_url = re.search(r"\(NATS (nats://[0-9.:]+),", log)
    assert nats_url is not None
    errors = asyncio.run(dead_letter_errors(nats_url.group(1), process.data_dir))
    assert errors and all("[SQL: INSERT INTO" in error for error in errors)
    for secret in SECRETS:
        assert not any(secret in error for error in errors)

    if refusals.postgres_url is None:  # the embedded default's files are owner-only
        made = [
            path
            for path in process.data_dir.rglob("*")
            if not path.name.startswith("suite-")  # the test's own copy of the output
        ]
        assert any(path.name == "intake.db-wal" for path in made)
        for path in made:
            try:
                mode = path.stat().st_mode
            except FileNotFoundError:  # a temporary file nats-server renamed meanwhile
                continue
            assert stat.S_IMODE(mode) & 0o077 == 0, path
