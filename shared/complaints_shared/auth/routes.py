"""The FastAPI side of sign-in: each route declares the roles it needs, once.

``who: Annotated[Principal, requires(Role.COMPLAINTS_OFFICER)]`` verifies the bearer
token (401 when it is missing, unknown or expired), refuses a principal with none of
the roles (403 naming them), and puts the roles in the OpenAPI document as the
operation's security requirement (OpenAPI 3.1 lets a bearer scheme list role names).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes

from complaints_shared.auth.principal import Principal, Role
from complaints_shared.auth.tokens import InvalidToken, IssuerUnavailable, TokenVerifier
from complaints_shared.http_errors import problem
from complaints_shared.http_security import PUBLIC

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="staff",
    bearerFormat="JWT",
    description="An access token from the council's OpenID Connect issuer; the roles each "
    "operation lists are alternatives (any one of them will do).",
)

Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def _unauthorized(why: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        f"sign in: {why}",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


async def _verify(request: Request, token: str) -> Principal:
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        principal = await verifier.verify(token)
    except InvalidToken as error:
        raise _unauthorized(str(error)) from None
    except IssuerUnavailable as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(error)) from None
    request.state.principal = principal
    return principal


async def signed_in(
    request: Request, scopes: SecurityScopes, credentials: Credentials
) -> Principal:
    """The verified principal, if it holds one of the roles the route asked for."""
    if credentials is None:
        raise _unauthorized("this route needs a bearer token")
    principal = await _verify(request, credentials.credentials)
    if scopes.scopes and not principal.roles.intersection(scopes.scopes):
        held = ", ".join(sorted(principal.roles)) or "none"
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"this needs one of the roles {', '.join(scopes.scopes)}; the token has {held}",
        )
    return principal


def requires(*roles: Role) -> Any:
    """A dependency for a route any of ``roles`` may use (none: anyone signed in)."""
    return Security(signed_in, scopes=[role.value for role in roles])


Anyone = Annotated[Principal, requires()]
"""Anyone signed in, whatever their role."""


async def _public_caller(
    request: Request, credentials: Credentials, _rate_limited: None = PUBLIC
) -> Principal | None:
    if credentials is None:
        return None
    return await _verify(request, credentials.credentials)


public_caller = Depends(_public_caller)
"""For the public routes: the principal if a token came (it must verify), else None;
and the route is rate limited per client address (``http_security.PUBLIC``)."""

OPTIONAL_SIGN_IN = {"security": [{}]}
"""``openapi_extra`` for a public route: besides a staff token (FastAPI lists it), none."""

REFUSALS = {
    401: problem("No bearer token, or one that is unknown, expired or for another audience"),
    403: problem("The token has none of the roles the operation lists"),
    503: problem("The issuer's keys cannot be fetched, so no token can be checked"),
}
"""The answers sign-in adds to every route (the public ones refuse a bad token too)."""
