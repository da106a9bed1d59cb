"""Every answer's security headers, closed CORS, the public routes' rate limit, and 422s
that never send back what was sent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from pydantic import BaseModel, EmailStr, Field
from sqlalchemy import MetaData

from complaints_shared.http_security import PUBLIC
from complaints_shared.runtime.host import Host
from complaints_shared.service import Service
from complaints_shared.settings import Settings

Client = Callable[..., httpx.AsyncClient]
MakeHost = Callable[..., Host]


class Message(BaseModel):
    email: EmailStr
    text: str = Field(max_length=100)


@pytest.fixture
def make_host(tmp_path: Path) -> MakeHost:
    """A host (not started) with a public and a private route, as configured."""

    def make(**configured: object) -> Host:
        settings = Settings(nats_url="nats://127.0.0.1:1", data_dir=tmp_path, **configured)
        service = Service("echo", MetaData(), settings)

        @service.http.post("/public", dependencies=[PUBLIC])
        async def public(message: Message) -> dict[str, str]:
            return {"ok": "yes"}

        @service.http.get("/private")
        async def private() -> dict[str, str]:
            return {"ok": "yes"}

        @service.http.get("/broken")
        async def broken() -> None:
            raise RuntimeError("a bug")

        return Host(settings, [service])

    return make


@pytest.fixture
def client(make_host: MakeHost) -> Client:
    """A client of a new host configured as asked."""
    return lambda **configured: client_of(make_host(**configured))


def client_of(host: Host, address: str = "192.0.2.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(
        app=host.app, client=(address, 50000), raise_app_exceptions=False
    )
    return httpx.AsyncClient(transport=transport, base_url="http://test")


GOOD = {"email": "someone@example.org", "text": "hello"}


def assert_api_headers(answer: httpx.Response) -> None:
    headers = answer.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"
    assert "camera=()" in headers["permissions-policy"]
    policy = headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "script-src" not in policy
    assert "strict-transport-security" not in headers


async def test_every_answer_carries_the_security_headers(client: Client) -> None:
    async with client() as http:
        answers = [
            await http.post("/public", json=GOOD),
            await http.get("/private"),
            await http.get("/health/live"),
            await http.get("/health/ready"),  # 503: not started
            await http.get("/nowhere"),
            await http.post("/public", json={"email": "x"}),
            await http.post("/public", content=b"x" * 2_000_000),
            await http.get("/broken"),
            await http.get("/openapi.json"),
        ]
    assert [a.status_code for a in answers] == [200, 200, 200, 503, 404, 422, 413, 500, 200]
    for answer in answers:
        assert_api_headers(answer)


async def test_the_docs_page_may_load_swagger_ui_and_nothing_else(client: Client) -> None:
    async with client() as http:
        docs = await http.get("/docs")
    assert docs.status_code == 200
    policy = docs.headers["content-security-policy"]
    assert "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net;" in policy
    assert "https://cdn.jsdelivr.net/npm/swagger-ui-dist" in docs.text  # what it loads
    assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy
    assert docs.headers["x-frame-options"] == "DENY"


async def test_hsts_is_sent_when_configured(client: Client) -> None:
    async with client(hsts_seconds=31536000) as http:
        answer = await http.get("/private")
    assert answer.headers["strict-transport-security"] == "max-age=31536000"


PREFLIGHT = {
    "Origin": "https://forms.council.example",
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type",
}


async def test_cors_is_closed_unless_origins_are_configured(client: Client) -> None:
    async with client() as http:
        preflight = await http.options("/public", headers=PREFLIGHT)
        simple = await http.get("/private", headers={"Origin": PREFLIGHT["Origin"]})
    assert preflight.status_code == 405
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in simple.headers


async def test_cors_allows_only_the_configured_origins(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPLAINTS_CORS_ORIGINS", "https://forms.council.example, https://b.test")
    async with client() as http:
        preflight = await http.options("/public", headers=PREFLIGHT)
        simple = await http.get("/private", headers={"Origin": PREFLIGHT["Origin"]})
        stranger = await http.options(
            "/public", headers={**PREFLIGHT, "Origin": "https://evil.example"}
        )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == PREFLIGHT["Origin"]
    assert simple.headers["access-control-allow-origin"] == PREFLIGHT["Origin"]
    assert stranger.status_code == 400
    assert "access-control-allow-origin" not in stranger.headers
    assert_api_headers(preflight)


async def test_public_routes_are_limited_per_client_address(make_host: MakeHost) -> None:
    host = make_host(public_rate_limit="2/minute")
    async with client_of(host) as http:
        allowed = [(await http.post("/public", json=GOOD)).status_code for _ in range(2)]
        refused = await http.post("/public", json=GOOD)
        private = await http.get("/private")
    assert allowed == [200, 200]
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "too many requests" in refused.json()["detail"]
    assert_api_headers(refused)
    assert private.status_code == 200  # routes that are not public are not counted
    async with client_of(host, "198.51.100.7") as other:
        assert (await other.post("/public", json=GOOD)).status_code == 200


async def test_a_422_names_the_field_but_never_echoes_the_input(client: Client) -> None:
    text = "Zebedee Quibblesworth " * 50_000  # about 1.1 MB with the rest: under the cap
    bad_email = "zebedee.quibblesworth@@secret-domain.example"
    async with client(max_request_bytes=2_000_000) as http:
        answer = await http.post("/public", json={"email": bad_email, "text": text})
    assert answer.status_code == 422
    errors = answer.json()["detail"]
    assert {tuple(e["loc"]) for e in errors} == {("body", "email"), ("body", "text")}
    for error in errors:
        assert set(error) == {"loc", "msg", "type"}
    assert "Quibblesworth" not in answer.text and "secret-domain" not in answer.text
    assert "at most 100 characters" in answer.text
    assert len(answer.content) < 1000
