"""Who may do what on the bus: one NATS user per service, derived from what it declares.

Each service connects as its own user (``Host``), whose permissions come from the
service itself: the events it declares with ``service.publishes(...)``, the durable
consumers its handlers need, the streams it uses (:attr:`Service.streams`) and the
dead-letter subjects its consumers park on. So intake may publish ``case.*`` events
and never ``deadline.met``, and letters may read through its own consumers only.
What a service may do on the wire:

- publish its declared events, ``complaints.<org>.*.<type>.v<n>`` (any directorate);
- publish on ``dead_letter.complaints.<org>.<consumer>`` for each of its consumers;
- ask JetStream (``$JS.API``) about, and create, the streams it uses; update only those
  it owns (and the platform's dead-letter stream), as ``bus.ensure_streams`` does;
- create, inspect and pull from its own durable consumers, and acknowledge their
  messages (``$JS.ACK.<stream>.<consumer>.>``);
- subscribe to its own inbox only (``_INBOX_<user>.>``, see ``bus.inbox_prefix``):
  replies to its requests and its consumers' deliveries.

An ``admin`` user may do everything, for operators' tools (``nats`` CLI) and tests.

A commissioned provider's own system may be given a user of its own
(``provider-<code>``, :func:`provider_user`) that may only listen to the events keyed
by that provider (their subjects end in its code): its register entry and its returns
as the council recorded them, never another provider's, never a case.

From this one place come the bundled server's ``authorization`` block
(``complaints up``) and the production configuration, ``deploy/nats/nats-server.conf``
(written by ``complaints schemas``, checked by ``complaints schemas --check``). Both
take each password from the server's environment (``$NATS_PASSWORD_<USER>``), so no
configuration file holds one: ``complaints up`` keeps them in its data folder
(owner-only), Kubernetes in a Secret per user (``complaints-nats-<user>``).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from complaints_shared.bus import inbox_prefix
from complaints_shared.consumer import consumer_name
from complaints_shared.contracts.events import PAYLOADS
from complaints_shared.contracts.subjects import (
    DEAD_LETTERS,
    dead_letter_subject,
    keyed_by_provider,
)
from complaints_shared.contracts.subjects import subscription_subject as event_subject
from complaints_shared.plugins import service_factories
from complaints_shared.service import Service
from complaints_shared.settings import Settings

ADMIN = "admin"
JS_API = "$JS.API"
DEPLOYMENT_CONFIG = Path("deploy/nats/nats-server.conf")
"""The production configuration, from the repository's root."""
DEPLOYMENT_ORGANISATION = "demo"
"""The organisation it is written for: ``deploy/kustomize/base``'s ``COMPLAINTS_ORGANISATION``."""
PASSWORD_CHARACTERS = string.ascii_letters + string.digits
PASSWORD_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9]*")
"""What a password read through the server's environment may be (:func:`new_password`)."""
PASSWORDS_FILE = "passwords.json"
"""Where ``complaints up`` keeps its bundled server's passwords, in that server's folder."""


@dataclass(frozen=True)
class BusUser:
    """A NATS user and the subjects it may publish and subscribe to (None: any)."""

    name: str
    publish: tuple[str, ...] | None
    subscribe: tuple[str, ...] | None


def service_user(service: Service, scopes: Iterable[str] = ()) -> BusUser:
    """The user ``service`` connects as, allowed exactly what the service needs.

    ``scopes`` are the directorate scopes (``COMPLAINTS_SCOPE``) its consumers may run
    under, each with durable names of their own; by default the service's own.
    """
    organisation = service.settings.organisation
    publish = [event_subject(model, organisation) for model in service.published_events]
    for stream in service.streams:
        publish += [f"{JS_API}.STREAM.INFO.{stream.name}", f"{JS_API}.STREAM.CREATE.{stream.name}"]
        if stream.owner in (service.name, DEAD_LETTERS.owner):
            publish.append(f"{JS_API}.STREAM.UPDATE.{stream.name}")
    for consumer in service.consumers.values():
        stream = consumer.stream.name
        for scope in dict.fromkeys(scopes or (service.settings.scope,)):
            name = consumer_name(organisation, service.name, consumer.stream, scope)
            publish += [
                # nats-py creates a consumer by one of these, depending on the server.
                f"{JS_API}.CONSUMER.CREATE.{stream}.{name}",
                f"{JS_API}.CONSUMER.CREATE.{stream}.{name}.>",
                f"{JS_API}.CONSUMER.DURABLE.CREATE.{stream}.{name}",
                f"{JS_API}.CONSUMER.INFO.{stream}.{name}",
                f"{JS_API}.CONSUMER.MSG.NEXT.{stream}.{name}",
                f"$JS.ACK.{stream}.{name}.>",
                dead_letter_subject(organisation, name),
            ]
    return BusUser(service.name, tuple(publish), (f"{inbox_prefix(service.name)}.>",))


def provider_user(organisation: str, provider: str) -> BusUser:
    """The user a provider's system connects as: it hears its own events, says nothing.

    It may subscribe to each event keyed by a provider with its code as the last token,
    under any directorate, and publish nothing but within its own inbox (it never asks
    anything of JetStream: what it hears is what is published while it listens).
    """
    name = f"provider-{provider}"
    keyed = [model for model in PAYLOADS if keyed_by_provider(model)]
    return BusUser(
        name,
        (f"{inbox_prefix(name)}.>",),
        tuple(event_subject(model, organisation, provider=provider) for model in keyed),
    )


