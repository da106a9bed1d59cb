"""The register from a spreadsheet: CSV, one row a provider contract, upserted by code.

Rows sharing a code are one provider: its details (name, service kind, CQC location
ids, aliases, active) may be given on any of its rows, and must agree where given
twice; each row may add a contract and a contact (a contact given on several rows is
one). Lists in a cell are separated by ``;`` and a blank cell is absent. Every row is
checked on its own and then as part of its provider; a provider with a bad row is
rejected whole (each of its rows says so) and the others land. Importing the same file
again finds every provider unchanged and publishes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_intake.lifecycle import InvalidField
from complaints_intake.providers import register
from complaints_intake.providers.batches import (
    BatchReport,
    RowProblem,
    RowResult,
    RowStatus,
    problems_of,
    rejected,
)
from complaints_intake.providers.feed_formats import Unreadable, read_csv, split_list
from complaints_intake.providers.register_schemas import ProviderDetails
from complaints_shared.contracts.events import ProviderContact, ProviderContract
from complaints_shared.service import Service

PROVIDER_COLUMNS = {
    "code": "code",
    "name": "name",
    "service_kind": "service_kind",
    "cqc_location_ids": "cqc_location_ids",
    "aliases": "aliases",
    "active": "active",
}
CONTRACT_COLUMNS = {
    "contract_reference": "reference",
    "directorate": "directorate",
    "starts_on": "starts_on",
    "ends_on": "ends_on",
    "places": "places",
    "basis": "basis",
    "contract_service_kind": "service_kind",
}
CONTACT_COLUMNS = {
    "contact_name": "name",
    "contact_role": "role",
    "contact_email": "email",
    "contact_phone": "phone",
}
COLUMNS = (
    "code",
    "name",
    "service_kind",
    "cqc_location_ids",
    "contract_reference",
    "directorate",
    "starts_on",
    "ends_on",
    "places",
    "basis",
    "contract_service_kind",
    "contact_name",
    "contact_role",
    "contact_email",
    "contact_phone",
    "aliases",
    "active",
)
"""The columns, in the order a template gives them (any order is read)."""
LISTS = frozenset({"cqc_location_ids", "aliases"})
REQUIRED = ("code", "name", "service_kind")


@dataclass
class _Row:
    number: int
    cells: dict[str, str]
    problems: list[RowProblem] = field(default_factory=list)
    contract_at: int | None = None
    contact_at: int | None = None


@dataclass
class _Provider:
    code: str
    rows: list[_Row] = field(default_factory=list)
    given_on: dict[str, _Row] = field(default_factory=dict)
    """Which row gave each provider detail."""


def read_rows(body: bytes) -> list[_Row]:
    """The file's data rows, read as the feed reads a CSV (:func:`read_csv`), values
    stripped; :class:`Unreadable` if it is not that or lacks the register's columns."""
    header, parsed = read_csv(body)
    missing = [name for name in REQUIRED if name not in header]
    unknown = [name for name in header if name not in COLUMNS]
    if missing or unknown:
        parts = [f"missing column(s) {', '.join(missing)}"] if missing else []
        parts += [f"unknown column(s) {', '.join(unknown)}"] if unknown else []
        raise Unreadable(f"the header row has {'; '.join(parts)}; the columns are documented")
    if not parsed:
        raise Unreadable("has no rows after the header")
    return [
        _Row(row.number, {name: value.strip() for name, value in row.fields.items()}, row.problems)
        for row in parsed
    ]


def _cells(row: _Row, columns: dict[str, str]) -> dict[str, Any]:
    return {
        name: split_list(row.cells[column]) if column in LISTS else row.cells[column]
        for column, name in columns.items()
        if column in row.cells
    }


def _problems(error: ValidationError, columns: dict[str, str]) -> list[RowProblem]:
    """A part's problems, named by the CSV's column rather than the model's field."""
    column_of = {name: column for column, name in columns.items()}
    return [
        RowProblem(field=column_of.get(p.field.split(".")[0], p.field), reason=p.reason)
        for p in problems_of(error)
    ]


