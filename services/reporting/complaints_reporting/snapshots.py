"""Keeping the newest of an entity's whole-state snapshots, whatever order they come in.

Learning's actions and entries and the provider register's records and returns are
published whole after every change with a ``revision``; events about no case have no
order on the bus, and may come again, so a copy keeps the highest revision it has seen.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession


class Snapshot(Protocol):
    revision: int


async def keep_newest(session: AsyncSession, state: Snapshot) -> None:
    """Keep ``state`` unless a newer or equal revision of it is kept already."""
    key = inspect(type(state)).primary_key_from_instance(state)
    kept = await session.get(type(state), key, with_for_update=True)
    if kept is None:
        session.add(state)
    elif kept.revision < state.revision:
        await session.merge(state)
