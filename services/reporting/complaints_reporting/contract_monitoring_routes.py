"""The contract monitoring routes: every provider for the council, and a provider's own.

Figures only, as JSON, CSV or an HTML page; each answer is in the audit trail (a CSV as
an export). A provider's client sees only the provider its token speaks for.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import HTTPException, Query, Request, status
from sqlalchemy import select

from complaints_reporting import contract_monitoring_formats as formats
from complaints_reporting.contract_monitoring import report
from complaints_reporting.contract_monitoring_shapes import ProvidersReport
from complaints_reporting.models import ProviderCopy
from complaints_reporting.periods import Period
from complaints_reporting.provider_facts import load
from complaints_shared.audit import Access
from complaints_shared.auth import Principal, Role, requires
from complaints_shared.calendar import organisation_calendar, today_in_england
from complaints_shared.http_errors import field_error
from complaints_shared.service import Service

PATH = "/api/v1/reports/providers"
COUNCIL_ROLES = (
    Role.REPORT_VIEWER,
    Role.COMPLAINTS_OFFICER,
    Role.SERVICE_MANAGER,
    Role.ADMINISTRATOR,
)
FORMATS = {200: {"content": {"text/csv": {}, "text/html": {}}}}
Year = Annotated[int, Query(ge=2000, le=2100, description="A financial year: 2026 is 2026-27")]
Quarter = Annotated[
    int | None, Query(ge=1, le=4, description="1 is April to June; none: the whole year")
]
Format = Literal["json", "csv", "html"]


def register(service: Service) -> None:
    """Serve the council's report and each provider's own."""
    calendar = organisation_calendar(service.settings)

    async def answer(
        request: Request,
        who: Principal,
        what: str,
        period: Period,
        directorate: str | None,
        answer_format: Format,
        provider_code: str | None = None,
    ) -> Any:
        async with service.db.transaction() as session:
            provider_ids: list[uuid.UUID] | None = None
            if provider_code is not None:
                provider_ids = list(
                    await session.scalars(
                        select(ProviderCopy.provider_id).where(ProviderCopy.code == provider_code)
                    )
                )
                if not provider_ids:
                    raise HTTPException(
                        status.HTTP_403_FORBIDDEN,
                        f"your token speaks for provider {provider_code!r}, which is not in "
                        "the provider register reporting holds",
                    )
            facts = await load(session, period.year, provider_ids)
            access = Access.EXPORT if answer_format == "csv" else Access.READ
            await service.audit.record(session, request, who, access, what)
        built = report(
            facts,
            period,
            directorate=directorate,
            calendar=calendar,
            today=today_in_england(),
            organisation=service.settings.organisation,
        )
        if answer_format == "csv":
            name = "-".join(["providers", provider_code or "all", period.label.replace(" ", "-")])
            return formats.as_csv(built, name)
        if answer_format == "html":
            return formats.as_html(built)
        return built

    @service.http.get(PATH, response_model=ProvidersReport, tags=["reports"], responses=FORMATS)
    async def providers_report(
        request: Request,
        who: Annotated[Principal, requires(*COUNCIL_ROLES)],
        year: Year,
        quarter: Quarter = None,
        directorate: str | None = None,
        format: Format = "json",
    ) -> Any:
        """Contract monitoring for every commissioned provider and every kind of service,
        for a quarter or a financial year (with its four quarters), optionally for one
        directorate: complaints, outcomes, subjects, response times, the Ombudsman,
        compliments, places and missing returns. Figures only."""
        if directorate is not None and directorate not in service.settings.directorates:
            known = ", ".join(sorted(service.settings.directorates))
            raise field_error(
                "directorate", f"unknown directorate; configured: {known}", where="query"
            )
        return await answer(
            request, who, "provider_report", Period(year, quarter), directorate, format
        )

    @service.http.get(
        f"{PATH}/mine", response_model=ProvidersReport, tags=["reports"], responses=FORMATS
    )
    async def own_provider_report(
        request: Request,
        who: Annotated[Principal, requires(Role.PROVIDER)],
        year: Year,
        quarter: Quarter = None,
        format: Format = "json",
    ) -> Any:
        """The same figures for the provider your token speaks for, and no other."""
        if who.provider is None:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, "your token does not say which provider it speaks for"
            )
        return await answer(
            request, who, "own_provider_report", Period(year, quarter), None, format, who.provider
        )