def _part(row: _Row, model: type[BaseModel], columns: dict[str, str]) -> dict[str, Any] | None:
    """The row's contract or contact, valid, as JSON; None if the row has none."""
    given = _cells(row, columns)
    if not given:
        return None
    try:
        return model.model_validate(given).model_dump(mode="json")
    except ValidationError as error:
        row.problems += _problems(error, columns)
        return None


def _group(rows: list[_Row]) -> list[_Provider]:
    """The rows by provider code, in the order each code first appears."""
    providers: dict[str, _Provider] = {}
    for row in rows:
        code = row.cells.get("code")
        if code is None:
            row.problems.append(RowProblem(field="code", reason="is required"))
            continue
        providers.setdefault(code, _Provider(code)).rows.append(row)
    return list(providers.values())


def _details(provider: _Provider) -> ProviderDetails | None:
    """The provider its rows describe, or None with each problem on its row and column."""
    data: dict[str, Any] = {"contracts": [], "contacts": []}
    for row in provider.rows:
        for column, value in _cells(row, PROVIDER_COLUMNS).items():
            if column not in provider.given_on:
                provider.given_on[column], data[column] = row, value
            elif data[column] != value:
                earlier = provider.given_on[column].number
                reason = f"differs from row {earlier}'s for the same code"
                row.problems.append(RowProblem(field=column, reason=reason))
        if (contract := _part(row, ProviderContract, CONTRACT_COLUMNS)) is not None:
            row.contract_at = len(data["contracts"])
            data["contracts"].append(contract)
        if (contact := _part(row, ProviderContact, CONTACT_COLUMNS)) is not None:
            if contact not in data["contacts"]:
                data["contacts"].append(contact)
            row.contact_at = data["contacts"].index(contact)
    try:
        return ProviderDetails.model_validate(data)
    except ValidationError as error:
        for problem in problems_of(error):
            _place(provider, problem)
        return None


def _place(provider: _Provider, problem: RowProblem) -> None:
    """Put a problem found in the provider as a whole on the row and column it came from."""
    path = problem.field.split(".")
    part = {
        "contracts": ("contract_at", CONTRACT_COLUMNS),
        "contacts": ("contact_at", CONTACT_COLUMNS),
    }
    if path[0] in part and len(path) > 2:
        at, columns = part[path[0]]
        column_of = {name: column for column, name in columns.items()}
        row = next(r for r in provider.rows if getattr(r, at) == int(path[1]))
        row.problems.append(RowProblem(field=column_of[path[2]], reason=problem.reason))
        return
    row = provider.given_on.get(path[0], provider.rows[0])
    row.problems.append(RowProblem(field=path[0] or problem.field, reason=problem.reason))


async def import_register(service: Service, session: AsyncSession, body: bytes) -> BatchReport:
    """Upsert every provider the CSV describes; each row's fate (see the module)."""
    rows = read_rows(body)
    results: list[RowResult] = []
    for provider in _group(rows):
        details = _details(provider)
        if details is not None:
            try:
                register.check_contracts(service.settings, details)
            except InvalidField as invalid:
                _place(provider, RowProblem(field=invalid.field, reason=str(invalid)))
        bad = [row.number for row in provider.rows if row.problems]
        if details is None or bad:
            reason = f"not imported: provider {provider.code}'s row(s) {_numbers(bad)} are invalid"
            for row in provider.rows:
                problems = row.problems or [RowProblem(field="", reason=reason)]
                results.append(rejected(row.number, problems, provider.code))
            continue
        status = await _upsert(service, session, details)
        results += [
            RowResult(row=r.number, reference=provider.code, status=status) for r in provider.rows
        ]
    results += [rejected(row.number, row.problems) for row in rows if "code" not in row.cells]
    return BatchReport.of(results)


def _numbers(numbers: list[int]) -> str:
    return ", ".join(str(number) for number in numbers)


async def _upsert(service: Service, session: AsyncSession, details: ProviderDetails) -> RowStatus:
    stored = await register.by_code(session, details.code)
    if stored is None:
        await register.register(service, session, details)
        return RowStatus.CREATED
    changed = await register.replace(service, session, stored, details)
    return RowStatus.UPDATED if changed else RowStatus.UNCHANGED
