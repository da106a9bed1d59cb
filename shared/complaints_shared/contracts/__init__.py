"""The event contracts: the only thing services know about each other.

Every fact crosses the bus as an :class:`Envelope` whose ``payload`` is one of the
versioned payload models in :mod:`.events`. Producers validate strictly; consumers
ignore fields they do not know, so an additive change never breaks an older reader.
"""

from complaints_shared.contracts.envelope import Envelope, EventPayload, new_event
from complaints_shared.contracts.events import EVENT_TYPES, payload_model

__all__ = ["EVENT_TYPES", "Envelope", "EventPayload", "new_event", "payload_model"]
