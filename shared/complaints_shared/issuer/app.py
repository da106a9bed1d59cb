"""The issuer's HTTP face: discovery, keys, sign-in (authorisation code with PKCE), tokens.

Only what the suite and its scripts use: ``authorization_code`` for people (a sign-in
page, PKCE with S256 required) and ``client_credentials`` for scripts and providers.
Tokens are RS256 JWTs carrying ``roles``, ``directorates`` and ``service_areas``, the
claims the services read by default.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

import jwt
from fastapi import FastAPI, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from complaints_shared.http_security import PUBLIC, PublicRateLimit
from complaints_shared.issuer.store import Account, IssuerStore

TOKEN_SECONDS = 3600
CODE_SECONDS = 60


@dataclass(frozen=True)
class _Grant:
    """An authorisation code waiting to be exchanged."""

    user: Account
    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    expires: float


def _oauth_error(code: str, why: str, status_code: int = 400) -> JSONResponse:
    return JSONResponse({"error": code, "error_description": why}, status_code=status_code)


def _page(params: dict[str, str], error: str | None = None) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in params.items()
    )
    message = f'<p role="alert" class="error">{html.escape(error)}</p>' if error else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in - Complaints</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>Sign in</h1>{message}
<form method="post" action="authorize">{hidden}
<p><label for="username">Username</label><br>
<input id="username" name="username" autocomplete="username" required></p>
<p><label for="password">Password</label><br>
<input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button type="submit">Sign in</button></p></form></main></body></html>"""


SIGN_IN_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
"""The sign-in page loads nothing and runs nothing; unlike the API's policy it may post
its form, and be redirected to the client that asked."""


