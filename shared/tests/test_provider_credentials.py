"""A provider's client credentials: the embedded issuer puts its code in the tokens.

A provider's system signs in by client credentials like any script; what makes it a
provider is the role and the ``provider`` claim naming its code in the register, which
every service reads into ``Principal.provider``.
"""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path

import httpx
import jwt

from complaints_shared.auth import Role
from complaints_shared.auth.principal import principal_from_claims
from complaints_shared.issuer.commands import add_commands
from complaints_shared.issuer.store import Account, IssuerStore
from complaints_shared.testing.issuer import LocalIssuer

CLAIMS = {
    "username_claim": "preferred_username",
    "roles_claim": "roles",
    "role_names": {},
    "directorates_claim": "directorates",
    "service_areas_claim": "service_areas",
}


def test_a_providers_token_names_its_provider(issuer: LocalIssuer) -> None:
    client = issuer.add_client("oakwood-feed", Role.PROVIDER, provider="oakwood")
    claims = jwt.decode(issuer.token(client), options={"verify_signature": False})
    assert claims["provider"] == "oakwood"
    principal = principal_from_claims(claims, **CLAIMS)
    assert principal.provider == "oakwood"
    assert principal.roles == {Role.PROVIDER}

    staff = jwt.decode(issuer.token(), options={"verify_signature": False})
    assert "provider" not in staff
    assert principal_from_claims(staff, **CLAIMS).provider is None
    discovery = httpx.get(f"{issuer.url}/.well-known/openid-configuration").json()
    assert "provider" in discovery["claims_supported"]


def test_a_store_from_before_providers_is_brought_up_to_date(tmp_path: Path) -> None:
    folder = tmp_path / "issuer"
    folder.mkdir()
    with sqlite3.connect(folder / "issuer.db") as db:  # the store as it was before
        db.execute(
            "CREATE TABLE accounts (name TEXT PRIMARY KEY, kind TEXT NOT NULL, "
            "secret_hash TEXT NOT NULL, roles TEXT NOT NULL, directorates TEXT NOT NULL, "
            "service_areas TEXT NOT NULL, redirect_uris TEXT NOT NULL)"
        )
        db.execute(
            "INSERT INTO accounts VALUES ('reader', 'client', 'x', '[\"report_viewer\"]', "
            "'[]', '[]', '[]')"
        )
    store = IssuerStore(folder)
    [reader] = store.accounts("client")
    assert (reader.name, reader.provider) == ("reader", None)
    secret = store.add(Account("feed", "client", (Role.PROVIDER,), provider="brookfield"))
    assert store.authenticate("feed", secret, "client").provider == "brookfield"


def test_the_command_gives_a_provider_client_its_code_and_nothing_else_one(
    tmp_path: Path, capsys
) -> None:
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(dest="command"))

    def clients(*args: str) -> int:
        parsed = parser.parse_args(["clients", *args, "--data-dir", str(tmp_path)])
        return parsed.func(parsed)

    assert clients("add", "feed", "--role", "provider", "--provider", "oakwood") == 0
    assert clients("add", "half", "--role", "provider") == 2
    assert "--provider CODE" in capsys.readouterr().err
    assert clients("add", "odd", "--role", "report_viewer", "--provider", "oakwood") == 2
    store = IssuerStore(tmp_path / "issuer")
    assert [(a.name, a.provider) for a in store.accounts("client")] == [("feed", "oakwood")]
    assert clients("list") == 0
    assert "provider oakwood" in capsys.readouterr().out
