"""Each service's own database, on SQLite (embedded) or PostgreSQL (deployed).

A service owns its tables. On PostgreSQL each service lives in a schema named after
it (``schema_translate_map``), so one database can host every service, or each can
have its own; on SQLite each service has its own file.

SQLite allows one writer at a time. Rather than let writers collide inside SQLite
(whose busy handler sleeps and retries, which is what made the suite slow), each
file has exactly one writing connection: writers queue for it in asyncio, and every
write transaction begins ``IMMEDIATE``. Reads (:meth:`Database.read`) use a separate
pool of connections, which WAL lets run beside the writer. WAL with
``synchronous=NORMAL`` survives a crash of the process (a committed transaction is
in the log); a power cut may lose the last transactions but never corrupts the
file. That is the embedded default's trade; PostgreSQL is the deployment.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import URL, DateTime, MetaData, Table, TypeDecorator, event, make_url, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from complaints_shared.private_files import private_file
from complaints_shared.sqlite_inline import inline_connect


class Database:
    """Engine, sessions and schema creation for one service."""

    def __init__(self, url: str, metadata: MetaData, schema: str) -> None:
        self.url = make_url(url)
        self.metadata = metadata
        self.schema = schema
        self.is_postgres = self.url.get_backend_name() == "postgresql"
        if self.is_postgres:
            # No pre-ping: it costs a round trip per transaction. A connection the server
            # dropped fails its transaction, which is retried, and SQLAlchemy then
            # discards the pool's stale connections.
            engine = _engine(self.url, pool_size=5, max_overflow=5).execution_options(
                schema_translate_map={None: schema}
            )
            reader = engine
        elif not self.url.database or self.url.database == ":memory:":
            # One connection holds the whole database (used to generate the API documents).
            engine = reader = _engine(self.url)
            _immediate_sqlite_transactions(engine)
        else:
            private_file(Path(self.url.database))
            # One writer; waiting for it is an asyncio wait, not SQLite's busy loop. Its
            # statements run in the loop's thread (complaints_shared.sqlite_inline).
            engine = _engine(
                self.url,
                pool_size=1,
                max_overflow=0,
                pool_timeout=60,
                async_creator=inline_connect(self.url.database, timeout=60),
            )
            _sqlite_connection_settings(engine, busy_timeout_ms=0)
            _immediate_sqlite_transactions(engine)
            reader = _engine(self.url, pool_size=4, max_overflow=0, connect_args={"timeout": 60})
            _sqlite_connection_settings(reader)
        self.engine: AsyncEngine = engine
        self.reader: AsyncEngine = reader
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.read_sessions = async_sessionmaker(reader, expire_on_commit=False)
        self.before_commit: list[Callable[[AsyncSession], Awaitable[None]]] = []
        """Run at the end of every :meth:`transaction` that succeeded, before it commits."""

    async def create_schema(self) -> None:
        """Create the service's schema and tables if they are missing."""
        async with self.engine.begin() as connection:
            if self.is_postgres:
                await connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
            await connection.run_sync(self.metadata.create_all)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction that commits on success and rolls back on error."""
        async with self.sessions.begin() as session:
            yield session
            for step in self.before_commit:
                await step(session)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reading only: on SQLite it does not wait for the writer."""
        async with self.read_sessions() as session:
            yield session

    async def ping(self) -> bool:
        try:
            async with self.reader.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any failure means "not ready"
            return False
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.reader is not self.engine:
            await self.reader.dispose()


def _engine(url: URL, **options: Any) -> AsyncEngine:
    """An engine that never puts a statement's parameters in an error's text.

    They are a complaint's details (names, addresses, what happened), and an error's
    text ends up in logs and on the dead-letter stream.
    """
    return create_async_engine(url, hide_parameters=True, **options)


def platform_table(metadata: MetaData, name: str, *parts: Any) -> Table:
    """The table ``name`` in ``metadata``, defined from ``parts`` unless it already is.

    The platform's tables (outbox, inbox) join each service's own metadata; a second
    Outbox or Inbox on the same metadata reuses them rather than redefining them.
    """
    if name in metadata.tables:
        return metadata.tables[name]
    return Table(name, metadata, *parts)


def upsert(session: AsyncSession, table: Any) -> Any:
    """An INSERT that can say ON CONFLICT, in the dialect of ``session``'s database."""
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp that comes back aware on SQLite too (stored as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, _dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must carry a time zone")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, _dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def _sqlite_connection_settings(engine: AsyncEngine, busy_timeout_ms: int = 60000) -> None:
    """WAL, ``synchronous=NORMAL`` and a busy timeout on every connection of ``engine``
    (none for a writer that waits for the lock in asyncio instead)."""

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()


def _immediate_sqlite_transactions(engine: AsyncEngine) -> None:
    """Make every SQLite transaction take the write lock up front (SQLAlchemy recipe).

    Emitting BEGIN ourselves also makes SAVEPOINT work, which the consumer relies on.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let us emit BEGIN ourselves

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