def issuer_app(store: IssuerStore, issuer: str, audience: str, rate_limit: str) -> FastAPI:
    """The issuer, to be served at ``issuer`` (its URL, as tokens' ``iss`` will say).

    Signing in and asking for tokens are limited to ``rate_limit`` per client address
    (guessing passwords and secrets is slow)."""
    issuer = issuer.rstrip("/")
    app = FastAPI(title="Complaints local OpenID Connect issuer", openapi_url=None)
    app.state.public_rate_limit = PublicRateLimit(rate_limit)
    page_headers = {"Content-Security-Policy": SIGN_IN_POLICY}
    grants: dict[str, _Grant] = {}
    basic = HTTPBasic(auto_error=False)

    def token_for(account: Account, client_id: str, nonce: str | None = None) -> dict:
        kid, key = store.signing_keys()[0]
        now = int(time.time())
        claims = {
            "iss": issuer,
            "sub": f"{account.kind}:{account.name}",
            "aud": audience,
            "azp": client_id,
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_SECONDS,
            "jti": uuid.uuid4().hex,
            "preferred_username": account.name,
            "roles": [role.value for role in account.roles],
            "directorates": list(account.directorates),
            "service_areas": list(account.service_areas),
            **({"provider": account.provider} if account.provider else {}),
        }
        answer = {
            "access_token": jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid}),
            "token_type": "Bearer",
            "expires_in": TOKEN_SECONDS,
        }
        if account.kind == "user":
            id_claims = {**claims, "aud": client_id, **({"nonce": nonce} if nonce else {})}
            answer["id_token"] = jwt.encode(id_claims, key, algorithm="RS256", headers={"kid": kid})
        return answer

    @app.get("/.well-known/openid-configuration")
    async def discovery() -> dict:
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "jwks_uri": f"{issuer}/jwks",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "client_credentials"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "profile"],
            "claims_supported": [
                "sub",
                "preferred_username",
                "roles",
                "directorates",
                "service_areas",
                "provider",
            ],
        }

    @app.get("/jwks")
    async def jwks() -> dict:
        return {
            "keys": [
                {
                    **jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True),
                    "kid": kid,
                    "use": "sig",
                    "alg": "RS256",
                }
                for kid, key in store.signing_keys()
            ]
        }

    def _client_for_code(params: dict[str, str]) -> Account:
        client = store.account(params.get("client_id", ""), "client")
        if client is None or params.get("redirect_uri") not in client.redirect_uris:
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST,
                "unknown client, or a redirect_uri it did not register",
            )
        if params.get("response_type") != "code":
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "response_type must be code")
        if not params.get("code_challenge") or params.get("code_challenge_method") != "S256":
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "PKCE with S256 is required")
        return client

    sign_in_fields = (
        "response_type",
        "client_id",
        "redirect_uri",
        "state",
        "code_challenge",
        "code_challenge_method",
        "nonce",
        "scope",
    )

    @app.get("/authorize", response_class=HTMLResponse)
    async def sign_in_page(request: Request) -> HTMLResponse:
        params = {k: v for k, v in request.query_params.items() if k in sign_in_fields}
        _client_for_code(params)
        return HTMLResponse(_page(params), headers=page_headers)

    @app.post("/authorize", response_model=None, dependencies=[PUBLIC])
    async def sign_in(
        request: Request,
        username: Annotated[str, Form(max_length=200)],
        password: Annotated[str, Form(max_length=200)],
    ) -> HTMLResponse | RedirectResponse:
        form = await request.form()
        params = {k: str(v) for k, v in form.items() if k in sign_in_fields}
        _client_for_code(params)
        user = store.authenticate(username, password, "user")
        if user is None:
            return HTMLResponse(
                _page(params, "The username or password is not right"),
                status_code=status.HTTP_401_UNAUTHORIZED,
                headers=page_headers,
            )
        now = time.monotonic()
        for unused in [code for code, grant in grants.items() if grant.expires < now]:
            del grants[unused]  # a sign-in whose code was never exchanged
        code = secrets.token_urlsafe(24)
        grants[code] = _Grant(
            user=user,
            client_id=params["client_id"],
            redirect_uri=params["redirect_uri"],
            code_challenge=params["code_challenge"],
            nonce=params.get("nonce"),
            expires=now + CODE_SECONDS,
        )
        answer = {"code": code, **({"state": params["state"]} if "state" in params else {})}
        separator = "&" if "?" in params["redirect_uri"] else "?"
        return RedirectResponse(
            f"{params['redirect_uri']}{separator}{urlencode(answer)}",
            status_code=status.HTTP_303_SEE_OTHER,
        )

    @app.post("/token", response_model=None, dependencies=[PUBLIC])
    async def token(request: Request) -> dict | JSONResponse:
        form = {k: str(v) for k, v in (await request.form()).items()}
        credentials: HTTPBasicCredentials | None = await basic(request)
        client_id = credentials.username if credentials else form.get("client_id", "")
        secret = credentials.password if credentials else form.get("client_secret", "")
        client = store.authenticate(client_id, secret, "client")
        if client is None:
            return _oauth_error("invalid_client", "unknown client or wrong secret", 401)
        grant_type = form.get("grant_type")
        if grant_type == "client_credentials":
            return token_for(client, client.name)
        if grant_type != "authorization_code":
            return _oauth_error("unsupported_grant_type", f"{grant_type!r} is not supported")
        grant = grants.pop(form.get("code", ""), None)
        if grant is None or grant.expires < time.monotonic() or grant.client_id != client.name:
            return _oauth_error("invalid_grant", "the code is unknown, used or expired")
        if form.get("redirect_uri") != grant.redirect_uri:
            return _oauth_error("invalid_grant", "redirect_uri differs from the sign-in's")
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if challenge.rstrip(b"=").decode() != grant.code_challenge:
            return _oauth_error("invalid_grant", "the code_verifier does not match")
        # Still there? A user removed since signing in gets nothing.
        user = store.account(grant.user.name, "user")
        if user is None:
            return _oauth_error("invalid_grant", "the user no longer exists")
        return token_for(user, client.name, grant.nonce)

    return app
