"""``complaints up``'s worker process: it does the staff services' work, is started again
when it dies, and goes when the front goes (``runtime/workers.py``)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from complaints_shared.testing.suite import EXAMPLE_COMPLAINT as COMPLAINT
from complaints_shared.testing.suite import SuiteProcess

pytestmark = pytest.mark.e2e

WORKER_SERVICES = ["deadlines", "learning", "letters", "reporting"]


@pytest.fixture
def suite(tmp_path: Path) -> Iterator[SuiteProcess]:
    process = SuiteProcess(tmp_path / "data").start()
    yield process
    process.kill()


def children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def the_worker(suite: SuiteProcess) -> int:
    assert suite.process is not None
    workers = [
        pid
        for pid in children(suite.process.pid)
        if b"worker" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    ]
    assert len(workers) == 1, workers
    return workers[0]


def eventually(check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while (found := check()) in (None, False, []):
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout}s")
        time.sleep(0.1)
    return found


def acknowledged(client: httpx.Client, case_id: str) -> list[dict]:
    letters = client.get("/api/v1/letters", params={"case_id": case_id}).json()
    return [x for x in letters if x["kind"] == "acknowledgement" and x["status"] == "delivered"]


def test_the_worker_does_the_staff_services_work_and_is_restarted_when_it_dies(
    suite: SuiteProcess,
) -> None:
    ready = httpx.get(f"{suite.url}/health/ready").json()
    assert ready["worker"] == {"alive": True, "services": WORKER_SERVICES}
    first = the_worker(suite)
    with suite.client() as client:
        case_id = client.post("/api/v1/complaints", json=COMPLAINT).json()["id"]
        eventually(lambda: acknowledged(client, case_id))  # drafted and sent by the worker

        os.kill(first, signal.SIGKILL)
        down = eventually(
            lambda: (r := httpx.get(f"{suite.url}/health/ready")).status_code == 503 and r.json()
        )
        assert down["worker"]["alive"] is False
        eventually(lambda: httpx.get(f"{suite.url}/health/ready").status_code == 200)
        assert the_worker(suite) != first
        assert "worker stopped; starting it again" in suite.tail(200)

        later = client.post("/api/v1/complaints", json=COMPLAINT).json()["id"]
        eventually(lambda: acknowledged(client, later))
        assert len(acknowledged(client, case_id)) == 1  # nothing sent twice


def test_the_worker_stops_when_the_front_is_killed(suite: SuiteProcess) -> None:
    worker = the_worker(suite)
    assert suite.process is not None
    os.kill(suite.process.pid, signal.SIGKILL)  # the front alone, with no chance to clean up
    suite.process.wait()
    eventually(lambda: not Path(f"/proc/{worker}").exists() or _zombie(worker))


def _zombie(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rpartition(")")[2].split()[0] == "Z"
