"""The contract monitoring report as CSV and as an HTML page.

Both are one flat table: a row per provider per period (the year, then its quarters),
then a row per kind of service per period, then the totals, so a spreadsheet can filter
it by ``group`` and ``period``. The figures are the JSON report's, nothing more.
"""

from __future__ import annotations

import csv
import io
from enum import Enum
from typing import Any

from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from complaints_reporting.contract_monitoring_shapes import (
    Figures,
    PeriodFigures,
    ProvidersReport,
    ReturnStatus,
)
from complaints_shared.contracts.vocabulary import OmbudsmanDecision, Outcome
from complaints_shared.spreadsheets import formula_safe

Row = dict[str, Any]

COLUMNS: dict[str, str] = {
    "group": "Group",
    "code": "Code",
    "name": "Provider",
    "service_kind": "Kind of service",
    "period": "Period",
    "starts_on": "From",
    "ends_on": "To",
    "return_status": "Return",
    "notified_by_provider": "Notified by the provider",
    "logged_by_council": "Logged by the council",
    "referred_by_provider": "Of which referred by the provider",
    "total": "Complaints",
    **{outcome.value: outcome.value.replace("_", " ").capitalize() for outcome in Outcome},
    "not_yet_decided": "Not yet decided",
    "responded": "Responded",
    "average_working_days": "Average working days to respond",
    "within_20_working_days": "Share within 20 working days",
    "longest_working_days": "Longest (working days)",
    "ombudsman_referred": "Referred to the Ombudsman",
    **{
        f"ombudsman_{decision.value}": f"Ombudsman: {decision.value.replace('_', ' ')}"
        for decision in OmbudsmanDecision
    },
    "compliments": "Compliments",
    "places": "Places",
    "complaints_per_100_places": "Complaints per 100 places",
    "subjects": "Subjects",
}

_pages = Environment(
    loader=PackageLoader("complaints_reporting"), autoescape=select_autoescape(default=True)
)


def _figures(figures: Figures) -> Row:
    times, ombudsman = figures.response_times, figures.ombudsman
    return {
        **figures.complaints.model_dump(),
        **figures.outcomes,
        **times.model_dump(),
        "ombudsman_referred": ombudsman.referred,
        **{f"ombudsman_{d.value}": count for d, count in ombudsman.decisions.items()},
        "compliments": figures.compliments,
        "places": figures.places,
        "complaints_per_100_places": figures.complaints_per_100_places,
        "subjects": "; ".join(f"{subject}: {n}" for subject, n in figures.subjects.items()),
    }


def _period(report: ProvidersReport, quarter: PeriodFigures | None) -> Row:
    if quarter is None:
        label = f"{report.year} Q{report.quarter}" if report.quarter else report.year
        return {"period": label, "starts_on": report.starts_on, "ends_on": report.ends_on}
    return {"period": quarter.label, "starts_on": quarter.starts_on, "ends_on": quarter.ends_on}


def rows(report: ProvidersReport) -> list[Row]:
    """The report flattened: providers, then kinds of service, then the totals."""
    found: list[Row] = []

    def add(
        who: Row,
        figures: Figures,
        quarters: list[PeriodFigures],
        status: ReturnStatus | None = None,
    ) -> None:
        found.append({**who, **_period(report, None), "return_status": status, **_figures(figures)})
        found.extend(
            {
                **who,
                **_period(report, quarter),
                "return_status": quarter.return_status,
                **_figures(quarter.figures),
            }
            for quarter in quarters
        )

    for line in report.providers:
        who = {
            "group": "provider",
            "code": line.code,
            "name": line.name,
            "service_kind": line.service_kind,
        }
        add(who, line.figures, line.quarters, line.return_status)
    for kind in report.service_kinds:
        add(
            {"group": "service_kind", "service_kind": kind.service_kind},
            kind.figures,
            kind.quarters,
        )
    add({"group": "total"}, report.total.figures, report.total.quarters)
    return [{key: row.get(key) for key in COLUMNS} for row in found]


def _text(value: Any) -> str:
    """A cell's text: blank for None, an enumeration's value, dates in ISO form."""
    if value is None:
        return ""
    return str(value.value if isinstance(value, Enum) else value)


def as_csv(report: ProvidersReport, filename: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows(report):
        writer.writerow([formula_safe(_text(value)) for value in row.values()])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
    )


def as_html(report: ProvidersReport) -> HTMLResponse:
    flat = rows(report)
    sections = [
        (title, [row for row in flat if row["group"] == group])
        for title, group in (
            ("Providers", "provider"),
            ("Kinds of service", "service_kind"),
            ("All providers", "total"),
        )
    ]
    page = _pages.get_template("contract_monitoring.html").render(
        report=report,
        columns={key: label for key, label in COLUMNS.items() if key != "group"},
        sections=sections,
        text=_text,
    )
    return HTMLResponse(page)
