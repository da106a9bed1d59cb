"""The whole suite as a separate process (``complaints up``), for end-to-end tests.

Tests and the latency benchmark drive it over HTTP like any client, and can kill it
with SIGKILL, as a power cut would, to prove a restart loses nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from complaints_shared.auth.principal import Role
from complaints_shared.issuer.commands import store_in
from complaints_shared.issuer.store import Account
from complaints_shared.runtime.natsserver import free_port
from complaints_shared.testing.tokens import ClientCredentials

TEST_CLIENT = "suite-tests"

EXAMPLE_COMPLAINT = {
    "directorate": "adults",
    # Thursday before Easter 2026: Good Friday 3 April and Easter Monday 6 April are
    # skipped, and May Day (4 May) too for the 20-day response target.
    "received_on": "2026-04-02",
    "channel": "email",
    "complainant": {"name": "Ann Example", "email": "ann@example.org"},
    "summary": "The carer did not arrive on three mornings.",
}
"""A complaint as a client posts it to ``/api/v1/complaints``."""


TESTS_RATE_LIMIT = "100000/minute"
"""``COMPLAINTS_PUBLIC_RATE_LIMIT`` for tests, which log complaints far faster than any
public client may (the limit itself is tested with its own setting)."""


def _processes_using(path: Path) -> list[int]:
    """Pids whose command line mentions ``path`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if str(path).encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


class SuiteProcess:
    """``complaints up`` on a free port with its data in ``data_dir``."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        # Embedded defaults unless the test says otherwise: a bundled NATS, SQLite files.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("COMPLAINTS_")}
        # Tests and benchmarks log complaints far faster than any public client may.
        self.env = {
            **inherited,
            "COMPLAINTS_LOG_LEVEL": "INFO",
            "COMPLAINTS_PUBLIC_RATE_LIMIT": TESTS_RATE_LIMIT,
            **(env or {}),
        }
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._credentials: ClientCredentials | None = None

    def headers(self) -> dict[str, str]:
        """An Authorization header for the suite's own issuer, as a script gets one:
        client credentials of a client registered in the data folder, as
        ``complaints clients add`` registers it (a complaints officer of every
        directorate and an administrator). The token is reused while it is fresh."""
        if self._credentials is None:
            secret = store_in(self.data_dir).add(
                Account(
                    TEST_CLIENT,
                    "client",
                    (Role.COMPLAINTS_OFFICER, Role.ADMINISTRATOR),
                    directorates=("*",),
                )
            )
            self._credentials = ClientCredentials(f"{self.url}/issuer/token", TEST_CLIENT, secret)
        return {"Authorization": f"Bearer {self._credentials.token()}"}

    def client(self, timeout: float = 10) -> httpx.Client:
        """An HTTP client for the suite, signed in (see :meth:`headers`)."""
        return httpx.Client(base_url=self.url, timeout=timeout, headers=self.headers())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"suite-{self.starts}.log"

    def start(self, timeout: float = 60.0) -> SuiteProcess:
        """Start and wait until every service reports ready."""
        self.starts += 1
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = Path(sys.executable).parent / "complaints"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [str(command), "up", "--data-dir", str(self.data_dir), "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"suite exited with {self.process.returncode}: {self.tail()}")
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise TimeoutError(f"suite not ready within {timeout}s: {self.tail()}")

    def interrupt(self, timeout: float = 30.0) -> int:
        """Ctrl-C: stop cleanly and return the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout)
        self._wait_for_nats_to_go()
        return code

    def kill(self) -> None:
        """SIGKILL the suite, with no chance to clean up (its NATS server follows it)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._wait_for_nats_to_go()

    def _wait_for_nats_to_go(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while _processes_using(self.data_dir / "nats") and time.monotonic() < deadline:
            time.sleep(0.05)

    def tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])
