"""Subject access: everything a service holds about a person's cases, for one archive.

Each service declares the columns that tie its records to a case
(``service.exports(Letter.case_id, ...)``) and gets ``GET /api/v1/subject-access/<service>``
(administrators): every row of those tables for the cases asked for, and its audit
entries about them. Records tied to a case through a link table (learning's actions, which
may come from several cases) are declared ``linked={LearningAction.id:
ActionCase.action_id}``: the rows whose key is in the link column of the cases' links. The export is itself audited. ``complaints subject-access`` finds a
person's cases through intake and gathers every service's answer into one zip archive.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
import uuid
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute

from complaints_shared.audit import Access, AuditTrail
from complaints_shared.auth.principal import Principal, Role
from complaints_shared.auth.routes import requires
from complaints_shared.db import Database
from complaints_shared.strict_input import StrictRoute

Export = dict[str, Any]


def export_routes(
    service: str,
    db: Database,
    audit: AuditTrail,
    columns: Iterable[InstrumentedAttribute],
    linked: Mapping[InstrumentedAttribute, InstrumentedAttribute] | None = None,
) -> APIRouter:
    """``GET /api/v1/subject-access/<service>?case_id=...`` for the tables of ``columns``,
    and of each key of ``linked`` through its link (a column of one of those tables)."""
    router = APIRouter(route_class=StrictRoute)
    columns = tuple(columns)
    by_table = {column.class_: column for column in columns}
    links = dict(linked or {})

    @router.get(
        f"/api/v1/subject-access/{service}",
        name=f"subject_access_{service}",
        tags=["subject access"],
        description=f"Every record {service} holds about these cases, and who read them.",
    )
    async def export(
        request: Request,
        who: Annotated[Principal, requires(Role.ADMINISTRATOR)],
        case_id: Annotated[list[uuid.UUID], Query(min_length=1, max_length=100)],
    ) -> Export:
        records: dict[str, list[dict[str, Any]]] = {}
        async with db.transaction() as session:
            for column in columns:
                table = column.class_.__table__
                rows = await session.execute(select(table).where(column.in_(case_id)))
                records[table.name] = [dict(row) for row in rows.mappings()]
            for key, link in links.items():
                cases_links = select(link).where(by_table[link.class_].in_(case_id))
                rows = await session.execute(
                    select(key.class_.__table__).where(key.in_(cases_links))
                )
                records[key.class_.__table__.name] = [dict(row) for row in rows.mappings()]
            trail = await session.execute(
                select(audit.table)
                .where(audit.table.c.case_id.in_(case_id))
                .order_by(audit.table.c.seq)
            )
            entries = [dict(row) for row in trail.mappings()]
            await audit.record(
                session, request, who, Access.EXPORT, f"subject_access_{service}", case_id
            )
        return jsonable_encoder({"service": service, "records": records, "audit": entries})

    return router


async def gather(
    client: httpx.AsyncClient, services: Iterable[str], *, email: str | None, name: str | None
) -> dict[str, bytes]:
    """The archive's files: each service's export as JSON, each letter as HTML and PDF."""
    found = await client.get(
        "/api/v1/subject-access/intake/cases",
        params={k: v for k, v in (("email", email), ("name", name)) if v},
    )
    found.raise_for_status()
    cases = found.json()
    files = {"cases.json": json.dumps(cases, indent=2).encode()}
    if not cases:
        return files
    ids = [case["id"] for case in cases]
    for service in services:
        answer = await client.get(f"/api/v1/subject-access/{service}", params={"case_id": ids})
        if answer.status_code == 404:
            continue  # it holds no case records
        answer.raise_for_status()
        export = answer.json()
        files[f"{service}.json"] = json.dumps(export, indent=2).encode()
        for letter in export["records"].get("letters", []):
            name = f"letters/{letter['case_id']}-{letter['kind']}-{letter['id']}"
            files[f"{name}.html"] = letter["html"].encode()
            pdf = await client.get(f"/api/v1/subject-access/letters/{letter['id']}/pdf")
            pdf.raise_for_status()
            files[f"{name}.pdf"] = pdf.content
    return files


def zipped(files: dict[str, bytes]) -> bytes:
    """The archive: ``files`` in one zip, by path."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, content in sorted(files.items()):
            archive.writestr(path, content)
    return buffer.getvalue()


async def _archive(args: argparse.Namespace, services: list[str]) -> bytes:
    headers = {"Authorization": f"Bearer {args.token}"}
    async with httpx.AsyncClient(base_url=args.api, headers=headers, timeout=60) as client:
        return zipped(await gather(client, services, email=args.email, name=args.name))


def add_command(subcommands: argparse._SubParsersAction, services: list[str]) -> None:
    """``complaints subject-access``: one person's records from every service, zipped."""

    def run(args: argparse.Namespace) -> int:
        if not (args.email or args.name):
            print("complaints subject-access: give --email or --name", file=sys.stderr)
            return 2
        try:
            content = asyncio.run(_archive(args, services))
        except httpx.HTTPError as error:
            print(f"complaints subject-access: {error}", file=sys.stderr)
            return 1
        args.out.write_bytes(content)
        print(f"wrote {args.out} ({len(content)} bytes)")
        return 0

    parser = subcommands.add_parser(
        "subject-access", help="everything held about a person, from every service, as a zip"
    )
    parser.add_argument("--api", default="http://127.0.0.1:8000", help="the suite's URL")
    parser.add_argument("--token", required=True, help="an administrator's bearer token")
    parser.add_argument("--email", help="the person's email address")
    parser.add_argument("--name", help="the person's name (exact, any case)")
    parser.add_argument("--out", type=Path, required=True)
    parser.set_defaults(func=run)
