"""The one envelope every event travels in.

The envelope carries what every consumer needs to route, trace and deduplicate a
message without knowing its payload: the event id (also the ``Nats-Msg-Id``), the
type and schema version, when it happened, whose it is (organisation, directorate,
case) and the correlation/causation chain.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Self, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from complaints_shared.contracts.limits import CODE_CHARS, PROVIDER_CODE_PATTERN, SLUG_CHARS


class EventPayload(BaseModel):
    """Base of every payload model.

    Subclasses set ``event_type`` (``"<aggregate>.<fact>"``) and ``schema_version``.
    Building one refuses unknown fields (producers are strict); readers go through
    :meth:`Envelope.parse`, which ignores them (consumers are forward compatible).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: ClassVar[str]
    schema_version: ClassVar[int]

    @property
    def aggregate(self) -> str:
        """The part of the event type that names its stream (``case``, ``deadline``...)."""
        return self.event_type.split(".", 1)[0]

    @property
    def provider_code(self) -> str | None:
        """The commissioned provider the event is about, for those keyed by one (None)."""
        return None


class Envelope(BaseModel):
    """What goes on the wire: routing and tracing metadata around a payload."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: uuid.UUID
    type: str = Field(pattern=r"^[a-z_]+\.[a-z_]+$", max_length=SLUG_CHARS)
    schema_version: int = Field(ge=1)
    occurred_at: AwareDatetime
    organisation: str = Field(pattern=r"^[a-z0-9_-]+$", max_length=SLUG_CHARS)
    directorate: str = Field(pattern=r"^[a-z0-9_-]+$", max_length=SLUG_CHARS)
    case_id: uuid.UUID | None = None
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None = None
    sequence: int | None = Field(
        default=None,
        ge=1,
        description="This event's place among its case's events on its stream (1, 2, 3...), "
        "given by the producer's outbox without gaps, so a consumer can apply a case's events "
        "in the order they happened whatever order they arrive in. None for events about no "
        "case.",
    )
    provider: str | None = Field(
        default=None,
        pattern=PROVIDER_CODE_PATTERN,
        max_length=CODE_CHARS,
        description="The commissioned provider's code, on events keyed by a provider "
        "(``provider.*``): the subject's last token, so NATS permissions can be scoped to one "
        "provider's events. None on every other event.",
    )
    payload: dict[str, Any]

    @property
    def subject(self) -> str:
        """``complaints.<org>.<directorate>.<aggregate>.<fact>.v<version>``, then
        ``.<provider>`` on an event keyed by a provider."""
        subject = (
            f"complaints.{self.organisation}.{self.directorate}.{self.type}.v{self.schema_version}"
        )
        return f"{subject}.{self.provider}" if self.provider else subject

    def parse(self, model: type[EventPayloadT]) -> EventPayloadT:
        """The payload as ``model``, ignoring fields this reader does not know."""
        if (model.event_type, model.schema_version) != (self.type, self.schema_version):
            msg = (
                f"event {self.id} is {self.type} v{self.schema_version}, "
                f"not {model.event_type} v{model.schema_version}"
            )
            raise ValueError(msg)
        return model.model_validate(self.payload, extra="ignore")

    def caused(self, payload: EventPayload, **overrides: Any) -> Envelope:
        """A new event caused by this one: same correlation, this id as causation."""
        fields = {
            "organisation": self.organisation,
            "directorate": self.directorate,
            "case_id": self.case_id,
            "correlation_id": self.correlation_id,
            "causation_id": self.id,
        }
        fields.update(overrides)
        return new_event(payload, **fields)

    @classmethod
    def from_wire(cls, data: bytes | str) -> Self:
        return cls.model_validate_json(data)

    def to_wire(self) -> bytes:
        return self.model_dump_json().encode()


def new_event(
    payload: EventPayload,
    *,
    organisation: str,
    directorate: str,
    case_id: uuid.UUID | None = None,
    correlation_id: uuid.UUID | None = None,
    causation_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
) -> Envelope:
    """Wrap a payload in a new envelope; with no correlation id it starts its own."""
    event_id = uuid.uuid4()
    return Envelope(
        id=event_id,
        type=payload.event_type,
        schema_version=payload.schema_version,
        occurred_at=occurred_at or datetime.now(UTC),
        organisation=organisation,
        directorate=directorate,
        case_id=case_id,
        correlation_id=correlation_id or event_id,
        causation_id=causation_id,
        provider=payload.provider_code,
        payload=payload.model_dump(mode="json"),
    )


EventPayloadT = TypeVar("EventPayloadT", bound=EventPayload)
