"""The AsyncAPI 3.0 document for the bus, generated from the contracts.

Channels and messages come from the contracts (``EVENT_TYPES``), so every event type
and version is described whether or not an installed service publishes it yet. The
operations come from the services: one ``send`` per event a service declares with
``service.publishes(...)`` and one ``receive`` per event it has a handler for.

Each message's payload is the envelope (``Envelope``) with its ``payload`` field
constrained to the event's own JSON Schema, the same one published in
``shared/schemas/events/``. Shared schemas live once under ``components/schemas``:
the envelope, each event payload (``<type>.v<n>``) and the models and enumerations
they use, referenced with ``$ref``.

:func:`asyncapi_document` takes plain data, so it can be built and tested without a
broker; :func:`service_events` reads it off hosted :class:`Service` objects.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from complaints_shared.contracts.envelope import Envelope, EventPayload
from complaints_shared.contracts.events import EVENT_TYPES
from complaints_shared.contracts.schemas import schema_documents
from complaints_shared.contracts.subjects import (
    DEAD_LETTERS,
    STREAMS,
    keyed_by_provider,
    stream_for,
)

if TYPE_CHECKING:
    from complaints_shared.service import Service

ASYNCAPI_VERSION = "3.0.0"
SERVER = {
    "host": "nats:4222",
    "protocol": "nats",
    "description": "Placeholder: each deployment names its own NATS server (`COMPLAINTS_NATS_URL`).",
}
# Where the correlation id is: a field of the JSON envelope, not a header.
CORRELATION_ID_LOCATION = "$message.payload#/correlation_id"
DEAD_LETTER_CHANNEL = "dead_letters"
ENVELOPE_SCHEMA = "Envelope"
EVENT_HEADERS_SCHEMA = "EventHeaders"
DEAD_LETTER_HEADERS_SCHEMA = "DeadLetterHeaders"
# The headers a consumer adds when it parks a message (complaints_shared.consumer).
DEAD_LETTER_HEADERS = {
    "Complaints-Consumer": "The durable consumer that gave up on the message.",
    "Complaints-Original-Subject": "The subject the message was published on.",
    "Complaints-Deliveries": "How many times the message was delivered before it was parked.",
    "Complaints-Error": "Why it was parked: the last error, or why it could not be read.",
}


class ServiceEvents(NamedTuple):
    """What one service sends and receives on the bus."""

    name: str
    publishes: Sequence[type[EventPayload]]
    consumes: Sequence[type[EventPayload]]


def service_events(services: Iterable[Service]) -> list[ServiceEvents]:
    """The events each hosted service declares it publishes and has handlers for."""
    return [
        ServiceEvents(service.name, service.published_events, service.consumed_events)
        for service in services
    ]


def event_id(event_type: str, version: int) -> str:
    """The id of an event's channel, message and payload schema: ``case.received.v1``."""
    return f"{event_type}.v{version}"


def asyncapi_document(
    services: Iterable[ServiceEvents | tuple[str, Sequence[type], Sequence[type]]],
    *,
    title: str = "Complaints suite",
    version: str = "0.1.0",
) -> dict[str, Any]:
    """The AsyncAPI document: every event in the contracts, and what ``services`` do with them.

    ``services`` is ``(name, published models, consumed models)`` per service.
    """
    hosted = sorted((ServiceEvents(*s) for s in services), key=lambda s: s.name)
    models = _event_models(hosted)
    documents = schema_documents()

    schemas: dict[str, Any] = {}
    envelope = _hoist(Envelope.model_json_schema(), schemas, ENVELOPE_SCHEMA)
    _add_schema(schemas, ENVELOPE_SCHEMA, envelope)
    _add_schema(schemas, EVENT_HEADERS_SCHEMA, _event_headers_schema())
    _add_schema(schemas, DEAD_LETTER_HEADERS_SCHEMA, _dead_letter_headers_schema())

    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for (event_type, event_version), model in sorted(models.items()):
        key = event_id(event_type, event_version)
        document = documents.get(f"{key}.json") or _payload_schema(model)
        _add_schema(schemas, key, _hoist(document, schemas, key))
        messages[key] = _event_message(model, key)
        channels[key] = _event_channel(model, key)
    messages[DEAD_LETTER_CHANNEL] = _dead_letter_message()
    channels[DEAD_LETTER_CHANNEL] = _dead_letter_channel()

    operations: dict[str, Any] = {}
    for service in hosted:
        for action, events in (("send", service.publishes), ("receive", service.consumes)):
            for model in events:
                key = event_id(model.event_type, model.schema_version)
                operations[f"{service.name}.{action}.{key}"] = _operation(
                    action, service.name, key, _summary(model)
                )
        if service.consumes:
            # Every consumer parks on the dead-letter stream what it cannot process.
            operations[f"{service.name}.send.{DEAD_LETTER_CHANNEL}"] = _operation(
                "send", service.name, DEAD_LETTER_CHANNEL, "Messages it gave up on"
            )

    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {"title": title, "version": version, "description": _info_description(hosted)},
        "defaultContentType": "application/json",
        "servers": {"nats": SERVER},
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": schemas,
            "messages": messages,
            "parameters": _parameters(),
            "correlationIds": {
                "correlation_id": {
                    "description": "The envelope's `correlation_id`: the first event of the "
                    "chain (for a case, fixed when it is logged). `causation_id` names the "
                    "event this one was caused by.",
                    "location": CORRELATION_ID_LOCATION,
                }
            },
        },
    }


