"""Delivery channels: how a letter leaves the council (a folder, GOV.UK Notify, a council's own).

A channel is a plugin in the ``complaints.letter_channels`` entry-point group whose
target is ``create(settings) -> Channel``; ``COMPLAINTS_LETTERS_CHANNEL`` picks one.
The delivery worker (``complaints_letters.delivery``) makes a channel's calls exactly
once per attempt and keeps the record; a channel only talks to its provider:

- :meth:`Channel.send` hands a letter over and says what the provider took
  (:class:`Receipt`), or raises :class:`Refused` (the provider said no: nothing was
  sent) or :class:`OutcomeUnknown` (no clear answer: it may have been sent);
- :meth:`Channel.find` asks the provider about earlier sends by our reference (the
  letter id), so a send whose answer was lost is never repeated if it went through;
- :meth:`Channel.status` asks what became of a send.

Nothing a channel logs or raises carries the letter's words or the complainant's
details: ids, statuses and the provider's own error text only.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from enum import StrEnum
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Literal, Protocol

from complaints_shared.plugins import LETTER_CHANNELS_GROUP

if TYPE_CHECKING:
    from complaints_shared.settings import Settings

Route = Literal["email", "post"]

_RENDERING = threading.Lock()
"""One PDF rendered at a time: it is CPU-bound, and weasyprint's libraries (Pango,
fontconfig) are not documented as safe to use from several threads at once."""


@dataclass(frozen=True)
class Outgoing:
    """One letter as a channel sends it.

    ``pdf`` may be a function that renders it, so rendering happens when the channel
    needs it (in a thread) rather than inside the transaction that claimed the letter.
    """

    letter_id: uuid.UUID
    route: Route
    kind: str
    case_reference: str
    subject: str
    text: str
    pdf: bytes | Callable[[], bytes] = field(repr=False)
    email: str | None = field(default=None, repr=False)
    address: tuple[str, ...] = field(default=(), repr=False)

    @property
    def reference(self) -> str:
        """What the provider files the letter under: the letter id, never personal data."""
        return str(self.letter_id)

    async def pdf_bytes(self) -> bytes:
        """The PDF, rendered now (in a thread: rendering is slow and blocking) if need be."""
        if isinstance(self.pdf, bytes):
            return self.pdf
        render = self.pdf

        def rendered() -> bytes:
            with _RENDERING:
                return render()

        return await asyncio.to_thread(rendered)


class State(StrEnum):
    SENDING = "sending"
    """The provider has it and is still working on it."""
    DELIVERED = "delivered"
    """An email accepted by the recipient's server; a letter printed and posted."""
    FAILED = "failed"


@dataclass(frozen=True)
class Receipt:
    """What a provider says about one send: its id for it, and how it stands."""

    provider_id: str
    state: State = State.SENDING
    reason: str | None = None
    """Why it failed, in the provider's words (no personal data)."""
    permanent: bool = False
    """A failure that sending again would repeat (a bad address, an unprintable PDF)."""


class ChannelError(Exception):
    """A channel could not do what was asked. ``str()`` is safe to log and to show."""


class Refused(ChannelError):
    """The provider answered no: nothing was sent."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class OutcomeUnknown(ChannelError):
    """No clear answer (a server error, a timeout): the provider may or may not have it."""


class Channel(Protocol):
    """A way of delivering letters (see the module's docstring)."""

    name: str

    async def send(self, outgoing: Outgoing) -> Receipt: ...

    async def find(self, reference: str, besides: Collection[str] = ()) -> Receipt | None:
        """The newest send filed under ``reference`` other than those whose provider ids
        are in ``besides`` (earlier attempts already accounted for), or None."""
        ...

    async def status(self, receipt: Receipt) -> Receipt: ...


ChannelFactory = Callable[["Settings"], Channel]


def installed_channels() -> list[str]:
    return sorted(entry.name for entry in entry_points(group=LETTER_CHANNELS_GROUP))


def load_channel(settings: Settings) -> Channel:
    """The channel ``settings.letters_channel`` names, made from the settings."""
    found = {entry.name: entry for entry in entry_points(group=LETTER_CHANNELS_GROUP)}
    if settings.letters_channel not in found:
        msg = (
            f"no letter channel named {settings.letters_channel!r} "
            f"({LETTER_CHANNELS_GROUP}); installed: {', '.join(sorted(found)) or 'none'}"
        )
        raise LookupError(msg)
    factory: ChannelFactory = found[settings.letters_channel].load()
    return factory(settings)
