"""The providers' feed: ``/api/v1/provider-feed``, for commissioned providers only.

Every route answers for the provider the token speaks for and no other
(:mod:`.feed_access`): another provider's reference is "not found", exactly as one that
does not exist, and lists hold the provider's own returns only. Every read and change
is in intake's audit trail.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import HTTPException, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from complaints_intake.providers import batches, nil_returns, returns
from complaints_intake.providers.batches import BatchReport, RowProblem, validate_row
from complaints_intake.providers.feed_access import (
    NO_RETURN,
    ProviderClient,
    Reference,
    own_return,
    speaking_for,
)
from complaints_intake.providers.feed_formats import (
    FeedFormat,
    UnknownFormat,
    Unreadable,
    choose,
    installed_formats,
)
from complaints_intake.providers.referral import add_referral_route
from complaints_intake.providers.submission import record_rows
from complaints_intake.schemas import Strict
from complaints_shared.audit import Access
from complaints_shared.contracts.vocabulary import (
    OmbudsmanDecision,
    Outcome,
    ProviderReturnKind,
    ProviderServiceKind,
)
from complaints_shared.http_errors import field_error, problem
from complaints_shared.service import Service

PAGE = 500
TAG = "provider feed"


class ProviderReturnView(BaseModel):
    """A return as the provider sent it, with the council's record of it."""

    model_config = ConfigDict(from_attributes=True)

    provider_reference: str
    kind: ProviderReturnKind
    received_on: date
    service_kind: ProviderServiceKind
    contract_reference: str | None
    primary_subject: str | None
    other_subjects: list[str]
    summary: str | None
    outcome: Outcome | None
    responded_on: date | None
    resolved: bool
    withdrawn: bool
    ombudsman_referred: bool
    ombudsman_decision: OmbudsmanDecision | None
    referred_case_id: uuid.UUID | None
    referred_on: date | None
    revision: int
    created_at: datetime
    updated_at: datetime


class ReturnChange(Strict):
    """What a provider may change on a return it sent; a field left out is kept."""

    outcome: Outcome | None = None
    responded_on: date | None = None
    resolved: bool = False
    withdrawn: bool = False
    ombudsman_referred: bool = False
    ombudsman_decision: OmbudsmanDecision | None = None


class NilReturnView(BaseModel):
    year: int
    quarter: int
    declared_on: date
    status: str


