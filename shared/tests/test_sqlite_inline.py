"""The SQLite writer runs statements in the loop's thread and waits for a lock in asyncio.

Another process holding the file's write lock (``complaints import`` beside
``complaints up``) is stood in for by a plain sqlite3 connection in a thread.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select
from sqlalchemy.exc import OperationalError

from complaints_shared.db import Database
from complaints_shared.sqlite_inline import InlineConnection

metadata = MetaData()
things = Table("things", metadata, Column("id", Integer, primary_key=True))


@pytest.fixture
async def database(tmp_path: Path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/intake.db", metadata, "intake")
    await db.create_schema()
    yield db
    await db.dispose()


def hold_write_lock(path: Path, seconds: float, held: threading.Event) -> None:
    """Another process's writer: takes the write lock, keeps it ``seconds``, commits."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO things (id) VALUES (1)")
    held.set()
    threading.Event().wait(seconds)
    other.execute("COMMIT")
    other.close()


async def test_statements_run_in_the_loops_thread_and_commit(database: Database) -> None:
    async with database.transaction() as session:
        await session.execute(insert(things).values(id=7))
        raw = (await (await session.connection()).get_raw_connection()).driver_connection
        assert isinstance(raw, InlineConnection)
        assert raw._thread.is_alive()  # aiosqlite's worker connects and closes, nothing else
    async with database.read() as session:  # another connection: the row was committed
        assert (await session.scalars(select(things.c.id))).all() == [7]


async def test_a_lock_held_elsewhere_is_waited_for_while_the_loop_runs_on(
    database: Database, tmp_path: Path
) -> None:
    held = threading.Event()
    other = threading.Thread(target=hold_write_lock, args=(tmp_path / "intake.db", 0.5, held))
    other.start()
    await asyncio.to_thread(held.wait)

    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    try:
        async with database.transaction() as session:  # BEGIN IMMEDIATE waits for the lock
            await session.execute(insert(things).values(id=2))
    finally:
        ticker.cancel()
    other.join()
    assert ticks >= 20  # the loop ran on for the half second the lock was held
    async with database.read() as session:
        assert (await session.scalars(select(things.c.id).order_by(things.c.id))).all() == [1, 2]


async def test_a_lock_held_past_the_timeout_fails_the_transaction(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with database.transaction() as session:  # the pool's one connection is made
        await session.execute(select(things.c.id))
        raw = (await (await session.connection()).get_raw_connection()).driver_connection
    monkeypatch.setattr(raw, "busy_timeout", 0.1)
    held = threading.Event()
    other = threading.Thread(target=hold_write_lock, args=(tmp_path / "intake.db", 1.0, held))
    other.start()
    await asyncio.to_thread(held.wait)
    try:
        with pytest.raises(OperationalError, match="database is locked"):
            async with database.transaction() as session:
                await session.execute(insert(things).values(id=3))
    finally:
        other.join()
