"""A provider refers one of its complaints to the council to investigate.

The complaint becomes a council case exactly as any complaint does (``log_case``: the
directorate's reference series and procedure, ``case.received``, so deadlines schedules
it), received on the day of referral through channel ``other``, naming the registered
provider and the provider's own reference. The directorate is the return's contract's
(or one the referral names), else the one all the provider's contracts share. The
return records the case it became (its next revision); referring it again answers the
same case, so a retried request never opens a second one.
"""

from __future__ import annotations

import uuid
from datetime import date

from fastapi import HTTPException, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from complaints_intake.lifecycle import InvalidField
from complaints_intake.models import Case
from complaints_intake.providers.feed_access import (
    NO_RETURN,
    ProviderClient,
    Reference,
    own_return,
    speaking_for,
)
from complaints_intake.providers.models import Provider
from complaints_intake.providers.returns import (
    ProviderReturn,
    announce,
    contracts_of,
    directorate_of,
)
from complaints_intake.recording import log_case
from complaints_intake.schemas import NewComplaint, ServiceUser, Strict
from complaints_shared.audit import Access
from complaints_shared.calendar import today_in_england
from complaints_shared.contracts.events import Complainant
from complaints_shared.contracts.limits import Code, Narrative
from complaints_shared.contracts.vocabulary import (
    Channel,
    Consent,
    ProviderReturnKind,
    Relationship,
)
from complaints_shared.http_errors import field_error, field_errors, problem
from complaints_shared.service import Service


class Referral(Strict):
    """What the council needs to write to the complainant, as the public form takes it."""

    complainant: Complainant
    relationship: Relationship | None = None
    consent: Consent = Consent.NOT_NEEDED
    anonymous: bool = False
    service_user: ServiceUser | None = None
    summary: Narrative | None = Field(
        default=None, min_length=1, description="Required if the return has no summary."
    )
    contract_reference: Code | None = Field(
        default=None,
        description="Whose directorate investigates, if the return names no contract and the "
        "provider's contracts are with several directorates.",
    )


class ReferredCase(BaseModel):
    case_id: uuid.UUID
    reference: str
    referred_on: date


def _referred(case: Case, stored: ProviderReturn) -> ReferredCase:
    assert stored.referred_on is not None
    return ReferredCase(case_id=case.id, reference=case.reference, referred_on=stored.referred_on)


def _complaint(
    referral: Referral, stored: ProviderReturn, directorate: str, provider: Provider
) -> NewComplaint:
    """The referral as a complaint the council logs, or 422 naming what is missing."""
    summary = referral.summary or stored.summary
    if summary is None:
        raise field_error("summary", "the return has no summary: give one")
    try:
        return NewComplaint.model_validate(
            {
                **referral.model_dump(exclude={"summary", "contract_reference"}),
                "directorate": directorate,
                "received_on": today_in_england(),
                "channel": Channel.OTHER,
                "provider": provider.name,
                "provider_id": provider.id,
                "primary_subject": stored.primary_subject,
                "other_subjects": stored.other_subjects,
                "summary": summary,
            }
        )
    except ValidationError as invalid:
        errors = field_errors(invalid.errors())
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{**e, "loc": ["body", *e["loc"]]} for e in errors],
        ) from None


def add_referral_route(service: Service) -> None:
    @service.http.post(
        "/api/v1/provider-feed/returns/{reference}/referral",
        status_code=status.HTTP_201_CREATED,
        response_model=ReferredCase,
        tags=["provider feed"],
        responses={
            200: {"model": ReferredCase, "description": "Referred already: the same case"},
            **NO_RETURN,
            409: problem("A compliment, or a withdrawn complaint, cannot be referred"),
        },
    )
    async def refer_provider_return(
        request: Request, who: ProviderClient, reference: Reference, referral: Referral
    ) -> ReferredCase | JSONResponse:
        """Refer the complaint to the council to investigate: it becomes a council case."""
        async with service.db.transaction() as session:
            provider = await speaking_for(session, who)
            stored = await own_return(session, provider, reference, lock=True)
            if stored.referred_case_id is not None:
                case = await session.get_one(Case, stored.referred_case_id)
                await service.audit.record(
                    session, request, who, Access.READ, "refer_provider_return", [case.id]
                )
                return JSONResponse(_referred(case, stored).model_dump(mode="json"))
            if stored.kind != ProviderReturnKind.COMPLAINT or stored.withdrawn:
                raise HTTPException(
                    status.HTTP_409_CONFLICT,
                    "only a complaint that is not withdrawn can be referred",
                )
            contract = referral.contract_reference or stored.contract_reference
            if referral.contract_reference and contract not in contracts_of(provider):
                raise field_error("contract_reference", "not one of this provider's contracts")
            directorate = directorate_of(provider, contract)
            if directorate is None:
                raise field_error(
                    "contract_reference",
                    "the provider's contracts are with several directorates (or none): "
                    "give the contract whose directorate should investigate",
                )
            complaint = _complaint(referral, stored, directorate, provider)
            try:
                case = await log_case(
                    service,
                    session,
                    complaint,
                    who.username,
                    provider_reference=stored.provider_reference,
                )
            except InvalidField as invalid:
                raise field_error(invalid.field, str(invalid)) from None
            stored.referred_case_id, stored.referred_on = case.id, case.received_on
            stored.revision += 1
            await session.flush()
            await announce(service, session, provider, stored)
            await service.audit.record(
                session, request, who, Access.CHANGE, "refer_provider_return", [case.id]
            )
        return _referred(case, stored)
