"""The provider register's HTTP API under /api/v1/providers.

The complaints team (and an administrator) keep the register; service managers and
report viewers read it (a report viewer without the contacts, which are people's
details). Every read and change is in the audit trail; a provider's own client has
no part in it (its feed is elsewhere).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import HTTPException, Query, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_intake.lifecycle import InvalidField
from complaints_intake.providers import batches, matching, register
from complaints_intake.providers.batches import BatchReport
from complaints_intake.providers.feed_formats import Unreadable
from complaints_intake.providers.linking import link
from complaints_intake.providers.models import Provider
from complaints_intake.providers.register_import import COLUMNS, import_register
from complaints_intake.providers.register_schemas import (
    Matched,
    MatchRequest,
    ProviderDetails,
    ProviderView,
    UnmatchedName,
)
from complaints_shared.audit import Access
from complaints_shared.auth import Principal, Role, requires
from complaints_shared.calendar import WorkingDayCalendar
from complaints_shared.contracts.vocabulary import ProviderServiceKind
from complaints_shared.http_errors import field_error, problem
from complaints_shared.service import Service

TAGS = ["providers"]
NOT_FOUND = {404: problem("No such provider")}

Keeper = Annotated[Principal, requires(Role.COMPLAINTS_OFFICER, Role.ADMINISTRATOR)]
Reader = Annotated[
    Principal,
    requires(Role.COMPLAINTS_OFFICER, Role.SERVICE_MANAGER, Role.REPORT_VIEWER, Role.ADMINISTRATOR),
]
Officer = Annotated[Principal, requires(Role.COMPLAINTS_OFFICER)]

SEES_CONTACTS = (Role.COMPLAINTS_OFFICER, Role.SERVICE_MANAGER, Role.ADMINISTRATOR)


def view(provider: Provider, who: Principal) -> ProviderView:
    """The provider as ``who`` may see it."""
    shown = ProviderView.model_validate(provider)
    return shown if who.has(*SEES_CONTACTS) else shown.model_copy(update={"contacts": []})


async def _provider(session: AsyncSession, provider_id: uuid.UUID, lock: bool = False) -> Provider:
    """The provider (locked for a change when ``lock``), or 404."""
    provider = await session.get(Provider, provider_id, with_for_update=lock)
    if provider is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no provider with id {provider_id}")
    return provider


def register_provider_routes(service: Service, calendar: WorkingDayCalendar) -> None:
    router = service.http
    audit = service.audit

    @router.post(
        "/api/v1/providers",
        status_code=status.HTTP_201_CREATED,
        response_model=ProviderView,
        tags=TAGS,
        responses={409: problem("Another provider has the code")},
    )
    async def register_provider(
        request: Request, who: Keeper, details: ProviderDetails
    ) -> ProviderView:
        """Register a provider (revision 1); its ``provider.changed`` goes out."""
        try:
            async with service.db.transaction() as session:
                try:
                    provider = await register.register(service, session, details)
                except InvalidField as invalid:
                    raise field_error(invalid.field, str(invalid)) from None
                except register.DuplicateCode as duplicate:
                    raise HTTPException(status.HTTP_409_CONFLICT, str(duplicate)) from None
                await audit.record(session, request, who, Access.CHANGE, "register_provider")
                shown = view(provider, who)
        except IntegrityError:  # registered at the same moment by someone else
            raise HTTPException(
                status.HTTP_409_CONFLICT, str(register.DuplicateCode(details.code))
            ) from None
        return shown

    @router.get("/api/v1/providers", response_model=list[ProviderView], tags=TAGS)
    async def list_providers(
        request: Request,
        who: Reader,
        active: bool | None = None,
        service_kind: ProviderServiceKind | None = None,
        q: Annotated[
            str | None,
            Query(max_length=200, description="In the name, the code or an alias (any case)."),
        ] = None,
    ) -> list[ProviderView]:
        """The register, by name."""
        query = select(Provider).order_by(Provider.name, Provider.code)
        if active is not None:
            query = query.where(Provider.active == active)
        if service_kind is not None:
            query = query.where(Provider.service_kind == service_kind)
        wanted = (q or "").casefold()
        async with service.db.transaction() as session:
            found = [
                view(provider, who)
                for provider in await session.scalars(query)
                if any(
                    wanted in name.casefold()
                    for name in (provider.name, provider.code, *provider.aliases)
                )
            ]
            await audit.record(session, request, who, Access.READ, "list_providers")
        return found

    @router.get(
        "/api/v1/providers/unmatched",
        response_model=list[UnmatchedName],
        tags=TAGS,
    )
    async def unmatched_names(request: Request, who: Keeper) -> list[UnmatchedName]:
        """Free-text provider names on cases and compliments that match no registered
        provider, most used first, each with the closest registered provider."""
        async with service.db.transaction() as session:
            found = await matching.unmatched(session)
            await audit.record(session, request, who, Access.READ, "unmatched_providers")
        return found

    @router.post(
        "/api/v1/providers/import",
        response_model=BatchReport,
        tags=TAGS,
        responses={
            422: batches.refused(
                "No row was valid (the report says why of each); a file that is not UTF-8 "
                "CSV with the register's columns is a field error on body"
            ),
            415: problem("The body is not text/csv"),
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": "UTF-8, a header row, one row a provider contract; the "
                f"columns: {', '.join(COLUMNS)} (see docs/architecture.md).",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        },
    )
    async def import_providers(request: Request, who: Keeper) -> BatchReport | JSONResponse:
        """Register or update providers from CSV, by code; each row's fate."""
        if request.headers.get("content-type", "").split(";")[0].strip() != "text/csv":
            raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "send text/csv")
        body = await request.body()
        async with service.db.transaction() as session:
            try:
                report = await import_register(service, session, body)
            except Unreadable as unreadable:
                raise HTTPException(
                    status.HTTP_422_UNPROCESSABLE_CONTENT,
                    [{"loc": ["body"], "msg": str(unreadable), "type": "value_error"}],
                ) from None
            await audit.record(session, request, who, Access.CHANGE, "import_providers")
        if report.rejected == report.received:
            return JSONResponse(
                report.model_dump(mode="json"), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT
            )
        return report

    @router.get(
        "/api/v1/providers/{provider_id}",
        response_model=ProviderView,
        tags=TAGS,
        responses=NOT_FOUND,
    )
    async def get_provider(request: Request, who: Reader, provider_id: uuid.UUID) -> ProviderView:
        async with service.db.transaction() as session:
            shown = view(await _provider(session, provider_id), who)
            await audit.record(session, request, who, Access.READ, "get_provider")
        return shown

    @router.put(
        "/api/v1/providers/{provider_id}",
        response_model=ProviderView,
        tags=TAGS,
        responses=NOT_FOUND,
    )
    async def replace_provider(
        request: Request, who: Keeper, provider_id: uuid.UUID, details: ProviderDetails
    ) -> ProviderView:
        """Replace the provider's details (not its code); a change goes out as the next
        revision, no change changes nothing."""
        async with service.db.transaction() as session:
            provider = await _provider(session, provider_id, lock=True)
            try:
                await register.replace(service, session, provider, details)
            except InvalidField as invalid:
                raise field_error(invalid.field, str(invalid)) from None
            await audit.record(session, request, who, Access.CHANGE, "replace_provider")
            shown = view(provider, who)
        return shown

    @router.post(
        "/api/v1/providers/{provider_id}/matches",
        response_model=Matched,
        tags=TAGS,
        responses=NOT_FOUND,
    )
    async def match_names(
        request: Request, who: Officer, provider_id: uuid.UUID, names: MatchRequest
    ) -> Matched:
        """Link the cases and compliments naming this provider so (free text) to it; the
        names become its aliases."""
        async with service.db.transaction() as session:
            provider = await _provider(session, provider_id, lock=True)
            try:
                linked = await link(service, session, calendar, who, provider, names.names)
            except InvalidField as invalid:
                raise field_error(invalid.field, str(invalid)) from None
            await audit.record(
                session,
                request,
                who,
                Access.CHANGE,
                "match_provider",
                [case.id for case in linked.cases] or [None],
            )
        return Matched(
            cases=len(linked.cases),
            compliments=linked.compliments,
            cases_not_linked=linked.cases_not_linked,
            aliases_added=linked.aliases_added,
        )
