"""Whom a provider's credentials speak for, so that every feed route sees its own data only.

A provider's token carries its code (``Principal.provider``); the register says whether
that provider exists and is active. Asked afresh on every request, so deactivating a
provider cuts its feed off at once, tokens already issued included.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import HTTPException, Path, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_intake.providers.models import Provider
from complaints_intake.providers.returns import ProviderReturn, find
from complaints_shared.auth import Principal, Role, requires
from complaints_shared.contracts.limits import CODE_CHARS
from complaints_shared.http_errors import problem

ProviderClient = Annotated[Principal, requires(Role.PROVIDER)]
Reference = Annotated[str, Path(min_length=1, max_length=CODE_CHARS)]
"""A return's key in a path: the provider's own reference."""

NO_PROVIDER = "these credentials speak for no active registered provider"
NO_RETURN = {404: problem("This provider has sent no return with that reference")}


async def speaking_for(session: AsyncSession, who: Principal) -> Provider:
    """The active provider ``who`` speaks for, or 403."""
    provider = None
    if who.provider:
        provider = await session.scalar(select(Provider).where(Provider.code == who.provider))
    if provider is None or not provider.active:
        raise HTTPException(status.HTTP_403_FORBIDDEN, NO_PROVIDER)
    return provider


async def own_return(
    session: AsyncSession, provider: Provider, reference: str, lock: bool = False
) -> ProviderReturn:
    """The provider's return ``reference``; another provider's is as absent as none (404)."""
    found = await find(session, provider, reference, lock)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no return with reference {reference!r}")
    return found