# -- contracts ---------------------------------------------------------------------


def _event_models(services: Sequence[ServiceEvents]) -> dict[tuple[str, int], type[EventPayload]]:
    """Every event in the contracts, and any other a service sends or receives."""
    models = dict(EVENT_TYPES)
    for service in services:
        for model in (*service.publishes, *service.consumes):
            key = (model.event_type, model.schema_version)
            if models.setdefault(key, model) is not model:
                msg = (
                    f"{service.name} uses {model.__qualname__} for {key[0]} v{key[1]}, "
                    f"but the contracts define {models[key].__qualname__}"
                )
                raise ValueError(msg)
    return models


def _payload_schema(model: type[EventPayload]) -> dict[str, Any]:
    """A payload's JSON Schema, as ``schema_documents`` would publish it."""
    schema = model.model_json_schema()
    schema["x-event-type"] = model.event_type
    schema["x-schema-version"] = model.schema_version
    return schema


def _add_schema(schemas: dict[str, Any], name: str, schema: dict[str, Any]) -> None:
    if name in schemas and schemas[name] != schema:
        raise ValueError(f"two different schemas are called {name!r}")
    schemas[name] = schema


def _hoist(document: dict[str, Any], schemas: dict[str, Any], owner: str) -> dict[str, Any]:
    """``document`` without its ``$defs``, which join ``schemas``; its ``$ref``s follow them.

    Definitions of the same name and content are shared; a different one of a name already
    taken is kept as ``<owner>.<name>``.
    """
    document = copy.deepcopy(document)
    definitions = document.pop("$defs", {})
    names = {name: name for name in definitions}
    while True:  # renaming one definition changes the refs in the others: repeat until stable
        rewritten = {name: _rewrite_refs(d, names) for name, d in definitions.items()}
        clashes = [
            name
            for name, definition in rewritten.items()
            if names[name] == name
            and (name == owner or schemas.get(name, definition) != definition)
        ]
        if not clashes:
            break
        names.update({name: f"{owner}.{name}" for name in clashes})
    for name, definition in sorted(rewritten.items()):
        _add_schema(schemas, names[name], definition)
    return _rewrite_refs(document, names)


def _rewrite_refs(node: Any, names: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        out = {key: _rewrite_refs(value, names) for key, value in node.items()}
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            out["$ref"] = f"#/components/schemas/{names[ref.removeprefix('#/$defs/')]}"
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item, names) for item in node]
    return node


def _docstring(model: type) -> list[str]:
    """The model's own docstring (not a base class's) in paragraphs, literals as Markdown."""
    doc = inspect.cleandoc(model.__dict__.get("__doc__") or "").replace("``", "`")
    return [" ".join(p.split()) for p in doc.split("\n\n") if p.strip()]


def _summary(model: type[EventPayload]) -> str:
    """The first paragraph of the model's docstring, or its type in words."""
    paragraphs = _docstring(model)
    if paragraphs:
        return paragraphs[0]
    aggregate, fact = model.event_type.split(".", 1)
    return f"{aggregate.capitalize()} {fact.replace('_', ' ')}."


def _details(model: type[EventPayload]) -> str | None:
    """The rest of the model's docstring, if any."""
    return "\n\n".join(_docstring(model)[1:]) or None