def bus_users(services: Sequence[Service], scopes: Iterable[str] = ()) -> list[BusUser]:
    """A user per service, then ``admin``."""
    scopes = tuple(scopes)
    return [service_user(service, scopes) for service in services] + [BusUser(ADMIN, None, None)]


def password_variable(user: str) -> str:
    """The environment variable the server reads ``user``'s password from."""
    return "NATS_PASSWORD_" + user.upper().replace("-", "_")


def secret_name(user: str) -> str:
    """The Kubernetes Secret holding ``user``'s password (key ``password``)."""
    return f"complaints-nats-{user}"


def authorization(users: Sequence[BusUser]) -> str:
    """The server's ``authorization`` block, each password from its environment variable."""

    def allow(subjects: tuple[str, ...]) -> str:
        listed = "".join(f"\n          {json.dumps(subject)}," for subject in subjects)
        return f"{{ allow: [{listed}\n        ] }}"

    lines = ["authorization {", "  users = ["]
    for user in users:
        lines += [
            "    {",
            f"      user: {json.dumps(user.name)}",
            f"      password: ${password_variable(user.name)}",
        ]
        if user.publish is not None and user.subscribe is not None:
            lines += [
                "      permissions: {",
                f"        publish: {allow(user.publish)}",
                f"        subscribe: {allow(user.subscribe)}",
                "      }",
            ]
        lines.append("    }")
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


def deployment_config(organisation: str, providers: Sequence[str] = ()) -> str:
    """``deploy/nats/nats-server.conf`` for ``organisation``: production NATS with a user per
    installed service, its consumers allowed under every configured directorate's scope,
    and a listening user for each of ``providers`` (codes) that is to have one."""
    settings = Settings(
        organisation=organisation,
        nats_url="nats://nats:4222",
        database_url="sqlite+aiosqlite:///:memory:",  # nothing is connected
    )
    services = [create(settings) for create in service_factories().values()]
    users = bus_users(services, ("*", *sorted(settings.directorates)))
    users += [provider_user(organisation, code) for code in providers]
    return f"""\
# Production NATS for the complaints suite, organisation "{organisation}".
# Generated by `complaints schemas` from what each service declares
# (complaints_shared/runtime/nats_permissions.py): do not edit. For another
# organisation: complaints nats-config --organisation <slug>
port: 4222
http_port: 8222   # monitoring: /healthz, /jsz

jetstream {{
  store_dir: "/data/jetstream"
  # fsync before acknowledging: an independent analysis of JetStream found
  # acknowledged writes lost under the default lazy flush.
  sync_interval: always
}}

# One user per service, allowed to publish only its own events and to read only
# through its own consumers; `admin` for operators' tools. Each password is read from
# the environment (NATS_PASSWORD_<USER>), which the StatefulSet fills from the
# Secret complaints-nats-<user>; the service's Deployment reads the same Secret.
{authorization(users)}"""


def export_deployment_config(root: Path, organisation: str, check: bool = False) -> list[str]:
    """Write (or with ``check`` only compare) the production configuration; return it if stale."""
    path = root / DEPLOYMENT_CONFIG
    text = deployment_config(organisation)
    if path.exists() and path.read_text() == text:
        return []
    if not check:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return [str(path)]


def passwords(path: Path, users: Iterable[str]) -> dict[str, str]:
    """Each user's password, kept in ``path`` (readable by its owner only).

    A user the file lacks (the first ``complaints up``, a newly installed service, or a
    password deleted to rotate it) gets a new random one, and the file is rewritten.
    """
    known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    wanted = list(users)
    missing = [user for user in wanted if user not in known]
    if missing:
        known |= {user: new_password() for user in missing}
        path.parent.mkdir(parents=True, exist_ok=True)
        written = path.with_name(path.name + ".new")
        descriptor = os.open(written, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(descriptor, 0o600)  # also if an earlier attempt left the file behind
        with os.fdopen(descriptor, "w") as file:
            json.dump(known, file, indent=2)
        os.replace(written, path)
    return {user: known[user] for user in wanted}


def new_password() -> str:
    """40 random letters and digits (over 230 bits), the first a letter.

    nats-server reads a ``$VARIABLE``'s value as configuration, not as text: a value
    starting with a digit is taken for a number, and punctuation ends it early.
    """
    return secrets.choice(string.ascii_letters) + "".join(
        secrets.choice(PASSWORD_CHARACTERS) for _ in range(39)
    )


def password_environment(by_user: Mapping[str, str]) -> dict[str, str]:
    """The server's environment for :func:`authorization`: each user's password variable.

    Refuses a password the server would misread (see :func:`new_password`), naming the
    user, rather than let the server fail to start on it.
    """
    for user, password in by_user.items():
        if not PASSWORD_PATTERN.fullmatch(password):
            raise ValueError(
                f"the NATS password of {user!r} must be letters and digits, the first a letter"
            )
    return {password_variable(user): password for user, password in by_user.items()}
