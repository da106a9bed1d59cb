"""Throughput: the bare bus's ceiling, then the whole suite on SQLite and on PostgreSQL.

A benchmark that prints figures (not a timed test). In one run it measures:

1. **The bare-bus ceiling.** A throwaway nats-server (JetStream, ``sync_interval:
   always`` like the suite's) gets N pre-published ~1 KB messages shaped like a
   ``case.received`` envelope; then a FastStream pull consumer with a trivial handler
   that acks drains them (one message per call, and batched), and for reference a
   bare nats-py fetch loop. The best FastStream figure is the ceiling: no handler
   doing real work can consume faster on this machine.
2. **The suite**, on each backend:

   - *SQLite*: everything embedded (``complaints up``: a front process and its worker);
   - *PostgreSQL*: a throwaway database on ``COMPLAINTS_TEST_POSTGRES_URL`` (default
     ``postgresql://127.0.0.1:5432/postgres``), one ``complaints run <service>``
     process per service;

   both on a nats-server of our own. Phases, one after another, each waiting for
   the previous one's work to drain:

   - *received today*: 16 clients post N adults' complaints as fast as they are
     answered. **Accepted/s** is N over the time until the last POST returned;
     **end to end/s** is N over the time from the first POST until the last
     acknowledgement letter was issued (``letter.issued`` seen on the bus);
     **drained** is when every consumer of every stream had nothing pending or
     unacknowledged, no service held events back (``/health/ready``'s
     ``events_held``) and the streams had stayed quiet for a moment.
   - *received months ago*: the same with complaints received about 11 months ago,
     so every deadline's reminder and breach fire at once behind the letters.
   - *steady 50/s*: complaints posted at a fixed rate (open loop: each is sent at
     its scheduled time whatever the others are doing; latency counts from that
     time, so a queue in front of the server counts against it), for
     ``--steady-seconds``: POST p50, p99 and max.
   - *import*: ``complaints import FILE`` of generated case histories (received,
     triaged, responded, closed; children's escalated to Stage 2; some ineligible):
     lines/s of the command itself (start-up included; the start-up alone, on an
     empty file, is printed too) and end to end, until every consumer has caught up
     with what the import published.

   After each phase it counts dead letters (``COMPLAINTS_DEAD_LETTERS``), failed
   POSTs and warning or error lines in the services' logs (JSON lines, captured to
   files; ``--keep`` keeps them).

At the end a table gives each figure, its target and whether it was met (issue 7, on
2 cores), and the end to end rate as a share of the ceiling (each complaint is several
messages on the bus, so 100% is not reachable; the bus's own messages/s are beside it):

- end to end, received today: at least 250 complaints/s, on SQLite (``complaints up``)
  and on PostgreSQL (one process per service); months ago is reported beside it;
- POST p99 under 100 ms at a steady 50 complaints/s;
- ``complaints import``: at least 500 case histories/s, end to end;
- no failed handlings (warning or error lines saying something failed, failed POSTs)
  and no dead letters, over a clean run of 10,000 complaints.

Run (the full run takes a few minutes when the suite meets its targets)::

    .venv/bin/python tests/benchmarks/throughput.py --quick      # smoke run, small sizes
    .venv/bin/python tests/benchmarks/throughput.py              # 10,000 complaints
    .venv/bin/python tests/benchmarks/throughput.py --backend sqlite --skip-ceiling

Every phase has a time limit (``--timeout``); one that runs out is reported as not
finished, with what it managed, and its backlog gets as long again to drain before the
next phase. If work is outstanding and nothing at all moves for 30 s the suite has
stalled: that is reported and the rest of that backend's phases are skipped.
Everything runs on loopback; every process it starts is stopped at the end (and dies
with it if it is killed), and the PostgreSQL database is dropped. It always exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, ClassVar

import asyncpg
import httpx
import nats
from faststream import AckPolicy
from faststream.message import StreamMessage
from faststream.nats import JStream, NatsBroker, PullSub
from nats.js.api import DeliverPolicy, StorageType
from sqlalchemy import make_url

from complaints_shared.calendar import today_in_england
from complaints_shared.runtime.natsserver import NatsServer, free_port
from complaints_shared.testing.issuer import AUDIENCE, LocalIssuer
from complaints_shared.testing.suite import EXAMPLE_COMPLAINT

SERVICES = ("intake", "deadlines", "letters", "learning", "reporting")
CLIENTS = 16
STEADY_RATE = 50.0
TARGET_END_TO_END = 250.0  # complaints/s, received today
TARGET_P99_MS = 100.0  # POST at a steady 50/s
TARGET_IMPORT = 500.0  # case histories/s, end to end
CLEAN_RUN = 10_000  # complaints in the clean run (no failures, no dead letters)
DEAD_LETTERS = "COMPLAINTS_DEAD_LETTERS"
LETTER_SUBJECT = "complaints.*.*.letter.issued.>"
QUIET_SECONDS = 2.5  # streams unchanged this long (timer rounds and relays poll each second)
POLL_SECONDS = 0.2
STALL_SECONDS = 30.0  # work outstanding and nothing at all moving this long: stuck
DEFAULT_POSTGRES = "postgresql://127.0.0.1:5432/postgres"
COMPLAINTS = Path(sys.executable).parent / "complaints"


def say(text: str) -> None:
    print(text, flush=True)


def rate(count: float, seconds: float | None) -> float | None:
    return count / seconds if seconds else None


def cpu_seconds(pid: int | None) -> float:
    """CPU (user and system, all threads) a live process and its live children have used
    (``complaints up``'s worker); 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except (OSError, TypeError):
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(int(child)) for child in children)


def fmt_rate(value: float | None, unit: str = "/s") -> str:
    return "-" if value is None else f"{value:,.0f}{unit}"


