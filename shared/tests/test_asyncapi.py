"""The AsyncAPI document: every event in the contracts, every service's sends and receives.

`make test` also validates the committed document with the AsyncAPI CLI
(`.ci/validate-asyncapi`) where npm is installed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel

from complaints_shared.contracts.envelope import Envelope, EventPayload
from complaints_shared.contracts.events import EVENT_TYPES, CaseReceived, LetterIssued
from complaints_shared.contracts.schemas import schema_documents
from complaints_shared.contracts.subjects import DEAD_LETTERS, keyed_by_provider, stream_for
from complaints_shared.plugins import service_factories
from complaints_shared.runtime.asyncapi import (
    CORRELATION_ID_LOCATION,
    ServiceEvents,
    asyncapi_document,
    event_id,
    service_events,
)
from complaints_shared.runtime.specs import api_documents
from complaints_shared.settings import Settings

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "api" / "asyncapi.json"


@pytest.fixture(scope="module")
def installed() -> list[ServiceEvents]:
    """What each installed service publishes and handles, built as `complaints schemas` does."""
    settings = Settings(nats_url="nats://nats:4222", database_url="sqlite+aiosqlite:///:memory:")
    return service_events(create(settings) for create in service_factories().values())


@pytest.fixture(scope="module")
def document(installed: list[ServiceEvents]) -> dict[str, Any]:
    return asyncapi_document(installed)


def _pointer(document: Any, ref: str) -> Any:
    """The node a local ``$ref`` (``#/a/b``) points at."""
    assert ref.startswith("#/"), ref
    node = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _inline(node: Any, document: Any, depth: int = 0) -> Any:
    """``node`` with every local ``$ref`` replaced by what it points at, recursively."""
    assert depth < 50, "recursive schema"
    if isinstance(node, list):
        return [_inline(item, document, depth + 1) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = _inline(_pointer(document, node["$ref"]), document, depth + 1)
        siblings = {k: _inline(v, document, depth + 1) for k, v in node.items() if k != "$ref"}
        return {**target, **siblings}
    return {key: _inline(value, document, depth + 1) for key, value in node.items()}


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def _published(schema: dict[str, Any]) -> dict[str, Any]:
    """A published JSON Schema with its ``$defs`` inlined."""
    inlined = _inline(schema, schema)
    inlined.pop("$defs", None)
    return inlined


def test_every_event_in_the_contracts_is_a_channel_and_message_with_its_schema() -> None:
    document = asyncapi_document([])  # no service: the contracts alone decide the messages
    published = schema_documents()
    envelope = _published(published["envelope.json"])
    assert len(EVENT_TYPES) >= 29
    for (event_type, version), model in EVENT_TYPES.items():
        key = event_id(event_type, version)
        channel = document["channels"][key]
        parameters = {"organisation", "directorate"}
        address = f"complaints.{{organisation}}.{{directorate}}.{key}"
        if keyed_by_provider(model):  # one provider's events can be allowed on their own
            parameters.add("provider")
            address += ".{provider}"
        assert channel["address"] == address
        assert set(channel["parameters"]) == parameters
        assert channel["x-stream"] == stream_for(event_type).name
        message = _pointer(document, channel["messages"][key]["$ref"])
        assert message["name"] == model.__name__
        assert message["contentType"] == "application/json"
        assert message["summary"]

        payload = _inline(message["payload"], document)
        assert [_inline(part, document) for part in payload["allOf"]] == [envelope]
        assert payload["properties"]["type"] == {"const": event_type}
        assert payload["properties"]["schema_version"] == {"const": version}
        assert payload["properties"]["payload"] == _published(published[f"{key}.json"])


def test_the_envelope_schema_is_the_models(document: dict[str, Any]) -> None:
    envelope = _inline(document["components"]["schemas"]["Envelope"], document)
    assert envelope == _published(Envelope.model_json_schema())
    assert "sequence" in envelope["properties"]


def test_every_declared_event_is_an_operation(
    installed: list[ServiceEvents], document: dict[str, Any]
) -> None:
    assert installed, "no service plugin installed"
    assert any(service.publishes for service in installed)
    assert any(service.consumes for service in installed)
    operations = document["operations"]
    expected = set()
    for service in installed:
        for action, models in (("send", service.publishes), ("receive", service.consumes)):
            for model in models:
                key = event_id(model.event_type, model.schema_version)
                operation_id = f"{service.name}.{action}.{key}"
                expected.add(operation_id)
                operation = operations[operation_id]
                assert operation["action"] == action
                assert operation["channel"] == {"$ref": f"#/channels/{key}"}
                assert operation["messages"] == [{"$ref": f"#/channels/{key}/messages/{key}"}]
                assert f"`{service.name}`" in operation["description"]
        if service.consumes:
            expected.add(f"{service.name}.send.dead_letters")
    assert set(operations) == expected


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    refs = _refs(document)
    assert refs
    for ref in refs:
        _pointer(document, ref)
    for operation in document["operations"].values():  # a message of the operation's channel
        channel = _pointer(document, operation["channel"]["$ref"])
        for message in operation["messages"]:
            assert message["$ref"].startswith(operation["channel"]["$ref"] + "/messages/")
            assert _pointer(document, message["$ref"]) in channel["messages"].values()


def test_the_correlation_id_is_the_envelopes_field(document: dict[str, Any]) -> None:
    location = document["components"]["correlationIds"]["correlation_id"]["location"]
    assert location == CORRELATION_ID_LOCATION
    where, _, pointer = location.partition("#")
    assert where == "$message.payload"  # in the JSON body, not a header
    envelope = document["components"]["schemas"]["Envelope"]
    field = _pointer({"properties": envelope["properties"]}, "#/properties" + pointer)
    assert field["format"] == "uuid"
    assert pointer.lstrip("/") in envelope["required"]
    for key in (event_id(*k) for k in EVENT_TYPES):
        message = document["components"]["messages"][key]
        assert _pointer(document, message["correlationId"]["$ref"])["location"] == location


def test_the_message_id_header_is_required(document: dict[str, Any]) -> None:
    headers = document["components"]["schemas"]["EventHeaders"]
    assert "Nats-Msg-Id" in headers["required"]
    dead_letters = document["channels"]["dead_letters"]
    assert dead_letters["x-stream"] == DEAD_LETTERS.name
    assert dead_letters["address"] == "dead_letter.complaints.{organisation}.{consumer}"


class _Detail(BaseModel):
    text: str


class _Other:
    class _Detail(BaseModel):
        number: int


class _PluginEvent(EventPayload):
    """A plugin's own event, not in the contracts.

    With a second paragraph.
    """

    event_type: ClassVar[str] = "case.plugin_noted"
    schema_version: ClassVar[int] = 1

    detail: _Detail


class _OtherPluginEvent(EventPayload):
    event_type: ClassVar[str] = "case.plugin_counted"
    schema_version: ClassVar[int] = 1

    detail: _Other._Detail


def test_plain_data_in_any_order_gives_the_same_document() -> None:
    services = [
        ("letters", (LetterIssued,), (CaseReceived,)),
        ("intake", (CaseReceived,), ()),
        ("plugin", (_PluginEvent, _OtherPluginEvent), ()),
    ]
    document = asyncapi_document(services)
    assert asyncapi_document(list(reversed(services))) == document
    assert set(document["operations"]) == {
        "intake.send.case.received.v1",
        "letters.send.letter.issued.v1",
        "letters.receive.case.received.v1",
        "letters.send.dead_letters",
        "plugin.send.case.plugin_noted.v1",
        "plugin.send.case.plugin_counted.v1",
    }
    # An event outside the contracts still gets its channel; same-named models stay apart.
    noted = document["components"]["messages"]["case.plugin_noted.v1"]
    assert noted["summary"] == "A plugin's own event, not in the contracts."
    assert noted["description"] == "With a second paragraph."
    counted = document["components"]["messages"]["case.plugin_counted.v1"]
    assert counted["summary"] == "Case plugin counted."
    for key, field in (("case.plugin_noted.v1", "text"), ("case.plugin_counted.v1", "number")):
        payload = _inline(document["components"]["schemas"][key], document)
        assert set(payload["properties"]["detail"]["properties"]) == {field}
    for ref in _refs(document):
        _pointer(document, ref)


def test_a_model_that_differs_from_the_contracts_is_refused() -> None:
    class Impostor(EventPayload):
        event_type: ClassVar[str] = "case.received"
        schema_version: ClassVar[int] = 1

    with pytest.raises(ValueError, match="case.received v1"):
        asyncapi_document([("intake", (Impostor,), ())])


def test_the_committed_document_is_current() -> None:
    generated = json.dumps(api_documents()["asyncapi.json"], indent=2, sort_keys=True) + "\n"
    assert COMMITTED.read_text() == generated, "run `complaints schemas`"
