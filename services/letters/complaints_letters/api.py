"""Letters' HTTP API under /api/v1/letters: only the letters of cases you may see.

Letters to staff (learning reminders and digests) concern no case: complaints officers
see them (to follow one that failed), nobody else does, and none can be edited.

Officers list letters, read one as JSON, HTML, text or PDF, write a draft's words,
approve, cancel, resend after a failure, and read each letter's history. Letters are
never deleted; editing an approved letter (not yet sent) makes a new version.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_letters.checks import problems
from complaints_letters.drafting import Drafter
from complaints_letters.formats import PdfUnavailable, as_pdf
from complaints_letters.kinds import Kind
from complaints_letters.models import (
    SYSTEM,
    CaseFacts,
    Letter,
    LetterEvent,
    Status,
    cancel,
    history,
)
from complaints_shared.audit import Access
from complaints_shared.auth import Principal, Role, requires
from complaints_shared.calendar import today_in_england
from complaints_shared.case_access import CASE_ROLES
from complaints_shared.http_errors import problem
from complaints_shared.service import Service

Variant = Literal["standard", "large_print", "easy_read"]


class LetterView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    series: uuid.UUID
    version: int
    case_id: uuid.UUID | None
    kind: str
    stage: int
    variant: str
    status: Status
    needs_approval: bool
    template: str
    wording: dict[str, str]
    next_step_on: date | None
    issued_on: date | None
    send_after: datetime | None
    route: str | None
    channel: str | None
    drafted_by: str
    approved_by: str | None
    reason: str | None
    created_at: datetime
    updated_at: datetime


class HistoryView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    actor: str
    action: str
    detail: str


class Edit(BaseModel):
    """An officer's words for a draft (merged into what is there), and its variant."""

    model_config = ConfigDict(extra="forbid")

    wording: dict[str, Annotated[str, Field(max_length=20_000)]] = Field(
        default_factory=dict, max_length=100
    )
    variant: Variant | None = None


class NewLetter(BaseModel):
    """A letter an officer starts: a consent request, a panel invitation."""

    model_config = ConfigDict(extra="forbid")

    case_id: uuid.UUID
    kind: Literal[Kind.CONSENT_REQUEST, Kind.PANEL_INVITATION]
    stage: int = Field(default=1, ge=1, le=9)
    wording: dict[str, Annotated[str, Field(max_length=20_000)]] = Field(
        default_factory=dict, max_length=100
    )


class Cancel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


Reader = Annotated[Principal, requires(*CASE_ROLES)]
Writer = Annotated[Principal, requires(Role.COMPLAINTS_OFFICER, Role.INVESTIGATING_OFFICER)]
Approver = Annotated[Principal, requires(Role.COMPLAINTS_OFFICER, Role.SERVICE_MANAGER)]
NOT_FOUND = {404: problem("No such letter (or not one of your cases)")}
CONFLICT = {409: problem("The letter cannot do that in its state, or fails its checks")}


