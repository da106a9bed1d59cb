"""Does firing what is due cost the same among 10 thousand or 1 million open deadlines?

For each backend (PostgreSQL on COMPLAINTS_TEST_POSTGRES_URL, default the local
server; and SQLite) it fills a fresh deadlines database with N open deadlines and
their breach timers, 1,000 of them due, then times the deadlines service's own
firing code (claim with SKIP LOCKED, mark fired, stage the event in the outbox)
until nothing is due. Then it times working-day additions against a day-by-day
loop. Run: `.venv/bin/python tests/benchmarks/deadlines_scale.py [N ...]`.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg
from sqlalchemy import insert, make_url, text

from complaints_deadlines.calendar_store import CalendarStore
from complaints_deadlines.models import Deadline, Timer
from complaints_deadlines.service import create
from complaints_deadlines.timers import fire_due
from complaints_shared.calendar import WorkingDayCalendar
from complaints_shared.settings import Settings

DUE = 1_000
CHUNK = 20_000


def rows(count: int, now: datetime):
    """Deadlines and their breach timers; the first DUE are due, the rest years away."""
    for n in range(count):
        deadline_id = uuid.uuid4()
        fire_at = now - timedelta(minutes=1) if n < DUE else now + timedelta(days=365 + n % 700)
        deadline = {
            "id": deadline_id,
            "case_id": uuid.uuid4(),
            "organisation": "bench",
            "directorate": "adults",
            "procedure": "adults",
            "stage": 1,
            "kind": "response",
            "counts_from": "stage_start",
            "start_on": date(2026, 1, 5),
            "working_days": 20,
            "calendar_months": 0,
            "paused_days": 0,
            "due_on": date(2026, 2, 2),
            "rule": "benchmark",
            "skipped": [],
            "warnings": [],
            "reminder_days": 2,
            "with_timers": True,
            "status": "open",
            "breached": False,
        }
        timer = {
            "id": uuid.uuid4(),
            "deadline_id": deadline_id,
            "kind": "breach",
            "fire_at": fire_at,
            "fired_at": None,
        }
        yield deadline, timer


async def fill(service, count: int, now: datetime) -> None:
    generated = rows(count, now)
    while True:
        batch = [pair for _, pair in zip(range(CHUNK), generated, strict=False)]
        if not batch:
            return
        async with service.db.transaction() as session:
            await session.execute(insert(Deadline), [d for d, _ in batch])
            await session.execute(insert(Timer), [t for _, t in batch])


async def measure(url: str, count: int) -> tuple[float, float, int]:
    settings = Settings(organisation="bench", database_url=url, nats_url="nats://unused:4222")
    service = create(settings)
    await service.db.create_schema()
    now = datetime.now(UTC)
    started = time.perf_counter()
    await fill(service, count, now)
    filled = time.perf_counter() - started
    if service.db.is_postgres:
        async with service.db.engine.connect() as connection:
            await connection.execute(text('ANALYZE "deadlines".timers'))
    calendars, fired = CalendarStore(), 0
    started = time.perf_counter()
    while True:
        async with service.db.transaction() as session:
            claimed = await fire_due(service, calendars, session, now)
        if not claimed:
            break
        fired += claimed
    elapsed = time.perf_counter() - started
    await service.db.dispose()
    return elapsed, filled, fired


async def postgres_database(admin_url: str) -> tuple[str, str]:
    name = f"complaints_bench_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(admin_url)
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    url = make_url(admin_url).set(drivername="postgresql+asyncpg", database=name)
    return url.render_as_string(hide_password=False), name


async def drop(admin_url: str, name: str) -> None:
    connection = await asyncpg.connect(admin_url)
    await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await connection.close()


async def firing(sizes: list[int]) -> None:
    admin = os.environ.get("COMPLAINTS_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/postgres")
    for size in sizes:
        url, name = await postgres_database(admin)
        try:
            elapsed, filled, fired = await measure(url, size)
        finally:
            await drop(admin, name)
        print(
            f"PostgreSQL: fired {fired} due among {size:>9,} open deadlines in "
            f"{elapsed * 1000:7.1f} ms  ({fired / elapsed:8.0f}/s; filling took {filled:.0f} s)"
        )
        with tempfile.TemporaryDirectory() as folder:
            elapsed, filled, fired = await measure(
                f"sqlite+aiosqlite:///{folder}/{{service}}.db", size
            )
        print(
            f"SQLite:     fired {fired} due among {size:>9,} open deadlines in "
            f"{elapsed * 1000:7.1f} ms  ({fired / elapsed:8.0f}/s; filling took {filled:.0f} s)"
        )


def additions() -> None:
    calendar, sample = WorkingDayCalendar(), random.Random(7)
    cases = [
        (date(2000, 1, 1) + timedelta(days=sample.randrange(30_000)), sample.randrange(1, 130))
        for _ in range(100_000)
    ]

    def day_by_day(start: date, days: int) -> date:
        while days:
            start += timedelta(days=1)
            days -= calendar.is_working_day(start)
        return start

    started = time.perf_counter()
    fast = [calendar.add(start, days) for start, days in cases]
    fast_rate = len(cases) / (time.perf_counter() - started)
    started = time.perf_counter()
    slow = [day_by_day(start, days) for start, days in cases[:20_000]]
    slow_rate = 20_000 / (time.perf_counter() - started)
    assert fast[:20_000] == slow
    print(
        f"Working-day additions (1 to 129 days): {fast_rate:,.0f}/s with the calendar's "
        f"arithmetic, {slow_rate:,.0f}/s day by day ({fast_rate / slow_rate:.1f}x)"
    )


if __name__ == "__main__":
    additions()
    asyncio.run(firing([int(arg) for arg in sys.argv[1:]] or [10_000, 1_000_000]))
