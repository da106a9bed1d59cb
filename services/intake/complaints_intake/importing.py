"""Historical import: case histories from an old system, replayed through the lifecycle.

``complaints import FILE`` reads JSON Lines, one case history per line (see
``ImportLine``; the JSON Schema is ``services/intake/import/import-line.schema.json``
and an example sits beside it). Every line is validated whole before anything is
written; an accepted line is replayed through the same lifecycle actions as the
API, with its original dates, all or nothing, so every other service sees it
as it happened. Lines go in by the couple of hundred per transaction, each in a
savepoint of its own. A reference already present is skipped, so re-running an import
imports nothing twice; a repeated line that differs from the stored case is reported.
Bad lines (not UTF-8, not JSON, or refused by the API's own rules) are reported
(line, field, reason) and the good ones still go in. Lines end at newlines only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import operator
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time
from functools import reduce
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_intake import lifecycle
from complaints_intake.import_differences import differences
from complaints_intake.models import Case
from complaints_intake.providers.matching import registered
from complaints_intake.recording import log_case, record
from complaints_intake.schemas import NewComplaint
from complaints_intake.service import create
from complaints_shared.calendar import organisation_calendar, today_in_england
from complaints_shared.contracts.events import HistoryImported
from complaints_shared.service import Service
from complaints_shared.settings import Settings

ACTOR = "historical-import"


def _step_model(action: lifecycle.Action) -> type[BaseModel]:
    return create_model(
        f"{action.command.__name__}Step",
        __base__=action.command,
        action=(Literal[action.name], ...),  # type: ignore[valid-type]
        actor=(str, Field(default=ACTOR, max_length=200)),
    )


STEP_MODELS = {name: _step_model(action) for name, action in lifecycle.ACTIONS.items()}
# One step of a history: any lifecycle action, told apart by its "action" field.
ImportStep = Annotated[reduce(operator.or_, STEP_MODELS.values()), Field(discriminator="action")]


class ImportLine(BaseModel):
    """One case history: the complaint as received, then its dated steps in order."""

    model_config = ConfigDict(extra="forbid", title="Complaint history (one JSON line)")

    reference: str = Field(
        pattern=r"^[A-Za-z0-9/_-]{1,32}$",
        description="The old system's reference, kept; a reference already present is skipped.",
    )
    complaint: NewComplaint
    steps: list[ImportStep] = Field(default_factory=list, max_length=200)


LINE = TypeAdapter(ImportLine)
SCHEMA_PATH = "services/intake/import/import-line.schema.json"


def published_documents() -> dict[str, dict]:
    """The import line's JSON Schema, written and checked by ``complaints schemas``."""
    return {SCHEMA_PATH: LINE.json_schema()}


@dataclass
class Report:
    imported: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def error(self, line: int, where: str, reason: str) -> None:
        self.errors.append({"line": line, "field": where, "reason": reason})


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def _step_date(step: BaseModel) -> date:
    return next(v for v in step.model_dump().values() if isinstance(v, date))


CHUNK = 200
"""Lines replayed per transaction: each in its own savepoint, so a bad one leaves no trace."""


Progress = Callable[[int, int], None]
"""Told (lines replayed so far, lines to replay) after each chunk."""


async def import_lines(
    service: Service, lines: Sequence[str | bytes], progress: Progress | None = None
) -> Report:
    """Validate and replay each line; return what went in, what was skipped, what failed.

    A line given as bytes is decoded on its own, so one that is not UTF-8 is reported
    by its number and the others still go in.
    """
    report = Report()
    valid: list[tuple[int, ImportLine]] = []
    for number, raw in enumerate(lines, start=1):
        try:
            text = raw.decode() if isinstance(raw, bytes) else raw
        except UnicodeDecodeError as undecodable:
            report.error(number, "(line)", f"not UTF-8: byte {undecodable.start + 1} is invalid")
            continue
        if not text.strip():
            continue
        try:
            line = LINE.validate_json(text)
        except ValidationError as invalid:
            for error in invalid.errors(include_url=False):
                where = ".".join(str(part) for part in error["loc"]) or "(line)"
                report.error(number, where, error["msg"])
            continue
        valid.append((number, line))
    for start in range(0, len(valid), CHUNK):
        async with service.db.transaction() as session:
            for number, line in valid[start : start + CHUNK]:
                await _replay(service, session, number, line, report)
        if progress is not None:
            progress(min(start + CHUNK, len(valid)), len(valid))
    return report