def register_api(
    service: Service,
    drafter: Drafter,
    wake: Callable[[], None],
    resend: Callable[[AsyncSession, Letter, str], object],
) -> None:
    """``wake`` tells the delivery worker a letter was approved; ``resend`` puts a failed
    letter back in its queue."""
    router = service.http
    access = service.holds_cases()
    service.exports(Letter.case_id, CaseFacts.case_id)

    def visible(who: Principal) -> ColumnElement[bool]:
        """Letters of cases ``who`` may see, and for complaints officers letters to staff."""
        to_staff = Letter.case_id.is_(None) if who.has(Role.COMPLAINTS_OFFICER) else false()
        return or_(access.visible(who, Letter.case_id), to_staff)

    async def visible_letter(
        session: AsyncSession, who: Principal, letter_id: uuid.UUID, *, lock: bool = False
    ) -> Letter:
        query = select(Letter).where(Letter.id == letter_id, visible(who))
        letter = await session.scalar(query.with_for_update() if lock else query)
        if letter is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no letter with id {letter_id}")
        return letter

    async def audited(
        session: AsyncSession,
        request: Request,
        who: Principal,
        access_kind: Access,
        what: str,
        letter: Letter,
    ) -> None:
        await service.audit.record(session, request, who, access_kind, what, [letter.case_id])

    def refuse(letter: Letter, action: str) -> HTTPException:
        return HTTPException(
            status.HTTP_409_CONFLICT, f"a letter that is {letter.status} cannot be {action}"
        )

    @router.get("/api/v1/letters", response_model=list[LetterView], tags=["letters"])
    async def list_letters(
        request: Request,
        who: Reader,
        case_id: uuid.UUID | None = None,
        kind: Kind | None = None,
        status_is: Annotated[Status | None, Query(alias="status")] = None,
        all_versions: bool = False,
    ) -> list[Letter]:
        """Letters, oldest first: a case's, or every case's you may see of a kind or in a
        state (``status=failed``: what the team must deal with). Only each letter's latest
        version unless ``all_versions``."""
        query = select(Letter).where(visible(who))
        if case_id is not None:
            query = query.where(Letter.case_id == case_id)
        if kind is not None:
            query = query.where(Letter.kind == kind)
        async with service.db.transaction() as session:
            letters = list(await session.scalars(query.order_by(Letter.created_at)))
            if not all_versions:
                latest = {letter.series: letter.version for letter in letters}
                letters = [x for x in letters if x.version == latest[x.series]]
            if status_is is not None:
                letters = [x for x in letters if x.status == status_is]
            if letters:
                await service.audit.record(
                    session,
                    request,
                    who,
                    Access.READ,
                    "list_letters",
                    sorted({x.case_id for x in letters}, key=str),
                )
        return letters

    @router.post(
        "/api/v1/letters",
        response_model=LetterView,
        status_code=status.HTTP_201_CREATED,
        responses={**NOT_FOUND, **CONFLICT},
        tags=["letters"],
    )
    async def start_letter(request: Request, who: Writer, new: NewLetter) -> Letter:
        """Start a letter no event calls for: a consent request to the service user, a
        Stage 3 panel invitation (its date, time and place are the officer's words)."""
        async with service.db.transaction() as session:
            facts = await session.scalar(
                select(CaseFacts).where(
                    CaseFacts.case_id == new.case_id, access.visible(who, CaseFacts.case_id)
                )
            )
            if facts is None or facts.reference is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case with id {new.case_id}")
            particulars = {"people": facts.people.get(str(new.stage), {})}
            letter = await drafter.draft(
                session,
                facts,
                Kind(new.kind),
                f"{new.kind}.{uuid.uuid4()}",
                particulars,
                stage=new.stage,
                actor=who.username,
                wording=new.wording,
            )
            if letter is None:
                raise HTTPException(
                    status.HTTP_409_CONFLICT,
                    "this case gets no letters (imported, or anonymous with no address)",
                )
            await audited(session, request, who, Access.CHANGE, "start_letter", letter)
        return letter

    @router.get(
        "/api/v1/letters/{letter_id}",
        response_model=LetterView,
        responses={
            200: {"content": {"text/html": {}, "text/plain": {}, "application/pdf": {}}},
            **NOT_FOUND,
            503: problem("PDF rendering is not available on this machine"),
        },
        tags=["letters"],
    )
    async def get_letter(
        request: Request,
        who: Reader,
        letter_id: uuid.UUID,
        format: Literal["json", "html", "text", "pdf"] = "json",
    ) -> Letter | Response:
        """A letter's details, or with ``format`` the letter itself as html, text or pdf."""
        async with service.db.transaction() as session:
            letter = await visible_letter(session, who, letter_id)
            await audited(session, request, who, Access.READ, "get_letter", letter)
        if format == "html":
            return HTMLResponse(letter.html)
        if format == "text":
            return PlainTextResponse(letter.text)
        if format == "pdf":
            return await _pdf(letter)
        return letter

    @router.get(
        "/api/v1/letters/{letter_id}/history",
        response_model=list[HistoryView],
        responses=NOT_FOUND,
        tags=["letters"],
    )
    async def letter_history(request: Request, who: Reader, letter_id: uuid.UUID) -> list:
        """What happened to the letter (every version), oldest first, and who did it."""
        async with service.db.transaction() as session:
            letter = await visible_letter(session, who, letter_id)
            versions = select(Letter.id).where(Letter.series == letter.series)
            events = await session.scalars(
                select(LetterEvent)
                .where(LetterEvent.letter_id.in_(versions))
                .order_by(LetterEvent.id)
            )
            await audited(session, request, who, Access.READ, "letter_history", letter)
            return list(events)

    @router.patch(
        "/api/v1/letters/{letter_id}",
        response_model=LetterView,
        responses={**NOT_FOUND, **CONFLICT},
        tags=["letters"],
    )
    async def edit_letter(
        request: Request, who: Writer, letter_id: uuid.UUID, edit: Edit
    ) -> Letter:
        """Write a draft's words. An approved letter not yet sent becomes a new version
        (a draft again; the approved one is cancelled)."""
        async with service.db.transaction() as session:
            letter = await visible_letter(session, who, letter_id, lock=True)
            if letter.case_id is None:
                raise HTTPException(
                    status.HTTP_409_CONFLICT,
                    "a letter to staff is written from its event, not edited",
                )
            if letter.status == Status.APPROVED:
                letter = await _new_version(session, letter, who.username)
            elif letter.status != Status.DRAFT:
                raise refuse(letter, "edited")
            letter.wording = {**letter.wording, **edit.wording}
            if edit.variant is not None:
                letter.variant = edit.variant
            drafter.render(letter, today_in_england())
            history(session, letter, who.username, "edited", ", ".join(sorted(edit.wording)))
            await audited(session, request, who, Access.CHANGE, "edit_letter", letter)
        return letter

    async def _new_version(session: AsyncSession, old: Letter, actor: str) -> Letter:
        cancel(session, old, actor, f"replaced by version {old.version + 1}")
        new = Letter(
            id=uuid.uuid4(),
            series=old.series,
            version=old.version + 1,
            **{
                column: getattr(old, column)
                for column in (
                    "case_id",
                    "key",
                    "kind",
                    "stage",
                    "variant",
                    "needs_approval",
                    "template",
                    "facts",
                    "wording",
                    "html",
                    "text",
                    "next_step_on",
                    "drafted_by",
                )
            },
            status=Status.DRAFT,
        )
        session.add(new)
        await session.flush()
        history(session, new, actor, "drafted", f"version {new.version} of {old.id}")
        return new

    @router.post(
        "/api/v1/letters/{letter_id}/refresh",
        response_model=LetterView,
        responses={**NOT_FOUND, **CONFLICT},
        tags=["letters"],
    )
    async def refresh_letter(request: Request, who: Writer, letter_id: uuid.UUID) -> Letter:
        """Give a draft the deadlines engine's date for the complainant's next step, when
        approval said the two disagree."""
        async with service.db.transaction() as session:
            letter = await visible_letter(session, who, letter_id, lock=True)
            if letter.status != Status.DRAFT:
                raise refuse(letter, "refreshed")
            change = drafter.redate(letter, await session.get(CaseFacts, letter.case_id))
            if change is not None:
                history(session, letter, who.username, "refreshed", change)
            await audited(session, request, who, Access.CHANGE, "refresh_letter", letter)
        return letter

    @router.post(
        "/api/v1/letters/{letter_id}/approve",
        response_model=LetterView,
        responses={**NOT_FOUND, **CONFLICT},
        tags=["letters"],
    )
    async def approve_letter(request: Request, who: Approver, letter_id: uuid.UUID) -> Letter:
        """Approve a draft to be sent. Refused (409, naming each problem) when a check
        fails, or when it needs a second person and you wrote it."""
        async with service.db.transaction() as session:
            letter = await visible_letter(session, who, letter_id, lock=True)
            if letter.status != Status.DRAFT:
                raise refuse(letter, "approved")
            facts = await session.get(CaseFacts, letter.case_id)
            found = problems(letter, facts)
            if letter.needs_approval:
                authors = set(
                    await session.scalars(
                        select(LetterEvent.actor).where(
                            LetterEvent.letter_id == letter.id,
                            LetterEvent.action.in_(("drafted", "edited")),
                            LetterEvent.actor != SYSTEM,
                        )
                    )
                )
                if who.username in authors:
                    found.append(
                        f"a {letter.kind} letter needs a second person's approval: you wrote it"
                    )
            if found:
                raise HTTPException(status.HTTP_409_CONFLICT, {"problems": found})
            letter.status, letter.approved_by = Status.APPROVED, who.username
            history(session, letter, who.username, "approved")
            await audited(session, request, who, Access.CHANGE, "approve_letter", letter)
        wake()
        return letter

    @router.post(
        "/api/v1/letters/{letter_id}/cancel",
        response_model=LetterView,
        responses={**NOT_FOUND, **CONFLICT},
        tags=["letters"],
    )
    async def cancel_letter(
        request: Request, who: Writer, letter_id: uuid.UUID, why: Cancel
    ) -> Letter:
        """Stop a letter that has not gone (a draft, or approved and not yet sent)."""
        async with service.db.transaction() as session:
            letter = await visible_letter(session, who, letter_id, lock=True)
            if letter.status not in (Status.DRAFT, Status.APPROVED):
                raise refuse(letter, "cancelled")
            cancel(session, letter, who.username, why.reason)
            await audited(session, request, who, Access.CHANGE, "cancel_letter", letter)
        return letter

    @router.post(
        "/api/v1/letters/{letter_id}/resend",
        response_model=LetterView,
        responses={**NOT_FOUND, **CONFLICT},
        tags=["letters"],
    )
    async def resend_letter(request: Request, who: Writer, letter_id: uuid.UUID) -> Letter:
        """Send a failed letter again (after the address was corrected, say)."""
        async with service.db.transaction() as session:
            letter = await visible_letter(session, who, letter_id, lock=True)
            if letter.status != Status.FAILED:
                raise refuse(letter, "sent again")
            await resend(session, letter, who.username)
            await audited(session, request, who, Access.CHANGE, "resend_letter", letter)
        wake()
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
                await audited(session, request, who, Access.EXPORT, "letter_pdf", letter)
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
