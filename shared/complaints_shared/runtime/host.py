"""One process hosting one or more services: one HTTP app, one lifecycle.

``complaints run <service>`` hosts one; ``complaints up`` hosts all of them on one
port, with most of their consumers in a worker process (``runtime/workers.py``), which
is a host with no HTTP (``complaints worker``). HTTP comes up first and reports
not-ready until every service has its database and the bus; the bus connection retries forever, so a service started
before NATS or its database simply becomes ready when they are.

Each service has a bus connection of its own, as its own NATS user where the server
asks for one (``runtime/nats_permissions.py``): its consumers, outbox relay and
readiness use that connection only, so hosting five services in one process grants
none of them another's permissions.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

import structlog
import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp

from complaints_shared.auth.tokens import TokenVerifier
from complaints_shared.bus import ensure_streams, make_broker
from complaints_shared.http_errors import BODY_TOO_LARGE, install_error_handlers
from complaints_shared.http_security import SecureFastAPI, install_http_security
from complaints_shared.runtime.workers import (
    STOP_SECONDS,
    Workers,
    exit_unless_stopped_within,
    until_stopped,
)
from complaints_shared.service import Service
from complaints_shared.settings import NatsCredentials, Settings

log = structlog.get_logger(__name__)


class Host:
    """Starts, serves and stops a set of services."""

    def __init__(
        self,
        settings: Settings,
        services: list[Service],
        credentials: Mapping[str, NatsCredentials] | None = None,
        mounts: Mapping[str, ASGIApp] | None = None,
        workers: Workers | None = None,
    ) -> None:
        """``credentials`` names each service's NATS user (``complaints up``); without it
        every service connects as the settings say (``COMPLAINTS_NATS_USER``, or no user).
        ``mounts`` are other applications served beside the services (the embedded
        issuer at ``/issuer``). ``workers`` is a process that does the work of some of
        the services (``complaints up``): here they only serve their HTTP routes."""
        self.settings = settings
        self.services = services
        self.workers = workers
        self.brokers = {
            service.name: make_broker(
                settings,
                settings.nats_credentials() if credentials is None else credentials[service.name],
            )
            for service in services
        }
        self.started = asyncio.Event()
        self._starting: asyncio.Task[None] | None = None
        self.app = SecureFastAPI(
            title=f"Complaints ({', '.join(s.name for s in services)})",
            version="0.1.0",
            lifespan=self._lifespan,
            responses=BODY_TOO_LARGE,
            # Operation ids are the route functions' names (log_complaint), not FastAPI's
            # path-derived ones, so generated clients read well.
            generate_unique_id_function=lambda route: route.name,
        )
        self.app.state.token_verifier = TokenVerifier(settings)
        for path, app in (mounts or {}).items():
            self.app.mount(path, app)
        install_error_handlers(self.app, settings.max_request_bytes)
        install_http_security(self.app, settings)
        for service in services:
            self.app.include_router(service.http)
        self.app.add_api_route("/health/live", self.live, methods=["GET"], tags=["health"])
        self.app.add_api_route(
            "/health/ready",
            self.ready,
            methods=["GET"],
            tags=["health"],
            responses={503: {"description": "Not ready: the report says what is missing"}},
        )

    async def live(self) -> dict[str, str]:
        """The process is up (restart it if this fails)."""
        return {"status": "live"}

    async def ready(self) -> JSONResponse:
        """Each service's dependencies; 503 until all of them are there."""
        report = {service.name: await service.readiness() for service in self.services}
        ready = self.started.is_set() and all(r["ready"] for r in report.values())
        answer: dict[str, object] = {"ready": ready, "services": report}
        if self.workers is not None:
            answer["worker"] = {
                "alive": self.workers.alive,
                "services": sorted(self.workers.services),
            }
            answer["ready"] = ready = ready and self.workers.alive
        return JSONResponse(answer, status_code=200 if ready else 503)

    async def _start(self) -> None:
        for service in self.services:
            await _retry(f"{service.name} database", service.prepare)
        await asyncio.gather(*(self._connect(service) for service in self.services))
        self.started.set()
        log.info("services started", services=[s.name for s in self.services])

    async def _connect(self, service: Service) -> None:
        """Connect ``service`` to the bus as itself, make sure of its streams, start it."""
        broker = self.brokers[service.name]
        # nats-py retries an unreachable server by itself; a refused user (a password
        # not yet rotated on both sides) raises, and is retried here.
        await _retry(f"{service.name} bus connection", broker.connect)
        connection = broker.config.connection_state.connection
        stream = broker.config.connection_state.stream
        await _retry(
            f"{service.name} streams",
            lambda: ensure_streams(stream, service.streams, service.name, self.settings),
        )
        await broker.start()
        service.start(
            stream,
            lambda: broker.ping(timeout=0.2),
            lambda: connection.max_payload,
            work=self.workers is None or service.name not in self.workers.services,
        )

    def start(self) -> None:
        """Begin starting in the background; :attr:`started` is set once everything runs."""
        self._starting = asyncio.create_task(self._start(), name="start-services")

    async def stop(self) -> None:
        """Stop consuming and relaying, close databases, then close the bus connection."""
        if self._starting is not None:
            self._starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._starting
        for service in self.services:
            await service.stop()
        for name, broker in self.brokers.items():
            try:
                await broker.stop()
            except Exception:  # the bus went first (a worker whose front was killed)
                log.warning("bus connection not closed cleanly", service=name, exc_info=True)
        if self.workers is not None:
            await self.workers.stop()
        log.info("services stopped")

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app: FastAPI) -> AsyncIterator[None]:
        if self.workers is not None:
            self.workers.start()
        self.start()
        try:
            yield
        finally:
            await self.stop()

    async def work(self) -> None:
        """Run the services with no HTTP until stopped: ``complaints up``'s worker."""
        self.start()
        try:
            await until_stopped()
        finally:
            exit_unless_stopped_within(STOP_SECONDS)
            await self.stop()

    async def serve(self, host: str, port: int) -> None:
        """Serve HTTP until SIGINT/SIGTERM, then stop cleanly."""
        config = uvicorn.Config(
            self.app, host=host, port=port, log_config=None, lifespan="on", access_log=False
        )
        await uvicorn.Server(config).serve()


async def _retry(what: str, step: Callable[[], Awaitable[object]]) -> None:
    """Run ``step()`` until it succeeds, backing off up to 30 s between tries."""
    failures = 0
    while True:
        try:
            await step()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            failures += 1
            log.warning(f"{what} not available yet; retrying", exc_info=True, failures=failures)
            await asyncio.sleep(min(30.0, 0.5 * 2**failures))
