"""Deadlines' HTTP API: /api/v1/deadlines and /api/v1/calendar."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Body, HTTPException, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from complaints_deadlines.calendar_changes import change_day
from complaints_deadlines.models import CalendarDay, CaseOfficer, Deadline, DeadlineChange
from complaints_deadlines.scheduling import Scheduler
from complaints_shared.audit import Access
from complaints_shared.auth import Anyone, Principal, Role, requires
from complaints_shared.calendar import (
    FIRST_DAY,
    LAST_DAY,
    MAX_HORIZON,
    england_and_wales_bank_holidays,
    parse_bank_holidays,
    today_in_england,
)
from complaints_shared.case_access import CASE_ROLES
from complaints_shared.contracts.events import SkippedDay
from complaints_shared.contracts.limits import Name
from complaints_shared.contracts.vocabulary import DeadlineKind
from complaints_shared.http_errors import field_error, problem
from complaints_shared.service import Service


class ChangeView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    old_due_on: date
    new_due_on: date
    reason: str


class DeadlineView(BaseModel):
    """A deadline with the explanation of its date."""

    id: uuid.UUID
    case_id: uuid.UUID
    directorate: str
    stage: int
    kind: DeadlineKind
    due: date
    status: str
    breached: bool
    met_on: date | None
    start: date = Field(description="The day counting starts after (day 0).")
    counts_from: str
    working_days: int = Field(description="The timescale, or its extended total.")
    calendar_months: int
    paused_days: int = Field(description="Working days added while the clock was stopped.")
    rule: str = Field(description="The rule and its source.")
    skipped: list[SkippedDay] = Field(description="Bank holidays and closures not counted.")
    warnings: list[str]
    changes: list[ChangeView] = Field(description="Each time the date moved, and why.")
    officer: str | None = None
    team: str | None = None

    @classmethod
    def of(
        cls, deadline: Deadline, changes: list[DeadlineChange] = (), officer=None
    ) -> DeadlineView:
        return cls(
            id=deadline.id,
            case_id=deadline.case_id,
            directorate=deadline.directorate,
            stage=deadline.stage,
            kind=deadline.kind,
            due=deadline.due_on,
            status=deadline.status,
            breached=deadline.breached,
            met_on=deadline.met_on,
            start=deadline.start_on,
            counts_from=deadline.counts_from,
            working_days=deadline.working_days,
            calendar_months=deadline.calendar_months,
            paused_days=deadline.paused_days,
            rule=deadline.rule,
            skipped=deadline.skipped,
            warnings=deadline.warnings,
            changes=[ChangeView.model_validate(change) for change in changes],
            officer=officer.officer if officer else None,
            team=officer.team if officer else None,
        )


CalendarDate = Annotated[
    date,
    Path(
        ge=FIRST_DAY,
        le=LAST_DAY,
        description=f"A day the calendar covers ({FIRST_DAY} to {LAST_DAY}).",
    ),
]


class Closure(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Name = Field(min_length=1)


Reader = Annotated[Principal, requires(*CASE_ROLES)]
Administrator = Annotated[Principal, requires(Role.ADMINISTRATOR)]


def register_api(service: Service, scheduler: Scheduler) -> None:
    router = service.http
    access = service.holds_cases()
    service.exports(Deadline.case_id, CaseOfficer.case_id)

    @router.get("/api/v1/deadlines", response_model=list[DeadlineView], tags=["deadlines"])
    async def case_deadlines(
        request: Request, who: Reader, case_id: uuid.UUID
    ) -> list[DeadlineView]:
        """A case's deadlines in due order, each explained: rule, days counted and skipped,
        pauses, extensions and every move (none for a case you may not see)."""
        async with service.db.transaction() as session:
            rows = list(
                await session.scalars(
                    select(Deadline)
                    .where(
                        Deadline.case_id == case_id,
                        Deadline.kind != DeadlineKind.LEARNING_ACTION,
                        access.visible(who, Deadline.case_id),
                    )
                    .order_by(Deadline.stage, Deadline.due_on, Deadline.kind)
                )
            )
            changes = list(
                await session.scalars(
                    select(DeadlineChange)
                    .where(DeadlineChange.deadline_id.in_([row.id for row in rows]))
                    .order_by(DeadlineChange.seq)
                )
            )
            officer = await session.get(CaseOfficer, case_id)
            if rows:
                await service.audit.record(
                    session, request, who, Access.READ, "case_deadlines", [case_id]
                )
        return [
            DeadlineView.of(row, [c for c in changes if c.deadline_id == row.id], officer)
            for row in rows
        ]

    @router.get("/api/v1/deadlines/due", response_model=list[DeadlineView], tags=["deadlines"])
    async def due_or_overdue(
        request: Request,
        who: Reader,
        directorate: str,
        within_days: Annotated[
            int, Query(ge=0, le=MAX_HORIZON, description="Working days from today")
        ] = 5,
        officer: str | None = None,
        team: str | None = None,
    ) -> list[DeadlineView]:
        """Open deadlines due within N working days, or overdue, soonest first, of the
        cases you may see."""
        async with service.db.transaction() as session:
            calendar = await scheduler.calendars.current(session)
            horizon = calendar.add(today_in_england(), within_days)
            query = (
                select(Deadline, CaseOfficer)
                .outerjoin(CaseOfficer, CaseOfficer.case_id == Deadline.case_id)
                .where(
                    Deadline.directorate == directorate,
                    Deadline.status == "open",
                    Deadline.kind.not_in(
                        (DeadlineKind.ESCALATION_WINDOW, DeadlineKind.LEARNING_ACTION)
                    ),
                    Deadline.due_on <= horizon,
                    access.visible(who, Deadline.case_id),
                )
                .order_by(Deadline.due_on)
            )
            if officer:
                query = query.where(CaseOfficer.officer == officer)
            if team:
                query = query.where(CaseOfficer.team == team)
            rows = (await session.execute(query)).all()
            cases = [deadline.case_id for deadline, _ in rows]
            await service.audit.record(session, request, who, Access.READ, "due_or_overdue", cases)
        return [DeadlineView.of(deadline, officer=row_officer) for deadline, row_officer in rows]

    @router.get("/api/v1/calendar", tags=["calendar"])
    async def calendar_days(
        _: Anyone,
        start: Annotated[date, Query(alias="from")],
        end: Annotated[date, Query(alias="to")],
    ) -> list[dict[str, Any]]:
        """Weekdays that are not working days between two dates, and why."""
        if end < start or (end - start).days > 3660:
            raise field_error("to", "give from <= to, at most 10 years", where="query")
        async with service.db.transaction() as session:
            extra = {row.day: row for row in await session.scalars(select(CalendarDay))}
        days = [
            {"day": day, "reason": reason, "source": "bank holiday"}
            for day, reason in england_and_wales_bank_holidays().items()
            if start <= day <= end and day.weekday() < 5
        ]
        days += [
            {"day": day, "reason": row.reason, "source": row.source, "actor": row.actor}
            for day, row in extra.items()
            if start <= day <= end and day.weekday() < 5
        ]
        return sorted(days, key=lambda entry: entry["day"])

    @router.put("/api/v1/calendar/closures/{day}", tags=["calendar"])
    async def add_closure(
        who: Administrator, day: CalendarDate, closure: Closure
    ) -> dict[str, Any]:
        """Close the organisation on ``day``: open deadlines spanning it move later."""
        async with service.db.transaction() as session:
            moved = await change_day(
                scheduler, session, day, "added", closure.reason, "closure", who.username
            )
        return {"day": day, "added": moved is not None, "deadlines_moved": moved or 0}

    @router.delete(
        "/api/v1/calendar/closures/{day}",
        tags=["calendar"],
        responses={404: problem("The day is not a closure day")},
    )
    async def remove_closure(who: Administrator, day: CalendarDate) -> dict[str, Any]:
        """Reopen on ``day``: open deadlines spanning it move earlier (closures only)."""
        async with service.db.transaction() as session:
            moved = await change_day(
                scheduler, session, day, "removed", "", "closure", who.username
            )
        if moved is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"{day} is not a closure day")
        return {"day": day, "removed": True, "deadlines_moved": moved}

    @router.post("/api/v1/calendar/announced", tags=["calendar"])
    async def announced_holidays(
        who: Administrator,
        bank_holidays: Annotated[dict[str, Any], Body(description="GOV.UK bank-holidays.json")],
    ) -> dict[str, Any]:
        """Load announced one-off holidays (England and Wales) in GOV.UK's format."""
        try:
            announced = parse_bank_holidays(bank_holidays)
        except ValueError as error:
            raise field_error("england-and-wales", str(error)) from None
        known = england_and_wales_bank_holidays()
        added, moved = [], 0
        async with service.db.transaction() as session:
            for day, title in sorted(announced.items()):
                if day in known:
                    continue
                result = await change_day(
                    scheduler, session, day, "added", title, "announced", who.username
                )
                if result is not None:
                    added.append(day)
                    moved += result
        return {"added": added, "deadlines_moved": moved}
