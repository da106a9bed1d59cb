"""Streams: created as configured when missing, left as the operator set them when not.

A service creates the streams it uses (publishes on, reads, parks on) if they are
missing, whatever the order services start in.

On a NATS server of the test's own, since the test changes streams' configuration.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy import MetaData

from complaints_shared.bus import stream_config
from complaints_shared.contracts.events import (
    CaseReceived,
    ComplimentReceived,
    DeadlineScheduled,
    LearningActionChanged,
    LetterIssued,
    ProviderNilReturn,
)
from complaints_shared.contracts.subjects import CASES, DEADLINES, LETTERS, STREAMS
from complaints_shared.runtime.natsserver import NatsServer
from complaints_shared.service import Service
from complaints_shared.settings import Settings
from complaints_shared.testing.harness import running

DAY = 86_400.0


async def test_streams_are_created_as_configured_and_then_kept_as_the_operator_set_them(
    own_nats_server: NatsServer, tmp_path: Path
) -> None:
    settings = Settings(
        nats_url=own_nats_server.url,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/{{service}}.db",
        data_dir=tmp_path,
        stream_max_age_days=30,
        stream_max_bytes=2**30,
    )

    def owners() -> list[Service]:  # what intake and deadlines use, without their code
        intake = Service("intake", MetaData(), settings)
        intake.publishes(CaseReceived, ComplimentReceived, ProviderNilReturn)
        deadlines = Service("deadlines", MetaData(), settings)
        deadlines.publishes(DeadlineScheduled)

        @deadlines.on(LetterIssued)  # reads letters' stream, so creates it if missing
        async def _ignore(*_: object) -> None:
            pass

        @deadlines.on(LearningActionChanged)  # and learning's
        async def _ignore_too(*_: object) -> None:
            pass

        return [intake, deadlines]

    async with running(settings, *owners()) as suite:
        for spec in STREAMS:
            config = (await suite.js.stream_info(spec.name)).config
            assert (config.max_age, config.max_bytes, config.num_replicas) == (30 * DAY, 2**30, 1)
            assert config.subjects == list(spec.subjects)

        # The operator keeps cases longer and caps them, trims the deadlines stream's
        # subjects, and deletes the letters stream.
        cases = (await suite.js.stream_info(CASES.name)).config
        await suite.js.update_stream(replace(cases, max_age=400 * DAY, max_msgs=100_000))
        deadlines = (await suite.js.stream_info(DEADLINES.name)).config
        await suite.js.update_stream(
            replace(deadlines, subjects=[DEADLINES.subjects[0]], max_msgs_per_subject=50)
        )
        await suite.js.delete_stream(LETTERS.name)

    async with running(settings, *owners()) as suite:  # the services start again
        cases = (await suite.js.stream_info(CASES.name)).config
        assert (cases.max_age, cases.max_msgs, cases.max_bytes) == (400 * DAY, 100_000, 2**30)
        deadlines = (await suite.js.stream_info(DEADLINES.name)).config
        assert deadlines.subjects == list(DEADLINES.subjects)  # its owner needs both
        assert (deadlines.max_msgs_per_subject, deadlines.max_age) == (50, 30 * DAY)
        letters = (await suite.js.stream_info(LETTERS.name)).config
        assert (letters.max_age, letters.max_bytes) == (30 * DAY, 2**30)


def test_streams_keep_events_no_longer_than_the_shortest_retention_period() -> None:
    """Every event of a case is at least as old as the case's end, so a stream that drops
    events at the shortest retention period never keeps one past its case's."""
    settings = Settings(retention_years={"childrens": 10, "adults.representation": 3})
    assert all(stream_config(spec, settings).max_age == 3 * 365 * DAY for spec in STREAMS)
    assert stream_config(CASES, Settings()).max_age == 6 * 365 * DAY  # the default, 6 years
    chosen = Settings(stream_max_age_days=30, retention_years={"adults": 3})
    assert stream_config(CASES, chosen).max_age == 30 * DAY  # an operator's choice stands