# --- processes -------------------------------------------------------------------------


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the child is killed if this benchmark dies, even by SIGKILL."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Child:
    """A process of the suite, its output (stdout and stderr) in a log file."""

    running: ClassVar[list[Child]] = []

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str], log: Path) -> None:
        self.name, self.argv, self.env, self.log = name, list(argv), env, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Child:
        # From the main thread: the parent-death signal follows the thread that forked.
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
            )
        Child.running.append(self)
        return self

    @property
    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM (a clean stop), then SIGKILL for the whole process group."""
        process = self.process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                say(f"  {self.name} did not stop within {grace:.0f} s; killing it")
        if process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if self in Child.running:
            Child.running.remove(self)

    def tail(self, lines: int = 15) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    @classmethod
    def stop_all(cls) -> None:
        for child in list(cls.running):
            child.stop(grace=5.0)


class Servers:
    """nats-servers this benchmark started, stopped whatever happens."""

    running: ClassVar[list[NatsServer]] = []

    @classmethod
    def start(cls, store: Path) -> NatsServer:
        server = NatsServer(store).start()
        cls.running.append(server)
        return server

    @classmethod
    def stop(cls, server: NatsServer) -> None:
        server.stop()
        if server in cls.running:
            cls.running.remove(server)

    @classmethod
    def stop_all(cls) -> None:
        for server in list(cls.running):
            cls.stop(server)


class Databases:
    """PostgreSQL databases this benchmark created, dropped whatever happens."""

    created: ClassVar[list[tuple[str, str]]] = []  # (admin url, name)

    @classmethod
    def drop_all(cls) -> None:
        async def drop(admin: str, name: str) -> None:
            connection = await asyncpg.connect(admin, timeout=10)
            try:
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await connection.close()

        for admin, name in list(cls.created):
            try:
                asyncio.run(drop(admin, name))
                cls.created.remove((admin, name))
            except Exception as error:  # noqa: BLE001 - reported for an operator
                say(f"could not drop database {name}: {error}")


def child_env(**settings: str) -> dict[str, str]:
    """This environment without any COMPLAINTS_* of its own, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPLAINTS_")}
    env.update({"COMPLAINTS_LOG_LEVEL": "INFO", "COMPLAINTS_LOG_FORMAT": "json"})
    # Every client here is one address (loopback), standing in for many members of the
    # public: the per-address limit on the public routes would refuse nearly all of it.
    env["COMPLAINTS_PUBLIC_RATE_LIMIT"] = "1000000/minute"
    env.update({f"COMPLAINTS_{key.upper()}": value for key, value in settings.items()})
    return env


# --- logs ------------------------------------------------------------------------------


@dataclass
class LogFindings:
    """Warning and error lines: counts by (process, level, event), and an example of each."""

    counts: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    examples: dict[tuple[str, str, str], str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def failures(self) -> int:
        """Lines saying something failed: a handling, a batch, a relay, parking..."""
        words = ("fail", "park", "dead", "traceback", "exception", "error")
        return sum(
            n
            for (_, level, event), n in self.counts.items()
            if level in ("error", "critical", "exception") or any(w in event.lower() for w in words)
        )

    def merge(self, other: LogFindings) -> None:
        self.counts.update(other.counts)
        for key, line in other.examples.items():
            self.examples.setdefault(key, line)

    def describe(self, limit: int = 8) -> list[str]:
        lines = []
        for (process, level, event), n in self.counts.most_common(limit):
            lines.append(f"{n:6d} x {level:8} {process}: {event}")
            lines.append(f"         e.g. {self.examples[(process, level, event)][:400]}")
        if len(self.counts) > limit:
            lines.append(f"         ... and {len(self.counts) - limit} other kind(s)")
        return lines


class Logs:
    """The captured output of the suite's processes, read from a mark onwards."""

    def __init__(self, children: Sequence[Child]) -> None:
        self.children = children

    def mark(self) -> dict[Path, int]:
        return {c.log: c.log.stat().st_size if c.log.exists() else 0 for c in self.children}

    def scan(self, since: dict[Path, int] | None = None) -> LogFindings:
        found = LogFindings()
        for child in self.children:
            if not child.log.exists():
                continue
            with child.log.open("rb") as stream:
                stream.seek((since or {}).get(child.log, 0))
                for raw in stream:
                    if b'"level": "info"' in raw or b'"level": "debug"' in raw:
                        continue  # most lines: no need to parse them
                    self._line(found, child.name, raw.decode(errors="replace").strip())
        return found

    @staticmethod
    def _line(found: LogFindings, process: str, text: str) -> None:
        if not text:
            return
        try:
            record = json.loads(text)
        except ValueError:
            record = None
        if isinstance(record, dict):
            level = str(record.get("level", "")).lower()
            if level not in ("warning", "error", "critical", "exception"):
                return
            event = str(record.get("event", ""))[:160]
        elif "Traceback" in text or "Error" in text or "error" in text:
            level, event = "error", f"(not JSON) {text[:160]}"
        else:
            return
        key = (process, level, event)
        found.counts[key] += 1
        found.examples.setdefault(key, text)


# --- the bus, from outside ----------------------------------------------------------------


@dataclass
class Snapshot:
    at: float
    streams: dict[str, int]  # name -> last sequence
    busy_consumers: list[str]  # "STREAM/consumer: pending p, unacked u"
    consumers: int
    dead_letters: int

    @property
    def messages(self) -> int:
        return sum(n for name, n in self.streams.items() if name != DEAD_LETTERS)


class Bus:
    """A monitoring connection: acknowledgement letters as they are issued, stream state."""

    def __init__(self) -> None:
        self.nc: Any = None
        self.jsm: Any = None
        self.letters: dict[str, float] = {}  # case id -> when its acknowledgement was seen

    async def connect(self, url: str) -> Bus:
        self.nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=-1)
        self.jsm = self.nc.jsm()
        await self.nc.subscribe(
            LETTER_SUBJECT,
            cb=self._letter,
            pending_msgs_limit=10_000_000,
            pending_bytes_limit=4 * 1024**3,
        )
        return self

    async def _letter(self, msg: Any) -> None:
        seen = time.monotonic()
        try:
            envelope = json.loads(msg.data)
        except ValueError:
            return
        payload = envelope.get("payload") or {}
        if payload.get("kind", "acknowledgement") == "acknowledgement" and envelope.get("case_id"):
            self.letters.setdefault(str(envelope["case_id"]), seen)

    async def snapshot(self) -> Snapshot:
        streams, busy, consumers, dead = {}, [], 0, 0
        for info in await self.jsm.streams_info():
            name = info.config.name
            streams[name] = info.state.last_seq
            if name == DEAD_LETTERS:
                dead = info.state.messages
            for consumer in await self.jsm.consumers_info(name):
                consumers += 1
                pending, unacked = consumer.num_pending or 0, consumer.num_ack_pending or 0
                if pending or unacked:
                    busy.append(f"{name}/{consumer.name}: pending {pending}, unacked {unacked}")
        return Snapshot(time.monotonic(), streams, busy, consumers, dead)

    async def close(self) -> None:
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.drain()


async def events_held(client: httpx.AsyncClient, ready_urls: Sequence[str]) -> int:
    """Events the services hold back (waiting for an earlier one), from /health/ready."""
    held = 0
    for url in ready_urls:
        with contextlib.suppress(httpx.HTTPError, ValueError):
            report = (await client.get(f"{url}/health/ready", timeout=5)).json()
            for service in (report.get("services") or {}).values():
                held += int(service.get("events_held") or 0)
    return held


class Stall:
    """Says when the same state has lasted ``seconds``: work outstanding and nothing moving."""

    def __init__(self, seconds: float = STALL_SECONDS) -> None:
        self.seconds = seconds
        self.state: object = None
        self.since = time.monotonic()

    def stuck(self, state: object) -> bool:
        now = time.monotonic()
        if state != self.state:
            self.state, self.since = state, now
            return False
        return now - self.since >= self.seconds


