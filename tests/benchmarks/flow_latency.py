"""How long until a posted complaint shows its due dates and acknowledgement letter.

Starts the suite as `make run` does (bundled nats-server, SQLite files, one port),
posts complaints one at a time and polls the deadlines and letters APIs until both
are there, then prints the distribution. Run: `.venv/bin/python tests/benchmarks/flow_latency.py [N]`.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from complaints_shared.testing.suite import EXAMPLE_COMPLAINT as COMPLAINT
from complaints_shared.testing.suite import SuiteProcess


def until_visible(client: httpx.Client, case_id: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deadlines = client.get("/api/v1/deadlines", params={"case_id": case_id}).json()
        letters = client.get("/api/v1/letters", params={"case_id": case_id}).json()
        if len(deadlines) == 3 and letters:
            return
        time.sleep(0.01)
    raise TimeoutError(f"case {case_id} not complete within {timeout}s")


def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as data:
        started = time.monotonic()
        suite = SuiteProcess(Path(data)).start()
        print(f"suite ready in {time.monotonic() - started:.2f} s")
        try:
            latencies = []
            with suite.client() as client:
                for _ in range(count):
                    posted = time.monotonic()
                    case = client.post("/api/v1/complaints", json=COMPLAINT).json()
                    until_visible(client, case["id"])
                    latencies.append(time.monotonic() - posted)
        finally:
            suite.kill()
    ordered = sorted(latencies)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    print(
        f"{count} complaints, POST -> due dates and letter visible: "
        f"min {ordered[0] * 1000:.0f} ms, median {statistics.median(ordered) * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
