"""Letters' HTTP API under /api/v1/letters: only the letters of cases you may see."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Annotated, Literal

from fastapi import HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from complaints_letters.formats import PdfUnavailable, as_pdf
from complaints_letters.models import CaseFacts, Letter
from complaints_shared.audit import Access
from complaints_shared.auth import Principal, Role, requires
from complaints_shared.case_access import CASE_ROLES
from complaints_shared.contracts.vocabulary import LetterKind
from complaints_shared.http_errors import problem
from complaints_shared.service import Service


class LetterView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    case_id: uuid.UUID
    kind: LetterKind
    stage: int
    issued_on: date


Reader = Annotated[Principal, requires(*CASE_ROLES)]


def register_api(service: Service) -> None:
    router = service.http
    access = service.holds_cases()
    service.exports(Letter.case_id, CaseFacts.case_id)

    @router.get("/api/v1/letters", response_model=list[LetterView], tags=["letters"])
    async def list_letters(request: Request, who: Reader, case_id: uuid.UUID) -> list[Letter]:
        """The letters sent for a case, oldest first."""
        async with service.db.transaction() as session:
            query = (
                select(Letter)
                .where(Letter.case_id == case_id, access.visible(who, Letter.case_id))
                .order_by(Letter.created_at)
            )
            letters = list(await session.scalars(query))
            if letters:
                await service.audit.record(
                    session, request, who, Access.READ, "list_letters", [case_id]
                )
        return letters

    @router.get(
        "/api/v1/letters/{letter_id}",
        response_model=LetterView,
        responses={
            200: {"content": {"text/html": {}, "application/pdf": {}}},
            404: problem("No such letter"),
            503: problem("PDF rendering is not available on this machine"),
        },
        tags=["letters"],
    )
    async def get_letter(
        request: Request,
        who: Reader,
        letter_id: uuid.UUID,
        format: Literal["json", "html", "pdf"] = "json",
    ) -> Letter | HTMLResponse | Response:
        """A letter's details, or with ``format=html`` or ``pdf`` the letter itself."""
        async with service.db.transaction() as session:
            letter = await session.scalar(
                select(Letter).where(Letter.id == letter_id, access.visible(who, Letter.case_id))
            )
            if letter is not None:
                await service.audit.record(
                    session, request, who, Access.READ, "get_letter", [letter.case_id]
                )
        if letter is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no letter with id {letter_id}")
        if format == "html":
            return HTMLResponse(letter.html)
        if format == "pdf":
            return await _pdf(letter)
        return letter

    @router.get(
        "/api/v1/subject-access/letters/{letter_id}/pdf",
        response_class=Response,
        responses={
            200: {"content": {"application/pdf": {}}},
            404: problem("No such letter"),
            503: problem("PDF rendering is not available on this machine"),
        },
        tags=["subject access"],
    )
    async def letter_for_subject_access(
        request: Request,
        who: Annotated[Principal, requires(Role.ADMINISTRATOR)],
        letter_id: uuid.UUID,
    ) -> Response:
        """A letter as PDF, for a subject access archive (the export is audited)."""
        async with service.db.transaction() as session:
            letter = await session.get(Letter, letter_id)
            if letter is not None:
                await service.audit.record(
                    session, request, who, Access.EXPORT, "letter_pdf", [letter.case_id]
                )
        if letter is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no letter with id {letter_id}")
        return await _pdf(letter)


async def _pdf(letter: Letter) -> Response:
    try:
        content = await asyncio.to_thread(as_pdf, letter.html)
    except PdfUnavailable as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(error)) from None
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="letter-{letter.id}.pdf"'},
    )