@dataclass
class Drain:
    drained_at: float | None  # monotonic; None if not within the limit
    last: Snapshot
    stalled: bool = False


async def wait_drained(
    bus: Bus,
    client: httpx.AsyncClient,
    ready_urls: Sequence[str],
    limit: float,
    until: Callable[[Snapshot], bool] = lambda _: True,
) -> Drain:
    """Wait until nothing is pending anywhere and the streams have stayed quiet.

    ``drained_at`` is when that state was first seen, not the end of the quiet spell.
    ``until`` adds a condition (e.g. a stream has reached a count). Gives up at
    ``limit`` seconds, or sooner if nothing at all moves for STALL_SECONDS.
    """
    deadline = time.monotonic() + limit
    quiet_since: float | None = None
    quiet_streams: dict[str, int] | None = None
    stall = Stall()
    snap = await bus.snapshot()
    while True:
        held = await events_held(client, ready_urls) if not snap.busy_consumers else -1
        idle = not snap.busy_consumers and until(snap) and held == 0
        if idle and snap.streams == quiet_streams and quiet_since is not None:
            if snap.at - quiet_since >= QUIET_SECONDS:
                return Drain(quiet_since, snap)
        elif idle:
            quiet_since, quiet_streams = snap.at, snap.streams
        else:
            quiet_since = quiet_streams = None
            if stall.stuck((snap.streams, snap.busy_consumers, held)):
                return Drain(None, snap, stalled=True)
        if time.monotonic() > deadline:
            return Drain(None, snap)
        await asyncio.sleep(POLL_SECONDS)
        snap = await bus.snapshot()


# --- the bare-bus ceiling -------------------------------------------------------------------

CEILING_STREAM = "BENCH_CEILING"
CEILING_SUBJECT = "bench.demo.adults.case.received.v1"


def ceiling_body(event_id: str) -> bytes:
    """About 1 KB: a case.received envelope like the suite's."""
    envelope = {
        "id": event_id,
        "type": "case.received",
        "schema_version": 1,
        "occurred_at": "2026-04-02T10:42:17.318204+01:00",
        "organisation": "demo",
        "directorate": "adults",
        "case_id": str(uuid.uuid4()),
        "correlation_id": event_id,
        "causation_id": None,
        "sequence": 1,
        "payload": {
            "reference": "ASC-2026-00417",
            "procedure": "adults",
            "kind": "complaint",
            "received_on": "2026-04-02",
            "channel": "email",
            "imported": False,
            "complainant": {
                "name": "Margaret Ellison",
                "email": "m.ellison@example.org",
                "phone": "01625 555 0192",
                "address": "14 Brook Lane, Macclesfield, SK11 7QT",
            },
            "summary": "My father's home care visits were missed on three mornings in March "
            "and nobody from the agency or the council told the family; he went without his "
            "medication and breakfast. I would like an apology and an assurance it will not "
            "happen again.",
        },
    }
    return json.dumps(envelope).encode()


async def _raw_body(message: StreamMessage[Any]) -> Any:
    return message.body


async def drain_with_faststream(url: str, count: int, batch: bool, limit: float) -> float | None:
    """Seconds for a FastStream pull subscriber (trivial handler, acks) to take all ``count``."""
    quiet = logging.getLogger("throughput.faststream")
    quiet.setLevel(logging.WARNING)
    broker = NatsBroker(url, logger=quiet, log_level=logging.DEBUG)
    done = asyncio.Event()
    seen = 0

    def counted(n: int) -> None:
        nonlocal seen
        seen += n
        if seen >= count:
            done.set()

    options: dict[str, Any] = {
        "stream": JStream(CEILING_STREAM, declare=False),
        "durable": f"ceiling-faststream-{'batch' if batch else 'single'}",
        "pull_sub": PullSub(batch_size=100, timeout=1.0, batch=batch),
        "deliver_policy": DeliverPolicy.ALL,
        "ack_policy": AckPolicy.ACK,
        "decoder": _raw_body,
    }
    if batch:

        @broker.subscriber("bench.>", **options)
        async def take_batch(bodies: list[bytes]) -> None:
            counted(len(bodies))

    else:

        @broker.subscriber("bench.>", **options)
        async def take_one(body: bytes) -> None:
            counted(1)

    started = time.monotonic()
    await broker.start()
    try:
        await asyncio.wait_for(done.wait(), limit)
        return time.monotonic() - started
    except TimeoutError:
        say(f"  FastStream ({'batch' if batch else 'single'}) took only {seen} of {count}")
        return None
    finally:
        await broker.stop()


async def drain_with_nats_py(js: Any, count: int, limit: float) -> float | None:
    """Seconds for a bare nats-py pull subscription (fetch 256, ack each) to take them all."""
    started = time.monotonic()
    sub = await js.pull_subscribe("bench.>", durable="ceiling-nats-py", stream=CEILING_STREAM)
    seen = 0
    while seen < count and time.monotonic() - started < limit:
        try:
            messages = await sub.fetch(batch=256, timeout=1.0)
        except nats.errors.TimeoutError:
            continue
        for message in messages:
            await message.ack()
        seen += len(messages)
    elapsed = time.monotonic() - started
    await sub.unsubscribe()
    return elapsed if seen >= count else None


@dataclass
class Ceiling:
    messages: int
    publish_rate: float | None = None
    faststream_single: float | None = None
    faststream_batch: float | None = None
    nats_py: float | None = None

    @property
    def best(self) -> float | None:
        rates = [r for r in (self.faststream_single, self.faststream_batch) if r]
        return max(rates) if rates else None


async def measure_ceiling(work: Path, count: int, limit: float) -> Ceiling:
    say(f"\n== Bare-bus ceiling: {count:,} messages of ~1 KB, file storage, fsync always ==")
    result = Ceiling(count)
    server = Servers.start(work / "nats-ceiling")
    nc = await nats.connect(server.url, connect_timeout=5)
    try:
        js = nc.jetstream()
        await js.add_stream(
            name=CEILING_STREAM,
            subjects=["bench.>"],
            storage=StorageType.FILE,
            duplicate_window=120.0,
        )
        started = time.monotonic()
        pending = []
        for _ in range(count):
            event_id = str(uuid.uuid4())
            pending.append(
                await js.publish_async(
                    CEILING_SUBJECT,
                    ceiling_body(event_id),
                    stream=CEILING_STREAM,
                    headers={"Nats-Msg-Id": event_id, "content-type": "application/json"},
                    wait_stall=10.0,
                )
            )
            if len(pending) >= 1000:
                await asyncio.wait_for(asyncio.gather(*pending), limit)
                pending.clear()
        await asyncio.wait_for(asyncio.gather(*pending), limit)
        result.publish_rate = rate(count, time.monotonic() - started)
        say(f"  published (publish_async, acks awaited): {fmt_rate(result.publish_rate)}")
        for batch in (False, True):
            seconds = await drain_with_faststream(server.url, count, batch, limit)
            value = rate(count, seconds)
            if batch:
                result.faststream_batch = value
            else:
                result.faststream_single = value
            kind = "batch=True, 100" if batch else "one per call, fetch 100"
            say(f"  FastStream pull subscriber ({kind}): {fmt_rate(value)}")
        result.nats_py = rate(count, await drain_with_nats_py(js, count, limit))
        say(f"  nats-py pull subscription (fetch 256, ack each): {fmt_rate(result.nats_py)}")
    finally:
        await nc.close()
        Servers.stop(server)
    return result


