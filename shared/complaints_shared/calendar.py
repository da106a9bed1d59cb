"""Working days in England: Monday to Friday less England and Wales bank holidays.

Statutory timescales count working days from the day of receipt (day 0): "within 3
working days" ends on the third working day *after* receipt, and a complaint that
arrives on a weekend or holiday starts counting from the next working day. That is
exactly "the n-th working day strictly after the start", which :meth:`add` returns.

Bank holidays (substitute days and one-offs such as coronations included) come from
the maintained ``holidays`` package; a council's own closure days are added on top.
Arithmetic is O(log h) in the number of closed weekdays ``h``, not a day-by-day walk,
because the deadlines service recalculates many dates at once.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from calendar import monthrange
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Annotated, NamedTuple
from zoneinfo import ZoneInfo

import holidays
from pydantic import AfterValidator, TypeAdapter

from complaints_shared.contracts.events import SkippedDay
from complaints_shared.contracts.limits import Name

if TYPE_CHECKING:
    from complaints_shared.settings import Settings

LONDON = ZoneInfo("Europe/London")
FIRST_YEAR = 1990
LAST_YEAR = 2100
_EPOCH = date(FIRST_YEAR, 1, 1)  # a Monday
FIRST_DAY = _EPOCH
"""The earliest day the working-day calendar counts from: an earlier receipt has no clock."""
LAST_DAY = date(LAST_YEAR - 1, 12, 31)
MAX_HORIZON = 2_600
"""The furthest "due within N working days" asked of a list (about ten years): today + N
stays inside the range from any day until September 2089."""
assert _EPOCH.weekday() == 0
_TITLE = TypeAdapter(Name)  # a holiday's name becomes the reason a deadline skipped its day
OUT_OF_RANGE = (
    f"is outside the calendar's range ({FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()})"
)


class OutsideCalendar(ValueError):
    """A date the working-day calendar does not cover."""


def check_in_range(day: date) -> date:
    """``day``, or :class:`OutsideCalendar` if the calendar cannot count on it.

    The one test of the range, for the arithmetic below and for every date a council
    adds to its calendar (closures in configuration, announced holidays), so a day
    no deadline can be counted across is refused where it comes in.
    """
    if not FIRST_DAY <= day <= LAST_DAY:
        raise OutsideCalendar(f"{day.isoformat()} {OUT_OF_RANGE}")
    return day


DayInRange = Annotated[date, AfterValidator(check_in_range)]
"""A date the calendar covers, for models and settings."""


@cache
def england_and_wales_bank_holidays() -> dict[date, str]:
    """Every England and Wales bank holiday in the supported range, by date."""
    calendar = holidays.UK(subdiv="ENG", years=range(FIRST_YEAR, LAST_YEAR + 1))
    return dict(sorted(calendar.items()))


def _weekdays_before(day: date) -> int:
    """How many Mondays-to-Fridays fall in [_EPOCH, day)."""
    weeks, rest = divmod((day - _EPOCH).days, 7)
    return weeks * 5 + min(rest, 5)


class WorkingDayCalendar:
    """Working-day arithmetic for one organisation (bank holidays + its closures)."""

    def __init__(self, closures: Mapping[date, str] | None = None) -> None:
        named = dict(england_and_wales_bank_holidays())
        for day, reason in (closures or {}).items():
            named.setdefault(day, reason)
        # Only closures on weekdays change the count; weekends are closed anyway.
        self._names = {day: name for day, name in named.items() if day.weekday() < 5}
        self._closed = sorted(self._names)

    def _working_before(self, day: date) -> int:
        """How many working days fall in [_EPOCH, day)."""
        return _weekdays_before(day) - bisect_left(self._closed, day)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._names

    def closure_reason(self, day: date) -> str | None:
        """Why ``day`` is not a working day (``None`` if it is one)."""
        if day in self._names:
            return self._names[day]
        if day.weekday() >= 5:
            return day.strftime("%A")
        return None

    def add(self, start: date, working_days: int) -> date:
        """The ``working_days``-th working day strictly after ``start`` (``start`` if 0).

        The answer is the working day with ``t`` working days before it. It is the
        weekday numbered ``t + h`` from the epoch, where ``h`` is the number of closed
        weekdays before it; ``h`` starts at those before ``start`` and only grows, so a
        few bisections settle it.
        """
        if working_days < 0:
            raise ValueError(f"working_days must not be negative, got {working_days}")
        check_in_range(start)
        if working_days == 0:
            return start
        target = self._working_before(start + timedelta(days=1)) + working_days - 1
        closed_before = bisect_left(self._closed, start)
        while True:
            weeks, weekday = divmod(target + closed_before, 5)
            answer = _EPOCH + timedelta(days=weeks * 7 + weekday)
            now_before = bisect_left(self._closed, answer)
            if now_before == closed_before:
                if answer not in self._names:
                    break
                closed_before += 1  # the answer itself is closed: the next weekday
            else:
                closed_before = now_before
        check_in_range(answer)
        return answer

    def subtract(self, day: date, working_days: int) -> date:
        """The ``working_days``-th working day strictly before ``day`` (``day`` if 0)."""
        if working_days < 0:
            raise ValueError(f"working_days must not be negative, got {working_days}")
        check_in_range(day)
        if working_days == 0:
            return day
        target = self._working_before(day) - working_days  # working days before the answer
        low, high = day - timedelta(days=working_days * 2 + 14), day
        while self._working_before(low) > target:
            low -= timedelta(days=working_days * 2 + 14)
        # Largest d with working days before d == target and d a working day.
        while low < high:
            middle = low + (high - low + timedelta(days=1)) // 2
            if self._working_before(middle) <= target:
                low = middle
            else:
                high = middle - timedelta(days=1)
        while not self.is_working_day(low):
            low -= timedelta(days=1)
        check_in_range(low)
        return low

    def between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (negative if end < start)."""
        check_in_range(start)
        check_in_range(end)
        one = timedelta(days=1)
        return self._working_before(end + one) - self._working_before(start + one)

    def skipped_between(self, start: date, end: date) -> list[SkippedDay]:
        """The bank holidays and closures (not weekends) after ``start`` up to ``end``."""
        check_in_range(start)
        check_in_range(end)
        begin = bisect_left(self._closed, start + timedelta(days=1))
        stop = bisect_left(self._closed, end + timedelta(days=1))
        return [SkippedDay(day=day, reason=self._names[day]) for day in self._closed[begin:stop]]


