"""JSON Schema for every event version, published in the repo for other teams' tools."""

from __future__ import annotations

import json
from pathlib import Path

from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.events import EVENT_TYPES


def schema_documents() -> dict[str, dict]:
    """File name -> schema: the envelope, and each payload as ``<type>.v<n>.json``."""
    documents = {"envelope.json": Envelope.model_json_schema()}
    for (event_type, version), model in sorted(EVENT_TYPES.items()):
        schema = model.model_json_schema()
        schema["x-event-type"] = event_type
        schema["x-schema-version"] = version
        documents[f"{event_type}.v{version}.json"] = schema
    return documents


def write_json_documents(out: Path, documents: dict[str, dict], check: bool = False) -> list[str]:
    """Write each document to ``out/<name>``; return the names missing or different there.

    With ``check`` nothing is written: CI uses it to prove the published copies are current.
    """
    stale = []
    if not check:
        out.mkdir(parents=True, exist_ok=True)
    for name, document in documents.items():
        text = json.dumps(document, indent=2, sort_keys=True) + "\n"
        path = out / name
        if not path.exists() or path.read_text() != text:
            stale.append(str(path))
            if not check:
                path.write_text(text)
    return stale


def export_schemas(out: Path, check: bool = False) -> list[str]:
    """Write (or with ``check`` only compare) the event schemas in ``out``; return stale files."""
    return write_json_documents(out, schema_documents(), check)
