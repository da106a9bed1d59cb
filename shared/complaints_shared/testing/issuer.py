"""The embedded OpenID Connect issuer on a free port, for tests that sign in over HTTP.

Tests get tokens exactly as a script or a browser would (client credentials, or the
sign-in page and an authorisation code with PKCE); the services under test fetch the
issuer's keys over HTTP as they would from Entra ID or Keycloak.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from pathlib import Path
from typing import ClassVar, Self
from urllib.parse import parse_qs, urlsplit

import httpx
import uvicorn

from complaints_shared.auth.principal import Role
from complaints_shared.issuer.app import issuer_app
from complaints_shared.issuer.store import Account, IssuerStore
from complaints_shared.runtime.natsserver import free_port
from complaints_shared.testing.suite import TESTS_RATE_LIMIT
from complaints_shared.testing.tokens import ClientCredentials

AUDIENCE = "complaints"
STAFF = "staff"
"""The client the harness signs in as unless told otherwise: a complaints officer of
every directorate and an administrator, so tests that are not about access can act."""

REDIRECT_URI = "http://127.0.0.1/signed-in"


class LocalIssuer:
    """The issuer served by uvicorn in a thread, with its accounts in ``folder``."""

    serving: ClassVar[dict[str, LocalIssuer]] = {}
    """Running issuers by URL, so the harness finds the one a test's settings trust."""

    def __init__(self, folder: Path) -> None:
        self.store = IssuerStore(folder)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.secrets: dict[str, str] = {}
        self._clients: dict[str, ClientCredentials] = {}
        self._server = uvicorn.Server(
            uvicorn.Config(
                issuer_app(self.store, self.url, AUDIENCE, TESTS_RATE_LIMIT),
                host="127.0.0.1",
                port=self.port,
                log_config=None,
                access_log=False,
                lifespan="off",
            )
        )
        self._thread = threading.Thread(target=self._server.run, name="issuer", daemon=True)

    def start(self) -> Self:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test issuer did not start")
            time.sleep(0.02)
        self.add_client(STAFF, Role.COMPLAINTS_OFFICER, Role.ADMINISTRATOR, directorates=("*",))
        LocalIssuer.serving[self.url] = self
        return self

    def stop(self) -> None:
        LocalIssuer.serving.pop(self.url, None)
        self._server.should_exit = True
        self._thread.join(10)

    def add_client(
        self,
        name: str,
        *roles: Role,
        directorates: tuple[str, ...] = (),
        service_areas: tuple[str, ...] = (),
        provider: str | None = None,
    ) -> str:
        """Register a client (it signs in with client credentials); returns its name.

        ``provider``: the code of the commissioned provider it speaks for (role provider).
        """
        account = Account(
            name,
            "client",
            roles,
            directorates,
            service_areas,
            redirect_uris=(REDIRECT_URI,),
            provider=provider,
        )
        self.secrets[name] = self.store.add(account)
        self._clients.pop(name, None)
        return name

    def add_user(
        self,
        name: str,
        *roles: Role,
        directorates: tuple[str, ...] = (),
        service_areas: tuple[str, ...] = (),
    ) -> str:
        """Register a person (they sign in on the sign-in page); returns the password."""
        return self.store.add(Account(name, "user", roles, directorates, service_areas))

    def rotate_key(self) -> None:
        """Sign with a new key from now on (tokens cached here are fetched again)."""
        self.store.rotate_key()
        self._clients.clear()

    def token(self, client: str = STAFF) -> str:
        """An access token for ``client`` by client credentials (reused while fresh)."""
        if client not in self._clients:
            self._clients[client] = ClientCredentials(
                f"{self.url}/token", client, self.secrets[client]
            )
        return self._clients[client].token()

    def sign_in(self, username: str, password: str, client: str = STAFF) -> dict:
        """Sign ``username`` in as a browser would: the sign-in page, the code, the token."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        params = {
            "response_type": "code",
            "client_id": client,
            "redirect_uri": REDIRECT_URI,
            "state": "s1",
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
            "scope": "openid",
        }
        with httpx.Client(base_url=self.url) as browser:
            browser.get("/authorize", params=params).raise_for_status()
            signed = browser.post(
                "/authorize", data={**params, "username": username, "password": password}
            )
            if signed.status_code != 303:
                raise PermissionError(f"sign-in refused ({signed.status_code})")
            query = parse_qs(urlsplit(signed.headers["location"]).query)
            assert query["state"] == ["s1"]
            answer = browser.post(
                "/token",
                data={
                    "grant_type": "authorization_code",
                    "code": query["code"][0],
                    "redirect_uri": REDIRECT_URI,
                    "code_verifier": verifier,
                },
                auth=(client, self.secrets[client]),
            )
        answer.raise_for_status()
        return answer.json()
