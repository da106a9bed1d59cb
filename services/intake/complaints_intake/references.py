"""Case references: ``<directorate prefix>-<year received>-<5-digit number>``.

Numbers come from a counter row per series, incremented with UPDATE ... RETURNING
inside the case's own transaction, so concurrent creations never share a number
and a rolled-back creation gives its number back. An imported reference in the same
shape moves its series' counter past it (:func:`reserve`), so a number an old
system used is never issued again.
"""

from __future__ import annotations

import re

from sqlalchemy import case, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_intake.models import ReferenceCounter
from complaints_shared.db import upsert

SHAPE = re.compile(r"^(?P<series>[A-Z]{2,6}-\d{4})-(?P<number>\d{1,9})$")


async def next_reference(session: AsyncSession, prefix: str, year: int) -> str:
    series = f"{prefix}-{year}"
    bump = (
        update(ReferenceCounter)
        .where(ReferenceCounter.series == series)
        .values(last=ReferenceCounter.last + 1)
        .returning(ReferenceCounter.last)
    )
    number = await session.scalar(bump)
    if number is None:
        try:
            async with session.begin_nested():
                await session.execute(insert(ReferenceCounter).values(series=series, last=1))
            number = 1
        except IntegrityError:  # another transaction started the series first
            number = await session.scalar(bump)
    return f"{series}-{number:05d}"


async def reserve(session: AsyncSession, reference: str) -> None:
    """If ``reference`` looks like one of ours, never issue its number again."""
    shape = SHAPE.match(reference)
    if shape is None:
        return  # an old system's own format cannot collide with ours
    series, number = shape["series"], int(shape["number"])
    await session.execute(
        upsert(session, ReferenceCounter)
        .values(series=series, last=number)
        .on_conflict_do_update(
            index_elements=[ReferenceCounter.series],
            set_={
                "last": case((ReferenceCounter.last < number, number), else_=ReferenceCounter.last)
            },
        )
    )
