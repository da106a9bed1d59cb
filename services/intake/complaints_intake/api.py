"""Intake's HTTP API under /api/v1/complaints (and /api/v1/compliments).

Each lifecycle action is ``POST /api/v1/complaints/{id}/<action>``; the route list
is generated from :data:`complaints_intake.lifecycle.ACTIONS`. Logging a complaint or
a compliment is public (the public form); everything else needs sign-in, and answers
only with the cases the principal may see (``complaints_shared.case_access``): a case
they may not see is "not found", as if it did not exist. Whoever acts is the verified
token's username, recorded in the case's history; every read and change is in the
audit trail.
"""

import hashlib
import uuid
from datetime import date
from typing import Annotated

import structlog
from fastapi import Header, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_intake import lifecycle
from complaints_intake.models import (
    Case,
    CaseDeadline,
    Compliment,
    Equalities,
    HistoryEntry,
    IdempotencyKey,
)
from complaints_intake.providers.matching import registered
from complaints_intake.recording import check_directorate, log_case, record
from complaints_intake.schemas import (
    ComplaintView,
    ComplimentView,
    HistoryView,
    NewComplaint,
    NewCompliment,
)
from complaints_shared.audit import Access
from complaints_shared.auth import Anyone, Principal, Role, public_caller, requires
from complaints_shared.auth.routes import OPTIONAL_SIGN_IN
from complaints_shared.calendar import MAX_HORIZON, WorkingDayCalendar, today_in_england
from complaints_shared.case_access import CASE_ROLES, CaseAccess
from complaints_shared.contracts.envelope import new_event
from complaints_shared.contracts.events import ComplimentReceived
from complaints_shared.contracts.vocabulary import DeadlineKind
from complaints_shared.http_errors import field_error, problem
from complaints_shared.http_security import TOO_MANY_REQUESTS
from complaints_shared.procedures import MAX_STAGES, Procedure
from complaints_shared.service import Service

log = structlog.get_logger(__name__)

NOT_FOUND = {404: problem("No such complaint")}


async def _case(
    session: AsyncSession,
    case_id: uuid.UUID,
    who: Principal | None = None,
    access: CaseAccess | None = None,
    lock: bool = False,
) -> Case:
    """The case, if it exists and ``who`` (when given) may see it."""
    case = await session.get(Case, case_id, with_for_update=lock)
    if case is None or (
        who is not None and access is not None and not await access.can_see(session, who, case_id)
    ):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no complaint with id {case_id}")
    return case


Reader = Annotated[Principal, requires(*CASE_ROLES)]


