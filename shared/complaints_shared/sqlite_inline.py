"""SQLite statements run in the event loop's own thread, for each file's one writer.

aiosqlite (SQLAlchemy's asyncio driver for SQLite) hands every call, each execute,
fetch and cursor close, to a worker thread and back. Measured here that hop costs
about 160 µs of CPU a statement against 3 µs for the statement itself, and a
complaint's way through the suite is some eighty statements: the hop alone was a
fifth of the embedded run's CPU (issue 7). The writer's statements are short ones on
indexed rows, in WAL mode without a sync at commit, so running them where they are
awaited costs far less than sending them elsewhere.

:class:`InlineConnection` is aiosqlite's own connection with one change: a call runs
at once in the calling thread. Connecting and closing still use aiosqlite's worker.
The one thing that could make a statement wait is another process holding the file's
write lock (``complaints import`` beside ``complaints up``). SQLite's own busy wait
would then stall every service in the process, so the connection's busy timeout is
zero and a busy statement is tried again after an asyncio sleep, up to ``timeout``
seconds, while the rest of the process runs. In WAL mode only taking the write lock
(``BEGIN IMMEDIATE``) and, rarely, a commit can be busy; both are safe to repeat.

Reads that may be long (reports, lists) stay on aiosqlite's worker threads
(:meth:`complaints_shared.db.Database.read`).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiosqlite

FIRST_WAIT_SECONDS = 0.002
LONGEST_WAIT_SECONDS = 0.05


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose statements run in the caller's thread."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], timeout: float) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._thread.daemon = True  # as SQLAlchemy makes aiosqlite's own: never block exit
        self.busy_timeout = timeout

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        waited_until = None
        wait = FIRST_WAIT_SECONDS
        while True:
            try:
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                    raise
                now = time.monotonic()
                waited_until = waited_until or now + self.busy_timeout
                if now >= waited_until:
                    raise
            await asyncio.sleep(wait)
            wait = min(LONGEST_WAIT_SECONDS, wait * 2)


def inline_connect(path: str, timeout: float) -> Callable[[], Awaitable[aiosqlite.Connection]]:
    """SQLAlchemy's ``async_creator`` for a writer of the SQLite file at ``path``."""

    def connector() -> sqlite3.Connection:
        # Made in aiosqlite's worker, used in the loop's thread; one at a time either way.
        connection = sqlite3.connect(path, timeout=0, check_same_thread=False)
        connection.execute("PRAGMA busy_timeout=0")
        return connection

    async def connect() -> aiosqlite.Connection:
        return await InlineConnection(connector, timeout)

    return connect
