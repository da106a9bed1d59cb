"""The ``complaints`` command: run the suite or one service, list plugins, export schemas
and the production NATS configuration."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import uvloop
from starlette.types import (
    ASGIApp,  # a faster event loop: every database call and bus message is a loop turn
)

from complaints_shared.contracts.schemas import export_schemas, write_json_documents
from complaints_shared.issuer.app import issuer_app
from complaints_shared.issuer.commands import add_commands, first_administrator, store_in
from complaints_shared.logging import configure_logging
from complaints_shared.plugins import (
    commands,
    installed_plugins,
    published_documents,
    service_factories,
    service_names,
)
from complaints_shared.private_files import OWNER_ONLY_UMASK, private_dir
from complaints_shared.runtime.host import Host
from complaints_shared.runtime.nats_permissions import (
    DEPLOYMENT_ORGANISATION,
    PASSWORDS_FILE,
    authorization,
    bus_users,
    deployment_config,
    export_deployment_config,
    password_environment,
    passwords,
)
from complaints_shared.runtime.natsserver import NatsServer
from complaints_shared.runtime.specs import export_api_documents
from complaints_shared.runtime.workers import FRONT, Workers, worker_credentials
from complaints_shared.service import Service
from complaints_shared.settings import NatsCredentials, Settings
from complaints_shared.subject_access import add_command as add_subject_access


def _services(settings: Settings, names: list[str] | None) -> list[Service]:
    return [create(settings) for create in service_factories(names).values()]


def _bundled_nats(
    settings: Settings, services: list[Service]
) -> tuple[NatsServer, dict[str, NatsCredentials]]:
    """A nats-server in the data folder admitting a user per service (and ``admin``), and
    each service's credentials. Passwords are made at the first ``up`` and kept, owner-only,
    in ``nats/passwords.json``, where operators' tools find ``admin``'s."""
    users = bus_users(services)
    store = settings.data_dir / "nats"
    known = passwords(store / PASSWORDS_FILE, [user.name for user in users])
    server = NatsServer(
        store, authorization=authorization(users), environment=password_environment(known)
    )
    return server, {s.name: NatsCredentials(s.name, known[s.name]) for s in services}


def _embedded_issuer(settings: Settings) -> tuple[Settings, ASGIApp, str | None]:
    """The local issuer at /issuer on the suite's port, the settings that trust it, and
    the first administrator's password if this run created them."""
    address = "127.0.0.1" if settings.http_host in ("0.0.0.0", "::") else settings.http_host
    url = f"http://{address}:{settings.http_port}/issuer"
    store = store_in(settings.data_dir)
    password = first_administrator(store)
    settings = settings.model_copy(update={"oidc_issuer": url})
    return (
        settings,
        issuer_app(store, url, settings.oidc_audience, settings.public_rate_limit),
        password,
    )


def up(args: argparse.Namespace) -> int:
    """Everything on this machine: bundled nats-server, SQLite files, all services, one port
    (their consumers, but intake's, in a worker process)."""
    settings = Settings()
    updates: dict[str, object] = {}
    if args.data_dir:
        updates["data_dir"] = Path(args.data_dir)
    if args.port is not None:
        updates["http_port"] = args.port
    if args.host:
        updates["http_host"] = args.host
    settings = settings.model_copy(update=updates)
    configure_logging(settings.log_level, settings.log_format)
    os.umask(OWNER_ONLY_UMASK)  # what SQLite and nats-server create holds complaints
    private_dir(settings.data_dir)
    mounts: dict[str, ASGIApp] = {}
    password = None
    if settings.oidc_issuer is None:
        settings, mounts["/issuer"], password = _embedded_issuer(settings)
    services = _services(settings, None)
    nats, credentials = None, None
    if settings.nats_url is None:
        nats, credentials = _bundled_nats(settings, services)
        settings = settings.model_copy(update={"nats_url": nats.url})
        nats.start()
    try:
        working = [service.name for service in services if service.name not in FRONT]
        workers = Workers(settings, working, credentials) if working else None
        host = Host(settings, services, credentials, mounts, workers)
        users = f", its users' passwords in {nats.store_dir / PASSWORDS_FILE}" if nats else ""
        print(
            f"Complaints suite on http://{settings.http_host}:{settings.http_port} "
            f"(NATS {settings.nats_url}{users}, data in {settings.data_dir.resolve()}, "
            f"sign-in at {settings.oidc_issuer}); Ctrl-C stops it",
            file=sys.stderr,
            flush=True,
        )
        if password:
            print(
                f"Created the administrator: username admin, password {password}\n"
                "  a token for scripts: complaints clients add NAME --role ROLE, then POST "
                f"grant_type=client_credentials to {settings.oidc_issuer}/token "
                "(see the README)",
                file=sys.stderr,
                flush=True,
            )
        uvloop.run(host.serve(settings.http_host, settings.http_port))
    finally:
        if nats is not None:
            nats.stop()
    return 0


