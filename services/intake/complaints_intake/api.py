"""Intake's HTTP API under /api/v1/complaints."""

from __future__ import annotations

import uuid

import structlog
from fastapi import HTTPException, status
from sqlalchemy import select

from complaints_intake.models import Case
from complaints_intake.references import next_reference
from complaints_intake.schemas import ComplaintView, NewComplaint, NewResponse
from complaints_shared.calendar import today_in_england
from complaints_shared.contracts.envelope import new_event
from complaints_shared.contracts.events import CaseReceived, CaseResponded, LearningActionSpec
from complaints_shared.service import Service

log = structlog.get_logger(__name__)


def field_error(field: str, message: str) -> HTTPException:
    """A 422 shaped like FastAPI's own validation errors, naming the field."""
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=[{"loc": ["body", *field.split(".")], "msg": message, "type": "value_error"}],
    )


def register_api(service: Service) -> None:
    router = service.http
    settings = service.settings

    @router.post(
        "/api/v1/complaints",
        status_code=status.HTTP_201_CREATED,
        response_model=ComplaintView,
        tags=["complaints"],
    )
    async def log_complaint(complaint: NewComplaint) -> Case:
        """Log a complaint: it gets a reference, and its procedure's clock starts."""
        if complaint.directorate not in settings.directorates:
            known = ", ".join(sorted(settings.directorates))
            raise field_error("directorate", f"unknown directorate; expected one of: {known}")
        if complaint.received_on > today_in_england():
            raise field_error("received_on", "cannot be in the future")
        directorate = settings.directorate(complaint.directorate)
        async with service.db.transaction() as session:
            case = Case(
                id=uuid.uuid4(),
                reference=await next_reference(
                    session, directorate.reference_prefix, complaint.received_on.year
                ),
                organisation=settings.organisation,
                directorate=complaint.directorate,
                procedure=directorate.procedure,
                received_on=complaint.received_on,
                channel=complaint.channel,
                complainant=complaint.complainant.model_dump(mode="json"),
                summary=complaint.summary,
                correlation_id=uuid.uuid4(),
            )
            session.add(case)
            await service.publish(
                session,
                new_event(
                    CaseReceived(
                        reference=case.reference,
                        procedure=case.procedure,
                        received_on=case.received_on,
                        channel=complaint.channel,
                        complainant=complaint.complainant,
                        summary=case.summary,
                    ),
                    organisation=case.organisation,
                    directorate=case.directorate,
                    case_id=case.id,
                    correlation_id=case.correlation_id,
                ),
            )
        service.outbox.wake()
        log.info("complaint logged", case_id=str(case.id), reference=case.reference)
        return case

    @router.get("/api/v1/complaints", response_model=list[ComplaintView], tags=["complaints"])
    async def list_complaints(directorate: str | None = None, status: str | None = None) -> list:
        """Cases, newest first, optionally of one directorate or status."""
        query = select(Case).order_by(Case.created_at.desc())
        if directorate:
            query = query.where(Case.directorate == directorate)
        if status:
            query = query.where(Case.status == status)
        async with service.db.transaction() as session:
            return list(await session.scalars(query))

    @router.get("/api/v1/complaints/{case_id}", response_model=ComplaintView, tags=["complaints"])
    async def get_complaint(case_id: uuid.UUID) -> Case:
        async with service.db.transaction() as session:
            case = await session.get(Case, case_id)
        if case is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no complaint with id {case_id}")
        return case

    @router.post(
        "/api/v1/complaints/{case_id}/response", response_model=ComplaintView, tags=["complaints"]
    )
    async def record_response(case_id: uuid.UUID, response: NewResponse) -> Case:
        """Record the response's outcome and learning actions; the case is then responded."""
        async with service.db.transaction() as session:
            case = await session.get(Case, case_id, with_for_update=True)
            if case is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, f"no complaint with id {case_id}")
            if case.status != "open":
                raise HTTPException(
                    status.HTTP_409_CONFLICT,
                    f"complaint {case.reference} is {case.status}; only an open one can be "
                    "responded to",
                )
            if response.responded_on < case.received_on:
                raise field_error(
                    "responded_on", f"is before the complaint was received ({case.received_on})"
                )
            if response.responded_on > today_in_england():
                raise field_error("responded_on", "cannot be in the future")
            case.status = "responded"
            case.outcome = response.outcome
            case.responded_on = response.responded_on
            actions = tuple(
                LearningActionSpec(id=uuid.uuid4(), **action.model_dump())
                for action in response.learning_actions
            )
            await service.publish(
                session,
                new_event(
                    CaseResponded(
                        responded_on=response.responded_on,
                        outcome=response.outcome,
                        learning_actions=actions,
                    ),
                    organisation=case.organisation,
                    directorate=case.directorate,
                    case_id=case.id,
                    correlation_id=case.correlation_id,
                ),
            )
        service.outbox.wake()
        return case
