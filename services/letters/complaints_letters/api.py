"""Letters' HTTP API under /api/v1/letters: only the letters of cases you may see."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from fastapi import HTTPException, Request, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from complaints_letters.models import CaseFacts, Letter
from complaints_shared.audit import Access
from complaints_shared.auth import Principal, requires
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
        responses={200: {"content": {"text/html": {}}}, 404: problem("No such letter")},
        tags=["letters"],
    )
    async def get_letter(
        request: Request,
        who: Reader,
        letter_id: uuid.UUID,
        format: Literal["json", "html"] = "json",
    ) -> Letter | HTMLResponse:
        """A letter's details, or with ``format=html`` the letter itself."""
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
        return letter
