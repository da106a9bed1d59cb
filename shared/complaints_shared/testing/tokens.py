"""Access tokens by client credentials, as a script gets them, reused while fresh."""

from __future__ import annotations

import time

import httpx


class ClientCredentials:
    """One client's tokens from ``token_url``."""

    def __init__(self, token_url: str, client: str, secret: str) -> None:
        self.token_url, self.client, self.secret = token_url, client, secret
        self._token: tuple[str, float] | None = None

    def token(self) -> str:
        """A token with at least a minute left: the last one, or a new one."""
        if self._token is None or self._token[1] < time.time() + 60:
            answer = httpx.post(
                self.token_url,
                data={"grant_type": "client_credentials"},
                auth=(self.client, self.secret),
                timeout=10,
            )
            answer.raise_for_status()
            token = answer.json()
            self._token = (token["access_token"], time.time() + token["expires_in"])
        return self._token[0]