# --- what the clients send ---------------------------------------------------------------


def weekday_on_or_before(day: date) -> date:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


class Complaints:
    """Distinct adults' complaints, as a client posts them."""

    def __init__(self) -> None:
        self.n = 0

    def next(self, received_on: date) -> dict[str, Any]:
        self.n += 1
        n = self.n
        return {
            **EXAMPLE_COMPLAINT,
            "received_on": received_on.isoformat(),
            "complainant": {"name": f"Bench Complainant {n}", "email": f"bench{n}@example.org"},
            "summary": f"Benchmark complaint {n}: the carer did not arrive on three mornings.",
        }


def case_histories(count: int, tag: str, seed: int = 7) -> tuple[list[str], dict[str, int]]:
    """JSON Lines for ``complaints import`` and the events each line should publish."""
    rnd = random.Random(seed)
    lines, events = [], {}
    first = date(2019, 1, 7)
    for i in range(count):
        received = weekday_on_or_before(first + timedelta(days=rnd.randrange(6 * 365)))
        shape = i % 8
        directorate = "childrens" if shape in (4, 7) else "adults"
        reference = f"BENCH/{tag}/{i:06d}"
        complaint: dict[str, Any] = {
            "directorate": directorate,
            "received_on": received.isoformat(),
            "channel": rnd.choice(["letter", "email", "telephone", "online_form"]),
            "complainant": {"name": f"Imported Complainant {i}"},
            "summary": f"Historical complaint {i} about the service received.",
        }
        if directorate == "childrens":
            complaint["relationship"] = "parent"

        def on(days: int, received: date = received) -> str:
            return (received + timedelta(days=days)).isoformat()

        triage = {"action": "triage", "decision": "accepted", "decided_on": on(1)}
        allocate = {"action": "allocate", "officer": "P. Shah", "allocated_on": on(2)}
        learning = {
            "description": "Rota checks for missed visits",
            "owner": "Home Care Manager",
            "owner_email": "home.care.manager@example.org",  # chased by email when it falls due
            "due_on": on(90),
        }
        steps: list[dict[str, Any]]
        if shape == 0:  # received, nothing more yet
            steps = []
        elif shape == 1:  # triaged and allocated
            steps = [triage, allocate]
        elif shape == 2:  # responded, with a learning action
            steps = [
                triage,
                allocate,
                {
                    "action": "response",
                    "outcome": "partially_upheld",
                    "responded_on": on(18),
                    "learning_actions": [learning],
                },
            ]
        elif shape in (3, 5, 7):  # responded and closed
            steps = [
                triage,
                {
                    "action": "response",
                    "outcome": "upheld",
                    "responded_on": on(15),
                    "remedies": [{"kind": "apology"}],
                },
                {"action": "closure", "closed_on": on(40)},
            ]
        elif shape == 4:  # children's: Stage 1, escalated, Stage 2, closed
            steps = [
                triage,
                {"action": "response", "outcome": "not_upheld", "responded_on": on(9)},
                {"action": "escalation", "requested_on": on(25)},
                {
                    "action": "response",
                    "outcome": "partially_upheld",
                    "responded_on": on(70),
                    "learning_actions": [learning],
                },
                {"action": "closure", "closed_on": on(95)},
            ]
        else:  # ineligible at triage
            steps = [
                {
                    "action": "triage",
                    "decision": "ineligible",
                    "reason": "self_funder",
                    "decided_on": on(1),
                    "redirected_to": "The care home's own complaints procedure",
                }
            ]
        line = {"reference": reference, "complaint": complaint, "steps": steps}
        lines.append(json.dumps(line))
        events[reference] = 1 + len(steps)
    return lines, events


# --- load ---------------------------------------------------------------------------------


@dataclass
class Burst:
    started: float
    finished: float | None  # when the last POST returned; None if the limit ran out
    case_ids: list[str]
    errors: Counter[str]


async def post_complaint(
    client: httpx.AsyncClient, body: dict[str, Any], errors: Counter[str]
) -> str | None:
    """POST one complaint; its case id, or None with the failure counted in ``errors``."""
    try:
        response = await client.post("/api/v1/complaints", json=body)
    except httpx.HTTPError as error:
        errors[type(error).__name__] += 1
        return None
    if response.status_code != 201:
        errors[f"HTTP {response.status_code}: {response.text[:200]}"] += 1
        return None
    return response.json()["id"]


async def post_burst(
    client: httpx.AsyncClient, bodies: Callable[[], dict[str, Any]], count: int, limit: float
) -> Burst:
    """``count`` POSTs from CLIENTS concurrent clients, each posting as soon as answered."""
    ids: list[str] = []
    errors: Counter[str] = Counter()
    left = count

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            if (case_id := await post_complaint(client, bodies(), errors)) is not None:
                ids.append(case_id)

    started = time.monotonic()
    workers = [asyncio.create_task(worker()) for _ in range(CLIENTS)]
    finished: float | None = None
    try:
        await asyncio.wait_for(asyncio.gather(*workers), limit)
        finished = time.monotonic()
    except TimeoutError:
        say(f"  posting not finished within {limit:.0f} s ({len(ids)} of {count} accepted)")
    return Burst(started, finished, ids, errors)


@dataclass
class Steady:
    latencies: list[float]
    errors: Counter[str]
    sent: int
    seconds: float
    stalled: bool = False
    drained: bool = False

    def percentile(self, p: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered)) - 1))]


async def post_steady(
    client: httpx.AsyncClient,
    bodies: Callable[[], dict[str, Any]],
    per_second: float,
    seconds: float,
) -> Steady:
    """Open loop: POST number i is due at start + i/rate, whatever became of the others."""
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    count = round(per_second * seconds)

    async def one(due: float) -> None:
        if await post_complaint(client, bodies(), errors) is not None:
            latencies.append(time.monotonic() - due)

    tasks = []
    start = time.monotonic() + 0.05
    for i in range(count):
        due = start + i / per_second
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        tasks.append(asyncio.create_task(one(due)))
    await asyncio.wait(tasks, timeout=60)
    for task in tasks:
        task.cancel()
    return Steady(latencies, errors, count, seconds)


# --- a backend's run -------------------------------------------------------------------------


