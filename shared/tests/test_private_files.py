"""The suite's data is readable by its owner only: SQLite files, the data folder, NATS's store.

These run with the test process's usual umask (022), so each file is owner-only because
the code made it so, not because ``complaints up`` narrowed the umask (the end-to-end
test in ``tests/test_no_personal_data_in_logs.py`` covers that).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, Table

from complaints_shared.db import Database
from complaints_shared.private_files import private_dir
from complaints_shared.runtime.natsserver import NatsServer


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_data_folder_is_owner_only_and_an_existing_one_is_left_alone(
    tmp_path: Path,
) -> None:
    os.umask(0o022)
    assert mode(private_dir(tmp_path / "a" / "data")) == 0o700
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o750)
    assert mode(private_dir(shared)) == 0o750


async def test_sqlite_files_are_owner_only(tmp_path: Path) -> None:
    os.umask(0o022)
    metadata = MetaData()
    Table("things", metadata, Column("id", Integer, primary_key=True))
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/data/intake.db", metadata, "intake")
    try:
        await database.create_schema()
        async with database.transaction() as session:
            await session.execute(metadata.tables["things"].insert().values(id=1))
        files = sorted((tmp_path / "data").iterdir())
        assert [f.name for f in files] == ["intake.db", "intake.db-shm", "intake.db-wal"]
        assert [mode(f) for f in files] == [0o600] * 3
        assert mode(tmp_path / "data") == 0o700
    finally:
        await database.dispose()


def test_the_bundled_nats_store_is_owner_only(tmp_path: Path) -> None:
    os.umask(0o022)
    with NatsServer(tmp_path / "nats"):
        assert mode(tmp_path / "nats") == 0o700
        assert mode(tmp_path / "nats" / "nats-server.conf") == 0o600
        assert mode(tmp_path / "nats" / "nats-server.log") == 0o600
