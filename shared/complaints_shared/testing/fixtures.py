"""Pytest fixtures that give tests real servers, never mocks.

- NATS: a ``nats-server`` from this virtual environment on a free port in a throwaway
  folder (``nats_server`` for the session, ``own_nats_server`` for tests that kill it);
  ``NATS_URL`` points the session fixture at a running server instead.
- PostgreSQL: a throwaway database on ``COMPLAINTS_TEST_POSTGRES_URL`` (default the
  local server on 127.0.0.1:5432), else a testcontainers PostgreSQL where Docker
  runs. Under ``CI`` an unreachable PostgreSQL fails the run instead of skipping.
- OpenID Connect: the embedded issuer on a free port (``issuer``); every service under
  test trusts it, and the harness signs in as its ``staff`` client unless told otherwise.
- ``database_url``: every persistence test runs once on SQLite and once on PostgreSQL;
  ``spare_database_url`` makes more on the same backend, for more copies of services.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url

from complaints_shared.runtime.natsserver import NatsServer
from complaints_shared.settings import Settings
from complaints_shared.testing.issuer import AUDIENCE, LocalIssuer
from complaints_shared.testing.suite import TESTS_RATE_LIMIT

DEFAULT_POSTGRES = "postgresql://127.0.0.1:5432/postgres"


class ExternalNats:
    """A NATS server somebody else runs (``NATS_URL``): usable, not killable."""

    def __init__(self, url: str) -> None:
        self.url = url


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer | ExternalNats]:
    """A JetStream server shared by the session's tests."""
    if os.environ.get("NATS_URL"):
        yield ExternalNats(os.environ["NATS_URL"])
        return
    with NatsServer(tmp_path_factory.mktemp("nats")) as server:
        yield server


@pytest.fixture(scope="session")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIssuer]:
    """The embedded issuer over real HTTP, shared by the session's tests."""
    served = LocalIssuer(tmp_path_factory.mktemp("issuer")).start()
    yield served
    served.stop()


@pytest.fixture
def own_nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A JetStream server for one test alone, which it may stop, kill and restart."""
    server = NatsServer(tmp_path / "nats").start()
    yield server
    server.stop()


async def _admin(url: str, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _postgres_from_container() -> Iterator[str]:
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer("postgres:16-alpine", driver=None) as container:
        yield container.get_connection_url()


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A PostgreSQL URL with the right to create databases."""
    url = os.environ.get("COMPLAINTS_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    try:
        asyncio.run(_admin(url, "SELECT 1"))
    except Exception as error:  # noqa: BLE001 - fall back to Docker, then decide
        try:
            yield from _postgres_from_container()
            return
        except Exception as docker_error:  # noqa: BLE001 - reported below
            reason = (
                f"PostgreSQL not reachable at {url} ({error}) "
                f"and no Docker for testcontainers ({docker_error})"
            )
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the PostgreSQL tests")
        pytest.skip(reason)
    else:
        yield url


@contextlib.contextmanager
def throwaway_postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh, empty database on ``admin_url``'s server (SQLAlchemy asyncpg URL), dropped
    afterwards; for fixtures of any scope."""
    name = f"complaints_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(drivername="postgresql+asyncpg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def postgres_database(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty database (SQLAlchemy asyncpg URL), dropped after the test."""
    with throwaway_postgres_database(postgres_admin_url) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL template (``{service}`` per service) on each backend in turn."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/{{service}}.db"
    return request.getfixturevalue("postgres_database")


@pytest.fixture
async def spare_database_url(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path
) -> AsyncIterator[Callable[[str], Awaitable[str]]]:
    """Makes more databases on ``database_url``'s backend, each fresh and empty.

    ``await spare_database_url("copy")`` is a URL template for another copy of some
    services beside the first. A service keeps its tables in a schema (PostgreSQL) or
    a file (SQLite) named after itself, so each copy needs a database (dropped after
    the test), or a folder, of its own.
    """
    sqlite = database_url.startswith("sqlite")
    admin_url = "" if sqlite else request.getfixturevalue("postgres_admin_url")
    made: list[str] = []

    async def make(label: str) -> str:
        name = f"complaints_test_{uuid.uuid4().hex[:12]}"
        if sqlite:
            return f"sqlite+aiosqlite:///{tmp_path}/{label}-{name}/{{service}}.db"
        await _admin(admin_url, f'CREATE DATABASE "{name}"')
        made.append(name)
        url = make_url(admin_url).set(drivername="postgresql+asyncpg", database=name)
        return url.render_as_string(hide_password=False)

    yield make
    for name in made:
        await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(
    database_url: str,
    nats_server: NatsServer | ExternalNats,
    issuer: LocalIssuer,
    tmp_path: Path,
) -> Settings:
    """Settings for services under test: real NATS, the parametrised database, the issuer.

    Each test gets its own organisation slug so durable consumers and subjects on
    the shared NATS server never see another test's events.
    """
    return Settings(
        organisation=f"t{uuid.uuid4().hex[:10]}",
        nats_url=nats_server.url,
        database_url=database_url,
        data_dir=tmp_path,
        retry_backoff=(0.2, 0.2, 0.2, 0.2),
        max_deliver=3,
        oidc_issuer=issuer.url,
        oidc_audience=AUDIENCE,
        public_rate_limit=TESTS_RATE_LIMIT,
    )
