"""Roles and the signed-in principal, as the verified token's claims describe them.

Roles come from the issuer (Entra ID app roles, Keycloak realm or client roles, the
embedded issuer's users and clients), mapped to ours by configuration, so the services
never know which issuer is behind them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

ALL = "*"
"""A directorates claim holding this covers every directorate (a council-wide manager)."""


class Role(StrEnum):
    """What a person or client is for; each grants need-to-know to a kind of record."""

    COMPLAINTS_OFFICER = "complaints_officer"
    """Every case of their directorates."""
    INVESTIGATING_OFFICER = "investigating_officer"
    """The cases allocated or appointed to them."""
    SERVICE_MANAGER = "service_manager"
    """Their service areas' cases and learning actions."""
    REPORT_VIEWER = "report_viewer"
    """Aggregate reports only: no personal data."""
    PROVIDER = "provider"
    """A commissioned provider: its own feed and figures."""
    ADMINISTRATOR = "administrator"
    """Configuration, users, the audit trail; no case by this role alone."""


@dataclass(frozen=True)
class Principal:
    """A verified token's holder."""

    subject: str
    username: str
    roles: frozenset[Role]
    directorates: frozenset[str] = frozenset()
    service_areas: frozenset[str] = frozenset()
    provider: str | None = None
    """The commissioned provider a ``provider`` client speaks for (its code), else None."""

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    def covers(self, directorate: str) -> bool:
        """Whether ``directorate`` is one of theirs."""
        return ALL in self.directorates or directorate in self.directorates


def _claim(claims: Mapping[str, Any], path: str) -> Any:
    """The claim at ``path``, dotted for nested objects (``realm_access.roles``)."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _names(value: Any) -> frozenset[str]:
    """A claim's values: a list, or one string of names separated by spaces or commas."""
    if value is None:
        return frozenset()
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, Iterable):
        return frozenset()
    return frozenset(str(item) for item in value if str(item))


def principal_from_claims(
    claims: Mapping[str, Any],
    *,
    username_claim: str,
    roles_claim: str,
    role_names: Mapping[str, str],
    directorates_claim: str,
    service_areas_claim: str,
    provider_claim: str = "provider",
) -> Principal:
    """The principal a verified token describes; roles we do not know are ignored."""
    known = {role.value for role in Role}
    roles = frozenset(
        Role(role_names.get(name, name))
        for name in _names(_claim(claims, roles_claim))
        if role_names.get(name, name) in known
    )
    subject = str(claims["sub"])
    username = _claim(claims, username_claim)
    provider = _claim(claims, provider_claim)
    return Principal(
        subject=subject,
        username=str(username) if username else subject,
        roles=roles,
        directorates=_names(_claim(claims, directorates_claim)),
        service_areas=_names(_claim(claims, service_areas_claim)),
        provider=str(provider) if isinstance(provider, str) and provider else None,
    )
