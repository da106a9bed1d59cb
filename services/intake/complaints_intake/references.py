"""Case references: ``<directorate prefix>-<year received>-<5-digit number>``.

Numbers come from a counter row per series, incremented with UPDATE ... RETURNING
inside the case's own transaction, so concurrent creations never share a number
and a rolled-back creation gives its number back.
"""

from __future__ import annotations

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_intake.models import ReferenceCounter


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