class PersonsCase(BaseModel):
    """One of a person's cases, as a subject access request finds it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    reference: str
    directorate: str
    received_on: date


def register_api(service: Service, calendar: WorkingDayCalendar) -> None:
    router = service.http
    access = service.holds_cases(decides=True)
    audit = service.audit

    async def _earlier_creation(key: str, request_hash: str) -> JSONResponse | None:
        """The case an earlier request with this Idempotency-Key made (200), if any."""
        async with service.db.transaction() as session:
            earlier = await session.get(IdempotencyKey, key)
            if earlier is None:
                return None
            if earlier.request_hash != request_hash:
                raise HTTPException(
                    status.HTTP_409_CONFLICT,
                    "this Idempotency-Key was used for a different complaint",
                )
            view = ComplaintView.model_validate(await _case(session, earlier.case_id))
        return JSONResponse(view.model_dump(mode="json"), status_code=status.HTTP_200_OK)

    @router.post(
        "/api/v1/complaints",
        status_code=status.HTTP_201_CREATED,
        response_model=ComplaintView,
        tags=["complaints"],
        responses={
            200: {
                "model": ComplaintView,
                "description": "An earlier request with this Idempotency-Key logged it",
            },
            409: problem("This Idempotency-Key was used for a different complaint"),
            **TOO_MANY_REQUESTS,
        },
        openapi_extra=OPTIONAL_SIGN_IN,
    )
    async def log_complaint(
        request: Request,
        complaint: NewComplaint,
        caller: Annotated[Principal | None, public_caller],
        idempotency_key: Annotated[
            str | None,
            Header(
                alias="Idempotency-Key",
                max_length=200,
                description="Retrying with the same key returns the case already made.",
            ),
        ] = None,
    ) -> Case | JSONResponse:
        """Log a complaint: it gets a reference, and its procedure's clock starts.

        Public (the complaint form); a staff token, if sent, names who logged it.
        """
        actor = caller.username if caller else "public"
        request_hash = hashlib.sha256(complaint.model_dump_json().encode()).hexdigest()
        if idempotency_key is not None and (
            earlier := await _earlier_creation(idempotency_key, request_hash)
        ):
            return earlier
        try:
            async with service.db.transaction() as session:
                try:
                    case = await log_case(service, session, complaint, actor)
                except lifecycle.InvalidField as invalid:
                    raise field_error(invalid.field, str(invalid)) from None
                await audit.record(
                    session, request, caller, Access.CHANGE, "log_complaint", [case.id]
                )
                if idempotency_key is not None:
                    session.add(
                        IdempotencyKey(
                            key=idempotency_key, request_hash=request_hash, case_id=case.id
                        )
                    )
        except IntegrityError:
            # A concurrent request with the same key committed first: answer with its case.
            if idempotency_key is None:
                raise
            earlier = await _earlier_creation(idempotency_key, request_hash)
            if earlier is None:
                raise
            return earlier
        return case

    @router.get("/api/v1/complaints", response_model=list[ComplaintView], tags=["complaints"])
    async def list_complaints(
        request: Request,
        who: Reader,
        directorate: str | None = None,
        status: str | None = None,
        stage: Annotated[int | None, Query(ge=1, le=MAX_STAGES)] = None,
        officer: str | None = None,
        due_within_days: Annotated[
            int | None,
            Query(
                ge=0,
                le=MAX_HORIZON,
                description="With an open deadline due within this many working days",
            ),
        ] = None,
    ) -> list[Case]:
        """The cases you may see, newest first, filtered."""
        query = select(Case).where(access.visible(who, Case.id)).order_by(Case.created_at.desc())
        for column, value in (
            (Case.directorate, directorate),
            (Case.status, status),
            (Case.stage, stage),
            (Case.officer, officer),
        ):
            if value is not None:
                query = query.where(column == value)
        if due_within_days is not None:
            today = today_in_england()
            horizon = calendar.add(today, due_within_days) if due_within_days else today
            due_soon = select(CaseDeadline.case_id).where(
                CaseDeadline.status == "open",
                CaseDeadline.kind != DeadlineKind.ESCALATION_WINDOW,  # the complainant's, not ours
                CaseDeadline.due_on <= horizon,
            )
            query = query.where(Case.id.in_(due_soon))
        async with service.db.transaction() as session:
            cases = list(await session.scalars(query))
            await audit.record(
                session, request, who, Access.READ, "list_complaints", [c.id for c in cases]
            )
        return cases

    @router.get(
        "/api/v1/complaints/{case_id}",
        response_model=ComplaintView,
        tags=["complaints"],
        responses=NOT_FOUND,
    )
    async def get_complaint(request: Request, who: Reader, case_id: uuid.UUID) -> Case:
        async with service.db.transaction() as session:
            case = await _case(session, case_id, who, access)
            await audit.record(session, request, who, Access.READ, "get_complaint", [case_id])
        return case

    @router.get(
        "/api/v1/complaints/{case_id}/history",
        response_model=list[HistoryView],
        tags=["complaints"],
        responses=NOT_FOUND,
    )
    async def history(request: Request, who: Reader, case_id: uuid.UUID) -> list[HistoryEntry]:
        """The case's history: every change to it, by whom and when, oldest first."""
        async with service.db.transaction() as session:
            await _case(session, case_id, who, access)
            query = (
                select(HistoryEntry)
                .where(HistoryEntry.case_id == case_id)
                .order_by(HistoryEntry.seq)
            )
            entries = list(await session.scalars(query))
            await audit.record(session, request, who, Access.READ, "case_history", [case_id])
        return entries

    @router.get(
        "/api/v1/subjects", tags=["complaints"], responses={404: problem("No such directorate")}
    )
    async def subjects(_: Anyone, directorate: str) -> list[str]:
        """The subjects a directorate's complaints are classified by (configurable)."""
        if directorate not in service.settings.directorates:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no directorate {directorate!r}")
        return list(service.settings.subjects.get(directorate, ()))

    service.exports(Case.id, HistoryEntry.case_id, Equalities.case_id)

    @router.get(
        "/api/v1/subject-access/intake/cases",
        response_model=list[PersonsCase],
        tags=["subject access"],
    )
    async def persons_cases(
        request: Request,
        who: Annotated[Principal, requires(Role.ADMINISTRATOR)],
        email: Annotated[str | None, Query(max_length=320)] = None,
        name: Annotated[str | None, Query(max_length=200)] = None,
    ) -> list[Case]:
        """The cases a person is the complainant or service user of (by email, or by
        name in any case), for a subject access request."""
        if not (email or name):
            raise field_error("email", "give email or name", where="query")
        wanted_email, wanted_name = (email or "").casefold(), (name or "").casefold()

        def about(case: Case) -> bool:
            complainant = case.complainant or {}
            names = {
                str(complainant.get("name") or "").casefold(),
                (case.service_user or "").casefold(),
            }
            return bool(
                (wanted_email and str(complainant.get("email") or "").casefold() == wanted_email)
                or (wanted_name and wanted_name in names)
            )

        async with service.db.transaction() as session:
            cases = [case for case in await session.scalars(select(Case)) if about(case)]
            await audit.record(
                session, request, who, Access.READ, "persons_cases", [c.id for c in cases]
            )
        return cases

    procedures = service.settings.configured_procedures()
    for action in lifecycle.ACTIONS.values():
        _add_action_route(service, calendar, procedures, action)

    @router.post(
        "/api/v1/compliments",
        status_code=status.HTTP_201_CREATED,
        response_model=ComplimentView,
        tags=["compliments"],
        openapi_extra=OPTIONAL_SIGN_IN,
        responses=TOO_MANY_REQUESTS,
    )
    async def log_compliment(
        request: Request,
        compliment: NewCompliment,
        caller: Annotated[Principal | None, public_caller],
    ) -> Compliment:
        """Log a compliment about a service, team or provider (public)."""
        async with service.db.transaction() as session:
            try:
                check_directorate(service.settings, compliment.directorate)
                compliment = await registered(session, compliment)
            except lifecycle.InvalidField as invalid:
                raise field_error(invalid.field, str(invalid)) from None
            row = Compliment(
                id=uuid.uuid4(),
                organisation=service.settings.organisation,
                **compliment.model_dump(),
            )
            session.add(row)
            await audit.record(session, request, caller, Access.CHANGE, "log_compliment")
            await service.publish(
                session,
                new_event(
                    ComplimentReceived(
                        compliment_id=row.id, **compliment.model_dump(exclude={"directorate"})
                    ),
                    organisation=row.organisation,
                    directorate=row.directorate,
                ),
            )
        return row

    @router.get("/api/v1/compliments", response_model=list[ComplimentView], tags=["compliments"])
    async def list_compliments(
        request: Request,
        who: Annotated[Principal, requires(Role.COMPLAINTS_OFFICER, Role.SERVICE_MANAGER)],
        directorate: str | None = None,
    ) -> list[Compliment]:
        """Compliments about your directorates' (or service areas') services, newest first."""
        query = select(Compliment).order_by(Compliment.received_on.desc())
        if directorate:
            query = query.where(Compliment.directorate == directorate)
        async with service.db.transaction() as session:
            compliments = [
                c
                for c in await session.scalars(query)
                if (who.has(Role.COMPLAINTS_OFFICER) and who.covers(c.directorate))
                or (who.has(Role.SERVICE_MANAGER) and c.service_area in who.service_areas)
            ]
            await audit.record(session, request, who, Access.READ, "list_compliments")
        return compliments


