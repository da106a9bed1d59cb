"""Verifying bearer tokens against the issuer's published keys (PyJWT does the cryptography).

The issuer is found by OpenID Connect discovery; its keys are cached for
``oidc_keys_refresh_seconds`` and fetched again at once when a token names a key we
have not seen (the issuer rotated), at most every :data:`MIN_REFETCH_SECONDS` so a
stream of forged key ids cannot make us hammer the issuer.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import jwt
import structlog

from complaints_shared.auth.principal import Principal, principal_from_claims
from complaints_shared.settings import Settings

log = structlog.get_logger(__name__)

MIN_REFETCH_SECONDS = 10.0
LEEWAY_SECONDS = 30
"""Clock skew allowed between the issuer and us on ``exp``, ``nbf`` and ``iat``."""


class InvalidToken(Exception):
    """The token is not one we accept; the message says why (it becomes a 401)."""


class IssuerUnavailable(Exception):
    """The issuer's keys could not be fetched (a 503: the token may be fine)."""


class IssuerKeys:
    """The issuer's signing keys by key id, from its discovery document and JWKS."""

    def __init__(self, issuer: str, refresh_seconds: float) -> None:
        self.issuer = issuer.rstrip("/")
        self.refresh_seconds = refresh_seconds
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def key(self, key_id: str | None) -> jwt.PyJWK:
        """The key ``key_id`` names, fetching the issuer's keys if they are stale or lack it."""
        age = time.monotonic() - self._fetched_at
        if age > self.refresh_seconds or (key_id not in self._keys and age > MIN_REFETCH_SECONDS):
            await self._refresh(seen_at=self._fetched_at)
        if key_id is None and len(self._keys) == 1:  # an issuer with one key may omit kid
            return next(iter(self._keys.values()))
        try:
            return self._keys[key_id]
        except KeyError:
            raise InvalidToken("the token is signed by a key the issuer does not publish") from None

    async def _refresh(self, seen_at: float) -> None:
        async with self._lock:
            if self._fetched_at != seen_at:  # another request fetched them meanwhile
                return
            try:
                async with httpx.AsyncClient(timeout=10.0) as client:
                    discovery = await _json(
                        client, f"{self.issuer}/.well-known/openid-configuration"
                    )
                    if str(discovery.get("issuer", "")).rstrip("/") != self.issuer:
                        raise IssuerUnavailable(
                            f"the discovery document names issuer {discovery.get('issuer')!r}, "
                            f"not {self.issuer!r}"
                        )
                    keys = jwt.PyJWKSet.from_dict(await _json(client, discovery["jwks_uri"]))
            except (httpx.HTTPError, KeyError, TypeError, ValueError, jwt.PyJWKSetError) as error:
                log.warning("issuer keys not fetched", issuer=self.issuer, error=str(error))
                # Keep the keys we had: a passing outage must not sign everybody out.
                if not self._keys:
                    raise IssuerUnavailable(f"cannot fetch the issuer's keys: {error}") from None
                self._fetched_at = time.monotonic()
                return
            self._keys = {key.key_id: key for key in keys.keys}
            self._fetched_at = time.monotonic()
            log.info("issuer keys fetched", issuer=self.issuer, keys=len(self._keys))


async def _json(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    response = await client.get(url)
    response.raise_for_status()
    document = response.json()
    if not isinstance(document, dict):
        raise TypeError(f"{url} did not answer with a JSON object")
    return document


class TokenVerifier:
    """Checks a token's signature, issuer, audience and expiry; reads its principal."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.keys = (
            IssuerKeys(settings.oidc_issuer, settings.oidc_keys_refresh_seconds)
            if settings.oidc_issuer
            else None
        )

    async def verify(self, token: str) -> Principal:
        if self.keys is None:
            raise IssuerUnavailable("no issuer is configured: set COMPLAINTS_OIDC_ISSUER")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise InvalidToken("the bearer token is not a JWT") from None
        if header.get("alg") not in self.settings.oidc_algorithms:
            raise InvalidToken(f"the token's algorithm {header.get('alg')!r} is not accepted")
        key = await self.keys.key(header.get("kid"))
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=list(self.settings.oidc_algorithms),
                audience=self.settings.oidc_audience,
                issuer=self.keys.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken(
                f"the token is not for this audience ({self.settings.oidc_audience})"
            ) from None
        except jwt.InvalidIssuerError:
            raise InvalidToken(f"the token was not issued by {self.keys.issuer}") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("the token's signature does not verify") from None
        except jwt.InvalidTokenError as error:
            raise InvalidToken(f"the token is not valid: {error}") from None
        settings = self.settings
        return principal_from_claims(
            claims,
            username_claim=settings.oidc_username_claim,
            roles_claim=settings.oidc_roles_claim,
            role_names=settings.oidc_role_names,
            directorates_claim=settings.oidc_directorates_claim,
            service_areas_claim=settings.oidc_service_areas_claim,
            provider_claim=settings.oidc_provider_claim,
        )