def today_in_england() -> date:
    """Today's date in England, whatever the server's time zone (statutory days are local)."""
    return datetime.now(LONDON).date()


def add_months(start: date, months: int) -> date:
    """The same day ``months`` calendar months later (the month's last day if it is shorter)."""
    year, month = divmod(start.year * 12 + start.month - 1 + months, 12)
    return date(year, month + 1, min(start.day, monthrange(year, month + 1)[1]))


class FinancialYear(NamedTuple):
    """A council's year, 1 April to 31 March, named by the year it starts in.

    Annual reports are by financial year: ``FinancialYear.of(2017)`` is 2017-18.
    """

    starts_on: date
    ends_on: date

    @classmethod
    def of(cls, year: int) -> FinancialYear:
        return cls(date(year, 4, 1), date(year + 1, 3, 31))

    @property
    def label(self) -> str:
        """``2017-18``."""
        return f"{self.starts_on.year}-{self.ends_on.year % 100:02d}"

    def before(self) -> FinancialYear:
        return FinancialYear.of(self.starts_on.year - 1)

    def quarter(self, number: int) -> tuple[date, date]:
        """The first and last days of quarter ``number`` (1 is April to June)."""
        if not 1 <= number <= 4:
            raise ValueError(f"a financial year has quarters 1 to 4, not {number}")
        first = add_months(self.starts_on, 3 * (number - 1))
        return first, add_months(first, 3) - timedelta(days=1)


def parse_bank_holidays(data: object, division: str = "england-and-wales") -> dict[date, str]:
    """Holidays from a decoded GOV.UK ``bank-holidays.json`` document, for one division.

    A day outside the calendar's range is refused (:class:`OutsideCalendar`) rather than
    kept as a holiday no deadline can be counted across.
    """
    try:
        events = data[division]["events"]  # type: ignore[index]
        days = {
            date.fromisoformat(event["date"]): _TITLE.validate_python(event["title"])
            for event in events
        }
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(
            f"not a GOV.UK bank-holidays document with {division!r} events ({error})"
        ) from None
    for day in days:
        check_in_range(day)
    return days


def organisation_calendar(
    settings: Settings, organisation: str | None = None
) -> WorkingDayCalendar:
    """The calendar configuration gives an organisation: bank holidays, announced
    holidays from ``bank_holidays_file``, and its closure days."""
    extra = dict(settings.closures.get(organisation or settings.organisation, {}))
    if settings.bank_holidays_file is not None:
        extra.update(parse_bank_holidays(json.loads(settings.bank_holidays_file.read_text())))
    return WorkingDayCalendar(extra)
