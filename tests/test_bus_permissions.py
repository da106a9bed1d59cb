"""Each service on the bus as its own NATS user: what it declares it may do, and no more.

Every service runs through the harness against a nats-server configured with the
generated ``authorization`` block (``runtime/nats_permissions.py``), as ``complaints
up`` and the production configuration are.
"""

from __future__ import annotations

import contextlib
import json
import re
import stat
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import nats.errors
import pytest
from nats.aio.client import Client

from complaints_shared.bus import inbox_prefix
from complaints_shared.contracts.subjects import DEADLINES
from complaints_shared.plugins import service_factories
from complaints_shared.runtime.nats_permissions import (
    ADMIN,
    PASSWORD_PATTERN,
    PASSWORDS_FILE,
    BusUser,
    authorization,
    bus_users,
    new_password,
    password_environment,
    passwords,
    provider_user,
)
from complaints_shared.runtime.natsserver import NatsServer
from complaints_shared.service import Service
from complaints_shared.settings import NatsCredentials, Settings
from complaints_shared.testing.cases import Case
from complaints_shared.testing.harness import Running, eventually, running
from complaints_shared.testing.issuer import AUDIENCE, LocalIssuer
from complaints_shared.testing.suite import EXAMPLE_COMPLAINT, SuiteProcess


@contextlib.asynccontextmanager
async def suite_as_users(
    tmp_path: Path, issuer: LocalIssuer
) -> AsyncIterator[tuple[Running, dict[str, str]]]:
    """Every installed service, each as its own user, on a server that admits only them."""
    settings = Settings(
        organisation=f"t{uuid.uuid4().hex[:10]}",
        database_url=f"sqlite+aiosqlite:///{tmp_path}/{{service}}.db",
        data_dir=tmp_path,
        oidc_issuer=issuer.url,
        oidc_audience=AUDIENCE,
    )
    services: list[Service] = [create(settings) for create in service_factories().values()]
    users = bus_users(services)
    known = passwords(tmp_path / "passwords.json", [user.name for user in users])
    server = NatsServer(
        tmp_path / "nats",
        authorization=authorization(users),
        environment=password_environment(known),
    ).start()
    try:
        settings = settings.model_copy(update={"nats_url": server.url})
        credentials = {s.name: NatsCredentials(s.name, known[s.name]) for s in services}
        async with running(
            settings,
            *services,
            credentials=credentials,
            observer=NatsCredentials(ADMIN, known[ADMIN]),
        ) as suite:
            yield suite, known
    finally:
        server.stop()


async def connect_as(url: str, user: str, password: str) -> tuple[Client, list[str]]:
    """A connection as ``user``, and the errors the server sends it (lower case)."""
    errors: list[str] = []

    async def record(error: Exception) -> None:
        errors.append(str(error))

    client = await nats.connect(
        url,
        user=user,
        password=password,
        inbox_prefix=inbox_prefix(user),
        error_cb=record,
        allow_reconnect=False,
    )
    return client, errors


async def test_every_service_does_its_work_as_its_own_user(
    tmp_path: Path, issuer: LocalIssuer
) -> None:
    async with suite_as_users(tmp_path, issuer) as (suite, _):
        case = await Case.log(suite, EXAMPLE_COMPLAINT)
        await case.act("triage", decision="accepted", decided_on="2026-04-02")

        async def deadlines() -> list:  # intake -> deadlines (a consumer, then a publish)
            found = await suite.http.get("/api/v1/deadlines", params={"case_id": case.id})
            return found.json() if len(found.json()) == 3 else []

        async def letters() -> list:  # deadlines -> letters -> deadlines
            found = await suite.http.get("/api/v1/letters", params={"case_id": case.id})
            return found.json()

        await eventually(deadlines)
        await eventually(letters)
        await eventually(suite.quiet, timeout=20)
        readiness = await suite.http.get("/health/ready")
        assert readiness.status_code == 200, readiness.json()
        assert all(report["bus"] for report in readiness.json()["services"].values())


async def test_a_service_cannot_publish_or_read_what_is_not_its_own(
    tmp_path: Path, issuer: LocalIssuer
) -> None:
    async with suite_as_users(tmp_path, issuer) as (suite, known):
        settings = suite.host.settings
        organisation = settings.organisation
        deadline_met = f"complaints.{organisation}.adults.deadline.met.v1"

        # Through intake's own connection in the host: the stream never answers.
        intake_js = suite.host.brokers["intake"].config.connection_state.stream
        with pytest.raises(nats.errors.TimeoutError):
            await intake_js.publish(deadline_met, b"{}", stream=DEADLINES.name, timeout=1)
        assert await suite.messages(DEADLINES.name, deadline_met) == []

        # The server says why (intake's own events go through: the test above).
        intake, said = await connect_as(settings.nats_url, "intake", known["intake"])
        try:
            await intake.publish(deadline_met, b"{}")
            await intake.flush()
            await eventually(lambda: _said(said, f'publish to "{deadline_met}"'))
        finally:
            await intake.close()

        # Letters may neither read intake's consumer nor listen to intake's deliveries
        # nor to the raw subjects.
        [intake_reads_deadlines] = [
            c.name
            for s in suite.host.services
            if s.name == "intake"
            for c in s.consumers.values()
            if c.stream is DEADLINES
        ]
        letters, said = await connect_as(settings.nats_url, "letters", known["letters"])
        try:
            js = letters.jetstream()
            pull = await js.pull_subscribe_bind(intake_reads_deadlines, stream=DEADLINES.name)
            with pytest.raises(nats.errors.TimeoutError):
                await pull.fetch(1, timeout=1)
            await eventually(lambda: _said(said, f".msg.next.{DEADLINES.name.lower()}."))
            with pytest.raises(nats.errors.TimeoutError):
                await js.add_consumer(
                    DEADLINES.name, durable_name=intake_reads_deadlines, timeout=1
                )
            for subject in (f"{inbox_prefix('intake')}.>", f"complaints.{organisation}.>"):
                await letters.subscribe(subject)
                await letters.flush()
                await eventually(lambda s=subject: _said(said, f'subscription to "{s.lower()}"'))
        finally:
            await letters.close()

        with pytest.raises(nats.errors.Error, match="Authorization Violation"):  # no user
            await nats.connect(settings.nats_url, allow_reconnect=False, connect_timeout=2)