def _add_action_route(
    service: Service,
    calendar: WorkingDayCalendar,
    procedures: dict[str, Procedure],
    action: lifecycle.Action,
) -> None:
    command_type: type[BaseModel] = action.command
    Actor = Annotated[Principal, requires(*action.roles)]

    async def act(request: Request, who: Actor, case_id: uuid.UUID, command: command_type) -> Case:  # type: ignore[valid-type]
        async with service.db.transaction() as session:
            case = await _case(session, case_id, who, service.case_access, lock=True)
            context = lifecycle.Context.of(
                case, procedures, service.settings, calendar, who.username
            )
            try:
                command = await registered(session, command)
                payload = lifecycle.perform(action, case, command, context)
            except lifecycle.Refused as refusal:
                raise HTTPException(status.HTTP_409_CONFLICT, str(refusal)) from None
            except lifecycle.InvalidField as invalid:
                raise field_error(invalid.field, str(invalid)) from None
            await record(service, session, case, action.name, payload, who.username)
            await service.audit.record(
                session, request, who, Access.CHANGE, act.__name__, [case_id]
            )
        return case

    act.__name__ = action.name.replace("-", "_")
    service.http.add_api_route(
        f"/api/v1/complaints/{{case_id}}/{action.name}",
        act,
        methods=["POST"],
        response_model=ComplaintView,
        summary=action.summary,
        tags=["complaints"],
        responses={**NOT_FOUND, 409: problem("The action does not fit the complaint's state")},
    )
