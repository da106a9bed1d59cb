"""What the HTTP layer refuses before any route runs, and that each refusal is a 422
in the documented shape (a list naming what is wrong), never a 400 or a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import BaseModel
from sqlalchemy import MetaData

from complaints_shared.runtime.host import Host
from complaints_shared.service import Service
from complaints_shared.settings import Settings


class Note(BaseModel):
    text: str
    amount: float = 0


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A service with a body route and a query route, served without starting anything."""
    settings = Settings(nats_url="nats://127.0.0.1:1", data_dir=tmp_path)
    service = Service("echo", MetaData(), settings)

    @service.http.post("/echo")
    async def echo(note: Note) -> Note:
        return note

    @service.http.get("/find")
    async def find(name: str) -> dict[str, str]:
        return {"name": name}

    transport = httpx.ASGITransport(app=Host(settings, [service]).app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def post(http: httpx.AsyncClient, body: bytes, content_type: str = "application/json"):
    return http.post("/echo", content=body, headers={"content-type": content_type})


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b'{"text": NaN}', "NaN is not a JSON number"),
        (b'{"text": "a", "amount": -Infinity}', "-Infinity is not a JSON number"),
        (b'{"text": "a", "amount": 1e400}', "out of range"),
        (b'{"text": "\\udfff"}', "lone surrogate"),
        (b'{"text": "\\ud83d"}', "lone surrogate"),
        (b'{"text": "\xed\xbf\xbf"}', "not UTF-8"),
        (b"\xff\xfe", "not UTF-8"),
        (b'{"text": "a", "amount": 1' + b"0" * 5000 + b"}", "digits"),
        (b"[" * 100_000 + b"]" * 100_000, "maximum recursion depth"),
        (b'{"text": ', "Expecting value"),
    ],
    ids=[
        "nan",
        "infinity",
        "overflow",
        "lone low surrogate",
        "lone high surrogate",
        "encoded surrogate",
        "not utf-8",
        "too many digits",
        "too deep",
        "truncated",
    ],
)
async def test_a_body_that_is_not_strict_json_is_a_422(
    http: httpx.AsyncClient, body: bytes, said: str
) -> None:
    answer = await post(http, body)
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["detail"]
    assert error["type"] == "json_invalid" and error["loc"][0] == "body"
    assert said in error["msg"]


async def test_strict_json_still_takes_what_json_allows(http: httpx.AsyncClient) -> None:
    answer = await post(http, '{"text": "\\ud83d\\ude00 caf\u00e9", "amount": 1.5e3}'.encode())
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"text": "\N{GRINNING FACE} caf\u00e9", "amount": 1500.0}


async def test_a_body_that_is_not_json_at_all_is_a_422(http: httpx.AsyncClient) -> None:
    answer = await post(http, b"\xff\xfe not text", content_type="text/plain")
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"] == ["body"]


async def test_a_query_with_a_nul_is_a_422_naming_it(http: httpx.AsyncClient) -> None:
    answer = await http.get("/find", params={"name": "a\x00b"})
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["detail"]
    assert error["loc"] == ["query", "name"]
    assert (await http.get("/find", params={"name": "ab", "other": "\x00"})).status_code == 200