def run(args: argparse.Namespace) -> int:
    """One service, configured from the environment, as in a container."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    os.umask(OWNER_ONLY_UMASK)  # an SQLite database_url's files hold complaints
    if not settings.nats_url:
        print("complaints run: set COMPLAINTS_NATS_URL (e.g. nats://nats:4222)", file=sys.stderr)
        return 2
    if not settings.database_url:
        print(
            "complaints run: set COMPLAINTS_DATABASE_URL "
            "(e.g. postgresql+asyncpg://user@db/complaints)",
            file=sys.stderr,
        )
        return 2
    if not settings.oidc_issuer:
        print(
            "complaints run: set COMPLAINTS_OIDC_ISSUER (the OpenID Connect issuer staff "
            "sign in with) and COMPLAINTS_OIDC_AUDIENCE",
            file=sys.stderr,
        )
        return 2
    host = Host(settings, _services(settings, [args.service]))
    uvloop.run(host.serve(settings.http_host, settings.http_port))
    return 0


def worker(args: argparse.Namespace) -> int:
    """Services' consumers and background tasks, no HTTP: what ``complaints up`` starts."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    os.umask(OWNER_ONLY_UMASK)  # its SQLite files hold complaints
    host = Host(settings, _services(settings, args.services), worker_credentials())
    uvloop.run(host.work())
    return 0


def plugins(args: argparse.Namespace) -> int:
    """What is installed, by entry-point group."""
    found = installed_plugins()
    if args.json:
        print(json.dumps([plugin.__dict__ for plugin in found], indent=2))
        return 0
    for plugin in found:
        print(
            f"{plugin.group:24} {plugin.name:12} {plugin.distribution} {plugin.version}"
            f"  ({plugin.target})"
        )
    return 0


def schemas(args: argparse.Namespace) -> int:
    """Write (or with --check verify) the event JSON Schemas, OpenAPI and AsyncAPI."""
    root = Path(args.root)
    stale = export_schemas(root / "shared/schemas/events", check=args.check)
    stale += export_api_documents(root / "docs/api", check=args.check)
    stale += export_deployment_config(root, DEPLOYMENT_ORGANISATION, check=args.check)
    for path, document in published_documents().items():
        target = root / path
        stale += write_json_documents(target.parent, {target.name: document}, check=args.check)
    if args.check and stale:
        print("out of date: " + ", ".join(stale) + " (run `complaints schemas`)", file=sys.stderr)
        return 1
    for path in stale:
        print(f"wrote {path}")
    return 0


def nats_config(args: argparse.Namespace) -> int:
    """Print the production NATS configuration (a user per service) for an organisation."""
    print(deployment_config(args.organisation, args.provider), end="")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="complaints", description=__doc__)
    subcommands = parser.add_subparsers(dest="command", required=True)

    p_up = subcommands.add_parser("up", help=up.__doc__)
    p_up.add_argument("--data-dir", help="folder for NATS and SQLite data (default ./data)")
    p_up.add_argument("--host", help="HTTP address (default 127.0.0.1)")
    p_up.add_argument("--port", type=int, help="HTTP port (default 8000)")
    p_up.set_defaults(func=up)

    p_run = subcommands.add_parser("run", help=run.__doc__)
    p_run.add_argument("service", help="intake, deadlines, letters, learning or reporting")
    p_run.set_defaults(func=run)

    p_worker = subcommands.add_parser("worker", help=worker.__doc__)
    p_worker.add_argument("services", nargs="+", help="deadlines, letters, learning, reporting")
    p_worker.set_defaults(func=worker)

    p_plugins = subcommands.add_parser("plugins", help=plugins.__doc__)
    p_plugins.add_argument("--json", action="store_true")
    p_plugins.set_defaults(func=plugins)

    p_schemas = subcommands.add_parser("schemas", help=schemas.__doc__)
    p_schemas.add_argument("--root", default=".", help="the repository's root folder")
    p_schemas.add_argument("--check", action="store_true")
    p_schemas.set_defaults(func=schemas)

    p_nats = subcommands.add_parser("nats-config", help=nats_config.__doc__)
    p_nats.add_argument(
        "--organisation", default=DEPLOYMENT_ORGANISATION, help="its slug (default demo)"
    )
    p_nats.add_argument(
        "--provider",
        action="append",
        default=[],
        help="a commissioned provider's code: add a user (provider-CODE) that may only listen "
        "to that provider's events; repeatable",
    )
    p_nats.set_defaults(func=nats_config)

    add_commands(subcommands)
    add_subject_access(subcommands, service_names())

    for name, command in commands().items():  # contributed by installed services
        p_plugin = subcommands.add_parser(name, help=command.help)
        command.add_arguments(p_plugin)
        p_plugin.set_defaults(func=command.run)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except LookupError as error:
        print(f"complaints: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: uvicorn re-raises it after a clean shutdown
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