# -- channels and messages -----------------------------------------------------------


def _parameters() -> dict[str, Any]:
    return {
        "organisation": {
            "description": "The organisation (council) the event belongs to, as a slug "
            "(`COMPLAINTS_ORGANISATION`); the envelope's `organisation`.",
            "examples": ["demo"],
            "location": "$message.payload#/organisation",
        },
        "directorate": {
            "description": "The directorate the event belongs to, as a slug, e.g. `adults` or "
            "`childrens`; `all` for events about the whole organisation (`calendar.changed`). "
            "The envelope's `directorate`. A per-directorate deployment "
            "(`COMPLAINTS_SCOPE`) subscribes to its own only.",
            "examples": ["adults", "childrens", "all"],
            "location": "$message.payload#/directorate",
        },
        "provider": {
            "description": "The commissioned provider's code in the register, on the events "
            "keyed by a provider (`provider.*`): the envelope's `provider`. A NATS user "
            "allowed only `complaints.<org>.*.provider.*.*.<code>` sees one provider's events.",
            "examples": ["brookfield-home-care"],
            "location": "$message.payload#/provider",
        },
        "consumer": {
            "description": "The durable consumer that parked the message: "
            "`<organisation>-<service>-<stream>[-<scope>]`.",
        },
    }


def _event_channel(model: type[EventPayload], key: str) -> dict[str, Any]:
    stream = stream_for(model.event_type)
    keyed = keyed_by_provider(model)
    parameters = {
        "organisation": {"$ref": "#/components/parameters/organisation"},
        "directorate": {"$ref": "#/components/parameters/directorate"},
    }
    if keyed:
        parameters["provider"] = {"$ref": "#/components/parameters/provider"}
    return {
        "address": f"complaints.{{organisation}}.{{directorate}}.{key}"
        + (".{provider}" if keyed else ""),
        "title": f"{model.event_type} v{model.schema_version}",
        "summary": _summary(model),
        "description": f"Stored on the `{stream.name}` stream ({stream.description.lower()}), "
        f"whose configuration the `{stream.owner}` service owns.",
        "parameters": parameters,
        "messages": {key: {"$ref": f"#/components/messages/{key}"}},
        "x-stream": stream.name,
    }


def _event_message(model: type[EventPayload], key: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "name": model.__name__,
        "title": f"{model.event_type} v{model.schema_version}",
        "summary": _summary(model),
        "contentType": "application/json",
        "headers": {"$ref": f"#/components/schemas/{EVENT_HEADERS_SCHEMA}"},
        "correlationId": {"$ref": "#/components/correlationIds/correlation_id"},
        "payload": {
            "title": f"{model.__name__}Envelope",
            "description": f"The envelope, carrying a `{model.event_type}` "
            f"v{model.schema_version} payload.",
            "allOf": [{"$ref": f"#/components/schemas/{ENVELOPE_SCHEMA}"}],
            "properties": {
                "type": {"const": model.event_type},
                "schema_version": {"const": model.schema_version},
                "payload": {"$ref": f"#/components/schemas/{key}"},
            },
        },
        "x-event-type": model.event_type,
        "x-schema-version": model.schema_version,
    }
    description = _details(model)
    if description:
        message["description"] = description
    return message


def _event_headers_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["Nats-Msg-Id"],
        "properties": {
            "Nats-Msg-Id": {
                "type": "string",
                "format": "uuid",
                "description": "The envelope's `id`. JetStream drops a message whose id it "
                "has seen within the stream's duplicate window, so an event published again "
                "(after a crash or a timeout) is stored once.",
            },
            "content-type": {"type": "string", "const": "application/json"},
        },
    }


def _dead_letter_headers_schema() -> dict[str, Any]:
    properties: dict[str, Any] = {
        "Nats-Msg-Id": {
            "type": "string",
            "description": "Names the parked delivery (consumer and position), so parking "
            "the same message twice stores it once.",
        },
    }
    for name, description in DEAD_LETTER_HEADERS.items():
        properties[name] = {"type": "string", "description": description}
    properties["Complaints-Deliveries"]["pattern"] = "^[0-9]+$"
    return {
        "type": "object",
        "required": sorted(properties),
        "properties": properties,
    }