async def test_a_provider_hears_its_own_events_and_no_one_elses(tmp_path: Path) -> None:
    """Provider events' subjects end in the provider's code, so a provider's system can be
    a NATS user that hears its own register entry and returns and nothing else."""
    organisation = f"t{uuid.uuid4().hex[:10]}"
    users = [BusUser(ADMIN, None, None), *(provider_user(organisation, c) for c in ("ab", "cd"))]
    known = passwords(tmp_path / "passwords.json", [user.name for user in users])
    server = NatsServer(
        tmp_path / "nats",
        authorization=authorization(users),
        environment=password_environment(known),
    ).start()
    admin = await nats.connect(server.url, user=ADMIN, password=known[ADMIN])
    ab, said = await connect_as(server.url, "provider-ab", known["provider-ab"])
    try:
        own = f"complaints.{organisation}.adults.provider.return_recorded.v1.ab"
        other = f"complaints.{organisation}.adults.provider.return_recorded.v1.cd"
        heard = await ab.subscribe(f"complaints.{organisation}.*.provider.return_recorded.v1.ab")
        await ab.flush()
        await admin.publish(own, b"ours")
        await admin.publish(other, b"theirs")
        await admin.flush()
        assert (await heard.next_msg(timeout=5)).data == b"ours"
        with pytest.raises(nats.errors.TimeoutError):
            await heard.next_msg(timeout=0.5)
        assert said == []

        for subject in (
            other,
            f"complaints.{organisation}.>",
            f"complaints.{organisation}.*.case.>",
        ):
            await ab.subscribe(subject)
            await ab.flush()
            await eventually(lambda s=subject: _said(said, f'subscription to "{s.lower()}"'))
        await ab.publish(own, b"forged")
        await ab.flush()
        await eventually(lambda: _said(said, f'publish to "{own}"'))
    finally:
        await ab.close()
        await admin.close()
        server.stop()


async def _said(errors: list[str], fragment: str) -> bool:
    return any("permissions violation" in e and fragment.lower() in e for e in errors)


def test_passwords_are_made_once_and_kept_for_the_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "nats" / "passwords.json"
    first = passwords(path, ["intake", ADMIN])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first["intake"] != first[ADMIN]
    again = passwords(path, ["intake", ADMIN, "letters"])  # a newly installed service
    assert {k: again[k] for k in first} == first
    assert len(again["letters"]) == 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_passwords_are_ones_the_server_reads_from_its_environment_as_they_are(
    tmp_path: Path,
) -> None:
    """nats-server parses a variable's value as configuration: "5a..." is a bad number
    and "a-B" stops at the dash. Made passwords never look like that (a thousand of
    them, so a pattern that only sometimes breaks shows up); one that does is refused
    by name, before the server would fail to start."""
    assert all(PASSWORD_PATTERN.fullmatch(new_password()) for _ in range(1000))
    with pytest.raises(ValueError, match="'intake'"):
        password_environment({"intake": "5abc"})
    with pytest.raises(ValueError, match="'letters'"):
        password_environment({"letters": "abc-Def"})
    users = [BusUser(ADMIN, None, None)]
    password = "e10" + new_password()  # looks like a number's exponent; is not one
    with NatsServer(
        tmp_path / "nats",
        authorization=authorization(users),
        environment=password_environment({ADMIN: password}),
    ) as server:
        assert server.process is not None and server.process.poll() is None


@pytest.mark.e2e
async def test_complaints_up_admits_only_its_users(tmp_path: Path) -> None:
    suite = SuiteProcess(tmp_path / "data").start()
    try:
        store = tmp_path / "data" / "nats"
        known = json.loads((store / PASSWORDS_FILE).read_text())
        assert stat.S_IMODE((store / PASSWORDS_FILE).stat().st_mode) == 0o600
        assert sorted(known) == sorted([*service_factories(), ADMIN])
        config = (store / "nats-server.conf").read_text()
        assert not any(password in config for password in known.values())
        [address] = re.findall(r"^listen: (\S+)$", config, re.MULTILINE)
        url = f"nats://{address}"
        with pytest.raises(nats.errors.Error, match="Authorization Violation"):
            await nats.connect(url, allow_reconnect=False, connect_timeout=2)
        intake, said = await connect_as(url, "intake", known["intake"])
        try:
            await intake.publish("complaints.demo.adults.deadline.met.v1", b"{}")
            await intake.flush()
            await eventually(lambda: _said(said, "deadline.met"))
        finally:
            await intake.close()
    finally:
        suite.kill()
