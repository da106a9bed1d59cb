"""Need-to-know for case records, one rule for every service that holds them.

Intake decides who may see a case and announces it (``case.access_changed``); every
service holding case data keeps a copy in two tables of its own, written by
:meth:`CaseAccess.follow`'s handler (intake writes its copy as it publishes), and
filters every list and read through :meth:`CaseAccess.visible`:

- a complaints officer sees the cases of their directorates;
- an investigating officer, the cases they are allocated or appointed to;
- a service manager, their service areas' cases;
- a restricted case only the people it names (who hold one of those roles), and them
  whatever their directorate or service area: naming them is the grant.

A case whose access the service has not yet heard of is visible to nobody.
"""

from __future__ import annotations

import uuid

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    MetaData,
    String,
    Uuid,
    and_,
    delete,
    false,
    insert,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_shared.auth.principal import ALL, Principal, Role
from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.events import CaseAccessChanged
from complaints_shared.db import platform_table, upsert

OFFICER, RESTRICTED = "officer", "restricted"
CASE_ROLES = (Role.COMPLAINTS_OFFICER, Role.INVESTIGATING_OFFICER, Role.SERVICE_MANAGER)
"""The roles that see case records (each only the cases its rule gives it)."""


def area_grants(
    principal: Principal, directorate: ColumnElement[str], service_area: ColumnElement[str | None]
) -> list[ColumnElement[bool]]:
    """What a principal's roles grant by place: a complaints officer their directorates,
    a service manager their service areas (conditions on the two columns given)."""
    grants: list[ColumnElement[bool]] = []
    if principal.has(Role.COMPLAINTS_OFFICER):
        grants.append(
            true()
            if ALL in principal.directorates
            else directorate.in_(sorted(principal.directorates))
        )
    if principal.has(Role.SERVICE_MANAGER):
        grants.append(service_area.in_(sorted(principal.service_areas)))
    return grants


class CaseAccess:
    """A service's copy of who may see each case."""

    def __init__(self, metadata: MetaData) -> None:
        self.cases = platform_table(
            metadata,
            "case_access",
            Column("case_id", Uuid, primary_key=True),
            Column("directorate", String(64), nullable=False),
            Column("service_area", String(120)),
            Column("restricted", Boolean, nullable=False),
        )
        self.people = platform_table(
            metadata,
            "case_access_people",
            Column("case_id", Uuid, primary_key=True),
            Column("username", String(200), primary_key=True),
            Column("kind", String(16), primary_key=True),
        )

    def follow(self, service: object) -> None:
        """Keep this copy from ``case.access_changed`` (``service`` is a Service)."""

        @service.on(CaseAccessChanged)  # type: ignore[attr-defined]
        async def access_changed(
            envelope: Envelope, access: CaseAccessChanged, session: AsyncSession
        ) -> None:
            assert envelope.case_id is not None
            await self.set(session, envelope.case_id, envelope.directorate, access)

    async def set(
        self,
        session: AsyncSession,
        case_id: uuid.UUID,
        directorate: str,
        access: CaseAccessChanged,
    ) -> None:
        """Record ``access`` as the case's, replacing what was known."""
        values = {
            "service_area": access.service_area,
            "restricted": access.restricted_to is not None,
            "directorate": directorate,
        }
        await session.execute(
            upsert(session, self.cases)
            .values(case_id=case_id, **values)
            .on_conflict_do_update(index_elements=["case_id"], set_=values)
        )
        await session.execute(delete(self.people).where(self.people.c.case_id == case_id))
        people = {(name, OFFICER) for name in access.officers}
        people |= {(name, RESTRICTED) for name in access.restricted_to or ()}
        if people:
            await session.execute(
                insert(self.people),
                [{"case_id": case_id, "username": u, "kind": k} for u, k in sorted(people)],
            )

    async def current(self, session: AsyncSession, case_id: uuid.UUID) -> CaseAccessChanged | None:
        """What is recorded for the case (None: nothing yet)."""
        row = (
            await session.execute(select(self.cases).where(self.cases.c.case_id == case_id))
        ).first()
        if row is None:
            return None
        people = (
            await session.execute(
                select(self.people.c.username, self.people.c.kind)
                .where(self.people.c.case_id == case_id)
                .order_by(self.people.c.username)
            )
        ).all()
        return CaseAccessChanged(
            service_area=row.service_area,
            officers=tuple(u for u, k in people if k == OFFICER),
            restricted_to=tuple(u for u, k in people if k == RESTRICTED)
            if row.restricted
            else None,
        )

    def _named(self, principal: Principal, kind: str) -> ColumnElement[bool]:
        people = self.people.c
        return (
            select(people.case_id)
            .where(
                people.case_id == self.cases.c.case_id,
                people.username == principal.username,
                people.kind == kind,
            )
            .exists()
        )

    def visible(self, principal: Principal, case_id: ColumnElement[uuid.UUID]) -> ColumnElement:
        """A condition on ``case_id``: the principal may see that case."""
        cases = self.cases.c
        grants = area_grants(principal, cases.directorate, cases.service_area)
        if principal.has(Role.INVESTIGATING_OFFICER):
            grants.append(self._named(principal, OFFICER))
        if not principal.has(*CASE_ROLES):
            return false()
        allowed = or_(
            and_(cases.restricted.is_(False), or_(*grants) if grants else false()),
            and_(cases.restricted.is_(True), self._named(principal, RESTRICTED)),
        )
        return case_id.in_(select(cases.case_id).where(allowed))

    async def can_see(
        self, session: AsyncSession, principal: Principal, case_id: uuid.UUID
    ) -> bool:
        """Whether the principal may see the case."""
        found = await session.scalar(
            select(self.cases.c.case_id).where(
                self.cases.c.case_id == case_id, self.visible(principal, self.cases.c.case_id)
            )
        )
        return found is not None
