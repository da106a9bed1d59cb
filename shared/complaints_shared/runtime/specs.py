"""The suite's published interface documents: OpenAPI (HTTP) and AsyncAPI (bus).

Both are generated from the installed services as ``complaints up`` would host them,
written to ``docs/api/`` and checked in CI, so a change to a route or a subscription
shows up in review. The AsyncAPI document is built from the contracts and what each
service declares it publishes and handles (``complaints_shared.runtime.asyncapi``).
"""

from __future__ import annotations

from pathlib import Path

from complaints_shared.contracts.schemas import write_json_documents
from complaints_shared.plugins import service_factories
from complaints_shared.runtime.asyncapi import asyncapi_document, service_events
from complaints_shared.runtime.host import Host
from complaints_shared.settings import Settings


def api_documents() -> dict[str, dict]:
    # Placeholder locations: nothing is connected, the documents name no real host.
    settings = Settings(nats_url="nats://nats:4222", database_url="sqlite+aiosqlite:///:memory:")
    host = Host(settings, [create(settings) for create in service_factories().values()])
    return {
        "openapi.json": host.app.openapi(),
        "asyncapi.json": asyncapi_document(
            service_events(host.services), title="Complaints suite", version="0.1.0"
        ),
    }


def export_api_documents(out: Path, check: bool = False) -> list[str]:
    """Write (or with ``check`` only compare) the API documents in ``out``; return stale files."""
    return write_json_documents(out, api_documents(), check)
