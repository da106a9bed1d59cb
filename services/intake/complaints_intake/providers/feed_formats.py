"""How a provider's returns may be written: formats as plugins.

A provider sends its returns as whatever its own system exports. Each format turns a
request body into numbered rows of fields (name -> value) and knows nothing of what a
return is: the row model (:mod:`.returns`) reads the fields, so a format's values may
be JSON's own types or text (a date as ``2026-04-02``, a list as ``a;b``).

Formats are found through the ``complaints.provider_feed_formats`` entry point group
(each target a :class:`FeedFormat`); intake ships ``json`` and ``csv``. A request picks
one by its ``Content-Type``, or by ``?format=<name>``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Protocol

import structlog

from complaints_intake.providers.batches import RowProblem
from complaints_shared.strict_input import strict_json

log = structlog.get_logger(__name__)

FORMATS_GROUP = "complaints.provider_feed_formats"


class Unreadable(ValueError):
    """A body no row can be read from (not UTF-8, not JSON, no header): the message
    says why, without quoting it."""


@dataclass(frozen=True)
class ParsedRow:
    """One row as sent: its number (from 1) and its fields, or what makes it no row."""

    number: int
    fields: dict[str, Any] = field(default_factory=dict)
    problems: list[RowProblem] = field(default_factory=list)


class FeedFormat(Protocol):
    """What a format plugin provides (an object with these attributes)."""

    name: str
    media_types: tuple[str, ...]
    description: str

    def parse(self, body: bytes) -> list[ParsedRow]:
        """The body's rows, or :class:`Unreadable` if none can be read."""
        ...


class JsonFormat:
    """One return as a JSON object, or a batch as a list of objects."""

    name = "json"
    media_types = ("application/json",)
    description = "one object, or a list of objects, with the fields of a return"

    def parse(self, body: bytes) -> list[ParsedRow]:
        try:
            value = strict_json(body)
        except json.JSONDecodeError as error:
            raise Unreadable(f"the body is not JSON: {error.msg}") from None
        items = value if isinstance(value, list) else [value]
        return [
            ParsedRow(number, item)
            if isinstance(item, dict)
            else ParsedRow(
                number, problems=[RowProblem(field="", reason="a row must be an object")]
            )
            for number, item in enumerate(items, start=1)
        ]


class CsvFormat:
    """A header row naming the fields (as in JSON), then one return a row.

    A blank cell is an absent field; a wholly blank row is skipped (its number is kept,
    so numbers match the spreadsheet's rows after the header). A UTF-8 byte order mark,
    as Excel writes one, is allowed.
    """

    name = "csv"
    media_types = ("text/csv",)
    description = "a header row of field names, then one return a row; lists separated by ;"

    def parse(self, body: bytes) -> list[ParsedRow]:
        return read_csv(body)[1]


def read_csv(body: bytes) -> tuple[list[str], list[ParsedRow]]:
    """A CSV's header (names stripped) and its rows, as :class:`CsvFormat` describes
    them; the register's import reads its spreadsheet the same way."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise Unreadable(f"the body is not UTF-8 text (byte {error.start})") from None
    if "\x00" in text:
        raise Unreadable("the body holds a NUL character")
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as error:
        raise Unreadable(f"the body is not CSV: {error}") from None
    if not records or not any(cell.strip() for cell in records[0]):
        raise Unreadable("the CSV has no header row naming the fields")
    header = [name.strip() for name in records[0]]
    _check_header(header)
    rows = []
    for number, cells in enumerate(records[1:], start=1):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header):
            problem = f"the row has {len(cells)} cells; the header names {len(header)}"
            rows.append(ParsedRow(number, problems=[RowProblem(field="", reason=problem)]))
            continue
        fields = {name: cell for name, cell in zip(header, cells) if cell.strip()}
        rows.append(ParsedRow(number, fields))
    return header, rows


def split_list(cell: str) -> list[str]:
    """A list written in one cell: its parts between ``;``, blanks left out."""
    return [part.strip() for part in cell.split(";") if part.strip()]


def _check_header(header: list[str]) -> None:
    for position, name in enumerate(header, start=1):
        if not name:
            raise Unreadable(f"the header's column {position} has no name")
        if header.index(name) != position - 1:
            raise Unreadable(f"the header names {name!r} twice")


JSON = JsonFormat()
CSV = CsvFormat()


def installed_formats() -> dict[str, FeedFormat]:
    """Every installed format by name. One that cannot be loaded is logged and left out,
    so a broken plugin does not stop the feed."""
    formats: dict[str, FeedFormat] = {}
    for entry in entry_points(group=FORMATS_GROUP):
        try:
            formats[entry.name] = entry.load()
        except Exception as error:  # noqa: BLE001 - any import failure: leave it out
            log.warning("feed format not loaded", format=entry.name, error=str(error))
    return dict(sorted(formats.items()))


class UnknownFormat(LookupError):
    """No installed format fits; the message lists the installed ones."""


def listing(formats: Mapping[str, FeedFormat]) -> str:
    return "; ".join(f"{name} ({', '.join(f.media_types)})" for name, f in formats.items())


def choose(
    formats: Mapping[str, FeedFormat], content_type: str | None, name: str | None
) -> FeedFormat:
    """The format ``?format=`` names, else the one reading the body's media type."""
    if name is not None:
        if name in formats:
            return formats[name]
        raise UnknownFormat(f"no feed format {name!r}; installed: {listing(formats)}")
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    for candidate in formats.values():
        if media_type in candidate.media_types:
            return candidate
    raise UnknownFormat(
        f"no feed format reads {media_type or 'a body without a Content-Type'}; "
        f"installed: {listing(formats)}"
    )
