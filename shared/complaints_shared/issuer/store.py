"""The issuer's users, clients and signing keys, in one SQLite file only its owner reads.

Secrets are kept as scrypt hashes (the standard library's), never in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from complaints_shared.auth.principal import Role

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('user', 'client')),
    secret_hash TEXT NOT NULL,
    roles TEXT NOT NULL,
    directorates TEXT NOT NULL,
    service_areas TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,
    provider TEXT
);
CREATE TABLE IF NOT EXISTS signing_keys (
    kid TEXT PRIMARY KEY,
    private_pem TEXT NOT NULL,
    created INTEGER NOT NULL
);
"""

KEYS_PUBLISHED = 2
"""The newest key signs; the one before stays published so tokens it signed still verify."""


@dataclass(frozen=True)
class Account:
    """A person (``user``: signs in with a password) or a script (``client``: a secret)."""

    name: str
    kind: str
    roles: tuple[Role, ...]
    directorates: tuple[str, ...] = ()
    service_areas: tuple[str, ...] = ()
    redirect_uris: tuple[str, ...] = ()
    provider: str | None = None
    """For a provider's client: the provider's code, put in its tokens' ``provider`` claim."""


def _hash(secret: str, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def _matches(secret: str, stored: str) -> bool:
    _, salt, _ = stored.split("$")
    return hmac.compare_digest(_hash(secret, bytes.fromhex(salt)), stored)


class IssuerStore:
    """Accounts and keys in ``folder/issuer.db`` (created 0600 in a 0700 folder)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = folder / "issuer.db"
        if not self.path.exists():
            self.path.touch(mode=0o600)
        with self._connect() as db:
            db.executescript(_SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(accounts)")}
            if "provider" not in columns:  # a store from before providers had credentials
                db.execute("ALTER TABLE accounts ADD COLUMN provider TEXT")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def add(self, account: Account, secret: str | None = None) -> str:
        """Add or replace ``account``; returns its secret (generated unless given)."""
        secret = secret or secrets.token_urlsafe(24)
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO accounts VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    account.name,
                    account.kind,
                    _hash(secret),
                    json.dumps([role.value for role in account.roles]),
                    json.dumps(account.directorates),
                    json.dumps(account.service_areas),
                    json.dumps(account.redirect_uris),
                    account.provider,
                ),
            )
        return secret

    def remove(self, name: str) -> bool:
        """Revoke an account: its secret stops working (tokens already issued run out)."""
        with self._connect() as db:
            return db.execute("DELETE FROM accounts WHERE name = ?", (name,)).rowcount > 0

    def accounts(self, kind: str | None = None, name: str | None = None) -> list[Account]:
        """The accounts (of one kind, or the one named), by name."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT name, kind, roles, directorates, service_areas, redirect_uris, provider "
                "FROM accounts WHERE (? IS NULL OR kind = ?) AND (? IS NULL OR name = ?) "
                "ORDER BY name",
                (kind, kind, name, name),
            ).fetchall()
        return [_account(row) for row in rows]

    def authenticate(self, name: str, secret: str, kind: str) -> Account | None:
        """The account if ``secret`` is its own, else None."""
        with self._connect() as db:
            row = db.execute(
                "SELECT name, kind, roles, directorates, service_areas, redirect_uris, provider, "
                "secret_hash FROM accounts WHERE name = ? AND kind = ?",
                (name, kind),
            ).fetchone()
        if row is None:
            _matches(secret, _hash("timing"))  # as slow for an unknown name as a known one
            return None
        return _account(row[:7]) if _matches(secret, row[7]) else None

    def account(self, name: str, kind: str) -> Account | None:
        found = self.accounts(kind, name)
        return found[0] if found else None

    def rotate_key(self) -> str:
        """Make a new signing key; returns its id."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        kid = secrets.token_hex(8)
        with self._connect() as db:
            created = db.execute("SELECT COALESCE(MAX(created), 0) + 1 FROM signing_keys")
            db.execute(
                "INSERT INTO signing_keys VALUES (?, ?, ?)", (kid, pem, created.fetchone()[0])
            )
        return kid

    def signing_keys(self) -> list[tuple[str, rsa.RSAPrivateKey]]:
        """The published keys, newest (the signing one) first; makes the first if none."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT kid, private_pem FROM signing_keys ORDER BY created DESC LIMIT ?",
                (KEYS_PUBLISHED,),
            ).fetchall()
        if not rows:
            self.rotate_key()
            return self.signing_keys()
        return [(kid, _private_key(pem)) for kid, pem in rows]


def _private_key(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def _account(row: Iterable[str]) -> Account:
    name, kind, roles, directorates, service_areas, redirect_uris, provider = row
    return Account(
        name=name,
        kind=kind,
        roles=tuple(Role(role) for role in json.loads(roles)),
        directorates=tuple(json.loads(directorates)),
        service_areas=tuple(json.loads(service_areas)),
        redirect_uris=tuple(json.loads(redirect_uris)),
        provider=provider,
    )