def _unprocessable(problems: list[RowProblem]) -> HTTPException:
    """A 422 in the API's shape for a row's problems, each at its body field."""
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        [
            {
                "loc": ["body", *filter(None, p.field.split("."))],
                "msg": p.reason,
                "type": "value_error",
            }
            for p in problems
        ],
    )


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its ``$defs`` written in place, to stand in an OpenAPI body."""
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(value) for value in node]
        return node

    return resolve(schema)


def _request_body(formats: dict[str, FeedFormat]) -> dict[str, Any]:
    row = _inlined(returns.ReturnRow.model_json_schema())
    content: dict[str, Any] = {}
    for feed_format in formats.values():
        for media_type in feed_format.media_types:
            content.setdefault(media_type, {"schema": {"type": "string"}})
    content["application/json"] = {"schema": {"anyOf": [row, {"type": "array", "items": row}]}}
    return {"required": True, "content": content}


def register_feed_api(service: Service) -> None:
    """Add the feed's routes to intake."""
    router, audit = service.http, service.audit
    formats = installed_formats()
    accepted = "; ".join(f"{n}: {f.description}" for n, f in formats.items())

    @router.post(
        "/api/v1/provider-feed/returns",
        response_model=BatchReport,
        tags=[TAG],
        description="Send one return or a batch, in any installed format, chosen by "
        f"Content-Type or ?format= ({accepted}). Each row is recorded whole or not at "
        "all; a row sent again unchanged is `unchanged` and announced once only. 200 if "
        "any row was valid, else 422 with the same report.",
        responses={
            415: problem("No installed feed format reads the body's Content-Type"),
            422: batches.refused("No valid row (the report), or a body that cannot be read"),
        },
        openapi_extra={"requestBody": _request_body(formats)},
    )
    async def submit_provider_returns(
        request: Request,
        who: ProviderClient,
        format: Annotated[
            str | None, Query(max_length=40, description="An installed format, by name")
        ] = None,
    ) -> BatchReport | JSONResponse:
        async with service.db.transaction() as session:
            provider = await speaking_for(session, who)
            try:
                chosen = choose(formats, request.headers.get("content-type"), format)
            except UnknownFormat as unknown:
                if format is not None:
                    raise field_error("format", str(unknown), where="query") from None
                raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, str(unknown)) from None
            try:
                rows = chosen.parse(await request.body())
            except Unreadable as unreadable:
                raise _unprocessable([RowProblem(field="", reason=str(unreadable))]) from None
            report = await record_rows(service, session, provider, rows)
            await audit.record(session, request, who, Access.CHANGE, "submit_provider_returns")
        if report.rejected == report.received:
            return JSONResponse(
                report.model_dump(mode="json"),
                status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            )
        return report

    @router.get(
        "/api/v1/provider-feed/returns",
        response_model=list[ProviderReturnView],
        tags=[TAG],
    )
    async def list_provider_returns(
        request: Request,
        who: ProviderClient,
        received_from: date | None = None,
        received_to: date | None = None,
        offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
        limit: Annotated[int, Query(ge=1, le=PAGE)] = 100,
    ) -> list[returns.ProviderReturn]:
        """Your returns, latest received first, received within the dates given."""
        async with service.db.transaction() as session:
            provider = await speaking_for(session, who)
            query = (
                select(returns.ProviderReturn)
                .where(returns.ProviderReturn.provider_id == provider.id)
                .order_by(
                    returns.ProviderReturn.received_on.desc(),
                    returns.ProviderReturn.provider_reference,
                )
                .offset(offset)
                .limit(limit)
            )
            if received_from is not None:
                query = query.where(returns.ProviderReturn.received_on >= received_from)
            if received_to is not None:
                query = query.where(returns.ProviderReturn.received_on <= received_to)
            found = list(await session.scalars(query))
            await audit.record(session, request, who, Access.READ, "list_provider_returns")
        return found

    @router.get(
        "/api/v1/provider-feed/returns/{reference}",
        response_model=ProviderReturnView,
        tags=[TAG],
        responses=NO_RETURN,
    )
    async def get_provider_return(
        request: Request, who: ProviderClient, reference: Reference
    ) -> returns.ProviderReturn:
        async with service.db.transaction() as session:
            provider = await speaking_for(session, who)
            found = await own_return(session, provider, reference)
            await audit.record(session, request, who, Access.READ, "get_provider_return")
        return found

    @router.patch(
        "/api/v1/provider-feed/returns/{reference}",
        response_model=ProviderReturnView,
        tags=[TAG],
        responses=NO_RETURN,
    )
    async def change_provider_return(
        request: Request, who: ProviderClient, reference: Reference, change: ReturnChange
    ) -> returns.ProviderReturn:
        """Record the response, resolution, withdrawal or Ombudsman's involvement; checked
        as a new row would be. A change that changes nothing announces nothing."""
        async with service.db.transaction() as session:
            provider = await speaking_for(session, who)
            stored = await own_return(session, provider, reference, lock=True)
            changed = {
                **returns.stored_row(stored),
                **change.model_dump(include=change.model_fields_set),
            }
            row = validate_row(returns.ReturnRow, changed)
            if isinstance(row, list):
                raise _unprocessable(row)
            values = returns.row_values(row, provider, service.settings)
            if isinstance(values, list):
                raise _unprocessable(values)
            _, stored = await returns.record(service, session, provider, reference, values)
            await audit.record(session, request, who, Access.CHANGE, "change_provider_return")
        return stored

    @router.post(
        "/api/v1/provider-feed/nil-returns",
        status_code=status.HTTP_201_CREATED,
        response_model=NilReturnView,
        tags=[TAG],
        responses={
            200: {"model": NilReturnView, "description": "Declared already: unchanged"},
            409: problem("The quarter already has complaint returns"),
        },
    )
    async def declare_nil_return(
        request: Request, who: ProviderClient, quarter: nil_returns.Quarter
    ) -> NilReturnView | JSONResponse:
        """Declare that you had no complaints in a quarter of the financial year."""
        try:
            async with service.db.transaction() as session:
                provider = await speaking_for(session, who)
                try:
                    created, declared = await nil_returns.declare(
                        service, session, provider, quarter
                    )
                except nil_returns.NotBegun as early:
                    raise field_error("quarter", str(early)) from None
                except nil_returns.Contradicted as contradicted:
                    raise HTTPException(status.HTTP_409_CONFLICT, str(contradicted)) from None
                await audit.record(session, request, who, Access.CHANGE, "declare_nil_return")
        except IntegrityError:  # declared by a request at the same moment
            created = False
            async with service.db.read() as session:
                declared = await nil_returns.declared(session, provider.id, quarter)
        view = NilReturnView(
            year=declared.year,
            quarter=declared.quarter,
            declared_on=declared.declared_on,
            status="created" if created else "unchanged",
        )
        if created:
            return view
        return JSONResponse(view.model_dump(mode="json"))

    add_referral_route(service)
