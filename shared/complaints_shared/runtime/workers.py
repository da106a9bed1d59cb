"""``complaints up``'s worker: the staff services' consumers and background tasks in a
process of their own, so the embedded run uses two cores and the public's front door
stays quick while the pipeline is busy.

In one process every service shares one core (Python's global lock), and a complaint
posted waits behind whatever the consumers are doing. So ``complaints up`` keeps in
its own process all HTTP routes and the whole of intake (the public's POST, and
intake's consumers, which write the same SQLite file), and starts one worker,
``complaints worker deadlines letters learning reporting``, that runs those
services' consumers, background tasks (timers, letter delivery) and outbox relays.
The split is by database file, so no file has writers in two processes in the
normal flow; an officer's action on, say, a letter writes the letters file from the
front (the inline writer waits for the lock in asyncio, ``sqlite_inline.py``), and
the worker's relay and delivery pick it up at their next poll (a second, and
``COMPLAINTS_LETTERS_POLL_SECONDS``). Splitting further, a worker per service, was
measured slower: more, smaller batches cost more CPU than the second core gave.

The front supervises the worker: one that exits is started again (after a growing
wait), readiness reports it, and stopping ``up`` stops it. A worker whose parent has
gone (killed with no chance to stop it) stops too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping

import structlog

from complaints_shared.settings import NatsCredentials, Settings

log = structlog.get_logger(__name__)

FRONT = frozenset({"intake"})
"""The services ``complaints up`` runs wholly in its own process (see the docstring)."""
CREDENTIALS_VARIABLE = "COMPLAINTS_WORKER_NATS_USERS"
"""The worker's services' NATS users, as JSON ``{service: [user, password]}``."""
FRONT_VARIABLE = "COMPLAINTS_WORKER_FRONT_PID"
"""The front's process id: the worker stops once it is no longer its parent."""
STOP_SECONDS = 15.0
"""How long the worker gets to finish its batches and stop before it is killed."""
RESTART_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0)
"""The waits before starting the worker again after its 1st, 2nd... exit in a row."""
HEALTHY_SECONDS = 60.0
"""A worker that ran this long before exiting counts as a first exit (the shortest wait)."""


class Workers:
    """One process doing ``services``' work for a front that serves their HTTP routes."""

    def __init__(
        self,
        settings: Settings,
        services: list[str],
        credentials: Mapping[str, NatsCredentials] | None,
    ) -> None:
        self.services = frozenset(services)
        self.command = [sys.executable, "-m", "complaints_shared.runtime.cli", "worker", *services]
        self.environment = _environment(settings, services, credentials)
        self.process: subprocess.Popen[bytes] | None = None
        self._started_at = 0.0
        self._exits = 0
        self._supervising: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the worker, and watch it from a task of the running loop."""
        self._spawn()
        self._supervising = asyncio.create_task(self._supervise(), name="workers")

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _spawn(self) -> None:
        self.process = subprocess.Popen(
            self.command, env=self.environment, stdin=subprocess.DEVNULL
        )
        self._started_at = time.monotonic()

    async def _supervise(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            if self.alive:
                continue
            ran = time.monotonic() - self._started_at
            self._exits = 1 if ran >= HEALTHY_SECONDS else self._exits + 1
            wait = RESTART_SECONDS[min(self._exits, len(RESTART_SECONDS)) - 1]
            log.error(
                "worker stopped; starting it again",
                services=sorted(self.services),
                exit_code=self.process.returncode if self.process else None,
                in_seconds=wait,
            )
            await asyncio.sleep(wait)
            self._spawn()

    async def stop(self) -> None:
        """Ask the worker to stop (SIGTERM); kill it if it is still running after a while."""
        if self._supervising is not None:
            self._supervising.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervising
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while self.alive and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        if self.alive:
            log.warning("worker did not stop in time; killing it")
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        self.process.wait()


def _environment(
    settings: Settings, services: list[str], credentials: Mapping[str, NatsCredentials] | None
) -> dict[str, str]:
    """The front's environment, plus what ``up`` decided (data folder, bus, issuer, users)."""
    environment = dict(os.environ)
    environment[FRONT_VARIABLE] = str(os.getpid())
    environment["COMPLAINTS_DATA_DIR"] = str(settings.data_dir.resolve())
    for name, value in (("NATS_URL", settings.nats_url), ("OIDC_ISSUER", settings.oidc_issuer)):
        if value is not None:
            environment[f"COMPLAINTS_{name}"] = value
    if credentials is not None:
        environment[CREDENTIALS_VARIABLE] = json.dumps(
            {name: list(credentials[name]) for name in services}
        )
    return environment


def worker_credentials() -> dict[str, NatsCredentials] | None:
    """The NATS users the front gave this worker's services, if it gave any."""
    given = os.environ.get(CREDENTIALS_VARIABLE)
    if not given:
        return None
    return {name: NatsCredentials(*pair) for name, pair in json.loads(given).items()}


async def until_stopped() -> None:
    """Return on SIGTERM or SIGINT, or once the front that started this worker has gone
    (it may have gone before this worker got here: it is named, not looked up now)."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stopping.set)
    parent = int(os.environ.get(FRONT_VARIABLE) or os.getppid())
    while not stopping.is_set():
        if os.getppid() != parent:
            log.warning("the process that started this worker has gone; stopping")
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                await stopping.wait()


def exit_unless_stopped_within(seconds: float) -> None:
    """End the process if stopping takes longer than ``seconds``: a worker whose front and
    bus were killed has nobody to stop it, and must not linger holding its files."""

    def give_up() -> None:
        log.error("worker did not stop in time; exiting", seconds=seconds)
        os._exit(70)

    timer = threading.Timer(seconds, give_up)
    timer.daemon = True
    timer.start()
