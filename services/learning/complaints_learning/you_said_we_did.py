""" "You said, we did": what complainants told the council and what it changed, for the public.

An entry is written in public-safe words by the complaints team (the complaint in a
sentence, the change it led to), tied to the done actions behind it, and published only
after a second person has reviewed it: the author cannot publish their own entry, and
text that plainly holds personal data is refused (:mod:`public_text`). Publishing and
withdrawing are announced as ``learning.you_said_we_did`` so the reporting service can
put the list in the annual report. The published list is public (no sign-in), as HTML
for the council's website and as CSV.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date
from typing import Annotated, Literal

from fastapi import HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import JSON, Date, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from complaints_learning.models import Base, LearningAction
from complaints_learning.public_text import personal_data_in
from complaints_shared.audit import Access
from complaints_shared.auth import Principal, Role, public_caller, requires
from complaints_shared.auth.routes import OPTIONAL_SIGN_IN
from complaints_shared.calendar import FinancialYear, today_in_england
from complaints_shared.contracts.envelope import new_event
from complaints_shared.contracts.events import YouSaidWeDid
from complaints_shared.contracts.limits import MAX_ITEMS, MAX_THEMES, Label, Reason
from complaints_shared.contracts.vocabulary import LearningStatus
from complaints_shared.http_errors import field_error, problem
from complaints_shared.http_security import TOO_MANY_REQUESTS
from complaints_shared.service import Service
from complaints_shared.spreadsheets import formula_safe

EDITORS = (Role.COMPLAINTS_OFFICER, Role.SERVICE_MANAGER)
PATH = "/api/v1/you-said-we-did"
PUBLIC_PATH = "/api/v1/public/you-said-we-did"
COLUMNS = ("published_on", "directorate", "service_area", "themes", "you_said", "we_did")

_pages = Environment(
    loader=PackageLoader("complaints_learning"), autoescape=select_autoescape(default=True)
)


class Entry(Base):
    """One entry, draft to published (or withdrawn), with who wrote and who reviewed it."""

    __tablename__ = "you_said_we_did"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    organisation: Mapped[str] = mapped_column(String(64))
    directorate: Mapped[str] = mapped_column(String(64), index=True)
    service_area: Mapped[str | None] = mapped_column(String(120))
    themes: Mapped[list] = mapped_column(JSON, default=list)
    action_ids: Mapped[list] = mapped_column(JSON, default=list)
    you_said: Mapped[str] = mapped_column(Text)
    we_did: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="draft")  # published, withdrawn
    author: Mapped[str] = mapped_column(String(200))
    reviewer: Mapped[str | None] = mapped_column(String(200))
    published_on: Mapped[date | None] = mapped_column(Date, index=True)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(default=0)


class _Texts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("you_said", "we_did", check_fields=False)
    @classmethod
    def _public_safe(cls, text: str | None) -> str | None:
        found = personal_data_in(text) if text else None
        if found:
            raise ValueError(f"this is published: it must not hold personal data ({found})")
        return text


class NewEntry(_Texts):
    directorate: str = Field(pattern=r"^[a-z0-9_-]+$", max_length=64)
    you_said: Reason = Field(min_length=1, description="The complaint, in a public-safe sentence.")
    we_did: Reason = Field(min_length=1, description="What changed because of it.")
    service_area: Label | None = None
    themes: list[Label] = Field(default_factory=list, max_length=MAX_THEMES)
    action_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="Done actions behind it."
    )


class EntryChange(_Texts):
    you_said: Reason | None = Field(default=None, min_length=1)
    we_did: Reason | None = Field(default=None, min_length=1)
    service_area: Label | None = None
    themes: list[Label] | None = Field(default=None, max_length=MAX_THEMES)


class Withdrawal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(min_length=1)


class EntryView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    directorate: str
    service_area: str | None
    themes: list[str]
    action_ids: list[uuid.UUID]
    you_said: str
    we_did: str
    status: str
    author: str
    reviewer: str | None
    published_on: date | None
    withdrawn_reason: str | None


CONFLICT = {409: problem("The entry is not in a state that allows this, and why")}
UNKNOWN = {404: problem("No such entry among those you may see")}


def register(service: Service) -> None:
    """The entries' routes; announcing each publication and withdrawal."""
    service.publishes(YouSaidWeDid)

    async def _entry(session: AsyncSession, who: Principal, entry_id: uuid.UUID) -> Entry:
        entry = await session.get(Entry, entry_id, with_for_update=True)
        if entry is None or not who.covers(entry.directorate):
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such entry")
        return entry

    async def _check_actions(session: AsyncSession, new: NewEntry) -> None:
        for index, action_id in enumerate(new.action_ids):
            action = await session.get(LearningAction, action_id)
            if action is None or action.directorate != new.directorate:
                raise field_error(
                    f"action_ids.{index}", f"no learning action {action_id} in {new.directorate}"
                )
            if action.status != LearningStatus.DONE:
                raise HTTPException(
                    status.HTTP_409_CONFLICT,
                    f"learning action {action_id} is {action.status}: only done actions say "
                    "what we did",
                )

    async def _announce(session: AsyncSession, entry: Entry) -> None:
        entry.revision += 1
        await service.publish(
            session,
            new_event(
                YouSaidWeDid(
                    entry_id=entry.id,
                    revision=entry.revision,
                    published=entry.status == "published",
                    you_said=entry.you_said,
                    we_did=entry.we_did,
                    service_area=entry.service_area,
                    themes=tuple(entry.themes),
                    action_ids=tuple(uuid.UUID(str(a)) for a in entry.action_ids),
                    published_on=entry.published_on or today_in_england(),
                ),
                organisation=entry.organisation,
                directorate=entry.directorate,
            ),
        )

    @service.http.post(
        PATH,
        response_model=EntryView,
        status_code=status.HTTP_201_CREATED,
        tags=["you said, we did"],
        responses=CONFLICT,
    )
    async def draft_entry(
        request: Request, new: NewEntry, who: Annotated[Principal, requires(*EDITORS)]
    ) -> Entry:
        """Draft an entry; a second person reviews and publishes it."""
        if not who.covers(new.directorate):
            raise field_error("directorate", f"{new.directorate} is not one of your directorates")
        async with service.db.transaction() as session:
            await _check_actions(session, new)
            entry = Entry(
                id=uuid.uuid4(),
                organisation=service.settings.organisation,
                author=who.username,
                status="draft",
                revision=0,
                **new.model_dump(mode="json"),
            )
            session.add(entry)
            await service.audit.record(session, request, who, Access.CHANGE, "draft_entry")
        return entry

    @service.http.patch(
        PATH + "/{entry_id}",
        response_model=EntryView,
        tags=["you said, we did"],
        responses=CONFLICT | UNKNOWN,
    )
    async def edit_entry(
        request: Request,
        entry_id: uuid.UUID,
        change: EntryChange,
        who: Annotated[Principal, requires(*EDITORS)],
    ) -> Entry:
        """Change a draft's words (a published entry is withdrawn and drafted again)."""
        async with service.db.transaction() as session:
            entry = await _entry(session, who, entry_id)
            if entry.status != "draft":
                raise HTTPException(
                    status.HTTP_409_CONFLICT,
                    f"the entry is {entry.status}: only a draft's words change, so that what "
                    "was published is what was reviewed",
                )
            for field, value in change.model_dump(exclude_unset=True).items():
                if value is None and field in ("you_said", "we_did"):
                    raise field_error(field, "must not be empty")
                setattr(entry, field, value)
            entry.author = who.username  # whoever wrote the words last may not review them
            await service.audit.record(session, request, who, Access.CHANGE, "edit_entry")
        return entry

    @service.http.post(
        PATH + "/{entry_id}/publish",
        response_model=EntryView,
        tags=["you said, we did"],
        responses=CONFLICT | UNKNOWN,
    )
    async def publish_entry(
        request: Request, entry_id: uuid.UUID, who: Annotated[Principal, requires(*EDITORS)]
    ) -> Entry:
        """Review and publish a draft: by someone other than its author."""
        async with service.db.transaction() as session:
            entry = await _entry(session, who, entry_id)
            if entry.status == "published":
                raise HTTPException(status.HTTP_409_CONFLICT, "the entry is already published")
            if entry.author == who.username:
                raise HTTPException(
                    status.HTTP_409_CONFLICT,
                    "you wrote this entry's words: someone else must review them before they "
                    "are published",
                )
            entry.status, entry.reviewer = "published", who.username
            entry.published_on, entry.withdrawn_reason = today_in_england(), None
            await _announce(session, entry)
            await service.audit.record(session, request, who, Access.CHANGE, "publish_entry")
        return entry

    @service.http.post(
        PATH + "/{entry_id}/withdraw",
        response_model=EntryView,
        tags=["you said, we did"],
        responses=CONFLICT | UNKNOWN,
    )
    async def withdraw_entry(
        request: Request,
        entry_id: uuid.UUID,
        withdrawal: Withdrawal,
        who: Annotated[Principal, requires(*EDITORS)],
    ) -> Entry:
        """Take a published entry down; it goes back to draft, to be corrected and reviewed."""
        async with service.db.transaction() as session:
            entry = await _entry(session, who, entry_id)
            if entry.status != "published":
                raise HTTPException(
                    status.HTTP_409_CONFLICT, f"the entry is {entry.status}, not published"
                )
            entry.status, entry.withdrawn_reason = "draft", withdrawal.reason
            entry.reviewer = None
            await _announce(session, entry)
            await service.audit.record(session, request, who, Access.CHANGE, "withdraw_entry")
        return entry

    @service.http.get(PATH, response_model=list[EntryView], tags=["you said, we did"])
    async def list_entries(
        who: Annotated[Principal, requires(*EDITORS)],
        directorate: str | None = None,
        entry_status: Annotated[Literal["draft", "published"] | None, Query(alias="status")] = None,
    ) -> list[Entry]:
        """Every entry of your directorates, drafts included, newest first."""
        query = select(Entry).order_by(Entry.published_on.desc(), Entry.id)
        if directorate:
            query = query.where(Entry.directorate == directorate)
        if entry_status:
            query = query.where(Entry.status == entry_status)
        async with service.db.transaction() as session:
            entries = list(await session.scalars(query))
        return [e for e in entries if who.covers(e.directorate)]

    @service.http.get(
        PUBLIC_PATH,
        tags=["you said, we did"],
        responses={
            200: {"content": {"text/html": {}, "text/csv": {}}},
            **TOO_MANY_REQUESTS,
        },
        response_class=Response,
        openapi_extra=OPTIONAL_SIGN_IN,
    )
    async def published_entries(
        _caller: Annotated[Principal | None, public_caller],
        directorate: str | None = None,
        year: Annotated[
            int | None, Query(ge=2000, le=2100, description="A financial year: 2026 is 2026-27")
        ] = None,
        format: Literal["html", "csv"] = "html",
    ) -> Response:
        """What complainants said and what the council did about it (public, no sign-in)."""
        query = select(Entry).where(Entry.status == "published")
        if directorate:
            query = query.where(Entry.directorate == directorate)
        if year:
            query = query.where(Entry.published_on.between(*FinancialYear.of(year)))
        async with service.db.transaction() as session:
            entries = list(
                await session.scalars(query.order_by(Entry.published_on.desc(), Entry.id))
            )
        if format == "csv":
            return Response(
                _as_csv(entries),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": 'attachment; filename="you-said-we-did.csv"'},
            )
        page = _pages.get_template("you_said_we_did.html").render(
            entries=entries, directorate=directorate, year=year
        )
        return HTMLResponse(page)


def _as_csv(entries: list[Entry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for entry in entries:
        writer.writerow(
            [
                entry.published_on.isoformat() if entry.published_on else "",
                entry.directorate,
                entry.service_area or "",
                "; ".join(entry.themes),
                formula_safe(entry.you_said),
                formula_safe(entry.we_did),
            ]
        )
    return out.getvalue()
