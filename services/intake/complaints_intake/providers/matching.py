"""Complaints and compliments refer to registered providers, by id or by their name.

A case or compliment names its provider by ``provider_id`` (its name then comes from
the register), or in free text as before the register existed. Free text equal to a
registered provider's name or one of its aliases, once both are put through
:func:`normalise`, is matched on arrival. What stays unmatched is listed by name
(:func:`unmatched`, no personal data) for the complaints team to link
(:mod:`.linking`).
"""

from __future__ import annotations

import difflib
import re
import uuid
from collections import Counter, defaultdict
from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_intake.lifecycle import InvalidField
from complaints_intake.models import Case, Compliment
from complaints_intake.providers.models import Provider
from complaints_intake.providers.register_schemas import Suggestion, UnmatchedName

Command = TypeVar("Command", bound=BaseModel)

_IGNORED_WORDS = frozenset({"ltd", "limited"})
_APOSTROPHES = re.compile(r"['\u2019]")
_PUNCTUATION = re.compile(r"[\W_]+")


def normalise(name: str) -> str:
    """``name`` as matching compares it: case folded, punctuation and "Ltd" gone, one
    space between words ("St. Mary's Care Ltd" and "st marys care" are the same)."""
    words = _PUNCTUATION.sub(" ", _APOSTROPHES.sub("", name.casefold())).split()
    return " ".join(word for word in words if word not in _IGNORED_WORDS)


def names_of(provider: Provider) -> set[str]:
    """The provider's name and aliases, normalised."""
    return {normalise(name) for name in (provider.name, *provider.aliases)} - {""}


async def _by_name(session: AsyncSession) -> dict[str, list[Provider]]:
    """Every registered provider under each of its normalised names."""
    index: dict[str, list[Provider]] = defaultdict(list)
    for provider in await session.scalars(select(Provider).order_by(Provider.code)):
        for name in names_of(provider):
            index[name].append(provider)
    return index


async def match_name(session: AsyncSession, text: str) -> Provider | None:
    """The one registered provider ``text`` names; None if none or several do."""
    found = (await _by_name(session)).get(normalise(text), [])
    return found[0] if len(found) == 1 else None


async def registered(session: AsyncSession, command: Command) -> Command:
    """``command`` (a new complaint or compliment, a correction) with its provider's id and
    name agreeing with the register.

    A ``provider_id`` must be registered (else :class:`InvalidField` on it) and brings
    the register's name; free text alone is matched (``provider_id`` None if nothing
    matches, so a corrected name never keeps the id of the provider it replaced); an
    explicit null ``provider_id`` unlinks and keeps the text. Other commands pass
    through unchanged.
    """
    if "provider_id" not in type(command).model_fields:
        return command
    given = command.model_fields_set
    provider_id: uuid.UUID | None = command.provider_id
    if provider_id is not None:
        provider = await session.get(Provider, provider_id)
        if provider is None:
            raise InvalidField(
                "provider_id", "no registered provider has this id; see /api/v1/providers"
            )
        return command.model_copy(update={"provider": provider.name})
    text: str | None = command.provider
    if "provider_id" in given or "provider" not in given or text is None:
        return command
    match = await match_name(session, text)
    return command.model_copy(update={"provider_id": match.id if match else None})


async def _counts(session: AsyncSession, table: type[Case | Compliment]) -> Counter[str]:
    """How many of ``table``'s rows name each free-text provider and no registered one."""
    rows = await session.scalars(
        select(table.provider).where(table.provider_id.is_(None), table.provider.is_not(None))
    )
    return Counter(rows)


async def unmatched(session: AsyncSession) -> list[UnmatchedName]:
    """Free-text provider names that match no registered provider, most used first.

    Spellings that normalise alike are one entry; the suggestion is the registered
    provider whose name or alias is closest (``difflib``), if any is close enough.
    """
    cases, compliments = await _counts(session, Case), await _counts(session, Compliment)
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    for text, count in (cases + compliments).items():
        if key := normalise(text):
            spellings[key][text] += count
    index = await _by_name(session)
    found = []
    for key, written in spellings.items():
        close = difflib.get_close_matches(key, list(index), n=1)
        suggested = index[close[0]][0] if close else None
        found.append(
            UnmatchedName(
                name=written.most_common(1)[0][0],
                spellings=sorted(written),
                cases=sum(cases[text] for text in written),
                compliments=sum(compliments[text] for text in written),
                suggestion=Suggestion(
                    provider_id=suggested.id, code=suggested.code, name=suggested.name
                )
                if suggested
                else None,
            )
        )
    return sorted(found, key=lambda entry: (-(entry.cases + entry.compliments), entry.name))
