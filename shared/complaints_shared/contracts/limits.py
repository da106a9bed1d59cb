"""How long each piece of free text may be, and how many items each list may hold.

An event is one NATS message, and NATS refuses a message over its ``max_payload``
(1 MB unless the operator changed it). So every free-text field and every list in a
contract is bounded here, once, by what it holds, and the bounds are chosen so that
the largest event any contract allows is well within that limit: under 512 KiB even
written entirely in four-byte characters, and under 1 MB even in characters JSON must
escape (``shared/tests/test_contracts.py`` builds the largest of each event and
measures it). The HTTP request schemas use the same types, so the API refuses with a
422 what the bus could not carry, before anything is recorded.

Text never holds a NUL character: PostgreSQL cannot store one.

The lengths also match the database columns that keep these values.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

NO_NUL = r"^[^\x00]*$"

SLUG_CHARS = 64
"""An organisation, directorate or procedure slug."""
REFERENCE_CHARS = 32
"""A case reference, e.g. ``ASC-2026-00042``."""
CODE_CHARS = 40
"""A phone number, the Ombudsman's reference, where a calendar day came from."""
LABEL_CHARS = 120
"""A service area, team or subject."""
NAME_CHARS = 200
"""A person, officer or provider; a closure or holiday."""
DETAIL_CHARS = 500
"""An address, accessibility needs."""
REASON_CHARS = 2_000
"""A reason, a point of complaint, an outcome sought, a remedy, a learning action, a rule."""
NOTES_CHARS = 5_000
"""Triage notes, feedback comments."""
NARRATIVE_CHARS = 20_000
"""What a complaint or compliment is about."""

MAX_POINTS = 30
"""Points of complaint agreed, and so findings in a response (one per point)."""
MAX_ITEMS = 20
"""Remedies, learning actions, other subjects, warnings on a deadline."""
MAX_THEMES = 5
"""Themes a learning action or a "you said, we did" entry is tagged with."""
MAX_DAYS_SKIPPED = 366
"""Bank holidays and closures a deadline's span skips (a 6-month limit skips about 10)."""

Slug = Annotated[str, StringConstraints(max_length=SLUG_CHARS, pattern=NO_NUL)]
Reference = Annotated[str, StringConstraints(max_length=REFERENCE_CHARS, pattern=NO_NUL)]
Code = Annotated[str, StringConstraints(max_length=CODE_CHARS, pattern=NO_NUL)]
Label = Annotated[str, StringConstraints(max_length=LABEL_CHARS, pattern=NO_NUL)]
Name = Annotated[str, StringConstraints(max_length=NAME_CHARS, pattern=NO_NUL)]
Detail = Annotated[str, StringConstraints(max_length=DETAIL_CHARS, pattern=NO_NUL)]
Reason = Annotated[str, StringConstraints(max_length=REASON_CHARS, pattern=NO_NUL)]
Notes = Annotated[str, StringConstraints(max_length=NOTES_CHARS, pattern=NO_NUL)]
Narrative = Annotated[str, StringConstraints(max_length=NARRATIVE_CHARS, pattern=NO_NUL)]

PROVIDER_CODE_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
"""A provider's code: lower-case letters, digits and hyphens, so it can be a NATS
subject's token, a token claim and part of a URL as it is."""
ProviderCode = Annotated[
    str, StringConstraints(min_length=1, max_length=CODE_CHARS, pattern=PROVIDER_CODE_PATTERN)
]