def _dead_letter_channel() -> dict[str, Any]:
    return {
        "address": "dead_letter.complaints.{organisation}.{consumer}",
        "title": "Dead letters",
        "summary": DEAD_LETTERS.description + ".",
        "description": "A message a consumer could not process after its retries, or could "
        "not read at all, is published here unchanged with headers saying why, then "
        "acknowledged on its own stream so the rest keep flowing. An operator fixes the cause "
        "and replays it to its original subject.",
        "parameters": {
            "organisation": {
                "$ref": "#/components/parameters/organisation",
            },
            "consumer": {"$ref": "#/components/parameters/consumer"},
        },
        "messages": {DEAD_LETTER_CHANNEL: {"$ref": f"#/components/messages/{DEAD_LETTER_CHANNEL}"}},
        "x-stream": DEAD_LETTERS.name,
    }


def _dead_letter_message() -> dict[str, Any]:
    return {
        "name": "DeadLetter",
        "title": "Dead letter",
        "summary": "A message a consumer gave up on, as it was received.",
        "contentType": "application/json",
        "headers": {"$ref": f"#/components/schemas/{DEAD_LETTER_HEADERS_SCHEMA}"},
        "payload": {
            "description": "The original message body, byte for byte: normally an event "
            "envelope (see the event channels), but whatever arrived if it could not be read."
        },
    }


def _operation(action: str, service: str, channel: str, summary: str) -> dict[str, Any]:
    verb = "publishes" if action == "send" else "handles"
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{channel}"},
        "messages": [{"$ref": f"#/channels/{channel}/messages/{channel}"}],
        "summary": summary,
        "description": f"The `{service}` service {verb} this.",
        "tags": [{"name": service}],
    }


# -- info --------------------------------------------------------------------------


def _info_description(services: Sequence[ServiceEvents]) -> str:
    streams = "\n".join(
        f"| `{s.name}` | {', '.join(f'`{x}`' for x in s.subjects)} | {s.owner} |" for s in STREAMS
    )
    hosted = ", ".join(f"`{s.name}`" for s in services) or "none"
    return f"""\
Every event the complaints suite carries on NATS JetStream. Generated from the contracts \
(`complaints_shared.contracts`) and the installed services ({hosted}) by \
`complaints schemas`; CI checks it is current and validates it with the AsyncAPI CLI.

**Subjects.** `complaints.<organisation>.<directorate>.<aggregate>.<fact>.v<version>`, one \
channel per event type and version. A per-directorate deployment subscribes to its own \
directorate only; events about the whole organisation use directorate `all`.

**Streams.** Each aggregate has one stream (`x-stream` on each channel), configured by the \
service that owns it; any service creates a missing one from the same definition.

| stream | subjects | owner |
| --- | --- | --- |
{streams}

**Envelope.** Every message body is the JSON `Envelope`: the event's `id`, `type`, \
`schema_version`, `occurred_at`, `organisation`, `directorate`, `case_id`, `correlation_id` \
(the first event of the chain; the messages' correlation id), `causation_id`, `sequence` and \
the versioned `payload`, whose schema is the event's own (also published in \
`shared/schemas/events/`). Producers are strict (payloads refuse unknown fields); consumers \
ignore fields they do not know. Within a version a payload only gains optional fields; any \
other change is a new version on its own `.v<n>` subject, published beside the old one until \
every consumer has moved.

**Duplicates.** Every publish carries the `Nats-Msg-Id` header, equal to the envelope's \
`id`, so the stream drops a copy republished within its duplicate window; beyond it, each \
consumer records what it has applied in the same transaction as its work. An event is \
applied once.

**Order.** `sequence` numbers a case's events on its stream 1, 2, 3... without gaps, set by \
the producer's outbox. Deliveries can arrive in another order; a consumer holds an event \
that is early and applies each case's events in `sequence` order. Events about no case \
carry no `sequence`. There is no order across streams.

**Dead letters.** A message a consumer cannot process after its retries, or cannot read, \
is parked unchanged on the `{DEAD_LETTERS.name}` stream \
(`dead_letter.complaints.<organisation>.<consumer>`) with headers naming the consumer, the \
original subject, the deliveries and the error, for an operator to replay.

**Operations.** `<service>.send.<type>.v<n>` for each event a service publishes, \
`<service>.receive.<type>.v<n>` for each it handles, and `<service>.send.{DEAD_LETTER_CHANNEL}` \
for each service that consumes.
"""
