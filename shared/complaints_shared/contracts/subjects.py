"""Subjects and streams: where each kind of event lives on the bus.

Subjects are ``complaints.<organisation>.<directorate>.<aggregate>.<fact>.v<version>``
so a directorate's deployment can consume only its own traffic and NATS permissions
can be scoped per organisation and directorate. Events keyed by a commissioned
provider (``provider.*``) add the provider's code as a last token, so permissions can
be scoped to one provider too. Each aggregate has one stream, owned
by the service that produces it (which adds subjects the stream lacks); every service
may create a missing stream from the same definition so start-up order does not
matter, and none changes how an operator configured one that exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from complaints_shared.contracts.envelope import EventPayload


@dataclass(frozen=True)
class StreamSpec:
    """A JetStream stream and the service that publishes on it."""

    name: str
    subjects: tuple[str, ...]
    owner: str
    description: str


CASES = StreamSpec("COMPLAINTS_CASES", ("complaints.*.*.case.>",), "intake", "Case lifecycle")
DEADLINES = StreamSpec(
    "COMPLAINTS_DEADLINES",
    ("complaints.*.*.deadline.>", "complaints.*.*.calendar.>"),
    "deadlines",
    "Deadline timers and the working-day calendar",
)
COMPLIMENTS = StreamSpec(
    "COMPLAINTS_COMPLIMENTS", ("complaints.*.*.compliment.>",), "intake", "Compliments"
)
LETTERS = StreamSpec("COMPLAINTS_LETTERS", ("complaints.*.*.letter.>",), "letters", "Letters sent")
PROVIDERS = StreamSpec(
    "COMPLAINTS_PROVIDERS",
    ("complaints.*.*.provider.>",),
    "intake",
    "Commissioned providers: the register, their complaint returns and nil returns",
)
LEARNING = StreamSpec(
    "COMPLAINTS_LEARNING",
    ("complaints.*.*.learning.>",),
    "learning",
    "Learning actions, chasing their leads, cases whose learning is settled, you said we did",
)
DEAD_LETTERS = StreamSpec(
    "COMPLAINTS_DEAD_LETTERS",
    ("dead_letter.complaints.>",),
    "platform",
    "Messages a consumer gave up on, with the error, for an operator to replay",
)

STREAMS: tuple[StreamSpec, ...] = (
    CASES,
    COMPLIMENTS,
    PROVIDERS,
    DEADLINES,
    LETTERS,
    LEARNING,
    DEAD_LETTERS,
)

_BY_AGGREGATE = {
    "case": CASES,
    "compliment": COMPLIMENTS,
    "deadline": DEADLINES,
    "calendar": DEADLINES,
    "letter": LETTERS,
    "learning": LEARNING,
    "provider": PROVIDERS,
}


def stream_for(event_type: str) -> StreamSpec:
    """The stream that holds events of ``event_type`` (``"case.received"`` -> CASES)."""
    aggregate = event_type.split(".", 1)[0]
    try:
        return _BY_AGGREGATE[aggregate]
    except KeyError:
        raise KeyError(f"no stream holds {aggregate!r} events ({event_type})") from None


def keyed_by_provider(model: type[EventPayload]) -> bool:
    """Whether ``model``'s subjects end in the provider's code (the ``provider.*`` events)."""
    return stream_for(model.event_type) is PROVIDERS


def subscription_subject(
    model: type[EventPayload], organisation: str = "*", directorate: str = "*", provider: str = "*"
) -> str:
    """The subject filter for one (type, version) within an organisation/directorate scope
    (and, for an event keyed by a provider, one provider or any)."""
    subject = f"complaints.{organisation}.{directorate}.{model.event_type}.v{model.schema_version}"
    return f"{subject}.{provider}" if keyed_by_provider(model) else subject


def dead_letter_subject(organisation: str, consumer: str) -> str:
    """Where ``consumer`` parks what it gave up on: ``dead_letter.complaints.<org>.<consumer>``."""
    return f"dead_letter.complaints.{organisation}.{consumer}"