async def _replay(
    service: Service, session: AsyncSession, number: int, line: ImportLine, report: Report
) -> None:
    """Replay one history in a savepoint of the chunk's transaction, or report why not."""
    stored = await session.scalar(select(Case).where(Case.reference == line.reference))
    if stored is not None:
        if differs := await differences(session, stored, line.complaint, line.steps):
            report.error(
                number,
                "reference",
                f"{line.reference} is already imported with a different "
                f"{', '.join(differs)}; skipped, the stored case is unchanged",
            )
        report.skipped.append(line.reference)
        return
    calendar = organisation_calendar(service.settings)
    procedures = service.settings.configured_procedures()
    try:
        async with service.outbox.savepoint(session):
            try:
                case = await log_case(
                    service,
                    session,
                    line.complaint,
                    ACTOR,
                    reference=line.reference,
                    imported=True,
                    occurred_at=_noon(line.complaint.received_on),
                )
            except lifecycle.InvalidField as invalid:
                raise _LineError(f"complaint.{invalid.field}", str(invalid)) from None
            context = lifecycle.Context.of(case, procedures, service.settings, calendar)
            for index, step in enumerate(line.steps):
                action = lifecycle.ACTIONS[step.action]
                command = action.command.model_validate(
                    step.model_dump(exclude={"action", "actor"})
                )
                try:
                    command = await registered(session, command)
                    payload = lifecycle.perform(action, case, command, context)
                except lifecycle.InvalidField as invalid:
                    where = f"steps.{index}.{step.action}.{invalid.field}"
                    raise _LineError(where, str(invalid)) from None
                except lifecycle.Refused as refused:
                    raise _LineError(f"steps.{index}.action", str(refused)) from None
                await record(
                    service,
                    session,
                    case,
                    action.name,
                    payload,
                    step.actor,
                    occurred_at=_noon(_step_date(command)),
                )
            ended = HistoryImported(
                imported_on=today_in_england(),
                status=case.status,
                stage=case.stage,
                ended=case.status in lifecycle.ENDED,
            )
            await record(service, session, case, "history-imported", ended, ACTOR)
    except _LineError as error:
        report.error(number, error.where, error.reason)
        return
    report.imported.append(line.reference)


class _LineError(Exception):
    def __init__(self, where: str, reason: str) -> None:
        super().__init__(reason)
        self.where, self.reason = where, reason


class ImportCommand:
    """``complaints import FILE``: load case histories from an old system."""

    help = "import case histories (JSON Lines) from an old system"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file", type=Path, help="JSON Lines, one case history per line")

    def run(self, args: argparse.Namespace) -> int:
        settings = Settings()
        service = create(settings)

        try:
            data = args.file.read_bytes()
        except OSError as error:
            print(f"complaints import: cannot read {args.file}: {error.strerror}", file=sys.stderr)
            return 2

        def progress(done: int, total: int) -> None:
            print(f"replayed {done:,} of {total:,} valid lines", file=sys.stderr, flush=True)

        async def go() -> Report:
            await service.prepare()
            try:
                # JSON Lines: split on newlines only, never on U+2028 or U+0085 in a summary.
                lines = data.split(b"\n")
                return await import_lines(service, lines, progress if len(lines) > CHUNK else None)
            finally:
                await service.db.dispose()

        report = asyncio.run(go())
        print(json.dumps({**asdict(report), "imported_count": len(report.imported)}, indent=2))
        if report.errors:
            print(f"{len(report.errors)} problem(s) in {args.file}", file=sys.stderr)
        return 1 if report.errors else 0


command = ImportCommand()
