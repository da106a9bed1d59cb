"""The learning register over HTTP, under /api/v1/learning-actions.

Everyone with a case role reads the actions they may see; complaints officers and
service managers add and change them, and an investigating officer may note progress
on the actions of their cases. Who sees an action:

- one from cases: whoever may see any of those cases (the case access copy);
- one from no case (added directly, a theme review): complaints officers of its
  directorate and service managers of its service area.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import HTTPException, Query, Request, status
from pydantic import BaseModel, ConfigDict, EmailStr, Field, HttpUrl
from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_learning.models import (
    OPEN,
    ActionCase,
    ActionHistory,
    LearningAction,
    LearningCase,
    ProgressNote,
)
from complaints_learning.register import Conflict, Register, case_ids_of
from complaints_shared.audit import Access
from complaints_shared.auth import Principal, Role, requires
from complaints_shared.calendar import organisation_calendar, today_in_england
from complaints_shared.case_access import CASE_ROLES, CaseAccess, area_grants
from complaints_shared.contracts.limits import MAX_ITEMS, MAX_THEMES, Label, Name, Reason, Slug
from complaints_shared.contracts.vocabulary import LearningSource, LearningStatus
from complaints_shared.http_errors import field_error, problem
from complaints_shared.service import Service

Reader = Annotated[Principal, requires(*CASE_ROLES)]
Writer = Annotated[Principal, requires(Role.COMPLAINTS_OFFICER, Role.SERVICE_MANAGER)]
NOT_FOUND = {404: problem("No such learning action (or not one you may see)")}
CONFLICT = {409: problem("The action's state does not allow that")}
TAGS = ["learning"]
Text = Annotated[str, Field(min_length=1, max_length=2000, pattern=r"^[^\x00]*$")]


class ActionView(BaseModel):
    """A learning action in a list. ``case_id`` is its first case (kept for older
    clients); ``case_ids`` all of them."""

    id: uuid.UUID
    case_id: uuid.UUID | None
    case_ids: list[uuid.UUID]
    directorate: str
    description: str
    lead: str
    lead_email: str | None
    service_area: str | None
    team: str | None
    due_on: date
    source: LearningSource
    stage: int | None
    subject: str | None
    themes: list[str]
    status: LearningStatus
    identified_on: date
    completed_on: date | None
    what_changed: str | None
    cancelled_reason: str | None
    complainant_told_on: date | None
    revision: int


class NoteView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    by: str
    text: str


class HistoryView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    revision: int
    change: str
    who: str
    at: datetime
    description: str


class ActionDetail(ActionView):
    """One action with its progress notes, evidence and every change."""

    evidence: str | None
    evidence_links: list[str]
    notes: list[NoteView]
    history: list[HistoryView]


class Details(BaseModel):
    """What an officer may set on an action (PATCH: only what is sent changes)."""

    model_config = ConfigDict(extra="forbid")

    description: Reason | None = Field(default=None, min_length=1)
    lead: Name | None = Field(default=None, min_length=1)
    lead_email: EmailStr | None = None
    service_area: Label | None = None
    team: Label | None = None
    due_on: date | None = None
    themes: list[Label] | None = Field(default=None, max_length=MAX_THEMES)


class NewAction(Details):
    """An action added to the register by hand, from cases or from none."""

    description: Reason = Field(min_length=1)
    lead: Name = Field(min_length=1)
    due_on: date
    source: Literal[LearningSource.DIRECT, LearningSource.THEME_REVIEW, LearningSource.OMBUDSMAN]
    directorate: Slug | None = Field(default=None, description="Required without case_ids.")
    case_ids: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_ITEMS)
    subject: Label | None = Field(default=None, description="The first case's if absent.")


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Text


class Completion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    evidence: Text
    evidence_links: list[HttpUrl] = Field(default_factory=list, max_length=MAX_ITEMS)
    completed_on: date | None = Field(default=None, description="Today if absent.")
    what_changed: Reason | None = Field(
        default=None, description="What changed, in plain words for the complainant."
    )


class Reasoned(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text


NOT_NULL = ("description", "lead", "due_on", "themes")
Operation = Callable[[AsyncSession, LearningAction], Awaitable[None]]


def register_api(service: Service, register: Register, access: CaseAccess) -> None:
    """Add the register's routes to ``service``."""
    router = service.http
    calendar = organisation_calendar(service.settings)

    def visible(who: Principal) -> ColumnElement[bool]:
        """The rule in the module's docstring, as a condition on ``LearningAction``."""
        linked = select(ActionCase.action_id).where(ActionCase.action_id == LearningAction.id)
        seen = linked.where(access.visible(who, ActionCase.case_id))
        own = area_grants(who, LearningAction.directorate, LearningAction.service_area)
        return or_(seen.exists(), and_(~linked.exists(), or_(*own) if own else false()))

    async def visible_action(
        session: AsyncSession, who: Principal, action_id: uuid.UUID, *, lock: bool = True
    ) -> LearningAction:
        query = select(LearningAction).where(LearningAction.id == action_id, visible(who))
        action = await session.scalar(query.with_for_update() if lock else query)
        if action is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no learning action {action_id}")
        return action

    async def answer(
        session: AsyncSession, request: Request, who: Principal, what: str, action: LearningAction
    ) -> ActionView:
        cases = await case_ids_of(session, action.id)
        kind = Access.READ if request.method == "GET" else Access.CHANGE
        await service.audit.record(session, request, who, kind, what, cases or [None])
        return _view(action, cases)

    async def change(
        request: Request, who: Principal, action_id: uuid.UUID, what: str, operation: Operation
    ) -> ActionView:
        """Apply ``operation(session, action)`` to a visible action; a conflict is a 409."""
        async with service.db.transaction() as session:
            action = await visible_action(session, who, action_id)
            try:
                await operation(session, action)
            except Conflict as conflict:
                raise HTTPException(status.HTTP_409_CONFLICT, str(conflict)) from None
            return await answer(session, request, who, what, action)

    @router.get("/api/v1/learning-actions", response_model=list[ActionView], tags=TAGS)
    async def list_actions(
        request: Request,
        who: Reader,
        case_id: uuid.UUID | None = None,
        directorate: str | None = None,
        service_area: str | None = None,
        lead: str | None = None,
        status_is: Annotated[LearningStatus | None, Query(alias="status")] = None,
        source: LearningSource | None = None,
        overdue: bool = False,
        due_within: Annotated[
            int | None, Query(ge=0, le=2600, description="Working days from today")
        ] = None,
    ) -> list[ActionView]:
        """Learning actions you may see, by due date. ``overdue``: still being worked on
        and past due; ``due_within``: still being worked on and due within that many
        working days (overdue ones included)."""
        query = select(LearningAction).where(visible(who))
        if case_id is not None:
            query = query.where(
                select(ActionCase.action_id)
                .where(ActionCase.action_id == LearningAction.id, ActionCase.case_id == case_id)
                .exists()
            )
        for column, value in (
            (LearningAction.directorate, directorate),
            (LearningAction.service_area, service_area),
            (LearningAction.lead, lead),
            (LearningAction.status, status_is),
            (LearningAction.source, source),
        ):
            if value is not None:
                query = query.where(column == value)
        today = today_in_england()
        if overdue:
            query = query.where(LearningAction.status.in_(OPEN), LearningAction.due_on < today)
        if due_within is not None:
            query = query.where(
                LearningAction.status.in_(OPEN),
                LearningAction.due_on <= calendar.add(today, due_within),
            )
        async with service.db.transaction() as session:
            actions = list(
                await session.scalars(query.order_by(LearningAction.due_on, LearningAction.id))
            )
            links: dict[uuid.UUID, list[uuid.UUID]] = {a.id: [] for a in actions}
            for link in await session.scalars(
                select(ActionCase)
                .where(ActionCase.action_id.in_(list(links)))
                .order_by(ActionCase.case_id)
            ):
                links[link.action_id].append(link.case_id)
            shown = [case for a in actions for case in links[a.id] or [None]]
            if shown:
                await service.audit.record(
                    session, request, who, Access.READ, "list_actions", shown
                )
        return [_view(a, links[a.id]) for a in actions]

    @router.get(
        "/api/v1/learning-actions/{action_id}",
        response_model=ActionDetail,
        responses=NOT_FOUND,
        tags=TAGS,
    )
    async def get_action(request: Request, who: Reader, action_id: uuid.UUID) -> ActionDetail:
        """One action with its progress notes, evidence and history."""
        async with service.db.transaction() as session:
            action = await visible_action(session, who, action_id, lock=False)
            view = await answer(session, request, who, "get_action", action)
            notes = await session.scalars(
                select(ProgressNote)
                .where(ProgressNote.action_id == action_id)
                .order_by(ProgressNote.id)
            )
            changes = await session.scalars(
                select(ActionHistory)
                .where(ActionHistory.action_id == action_id)
                .order_by(ActionHistory.id)
            )
            return ActionDetail(
                **view.model_dump(),
                evidence=action.evidence,
                evidence_links=action.evidence_links,
                notes=[NoteView.model_validate(n) for n in notes],
                history=[HistoryView.model_validate(h) for h in changes],
            )

    @router.post(
        "/api/v1/learning-actions",
        response_model=ActionView,
        status_code=status.HTTP_201_CREATED,
        tags=TAGS,
    )
    async def add_action(request: Request, who: Writer, new: NewAction) -> ActionView:
        """Add an action by hand: from cases you may see, or from none (then give its
        directorate, one of yours, or a service area you manage)."""
        async with service.db.transaction() as session:
            cases: list[LearningCase] = []
            for number, case_id in enumerate(new.case_ids):
                if case_id in {c.case_id for c in cases}:
                    continue
                case = await session.get(LearningCase, case_id)
                if case is None or not await access.can_see(session, who, case_id):
                    refusal = field_error("case_ids", f"no case with id {case_id}")
                    refusal.detail[0]["loc"].append(number)  # an index, as pydantic gives
                    raise refusal
                cases.append(case)
            directorate = new.directorate or (cases[0].directorate if cases else None)
            if directorate is None:
                raise field_error("directorate", "give the directorate of an action with no case")
            first = cases[0] if cases else None
            action = LearningAction(
                id=uuid.uuid4(),
                organisation=service.settings.organisation,
                directorate=directorate,
                description=new.description,
                lead=new.lead,
                lead_email=new.lead_email,
                service_area=new.service_area or (first.service_area if first else None),
                team=new.team or (first.team if first else None),
                due_on=new.due_on,
                source=new.source,
                subject=new.subject or (first.primary_subject if first else None),
                themes=list(new.themes or ()),
                identified_on=today_in_england(),
                evidence_links=[],
            )
            await register.record(session, action, [c.case_id for c in cases], who.username)
            if (
                await session.scalar(
                    select(LearningAction.id).where(LearningAction.id == action.id, visible(who))
                )
                is None
            ):
                raise field_error(
                    "directorate", "not one of your directorates (nor a service area you manage)"
                )
            return await answer(session, request, who, "add_action", action)

    @router.patch(
        "/api/v1/learning-actions/{action_id}",
        response_model=ActionView,
        responses={**NOT_FOUND, **CONFLICT},
        tags=TAGS,
    )
    async def edit_action(
        request: Request, who: Writer, action_id: uuid.UUID, details: Details
    ) -> ActionView:
        """Change an action's details; only the fields sent change."""
        given = details.model_dump(include=details.model_fields_set)
        for field in NOT_NULL:
            if field in given and given[field] is None:
                raise field_error(field, "may not be null")

        async def edit(session: AsyncSession, action: LearningAction) -> None:
            if given.get("due_on") is not None and given["due_on"] < action.identified_on:
                raise field_error(
                    "due_on", f"before the action was identified on {action.identified_on}"
                )
            await register.update(session, action, given, who.username)

        return await change(request, who, action_id, "edit_action", edit)

    @router.post(
        "/api/v1/learning-actions/{action_id}/progress",
        response_model=ActionView,
        responses={**NOT_FOUND, **CONFLICT},
        tags=TAGS,
    )
    async def progress_action(
        request: Request, who: Reader, action_id: uuid.UUID, note: Note
    ) -> ActionView:
        """Note progress; an open action is then in progress. Investigating officers may too,
        on the actions of their cases."""

        async def progress(session: AsyncSession, action: LearningAction) -> None:
            await register.progress(session, action, note.text, who.username)

        return await change(request, who, action_id, "progress_action", progress)

    @router.post(
        "/api/v1/learning-actions/{action_id}/complete",
        response_model=ActionView,
        responses={**NOT_FOUND, **CONFLICT},
        tags=TAGS,
    )
    async def complete_action(
        request: Request, who: Writer, action_id: uuid.UUID, done: Completion
    ) -> ActionView:
        """Done, with the evidence (and links to it) and what changed, in plain words."""
        today = today_in_england()
        completed_on = done.completed_on or today
        if completed_on > today:
            raise field_error("completed_on", "is in the future")

        async def complete(session: AsyncSession, action: LearningAction) -> None:
            if completed_on < action.identified_on:
                raise field_error(
                    "completed_on", f"before the action was identified on {action.identified_on}"
                )
            await register.complete(
                session,
                action,
                evidence=done.evidence,
                links=[str(link) for link in done.evidence_links],
                completed_on=completed_on,
                what_changed=done.what_changed,
                who=who.username,
            )

        return await change(request, who, action_id, "complete_action", complete)

    @router.post(
        "/api/v1/learning-actions/{action_id}/cancel",
        response_model=ActionView,
        responses={**NOT_FOUND, **CONFLICT},
        tags=TAGS,
    )
    async def cancel_action(
        request: Request, who: Writer, action_id: uuid.UUID, why: Reasoned
    ) -> ActionView:
        """Not to be done, and why."""

        async def cancel(session: AsyncSession, action: LearningAction) -> None:
            await register.cancel(session, action, why.reason, who.username)

        return await change(request, who, action_id, "cancel_action", cancel)

    @router.post(
        "/api/v1/learning-actions/{action_id}/reopen",
        response_model=ActionView,
        responses={**NOT_FOUND, **CONFLICT},
        tags=TAGS,
    )
    async def reopen_action(
        request: Request, who: Writer, action_id: uuid.UUID, why: Reasoned
    ) -> ActionView:
        """Open a done or cancelled action again, and why; its cases' learning is then
        unsettled."""

        async def reopen(session: AsyncSession, action: LearningAction) -> None:
            await register.reopen(session, action, why.reason, who.username)

        return await change(request, who, action_id, "reopen_action", reopen)


def _view(action: LearningAction, cases: list[uuid.UUID]) -> ActionView:
    fields = {
        name: getattr(action, name) for name in ActionView.model_fields if hasattr(action, name)
    }
    return ActionView(**fields, case_ids=cases, case_id=cases[0] if cases else None)
