"""A send cut off by a power cut is settled from Notify's record, never sent twice."""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from complaints_letters.models import Status
from complaints_shared.testing.notify import FakeNotify
from complaints_shared.testing.suite import EXAMPLE_COMPLAINT, SuiteProcess

pytestmark = pytest.mark.e2e


@pytest.fixture
def notify() -> Iterator[FakeNotify]:
    with FakeNotify() as fake:
        yield fake


def _rows(database: Path, query: str, *args: object) -> list[tuple]:
    with sqlite3.connect(database, timeout=30) as connection:
        return connection.execute(query, args).fetchall()


def test_a_send_cut_off_by_sigkill_is_found_at_notify_and_not_sent_again(
    tmp_path: Path, notify: FakeNotify, pdf_rendering: None
) -> None:
    """``complaints up`` sends an approved letter by (a fake) GOV.UK Notify, which holds
    the request: it has arrived, unanswered, when the suite is killed (SIGKILL, as a
    power cut). Notify then completes it. After a restart the suite finds the letter at
    Notify by its reference and records it sent, without sending it again.

    The letter is a complaint's acknowledgement, which needs nobody's words: logging
    the complaint drafts it approved, and the worker sends it at once.
    """
    data = tmp_path / "data"
    database = data / "letters.db"
    suite = SuiteProcess(
        data,
        env={
            "COMPLAINTS_LETTERS_CHANNEL": "notify",
            "COMPLAINTS_NOTIFY_API_KEY": notify.api_key,
            "COMPLAINTS_NOTIFY_BASE_URL": notify.url,
            "COMPLAINTS_NOTIFY_EMAIL_TEMPLATE_ID": notify.email_template_id,
            "COMPLAINTS_LETTERS_POLL_SECONDS": "0.2",
            # A send unanswered for twice this is looked up at Notify (its process died).
            "COMPLAINTS_LETTERS_SEND_TIMEOUT": "3",
        },
    )
    notify.hold_next()
    try:
        suite.start()
        with suite.client() as http:
            logged = http.post("/api/v1/complaints", json=EXAMPLE_COMPLAINT)
            assert logged.status_code == 201, logged.text
        asked = notify.wait_held(timeout=60)
        suite.kill()
        letter_id = uuid.UUID(asked.reference)
        [(outcome,)] = _rows(database, "SELECT outcome FROM delivery_attempts")
        assert outcome == "pending"  # recorded before calling out, never answered

        notify.release()  # Notify completes the send after its sender has gone
        [kept] = notify.with_reference(str(letter_id))

        suite.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            [(status,)] = _rows(database, "SELECT status FROM letters WHERE id = ?", letter_id.hex)
            if status == Status.SENT:
                break
            time.sleep(0.2)
        assert status == Status.SENT, suite.tail()
        attempts = _rows(
            database, "SELECT attempt, outcome, provider_id FROM delivery_attempts ORDER BY attempt"
        )
        assert attempts == [(1, "accepted", kept.id)]
        assert notify.posts == 1 and notify.with_reference(str(letter_id)) == [kept]
        staged = [subject for (subject,) in _rows(database, "SELECT subject FROM outbox")]
        assert sum(".letter.sent." in s for s in staged) == 1
        assert sum(".letter.issued." in s for s in staged) == 1
    finally:
        suite.kill()