@dataclass
class PhaseResult:
    name: str
    count: int
    accepted: int = 0
    accepted_rate: float | None = None
    end_to_end_rate: float | None = None  # None: not finished
    letters: int = 0
    drained_seconds: float | None = None
    bus_messages: int = 0
    dead_letters: int = 0
    post_errors: Counter[str] = field(default_factory=Counter)
    logs: LogFindings = field(default_factory=LogFindings)
    note: str = ""
    stalled: bool = False
    cpu_ms: dict[str, float] = field(default_factory=dict)
    """CPU per complaint by process (the suite's, nats-server's, this benchmark's clients)."""


@dataclass
class ImportResult:
    lines: int
    imported: int = 0
    command_seconds: float | None = None
    startup_seconds: float | None = None
    end_to_end_seconds: float | None = None
    exit_code: int | None = None
    problems: str = ""
    events_expected: int = 0
    events_seen: int = 0
    dead_letters: int = 0
    logs: LogFindings = field(default_factory=LogFindings)
    stalled: bool = False


@dataclass
class BackendResult:
    backend: str
    started: bool = False
    start_error: str = ""
    today: PhaseResult | None = None
    months_ago: PhaseResult | None = None
    steady: Steady | None = None
    steady_dead_letters: int = 0
    importing: ImportResult | None = None
    dead_letters: int = 0
    startup_logs: LogFindings = field(default_factory=LogFindings)
    logs: LogFindings = field(default_factory=LogFindings)
    shutdown_logs: LogFindings = field(default_factory=LogFindings)
    stalled_in: str = ""
    complaints_posted: int = 0
    post_errors: int = 0


