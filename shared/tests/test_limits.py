"""Every contract is bounded, and the largest event each allows fits on the bus.

The largest event of each type is built from its published JSON Schema: every
optional field present, every string at its maximum length, every list full.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from complaints_shared.contracts.envelope import EventPayload, new_event
from complaints_shared.contracts.events import EVENT_TYPES
from complaints_shared.contracts.limits import NO_NUL, SLUG_CHARS

NATS_DEFAULT_MAX_PAYLOAD = 1024 * 1024
FOUR_BYTES = "\N{GRINNING FACE}"  # the most UTF-8 spends on a character
ESCAPED = "\x01"  # JSON writes it as \u0001: six bytes for one character
FORMATS = {
    "date": "2026-04-02",
    "date-time": "2026-04-02T09:30:00+00:00",
    "uuid": str(uuid.UUID(int=0)),
    "email": f"{'a' * 64}@{'b' * 63}.{'c' * 63}.{'d' * 57}.org",  # 254 characters, the most
}


class Unbounded(AssertionError):
    pass


def largest(schema: dict[str, Any], defs: dict[str, Any], char: str, where: str) -> Any:
    """The largest value ``schema`` allows, writing text in ``char``."""
    if "$ref" in schema:
        return largest(defs[schema["$ref"].rsplit("/", 1)[1]], defs, char, where)
    if "anyOf" in schema:
        # The first branch that is not null. A Decimal's string branch comes after its
        # number branch, and is bounded by max_digits, which JSON Schema cannot say.
        branch = next(b for b in schema["anyOf"] if b.get("type") != "null")
        return largest(branch, defs, char, where)
    if "enum" in schema:
        return max(schema["enum"], key=lambda value: len(str(value)))
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object":
        return {
            name: largest(field, defs, char, f"{where}.{name}")
            for name, field in schema.get("properties", {}).items()
        }
    if kind == "array":
        if "maxItems" not in schema:
            raise Unbounded(f"{where} is a list without maxItems")
        return [largest(schema["items"], defs, char, f"{where}[]")] * schema["maxItems"]
    if kind == "string":
        if "format" in schema:
            return FORMATS[schema["format"]]
        if "maxLength" not in schema:
            raise Unbounded(f"{where} is text without maxLength")
        if schema.get("pattern", NO_NUL) != NO_NUL:  # a code or slug: letters and digits only
            return "a" * schema["maxLength"]
        return char * schema["maxLength"]
    if kind == "integer":
        return schema.get("maximum", 10**18)
    return {"number": 9_999_999_999.99, "boolean": False}[kind]


def largest_event_bytes(model: type[EventPayload], char: str) -> int:
    schema = model.model_json_schema()
    payload = model.model_validate(largest(schema, schema.get("$defs", {}), char, model.__name__))
    slug = "x" * SLUG_CHARS
    event = new_event(payload, organisation=slug, directorate=slug, case_id=uuid.uuid4())
    event = event.model_copy(update={"sequence": 10**9, "causation_id": uuid.uuid4()})
    return len(event.to_wire())


@pytest.mark.parametrize("key", sorted(EVENT_TYPES), ids=lambda key: f"{key[0]}.v{key[1]}")
def test_the_largest_event_of_each_type_fits_well_within_the_bus(key: tuple[str, int]) -> None:
    model = EVENT_TYPES[key]
    assert largest_event_bytes(model, FOUR_BYTES) <= NATS_DEFAULT_MAX_PAYLOAD // 2
    assert largest_event_bytes(model, ESCAPED) < 1_000_000  # the default max_event_bytes


def test_a_field_without_a_bound_is_found() -> None:
    from pydantic import Field

    class Careless(EventPayload):
        event_type = "case.careless"
        schema_version = 1

        notes: str
        tags: tuple[str, ...] = Field(default=())

    schema = Careless.model_json_schema()
    with pytest.raises(Unbounded, match=r"Careless\.notes is text without maxLength"):
        largest(schema, {}, "a", "Careless")
    del schema["properties"]["notes"]
    with pytest.raises(Unbounded, match=r"Careless\.tags is a list without maxItems"):
        largest(schema, {}, "a", "Careless")
