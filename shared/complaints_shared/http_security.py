"""What every service's HTTP answers carry and who may call it from where.

- **Security headers** on every response, errors and the documentation included
  (:class:`SecurityHeaders`). Answers hold personal data, so none is cached or framed,
  and a JSON or letter answer opened in a browser can run nothing.
- **CORS** is closed: a browser page on another origin may call the API only if its
  origin is listed in ``COMPLAINTS_CORS_ORIGINS``.
- **Rate limits** on the routes anyone may call (logging a complaint or a compliment):
  such a route declares ``dependencies=[PUBLIC]``, and each client address may make
  ``COMPLAINTS_PUBLIC_RATE_LIMIT`` requests to them (together), then gets a 429 with
  ``Retry-After``. Behind a proxy the client address is the proxy's unless uvicorn is
  told to trust its headers (``--forwarded-allow-ips`` / ``FORWARDED_ALLOW_IPS``). Counts
  are kept per process: with several replicas, each allows the limit.
"""

from __future__ import annotations

import math
import time

import limits
from fastapi import Depends, FastAPI, HTTPException, Request, status
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from complaints_shared.http_errors import problem
from complaints_shared.settings import Settings

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
"""JSON and letters load nothing and run nothing."""

DOCS_POLICY = (
    "default-src 'none'; "
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "worker-src blob:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
"""FastAPI's ``/docs`` (Swagger UI) and ``/redoc`` pages: their inline start-up script and
the CDN they load from, and nothing else."""

DOCS_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")

COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Permissions-Policy": "camera=(), geolocation=(), microphone=(), payment=(), usb=()",
}


class SecurityHeaders:
    """Pure ASGI middleware adding the headers above to every HTTP response.

    Wrapped around the whole application (see :class:`SecureFastAPI`), so even the 500
    Starlette writes for an unhandled error carries them. A header a route set itself is
    kept.
    """

    def __init__(self, app: ASGIApp, hsts_seconds: int = 0) -> None:
        self.app = app
        extra = {"Strict-Transport-Security": f"max-age={hsts_seconds}"} if hsts_seconds else {}
        self.api = {**COMMON_HEADERS, **extra, "Content-Security-Policy": API_POLICY}
        self.docs = {**COMMON_HEADERS, **extra, "Content-Security-Policy": DOCS_POLICY}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = self.docs if scope["path"] in DOCS_PATHS else self.api

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in wanted.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class SecureFastAPI(FastAPI):
    """FastAPI with :class:`SecurityHeaders` outside everything, Starlette's own error
    handling included (middleware added with ``add_middleware`` sits inside it)."""

    hsts_seconds: int = 0

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack(), self.hsts_seconds)


class PublicRateLimit:
    """``COMPLAINTS_PUBLIC_RATE_LIMIT`` requests per client address, in a moving window."""

    def __init__(self, rate: str) -> None:
        self.rate = limits.parse(rate)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def hit(self, client: str) -> None:
        """Count a request from ``client``; over the limit, a 429 saying when to retry."""
        if await self.limiter.hit(self.rate, "public", client):
            return
        window = await self.limiter.get_window_stats(self.rate, "public", client)
        retry_after = max(1, math.ceil(window.reset_time - time.time()))
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many requests from this address (at most {self.rate}); "
            f"try again in {retry_after} seconds",
            headers={"Retry-After": str(retry_after)},
        )


async def _public_rate_limit(request: Request) -> None:
    limit: PublicRateLimit = request.app.state.public_rate_limit
    await limit.hit(request.client.host if request.client else "unknown")


PUBLIC = Depends(_public_rate_limit)
"""Declared by a route anyone may call (``dependencies=[PUBLIC]``): it is rate limited."""

TOO_MANY_REQUESTS = {
    429: problem("Over COMPLAINTS_PUBLIC_RATE_LIMIT from this address; see Retry-After")
}
"""The answer a :data:`PUBLIC` route documents."""


def install_http_security(app: SecureFastAPI, settings: Settings) -> None:
    """Headers, CORS and the public routes' rate limit, as configured (see module doc)."""
    app.hsts_seconds = settings.hsts_seconds
    app.state.public_rate_limit = PublicRateLimit(settings.public_rate_limit)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Content-Type", "Authorization", "Idempotency-Key", "X-Actor"],
            expose_headers=["Retry-After"],
            max_age=600,
        )
