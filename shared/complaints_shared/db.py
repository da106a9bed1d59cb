"""Each service's own database, on SQLite (embedded) or PostgreSQL (deployed).

A service owns its tables. On PostgreSQL each service lives in a schema named after
it (``schema_translate_map``), so one database can host every service, or each can
have its own; on SQLite each service has its own file. SQLite transactions start
with ``BEGIN IMMEDIATE`` so concurrent writers in one process wait for each other
instead of failing with "database is locked" on a read-to-write upgrade.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, TypeDecorator, event, make_url, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


class Database:
    """Engine, sessions and schema creation for one service."""

    def __init__(self, url: str, metadata: MetaData, schema: str) -> None:
        self.url = make_url(url)
        self.metadata = metadata
        self.schema = schema
        self.is_postgres = self.url.get_backend_name() == "postgresql"
        engine = create_async_engine(self.url, pool_pre_ping=True, **self._engine_options())
        if self.is_postgres:
            engine = engine.execution_options(schema_translate_map={None: schema})
        else:
            _immediate_sqlite_transactions(engine)
        self.engine: AsyncEngine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)

    def _engine_options(self) -> dict[str, Any]:
        if self.url.get_backend_name() == "sqlite":
            if self.url.database and self.url.database != ":memory:":
                Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
            return {"connect_args": {"timeout": 30}}
        return {"pool_size": 5, "max_overflow": 5}

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

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any failure means "not ready"
            return False
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()


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


def _immediate_sqlite_transactions(engine: AsyncEngine) -> None:
    """Make every SQLite transaction take the write lock up front (SQLAlchemy recipe)."""

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let us emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
