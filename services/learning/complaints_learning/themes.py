"""Themes across complaints: what complaints are about and what learning is tagged with,
counted by directorate and service area per quarter, against the year before.

A complaint counts once under each subject it was logged with (primary and others),
in the quarter it was received; a learning action counts once under each theme it is
tagged with, in the quarter it was identified. The figures are aggregates (no case,
no person), for the complaints team, service managers and report viewers; the trend
compares the year with the one before it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Annotated, Literal

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, select

from complaints_learning.models import LearningAction, LearningCase
from complaints_shared.auth import Principal, Role, requires
from complaints_shared.calendar import FinancialYear
from complaints_shared.service import Service

QUARTERS = ("Q1 April-June", "Q2 July-September", "Q3 October-December", "Q4 January-March")

Trend = Literal["new", "rising", "falling", "steady"]


class Theme(BaseModel):
    """One theme in one directorate and service area (None: not recorded)."""

    theme: str
    directorate: str
    service_area: str | None
    complaints: list[int]
    complaints_total: int
    complaints_previous_year: int
    actions: list[int]
    actions_total: int
    actions_previous_year: int
    trend: Trend


class Themes(BaseModel):
    year: str
    quarters: tuple[str, ...] = QUARTERS
    themes: list[Theme]


def quarter_of(day: date, year: int) -> int | None:
    """0-3 for a day in the financial year from 1 April ``year``; -1 the year before; else None."""
    months = (day.year - year) * 12 + day.month - 4
    if 0 <= months < 12:
        return months // 3
    if -12 <= months < 0:
        return -1
    return None


def trend(this_year: int, previous: int) -> Trend:
    """How the year compares with the one before (a change of a tenth or less is steady)."""
    if previous == 0:
        return "new" if this_year else "steady"
    change = (this_year - previous) / previous
    return "rising" if change > 0.1 else "falling" if change < -0.1 else "steady"


class _Tally:
    """Counts per (theme, directorate, service area): four quarters and the year before."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, str | None], dict[str, list[int]]] = defaultdict(
            lambda: {"complaints": [0] * 5, "actions": [0] * 5}
        )

    def add(self, what: str, key: tuple[str, str, str | None], quarter: int) -> None:
        self.counts[key][what][quarter] += 1  # -1, the year before, is the fifth cell

    def themes(self) -> list[Theme]:
        found = []
        for (theme, directorate, service_area), counts in self.counts.items():
            complaints, actions = counts["complaints"], counts["actions"]
            found.append(
                Theme(
                    theme=theme,
                    directorate=directorate,
                    service_area=service_area,
                    complaints=complaints[:4],
                    complaints_total=sum(complaints[:4]),
                    complaints_previous_year=complaints[4],
                    actions=actions[:4],
                    actions_total=sum(actions[:4]),
                    actions_previous_year=actions[4],
                    trend=trend(sum(complaints[:4]) + sum(actions[:4]), complaints[4] + actions[4]),
                )
            )
        found.sort(key=lambda t: (-t.complaints_total, -t.actions_total, t.theme))
        return found


def register(service: Service) -> None:
    """The themes route."""

    @service.http.get("/api/v1/learning/themes", response_model=Themes, tags=["learning"])
    async def themes(
        _: Annotated[
            Principal,
            requires(Role.COMPLAINTS_OFFICER, Role.SERVICE_MANAGER, Role.REPORT_VIEWER),
        ],
        year: Annotated[int, Query(ge=2000, le=2100, description="2026 means 2026-27")],
        directorate: str | None = None,
        service_area: str | None = None,
    ) -> Themes:
        """Complaints by subject and learning actions by theme, per quarter of a financial
        year, with the year before and the trend (figures only)."""
        financial = FinancialYear.of(year)
        since, until = financial.before().starts_on, financial.ends_on
        cases = _scoped(
            select(
                LearningCase.directorate,
                LearningCase.service_area,
                LearningCase.primary_subject,
                LearningCase.other_subjects,
                LearningCase.received_on,
            ).where(LearningCase.received_on.between(since, until)),
            LearningCase,
            directorate,
            service_area,
        )
        actions = _scoped(
            select(
                LearningAction.directorate,
                LearningAction.service_area,
                LearningAction.themes,
                LearningAction.identified_on,
            ).where(LearningAction.identified_on.between(since, until)),
            LearningAction,
            directorate,
            service_area,
        )
        tally = _Tally()
        async with service.db.transaction() as session:
            for where, area, primary, others, received_on in await session.execute(cases):
                quarter = quarter_of(received_on, year)
                for subject in dict.fromkeys([primary, *(others or [])]):
                    if subject and quarter is not None:
                        tally.add("complaints", (subject, where, area), quarter)
            for where, area, tags, identified_on in await session.execute(actions):
                quarter = quarter_of(identified_on, year)
                for tag in dict.fromkeys(tags or []):
                    if quarter is not None:
                        tally.add("actions", (tag, where, area), quarter)
        return Themes(year=financial.label, themes=tally.themes())


def _scoped(
    query: Select,
    table: type[LearningCase | LearningAction],
    directorate: str | None,
    service_area: str | None,
) -> Select:
    if directorate:
        query = query.where(table.directorate == directorate)
    if service_area:
        query = query.where(table.service_area == service_area)
    return query
