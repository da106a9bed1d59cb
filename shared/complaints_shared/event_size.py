"""How large an event may be, and the refusal that names what made one too large.

NATS refuses a message over its ``max_payload``. The contracts' bounds keep every
event well within NATS's default (``docs/contracts.md``, "Bounds"), so this check
matters where an operator lowered the limit: :meth:`Service.publish` measures each
event as it is staged, inside the transaction that made it, and refuses one the bus
would not carry. The transaction then records nothing, and the HTTP API answers 422
naming the part that is too large, rather than accepting a request whose event
could never be published.
"""

from __future__ import annotations

from pydantic_core import to_json

from complaints_shared.bus import message_size
from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.subjects import stream_for
from complaints_shared.outbox import Outgoing

LARGEST_SEQUENCE = 2**31 - 1
"""Stands in for the number the outbox gives the event later, so that is measured too."""


class EventTooLarge(ValueError):
    """An event larger than the bus takes; ``part`` is the payload field that weighs most."""

    def __init__(self, envelope: Envelope, size: int, limit: int) -> None:
        sizes = {name: len(to_json(value)) for name, value in envelope.payload.items()}
        self.event_type = envelope.type
        self.part = max(sizes, key=sizes.__getitem__, default="")
        super().__init__(
            f"this would make a {envelope.type} event of {size:,} bytes, over the {limit:,} "
            f"the bus takes; its largest part is {self.part} ({sizes.get(self.part, 0):,} bytes)"
        )


def check_size(envelope: Envelope, limit: int) -> None:
    """Raise :class:`EventTooLarge` if ``envelope`` would be over ``limit`` bytes on the bus."""
    if envelope.case_id is not None:
        envelope = envelope.model_copy(update={"sequence": LARGEST_SEQUENCE})
    event = Outgoing(
        str(envelope.id), envelope.subject, envelope.to_wire(), stream_for(envelope.type).name
    )
    if (size := message_size(event)) > limit:
        raise EventTooLarge(envelope, size, limit)
