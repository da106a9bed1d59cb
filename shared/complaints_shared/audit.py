"""The access audit trail: who read or changed which case's records, when, from where.

Every service keeps its own, append-only (the database refuses updates and deletes),
written in the same transaction as the read or change it records, so an answer that
reached someone is always in the trail. The actor comes from the verified token; the
address from the connection (behind a proxy, uvicorn's ``--forwarded-allow-ips``).
An administrator searches and exports it at ``/api/v1/audit/<service>``.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    event,
    insert,
)
from sqlalchemy import select as sql_select
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_shared.auth.principal import Principal, Role
from complaints_shared.auth.routes import requires
from complaints_shared.db import Database, UtcDateTime, platform_table
from complaints_shared.strict_input import StrictRoute

PAGE = 1000


class Access(StrEnum):
    READ = "read"
    CHANGE = "change"
    EXPORT = "export"


class AuditEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    at: datetime
    actor: str
    subject: str
    roles: str
    access: Access
    what: str
    case_id: uuid.UUID | None
    address: str | None


def _append_only(table: Table, connection: Connection, **_: Any) -> None:
    """Triggers that refuse UPDATE and DELETE on the trail (run once it is created).

    The table's schema comes from the connection's ``schema_translate_map`` on
    PostgreSQL, which plain DDL text would not see.
    """
    refusal = "the audit trail is append-only"
    name = table.name
    if connection.dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            connection.exec_driver_sql(
                f"CREATE TRIGGER {name}_no_{verb.lower()} BEFORE {verb} ON {name} "
                f"BEGIN SELECT RAISE(ABORT, '{refusal}'); END"
            )
        return
    schema = (connection.get_execution_options().get("schema_translate_map") or {}).get(None)
    qualified = f'"{schema}".{name}' if schema else name
    connection.exec_driver_sql(
        f"CREATE OR REPLACE FUNCTION {qualified}_append_only() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{refusal}'; END $$"
    )
    connection.exec_driver_sql(
        f"CREATE TRIGGER {name}_append_only BEFORE UPDATE OR DELETE ON {qualified} "
        f"FOR EACH ROW EXECUTE FUNCTION {qualified}_append_only()"
    )


class AuditTrail:
    """One service's trail."""

    def __init__(self, metadata: MetaData) -> None:
        self.table = platform_table(
            metadata,
            "audit_trail",
            Column(
                "seq",
                BigInteger().with_variant(Integer, "sqlite"),
                primary_key=True,
                autoincrement=True,
            ),
            Column("at", UtcDateTime, nullable=False, index=True),
            Column("actor", String(200), nullable=False, index=True),
            Column("subject", String(200), nullable=False),
            Column("roles", String(200), nullable=False),
            Column("access", String(8), nullable=False),
            Column("what", String(120), nullable=False),
            Column("case_id", Uuid, index=True),
            Column("address", String(64)),
        )
        if not event.contains(self.table, "after_create", _append_only):  # a shared table
            event.listen(self.table, "after_create", _append_only)

    async def record(
        self,
        session: AsyncSession,
        request: Request,
        principal: Principal | None,
        access: Access,
        what: str,
        case_ids: Iterable[uuid.UUID | None] = (None,),
    ) -> None:
        """Append one entry per case (a list that showed ten cases records ten)."""
        base = {
            "at": datetime.now(UTC),
            "actor": principal.username if principal else "public",
            "subject": principal.subject if principal else "public",
            "roles": ",".join(sorted(principal.roles)) if principal else "",
            "access": access.value,
            "what": what,
            "address": request.client.host if request.client else None,
        }
        rows = [{**base, "case_id": case_id} for case_id in dict.fromkeys(case_ids)]
        if rows:
            await session.execute(insert(self.table), rows)

    def routes(self, service: str, db: Database) -> APIRouter:
        """``GET /api/v1/audit/<service>``: search the trail; ``format=csv`` exports it."""
        router = APIRouter(route_class=StrictRoute)
        description = f"{service}'s audit trail, oldest first, {PAGE} entries a page."
        table = self.table

        @router.get(
            f"/api/v1/audit/{service}",
            response_model=list[AuditEntry],
            name=f"search_{service}_audit",
            tags=["audit"],
            description=description,
            responses={200: {"content": {"text/csv": {}}}},
        )
        async def search(
            _: Annotated[Principal, requires(Role.ADMINISTRATOR)],
            actor: str | None = None,
            case_id: uuid.UUID | None = None,
            access: Access | None = None,
            since: AwareDatetime | None = None,
            until: AwareDatetime | None = None,
            after: Annotated[
                int, Query(ge=0, le=2**63 - 1, description="Entries after this seq")
            ] = 0,
            format: Literal["json", "csv"] = "json",
        ) -> Any:
            query = sql_select(table).where(table.c.seq > after).order_by(table.c.seq).limit(PAGE)
            for column, value in (
                (table.c.actor, actor),
                (table.c.case_id, case_id),
                (table.c.access, access.value if access else None),
            ):
                if value is not None:
                    query = query.where(column == value)
            if since is not None:
                query = query.where(table.c.at >= since)
            if until is not None:
                query = query.where(table.c.at < until)
            async with db.read() as session:
                entries = [
                    AuditEntry.model_validate(row)
                    for row in (await session.execute(query)).mappings()
                ]
            if format == "json":
                return entries
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=list(AuditEntry.model_fields))
            writer.writeheader()
            writer.writerows(entry.model_dump(mode="json") for entry in entries)
            return Response(
                out.getvalue(),
                media_type="text/csv",
                headers={"Content-Disposition": f'attachment; filename="{service}-audit.csv"'},
            )

        return router
