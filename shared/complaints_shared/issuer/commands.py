"""``complaints users ...`` and ``complaints clients ...``: the embedded issuer's accounts.

They write the issuer's store in the data folder, so they work whether or not
``complaints up`` is running; a running suite sees a change at the next sign-in.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from complaints_shared.auth.principal import Role
from complaints_shared.issuer.store import Account, IssuerStore
from complaints_shared.settings import Settings


def store_in(data_dir: Path) -> IssuerStore:
    """The embedded issuer's store in the suite's data folder."""
    return IssuerStore(data_dir / "issuer")


def first_administrator(store: IssuerStore) -> str | None:
    """On a store with no users, create ``admin`` and return its password (else None).

    It is an administrator and a complaints officer of every directorate, so whoever
    tries the suite first can both configure it and work cases.
    """
    if store.accounts("user"):
        return None
    return store.add(
        Account(
            name="admin",
            kind="user",
            roles=(Role.ADMINISTRATOR, Role.COMPLAINTS_OFFICER),
            directorates=("*",),
        )
    )


def _add(args: argparse.Namespace) -> int:
    kind = "user" if args.command == "users" else "client"
    account = Account(
        name=args.name,
        kind=kind,
        roles=tuple(Role(role) for role in args.role),
        directorates=tuple(args.directorate),
        service_areas=tuple(args.service_area),
        redirect_uris=tuple(getattr(args, "redirect_uri", None) or ()),
        provider=getattr(args, "provider", None),
    )
    if (account.provider is None) != (Role.PROVIDER not in account.roles):
        print(
            f"complaints {args.command}: a provider's client needs both --role provider and "
            "--provider CODE (the provider's code in the register), and nothing else does",
            file=sys.stderr,
        )
        return 2
    secret = store_in(args.data_dir).add(account, getattr(args, "password", None))
    what = "password" if kind == "user" else "client secret"
    print(f"{kind} {account.name}: {', '.join(account.roles)}; {what}: {secret}")
    return 0


def _list(args: argparse.Namespace) -> int:
    kind = "user" if args.command == "users" else "client"
    for account in store_in(args.data_dir).accounts(kind):
        provider = (f"provider {account.provider}",) if account.provider else ()
        scope = ", ".join(account.directorates + account.service_areas + provider) or "-"
        print(f"{account.name:24} {', '.join(account.roles):48} {scope}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    kind = "user" if args.command == "users" else "client"
    if not store_in(args.data_dir).remove(args.name):
        print(f"complaints {args.command}: no {kind} {args.name!r}", file=sys.stderr)
        return 1
    print(f"removed {kind} {args.name}")
    return 0


def add_commands(subcommands: argparse._SubParsersAction) -> None:
    """Add ``users`` and ``clients`` to the ``complaints`` command."""
    for noun, kind in (("users", "person"), ("clients", "script or provider system")):
        parser = subcommands.add_parser(noun, help=f"the embedded issuer's accounts ({kind})")
        where = argparse.ArgumentParser(add_help=False)
        where.add_argument(
            "--data-dir",
            type=Path,
            default=Settings().data_dir,
            help="the suite's data folder (default ./data)",
        )
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help=f"add (or replace) a {kind}", parents=[where])
        add.add_argument("name")
        add.add_argument("--role", action="append", required=True, choices=[r.value for r in Role])
        add.add_argument("--directorate", action="append", default=[], help="repeatable; * for all")
        add.add_argument("--service-area", action="append", default=[], help="repeatable")
        if noun == "users":
            add.add_argument("--password", help="default: generated and printed")
        else:
            add.add_argument(
                "--redirect-uri", action="append", help="for sign-in by authorisation code"
            )
            add.add_argument(
                "--provider",
                help="with --role provider: the commissioned provider's code in the register",
            )
        add.set_defaults(func=_add)
        actions.add_parser("list", help=f"list the {noun}", parents=[where]).set_defaults(
            func=_list
        )
        remove = actions.add_parser("remove", help=f"revoke a {kind}", parents=[where])
        remove.add_argument("name")
        remove.set_defaults(func=_remove)