class Suite:
    """The suite under test on one backend, and the connections that watch it."""

    def __init__(self, backend: str, work: Path, args: argparse.Namespace) -> None:
        self.backend, self.work, self.args = backend, work, args
        self.children: list[Child] = []
        self.ready_urls: list[str] = []
        self.api = ""
        self.nats: NatsServer | None = None
        self.database: tuple[str, str] | None = None  # admin url, name
        self.issuer: LocalIssuer | None = None  # the separate processes' (up embeds its own)
        self.database_url = ""
        self.data_dir = work / "data"
        self.bus = Bus()
        self.logs = Logs(self.children)

    async def start(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        self.nats = Servers.start(self.work / "nats")
        if self.backend == "sqlite":
            port = free_port()
            env = child_env(nats_url=self.nats.url)
            argv = [str(COMPLAINTS), "up", "--data-dir", str(self.data_dir), "--port", str(port)]
            self.children.append(Child("up", argv, env, self.work / "up.log"))
            self.ready_urls = [f"http://127.0.0.1:{port}"]
        else:
            self.database_url = await self._create_database()
            self.issuer = LocalIssuer(self.work / "issuer").start()
            for service in SERVICES:
                port = free_port()
                env = child_env(
                    nats_url=self.nats.url,
                    oidc_issuer=self.issuer.url,
                    oidc_audience=AUDIENCE,
                    database_url=self.database_url,
                    http_port=str(port),
                    data_dir=str(self.data_dir),
                )
                argv = [str(COMPLAINTS), "run", service]
                self.children.append(Child(service, argv, env, self.work / f"{service}.log"))
                self.ready_urls.append(f"http://127.0.0.1:{port}")
        self.api = self.ready_urls[0]  # intake's (or everything's)
        for child in self.children:
            child.start()
        await self._wait_ready(self.args.start_timeout)
        await self.bus.connect(self.nats.url)

    async def _create_database(self) -> str:
        admin = os.environ.get("COMPLAINTS_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
        name = f"complaints_bench_{uuid.uuid4().hex[:10]}"
        connection = await asyncpg.connect(admin, timeout=10)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        self.database = (admin, name)
        Databases.created.append(self.database)
        url = make_url(admin).set(drivername="postgresql+asyncpg", database=name)
        return url.render_as_string(hide_password=False)

    async def _drop_database(self) -> None:
        if self.database is None:
            return
        admin, name = self.database
        connection = await asyncpg.connect(admin, timeout=10)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()
        with contextlib.suppress(ValueError):
            Databases.created.remove(self.database)
        self.database = None

    async def _wait_ready(self, limit: float) -> None:
        started = time.monotonic()
        deadline = started + limit
        waiting = list(zip(self.children, self.ready_urls, strict=True))
        async with httpx.AsyncClient(timeout=2) as client:
            while waiting:
                child, url = waiting[0]
                if child.exited is not None:
                    raise RuntimeError(f"{child.name} exited with {child.exited}:\n{child.tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{url}/health/ready")).status_code == 200:
                        waiting.pop(0)
                        continue
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"{child.name} not ready within {limit:.0f} s:\n{child.tail()}"
                    )
                await asyncio.sleep(0.1)
        say(f"  ready in {time.monotonic() - started:.1f} s ({len(self.children)} process(es))")

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far by each process of the suite, the bus and this script."""
        used = {
            child.name: cpu_seconds(child.process and child.process.pid) for child in self.children
        }
        used["nats-server"] = cpu_seconds(self.nats and self.nats.process and self.nats.process.pid)
        used["clients"] = time.process_time()
        return used

    def check_alive(self) -> None:
        for child in self.children:
            if child.exited is not None:
                raise RuntimeError(f"{child.name} exited with {child.exited}:\n{child.tail()}")

    async def stop(self) -> None:
        await self.bus.close()
        for child in self.children:
            child.stop()
        if self.nats is not None:
            Servers.stop(self.nats)
        if self.issuer is not None:
            self.issuer.stop()
        with contextlib.suppress(Exception):
            await self._drop_database()

    def import_env(self) -> dict[str, str]:
        if self.backend == "sqlite":  # intake's SQLite file is in the data folder
            return child_env(nats_url=self.nats.url, data_dir=str(self.data_dir))  # type: ignore[union-attr]
        return child_env(nats_url=self.nats.url, database_url=self.database_url)  # type: ignore[union-attr]


async def burst_phase(
    suite: Suite,
    client: httpx.AsyncClient,
    complaints: Complaints,
    name: str,
    received_on: date,
    count: int,
    limit: float,
) -> PhaseResult:
    say(f"  -- {name}: {count:,} complaints received {received_on}, {CLIENTS} clients")
    result = PhaseResult(name, count)
    mark, before = suite.logs.mark(), await suite.bus.snapshot()
    cpu_before = suite.cpu()
    deadline = time.monotonic() + limit
    burst = await post_burst(client, lambda: complaints.next(received_on), count, limit)
    result.accepted, result.post_errors = len(burst.case_ids), burst.errors
    if burst.finished is not None:
        result.accepted_rate = rate(len(burst.case_ids), burst.finished - burst.started)
    letters, stall, checked = suite.bus.letters, Stall(), 0.0
    while time.monotonic() < deadline:
        found = sum(case_id in letters for case_id in burst.case_ids)
        if found == len(burst.case_ids):
            break
        if time.monotonic() - checked >= 1.0:
            checked = time.monotonic()
            suite.check_alive()
            snap = await suite.bus.snapshot()
            if stall.stuck((found, snap.streams, snap.busy_consumers)):
                result.stalled = True
                break
        await asyncio.sleep(0.05)
    issued = [letters[c] for c in burst.case_ids if c in letters]
    result.letters = len(issued)
    if issued and len(issued) == len(burst.case_ids) == count:
        result.end_to_end_rate = rate(count, max(issued) - burst.started)
    else:
        why = f"stalled {STALL_SECONDS:.0f} s" if result.stalled else f"limit {limit:.0f} s"
        result.note = f"not finished: {len(issued)} of {count} letters ({why})"
        if issued:
            result.note += f", {fmt_rate(rate(len(issued), max(issued) - burst.started))} so far"
    drain = await wait_drained(
        suite.bus, client, suite.ready_urls, max(10.0, deadline - time.monotonic())
    )
    result.stalled = result.stalled or drain.stalled
    if drain.drained_at is not None:
        result.drained_seconds = drain.drained_at - burst.started
    else:
        result.note += f"; {'stalled' if drain.stalled else 'not drained'}: " + "; ".join(
            drain.last.busy_consumers[:4]
        )
    result.bus_messages = drain.last.messages - before.messages
    result.dead_letters = drain.last.dead_letters - before.dead_letters
    result.logs = suite.logs.scan(mark)
    result.cpu_ms = {
        name: 1000 * (used - cpu_before.get(name, 0.0)) / max(1, result.accepted)
        for name, used in suite.cpu().items()
    }
    cpu = ", ".join(f"{name} {ms:.1f}" for name, ms in result.cpu_ms.items())
    say(
        f"     accepted {fmt_rate(result.accepted_rate)}, end to end "
        f"{fmt_rate(result.end_to_end_rate)}, drained after "
        f"{'-' if result.drained_seconds is None else f'{result.drained_seconds:.1f} s'}"
        f" ({result.bus_messages:,} bus messages, {result.bus_messages / max(1, count):.1f} per "
        f"complaint); dead letters {result.dead_letters}, POST errors "
        f"{sum(result.post_errors.values())}, warning/error log lines {result.logs.total}"
        + f"\n     CPU ms per complaint (until drained): {cpu}"
        + (f"\n     {result.note}" if result.note else "")
    )
    return result


async def steady_phase(
    suite: Suite, client: httpx.AsyncClient, complaints: Complaints, seconds: float, limit: float
) -> tuple[Steady, int]:
    say(f"  -- steady: {STEADY_RATE:.0f} complaints/s for {seconds:.0f} s (open loop)")
    before = await suite.bus.snapshot()
    today = today_in_england()
    steady = await post_steady(client, lambda: complaints.next(today), STEADY_RATE, seconds)
    drain = await wait_drained(suite.bus, client, suite.ready_urls, limit)
    steady.stalled, steady.drained = drain.stalled, drain.drained_at is not None
    dead = drain.last.dead_letters - before.dead_letters
    p50, p99 = steady.percentile(0.50), steady.percentile(0.99)
    say(
        f"     POST p50 {ms(p50)}, p99 {ms(p99)}, max {ms(max(steady.latencies, default=None))}"
        f" ({len(steady.latencies)} of {steady.sent} accepted, errors "
        f"{sum(steady.errors.values())}); dead letters {dead}"
        + ("" if drain.drained_at else "; backlog not drained: ")
        + "; ".join(drain.last.busy_consumers[:4])
    )
    return steady, dead


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


async def run_command(
    argv: list[str], env: dict[str, str], limit: float
) -> subprocess.CompletedProcess[bytes]:
    """Run a command to the end (killed after ``limit`` seconds), its output captured."""
    return await asyncio.to_thread(
        subprocess.run, argv, env=env, capture_output=True, timeout=limit, check=False
    )


async def import_phase(
    suite: Suite, client: httpx.AsyncClient, count: int, limit: float
) -> ImportResult:
    say(f"  -- import: {count:,} case histories with `complaints import`")
    result = ImportResult(count)
    tag = uuid.uuid4().hex[:6]
    lines, events = case_histories(count, tag)
    path = suite.work / "histories.jsonl"
    path.write_text("\n".join(lines) + "\n")
    empty = suite.work / "empty.jsonl"
    empty.write_text("")
    env = suite.import_env()
    argv = [str(COMPLAINTS), "import"]

    started = time.monotonic()
    with contextlib.suppress(subprocess.SubprocessError):
        await run_command([*argv, str(empty)], env, limit)
        result.startup_seconds = time.monotonic() - started

    mark, before = suite.logs.mark(), await suite.bus.snapshot()
    started = time.monotonic()
    try:
        done = await run_command([*argv, str(path)], env, limit)
    except subprocess.TimeoutExpired:
        result.problems = f"`complaints import` not finished within {limit:.0f} s"
        say(f"     {result.problems}")
        return result
    result.command_seconds = time.monotonic() - started
    result.exit_code = done.returncode
    (suite.work / "import-report.json").write_bytes(done.stdout)
    (suite.work / "import-stderr.log").write_bytes(done.stderr)
    try:
        report = json.loads(done.stdout)
        imported = report.get("imported", [])
        result.imported = len(imported)
        if report.get("errors"):
            result.problems = f"{len(report['errors'])} line(s) refused, e.g. {report['errors'][0]}"
    except ValueError:
        imported = []
        result.problems = f"no report (exit {done.returncode}): {done.stderr.decode()[-500:]}"
    result.events_expected = sum(events[reference] for reference in imported)
    cases_before = before.streams.get("COMPLAINTS_CASES", 0)

    def published(snap: Snapshot) -> bool:
        return snap.streams.get("COMPLAINTS_CASES", 0) - cases_before >= result.events_expected

    remaining = max(10.0, limit - result.command_seconds)
    drain = await wait_drained(suite.bus, client, suite.ready_urls, remaining, until=published)
    result.events_seen = drain.last.streams.get("COMPLAINTS_CASES", 0) - cases_before
    result.stalled = drain.stalled
    if drain.drained_at is not None:
        result.end_to_end_seconds = drain.drained_at - started
    else:
        why = f"stalled {STALL_SECONDS:.0f} s" if drain.stalled else f"limit {remaining:.0f} s"
        result.problems += (
            f"; not drained ({why}; case events {result.events_seen} of "
            f"{result.events_expected}): " + "; ".join(drain.last.busy_consumers[:4])
        )
    result.dead_letters = drain.last.dead_letters - before.dead_letters
    result.logs = suite.logs.scan(mark)
    say(
        f"     {result.imported:,} imported in {result.command_seconds:.1f} s "
        f"({fmt_rate(rate(result.imported, result.command_seconds))}; start-up alone "
        f"{result.startup_seconds or 0:.1f} s), end to end "
        f"{fmt_rate(rate(result.imported, result.end_to_end_seconds))} "
        f"({result.events_seen:,} case events); dead letters {result.dead_letters}, "
        f"warning/error log lines {result.logs.total}"
        + (f"\n     {result.problems}" if result.problems else "")
    )
    return result


async def run_backend(backend: str, work: Path, args: argparse.Namespace) -> BackendResult:
    layout = "`complaints up`, front and worker" if backend == "sqlite" else "`complaints run` x 5"
    say(f"\n== Suite on {'SQLite' if backend == 'sqlite' else 'PostgreSQL'} ({layout}) ==")
    result = BackendResult(backend)
    suite = Suite(backend, work, args)
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    complaints = Complaints()
    try:
        try:
            await suite.start()
        except Exception as error:  # noqa: BLE001 - reported, and the other backend still runs
            result.start_error = f"{type(error).__name__}: {error}"
            say(f"  COULD NOT START: {result.start_error}")
            return result
        result.started = True
        result.startup_logs = suite.logs.scan()
        after_start = suite.logs.mark()
        async with httpx.AsyncClient(
            base_url=suite.api, limits=limits, timeout=30.0, http2=False
        ) as client:
            await run_phases(suite, client, complaints, args, result)
        result.dead_letters = (await suite.bus.snapshot()).dead_letters
        result.logs = suite.logs.scan(after_start)
    except Exception as error:  # noqa: BLE001 - reported; the run goes on
        result.start_error = result.start_error or f"{type(error).__name__}: {error}"
        say(f"  RUN FAILED: {type(error).__name__}: {error}")
    finally:
        result.complaints_posted = complaints.n
        for phase in (result.today, result.months_ago):
            if phase is not None:
                result.post_errors += sum(phase.post_errors.values())
        if result.steady is not None:
            result.post_errors += sum(result.steady.errors.values())
        before_stop = suite.logs.mark()
        await suite.stop()
        result.shutdown_logs = suite.logs.scan(before_stop)
    return result


async def run_phases(
    suite: Suite,
    client: httpx.AsyncClient,
    complaints: Complaints,
    args: argparse.Namespace,
    result: BackendResult,
) -> None:
    """The phases in turn, each starting from a drained suite.

    A phase that left a backlog gets more time to drain it before the next one; if the
    suite stalled, or the backlog outlasts that too, the rest would mean nothing.
    """

    async def stop_here(phase: str, stuck: bool, drained: bool = True) -> bool:
        if not stuck and not drained:
            say(f"     backlog left; giving it up to {args.timeout:.0f} s more to drain")
            drain = await wait_drained(suite.bus, client, suite.ready_urls, args.timeout)
            if drain.drained_at is None and not drain.stalled:
                result.stalled_in = f"{phase} (backlog not drained)"
                say(f"  !! backlog after '{phase}' not drained; skipping the rest on this backend")
                return True
            stuck = drain.stalled
        if stuck:
            result.stalled_in = phase
            say(
                f"  !! the suite STALLED during '{phase}' (work outstanding, nothing moving for "
                f"{STALL_SECONDS:.0f} s); skipping the rest on this backend"
            )
        return stuck

    today = today_in_england()
    result.today = await burst_phase(
        suite, client, complaints, "received today", today, args.complaints, args.timeout
    )
    if await stop_here(
        "received today", result.today.stalled, result.today.drained_seconds is not None
    ):
        return
    if args.months_ago:
        received = weekday_on_or_before(today - timedelta(days=335))
        result.months_ago = await burst_phase(
            suite,
            client,
            complaints,
            "received months ago",
            received,
            args.months_ago,
            args.timeout,
        )
        months = result.months_ago
        if await stop_here(
            "received months ago", months.stalled, months.drained_seconds is not None
        ):
            return
    if args.steady_seconds:
        result.steady, result.steady_dead_letters = await steady_phase(
            suite, client, complaints, args.steady_seconds, args.timeout
        )
        if await stop_here("steady", result.steady.stalled, result.steady.drained):
            return
    if args.import_lines:
        result.importing = await import_phase(suite, client, args.import_lines, args.timeout)
        await stop_here("import", result.importing.stalled)


# --- the report ------------------------------------------------------------------------------


@dataclass
class Row:
    figure: str
    value: str
    target: str = ""
    status: str = ""


def verdict(value: float | None, met: bool) -> str:
    if value is None:
        return "NOT FINISHED"
    return "met" if met else "NOT MET"


def backend_rows(result: BackendResult, ceiling: Ceiling | None) -> list[Row]:
    label = "SQLite, up" if result.backend == "sqlite" else "PostgreSQL, run x5"
    rows: list[Row] = []
    if not result.started:
        return [Row(f"[{label}] suite", "did not start", "", "NOT MET")]
    today = result.today
    if today is not None:
        rows.append(
            Row(f"[{label}] accepted/s, {CLIENTS} clients (today)", fmt_rate(today.accepted_rate))
        )
        value = today.end_to_end_rate
        rows.append(
            Row(
                f"[{label}] end to end/s (received today)",
                fmt_rate(value) if value is not None else f"{today.letters}/{today.count} letters",
                f">= {TARGET_END_TO_END:.0f}/s",
                verdict(value, value is not None and value >= TARGET_END_TO_END),
            )
        )
        if today.drained_seconds is not None:
            rows.append(
                Row(
                    f"[{label}]   all consumers drained (today)",
                    f"{today.drained_seconds:.1f} s = "
                    f"{fmt_rate(rate(today.count, today.drained_seconds))}",
                )
            )
        if ceiling is not None and ceiling.best and value is not None:
            share = f"{100 * value / ceiling.best:.1f}% of {fmt_rate(ceiling.best, ' msg/s')}"
            bus = rate(today.bus_messages, today.drained_seconds)
            if bus is not None:
                share += f" (bus: {fmt_rate(bus, ' msg/s')}, {100 * bus / ceiling.best:.0f}%)"
            rows.append(Row(f"[{label}]   end to end as share of the ceiling", share))
    months = result.months_ago
    if months is not None:
        value = months.end_to_end_rate
        rows.append(
            Row(
                f"[{label}] end to end/s (received months ago)",
                fmt_rate(value)
                if value is not None
                else f"{months.letters}/{months.count} letters",
                "reported",
                "" if value is not None else "NOT FINISHED",
            )
        )
        if months.drained_seconds is not None:
            rows.append(
                Row(
                    f"[{label}]   all consumers drained (months ago)",
                    f"{months.drained_seconds:.1f} s = "
                    f"{fmt_rate(rate(months.count, months.drained_seconds))}",
                )
            )
    steady = result.steady
    if steady is not None:
        p50, p99 = steady.percentile(0.5), steady.percentile(0.99)
        rows.append(
            Row(
                f"[{label}] POST p50 / p99 / max at {STEADY_RATE:.0f}/s",
                f"{ms(p50)} / {ms(p99)} / {ms(max(steady.latencies, default=None))}",
                f"p99 < {TARGET_P99_MS:.0f} ms",
                verdict(
                    p99,
                    p99 is not None
                    and p99 * 1000 < TARGET_P99_MS
                    and not steady.errors
                    and len(steady.latencies) == steady.sent,
                ),
            )
        )
    imp = result.importing
    if imp is not None:
        command = rate(imp.imported, imp.command_seconds)
        rows.append(
            Row(
                f"[{label}] import lines/s (the command)",
                f"{fmt_rate(command)} ({imp.imported:,} in "
                f"{imp.command_seconds or 0:.1f} s, start-up {imp.startup_seconds or 0:.1f} s)",
            )
        )
        e2e = rate(imp.imported, imp.end_to_end_seconds)
        complete = imp.imported == imp.lines and not imp.problems
        rows.append(
            Row(
                f"[{label}] import lines/s, end to end",
                fmt_rate(e2e),
                f">= {TARGET_IMPORT:.0f}/s",
                verdict(e2e, e2e is not None and e2e >= TARGET_IMPORT and complete),
            )
        )
    if result.stalled_in:
        rows.append(
            Row(f"[{label}] suite kept moving", f"stalled in '{result.stalled_in}'", "", "NOT MET")
        )
    failures = result.logs.failures + result.post_errors
    clean = (
        failures == 0
        and result.dead_letters == 0
        and not result.start_error
        and not result.stalled_in
    )
    size = result.complaints_posted
    status = "NOT MET" if not clean else ("met" if size >= CLEAN_RUN else "met (small run)")
    rows.append(
        Row(
            f"[{label}] failed handlings / dead letters",
            f"{result.logs.failures} / {result.dead_letters} "
            f"({size:,} complaints, {result.post_errors} POST errors)",
            f"0 / 0 over {CLEAN_RUN:,}",
            status,
        )
    )
    return rows


def print_report(
    args: argparse.Namespace, ceiling: Ceiling | None, results: list[BackendResult]
) -> None:
    rows: list[Row] = []
    if ceiling is not None:
        rows.append(
            Row(
                "bare-bus ceiling (FastStream pull, trivial handler)",
                fmt_rate(ceiling.best, " msg/s"),
            )
        )
        rows.append(
            Row(
                "  one per call / batch",
                f"{fmt_rate(ceiling.faststream_single)} / {fmt_rate(ceiling.faststream_batch)}",
            )
        )
        rows.append(
            Row(
                "  bare nats-py fetch loop / publish",
                f"{fmt_rate(ceiling.nats_py)} / {fmt_rate(ceiling.publish_rate)}",
            )
        )
    for result in results:
        rows.extend(backend_rows(result, ceiling))
    widths = [max(len(getattr(r, f)) for r in rows) for f in ("figure", "value", "target")]
    say(
        f"\n== Results ({os.cpu_count()} CPUs; {args.complaints:,} complaints, "
        f"{args.months_ago:,} received months ago, {args.steady_seconds:.0f} s steady, "
        f"{args.import_lines:,} import lines) =="
    )
    header = Row("figure", "value", "target", "status")
    for row in [header, *rows]:
        say(
            f"  {row.figure:<{widths[0]}}  {row.value:>{widths[1]}}  "
            f"{row.target:<{widths[2]}}  {row.status}"
        )
    unmet = [r for r in rows if r.status in ("NOT MET", "NOT FINISHED")]
    for result in results:
        found = result.logs
        if result.start_error or found.total or result.dead_letters:
            say(f"\n!! {result.backend}: problems seen")
            if result.start_error:
                say(f"   {result.start_error}")
            if result.dead_letters:
                say(f"   {result.dead_letters} message(s) on {DEAD_LETTERS}")
            for line in found.describe():
                say(f"   {line}")
        for when, found in (("start-up", result.startup_logs), ("shutdown", result.shutdown_logs)):
            if found.total:
                say(f"\n   ({result.backend}: {found.total} warning/error line(s) at {when})")
                for line in found.describe(3):
                    say(f"   {line}")
    if unmet:
        say(f"\n!! {len(unmet)} target(s) NOT MET or NOT FINISHED:")
        for row in unmet:
            say(f"   - {row.figure}: {row.value} (target {row.target})")
    else:
        say("\nAll targets met.")


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--complaints", type=int, help="complaints received today (10,000)")
    parser.add_argument("--months-ago", type=int, help="complaints received months ago (N)")
    parser.add_argument("--steady-seconds", type=float, help="seconds at 50/s (20)")
    parser.add_argument("--import-lines", type=int, help="case histories to import (5,000)")
    parser.add_argument("--ceiling-messages", type=int, help="messages for the ceiling (20,000)")
    parser.add_argument(
        "--backend", choices=("sqlite", "postgresql", "both"), default="both", help="(both)"
    )
    parser.add_argument("--skip-ceiling", action="store_true")
    parser.add_argument("--timeout", type=float, help="seconds a phase may take before giving up")
    parser.add_argument("--start-timeout", type=float, default=120.0, help="suite start-up (120)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder and its logs")
    args = parser.parse_args(argv)
    small = args.quick
    if args.complaints is None:
        args.complaints = 200 if small else CLEAN_RUN
    if args.months_ago is None:
        args.months_ago = args.complaints
    if args.steady_seconds is None:
        args.steady_seconds = 10.0 if small else 20.0
    if args.import_lines is None:
        args.import_lines = 200 if small else 5_000
    if args.ceiling_messages is None:
        args.ceiling_messages = 5_000 if small else 20_000
    if args.timeout is None:  # generous: three times what the target allows, and a minute
        biggest = max(args.complaints, args.months_ago, args.import_lines)
        args.timeout = max(180.0, 60.0 + 3 * biggest / TARGET_END_TO_END)
    return args


async def run(args: argparse.Namespace, work: Path) -> None:
    # SIGTERM as Ctrl-C: cancel, so every phase's clean-up runs.
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    ceiling = None
    if not args.skip_ceiling:
        try:
            ceiling = await measure_ceiling(work, args.ceiling_messages, args.timeout)
        except Exception as error:  # noqa: BLE001 - reported; the suite still runs
            say(f"  CEILING FAILED: {type(error).__name__}: {error}")
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    results = [await run_backend(backend, work / backend, args) for backend in backends]
    print_report(args, ceiling, results)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="complaints-throughput-"))
    say(f"work folder {work}; {os.cpu_count()} CPUs")
    try:
        asyncio.run(run(args, work))
    except (KeyboardInterrupt, asyncio.CancelledError):
        say("\ninterrupted; stopping what was started")
    finally:
        Child.stop_all()
        Servers.stop_all()
        Databases.drop_all()
        if args.keep:
            say(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
