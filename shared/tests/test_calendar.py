"""Working-day arithmetic against real England and Wales bank holidays.

Every expected date below was worked out by hand from the published bank holiday
list (gov.uk/bank-holidays), counting the day of receipt as day 0; the comment on
each case shows the count. Calendar used: 2026-04-02 is a Thursday, 2026-12-23 a
Wednesday, 2027-03-25 a Thursday, 2027-12-23 a Thursday.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from complaints_shared import calendar as calendar_module
from complaints_shared.calendar import FinancialYear, WorkingDayCalendar, today_in_england


@pytest.fixture(scope="module")
def cal() -> WorkingDayCalendar:
    return WorkingDayCalendar()


def d(text: str) -> date:
    return date.fromisoformat(text)


CASES = [
    # --- Easter 2026: Good Friday Fri 3 Apr, Easter Monday Mon 6 Apr; May Day Mon 4 May.
    # Thu 2 Apr (day 0); Fri 3 GF, Sat 4, Sun 5, Mon 6 EM skipped;
    # Tue 7 = 1, Wed 8 = 2, Thu 9 = 3.
    pytest.param("2026-04-02", 3, "2026-04-09", id="easter-2026-3"),
    # Tue 7..Fri 10 = 1..4; 13-17 Apr = 5..9; 20-24 Apr = 10..14; 27 Apr-1 May = 15..19;
    # Mon 4 May is May Day (skipped); Tue 5 May = 20.
    pytest.param("2026-04-02", 20, "2026-05-05", id="easter-2026-20"),
    # --- Easter 2027: Good Friday Fri 26 Mar, Easter Monday Mon 29 Mar.
    # Thu 25 Mar (day 0); Fri 26 GF, weekend, Mon 29 EM skipped;
    # Tue 30 = 1, Wed 31 = 2, Thu 1 Apr = 3.
    pytest.param("2027-03-25", 3, "2027-04-01", id="easter-2027-3"),
    # Tue 30 Mar..Fri 2 Apr = 1..4; 5-9 Apr = 5..9; 12-16 = 10..14; 19-23 = 15..19;
    # Mon 26 Apr = 20 (May Day 2027 is 3 May, after the deadline).
    pytest.param("2027-03-25", 20, "2027-04-26", id="easter-2027-20"),
    # --- Christmas 2026: Fri 25 Dec Christmas, Sat 26 Boxing Day -> Mon 28 substitute,
    # Fri 1 Jan 2027 New Year's Day.
    # Wed 23 Dec (day 0); Thu 24 = 1; Fri 25, weekend, Mon 28 skipped; Tue 29 = 2, Wed 30 = 3.
    pytest.param("2026-12-23", 3, "2026-12-30", id="christmas-2026-3"),
    # Thu 24 = 1, Tue 29 = 2, Wed 30 = 3, Thu 31 = 4, Fri 1 Jan skipped; 4-8 Jan = 5..9;
    # 11-15 Jan = 10..14; 18-22 Jan = 15..19; Mon 25 Jan 2027 = 20.
    pytest.param("2026-12-23", 20, "2027-01-25", id="christmas-2026-20"),
    # --- Christmas 2027: Sat 25 / Sun 26 -> Mon 27 and Tue 28 substitutes;
    # New Year's Day Sat 1 Jan 2028 -> Mon 3 Jan 2028 substitute.
    # Thu 23 Dec (day 0); Fri 24 = 1; weekend, Mon 27, Tue 28 skipped; Wed 29 = 2, Thu 30 = 3.
    pytest.param("2027-12-23", 3, "2027-12-30", id="christmas-2027-3"),
    # Fri 24 = 1, Wed 29 = 2, Thu 30 = 3, Fri 31 = 4; weekend, Mon 3 Jan 2028 skipped;
    # Tue 4..Fri 7 = 5..8; 10-14 Jan = 9..13; 17-21 Jan = 14..18; Mon 24 = 19, Tue 25 = 20.
    pytest.param("2027-12-23", 20, "2028-01-25", id="christmas-2027-20"),
    # --- New Year 2022: Sat 1 Jan -> Mon 3 Jan 2022 substitute.
    # Fri 31 Dec 2021 (day 0); weekend, Mon 3 Jan skipped; Tue 4 = 1.
    pytest.param("2021-12-31", 1, "2022-01-04", id="new-year-2022-1"),
    # Tue 4 = 1, Wed 5 = 2, Thu 6 = 3.
    pytest.param("2021-12-31", 3, "2022-01-06", id="new-year-2022-3"),
    # --- One-off: state funeral of Queen Elizabeth II, Mon 19 Sep 2022.
    # Fri 16 Sep (day 0); weekend, Mon 19 skipped; Tue 20 = 1, Wed 21 = 2, Thu 22 = 3.
    pytest.param("2022-09-16", 3, "2022-09-22", id="state-funeral-2022"),
    # --- One-off: coronation of King Charles III, Mon 8 May 2023 (May Day was Mon 1 May).
    # Fri 5 May (day 0); weekend, Mon 8 skipped; Tue 9 = 1, Wed 10 = 2, Thu 11 = 3.
    pytest.param("2023-05-05", 3, "2023-05-11", id="coronation-2023-3"),
    # Fri 28 Apr (day 0); Mon 1 May skipped; Tue 2..Fri 5 = 1..4; Mon 8 skipped;
    # Tue 9..Fri 12 = 5..8; Mon 15 = 9, Tue 16 = 10.
    pytest.param("2023-04-28", 10, "2023-05-16", id="may-day-and-coronation-2023"),
    # --- An ordinary week: Mon 12 Jan 2026 (day 0); Tue 13, Wed 14, Thu 15 = 1..3.
    pytest.param("2026-01-12", 3, "2026-01-15", id="ordinary-week"),
    # Mon 12 Jan + 5 = Mon 19 Jan (a whole week, weekend not counted).
    pytest.param("2026-01-12", 5, "2026-01-19", id="ordinary-week-5"),
]


@pytest.mark.parametrize(("start", "days", "expected"), CASES)
def test_add_real_bank_holidays(cal: WorkingDayCalendar, start: str, days: int, expected: str):
    assert cal.add(d(start), days) == d(expected)


@pytest.mark.parametrize(("start", "days", "expected"), CASES)
def test_between_is_inverse_of_add_on_real_cases(
    cal: WorkingDayCalendar, start: str, days: int, expected: str
):
    assert cal.between(d(start), d(expected)) == days
    assert cal.between(d(expected), d(start)) == -days


@pytest.mark.parametrize(
    ("received", "days", "expected"),
    [
        # Sat 10 Jan 2026: counting starts Mon 12 = 1, Tue 13 = 2, Wed 14 = 3.
        pytest.param("2026-01-10", 3, "2026-01-14", id="saturday"),
        # Sun 11 Jan 2026: same as Saturday, Mon 12 = 1 .. Wed 14 = 3.
        pytest.param("2026-01-11", 3, "2026-01-14", id="sunday"),
        # Sat 10 Jan 2026: the first working day is Mon 12.
        pytest.param("2026-01-10", 1, "2026-01-12", id="saturday-1"),
        # Good Friday 3 Apr 2026: weekend and Easter Monday skipped; Tue 7 = 1 .. Thu 9 = 3.
        pytest.param("2026-04-03", 3, "2026-04-09", id="good-friday"),
        # Easter Monday 6 Apr 2026: Tue 7 = 1 .. Thu 9 = 3.
        pytest.param("2026-04-06", 3, "2026-04-09", id="easter-monday"),
        # Sat 4 Apr 2026 (Easter weekend): Easter Monday skipped, Tue 7 = 1.
        pytest.param("2026-04-04", 1, "2026-04-07", id="easter-saturday"),
        # Christmas Day Fri 25 Dec 2026: weekend, Mon 28 skipped; Tue 29 = 1.
        pytest.param("2026-12-25", 1, "2026-12-29", id="christmas-day"),
        # Substitute Mon 28 Dec 2026: Tue 29 = 1, Wed 30 = 2, Thu 31 = 3.
        pytest.param("2026-12-28", 3, "2026-12-31", id="boxing-day-substitute"),
    ],
)
def test_receipt_on_non_working_day_counts_from_next_working_day(
    cal: WorkingDayCalendar, received: str, days: int, expected: str
):
    assert not cal.is_working_day(d(received))
    assert cal.add(d(received), days) == d(expected)


def test_non_working_receipt_behaves_like_the_last_working_day_before_it(
    cal: WorkingDayCalendar,
):
    # Received Thu 2 Apr 2026 (working), Fri 3 (Good Friday) .. Mon 6 (Easter Monday):
    # all count from Tue 7 April, so every deadline is the same.
    for days in (1, 3, 10, 20):
        due = cal.add(d("2026-04-02"), days)
        for received in ("2026-04-03", "2026-04-04", "2026-04-05", "2026-04-06"):
            assert cal.add(d(received), days) == due


@pytest.mark.parametrize(
    "day", ["2026-01-12", "2026-01-10", "2026-04-03", "2026-12-28", "1990-01-01", "2099-12-31"]
)
def test_add_zero_is_the_start_day(cal: WorkingDayCalendar, day: str):
    assert cal.add(d(day), 0) == d(day)


@pytest.mark.parametrize("days", [-1, -20])
def test_negative_days_are_rejected(cal: WorkingDayCalendar, days: int):
    with pytest.raises(ValueError, match=str(days)):
        cal.add(d("2026-04-02"), days)


def test_is_working_day_for_every_day_of_2026(cal: WorkingDayCalendar):
    # The eight England and Wales bank holidays of 2026, from gov.uk.
    bank_holidays_2026 = {
        d("2026-01-01"),  # New Year's Day (Thu)
        d("2026-04-03"),  # Good Friday
        d("2026-04-06"),  # Easter Monday
        d("2026-05-04"),  # Early May bank holiday
        d("2026-05-25"),  # Spring bank holiday
        d("2026-08-31"),  # Summer bank holiday
        d("2026-12-25"),  # Christmas Day (Fri)
        d("2026-12-28"),  # Boxing Day substitute (26th is a Saturday)
    }
    day = d("2026-01-01")
    while day.year == 2026:
        expected = day.weekday() < 5 and day not in bank_holidays_2026
        assert cal.is_working_day(day) is expected, day
        day += timedelta(days=1)
    # 2026 starts on a Thursday: 52 whole weeks + one Thursday = 261 weekdays, less 8.
    assert cal.between(d("2025-12-31"), d("2026-12-31")) == 253


def test_skipped_between_names_the_holidays(cal: WorkingDayCalendar):
    # Receipt Thu 2 Apr 2026, due Tue 5 May 2026 (20 working days, see CASES).
    skipped = cal.skipped_between(d("2026-04-02"), d("2026-05-05"))
    assert [(s.day, s.reason) for s in skipped] == [
        (d("2026-04-03"), "Good Friday"),
        (d("2026-04-06"), "Easter Monday"),
        (d("2026-05-04"), "May Day"),
    ]


def test_skipped_between_christmas_2027_lists_only_weekday_substitutes(cal: WorkingDayCalendar):
    # Sat 25 / Sun 26 Dec 2027 are weekends anyway: only the substitutes were skipped.
    skipped = cal.skipped_between(d("2027-12-23"), d("2028-01-25"))
    assert [s.day for s in skipped] == [d("2027-12-27"), d("2027-12-28"), d("2028-01-03")]
    assert all("observed" in s.reason for s in skipped)
    assert "Christmas" in skipped[0].reason
    assert "Boxing" in skipped[1].reason
    assert "New Year" in skipped[2].reason


def test_skipped_between_one_offs(cal: WorkingDayCalendar):
    funeral = cal.skipped_between(d("2022-09-16"), d("2022-09-22"))
    assert [s.day for s in funeral] == [d("2022-09-19")]
    assert "Funeral" in funeral[0].reason
    coronation = cal.skipped_between(d("2023-05-05"), d("2023-05-11"))
    assert [s.day for s in coronation] == [d("2023-05-08")]
    assert "Coronation" in coronation[0].reason


def test_skipped_between_excludes_start_and_includes_end(cal: WorkingDayCalendar):
    # Start on Good Friday: not skipped (it is day 0); end on Easter Monday: skipped.
    assert [s.day for s in cal.skipped_between(d("2026-04-03"), d("2026-04-06"))] == [
        d("2026-04-06")
    ]
    assert cal.skipped_between(d("2026-04-07"), d("2026-04-30")) == []


def test_closure_reason(cal: WorkingDayCalendar):
    assert cal.closure_reason(d("2026-04-03")) == "Good Friday"
    assert cal.closure_reason(d("2026-01-10")) == "Saturday"
    assert cal.closure_reason(d("2026-01-11")) == "Sunday"
    assert cal.closure_reason(d("2026-01-12")) is None


COUNCIL_CLOSURES = {
    # A council that shuts between Christmas and New Year.
    d("2026-12-24"): "Council closure (Christmas Eve)",
    d("2026-12-29"): "Council closure",
    d("2026-12-30"): "Council closure",
    d("2026-12-31"): "Council closure",
}


def test_closures_are_skipped_with_their_names(cal: WorkingDayCalendar):
    closed = WorkingDayCalendar(COUNCIL_CLOSURES)
    # Wed 23 Dec 2026 (day 0); Thu 24 closure, Fri 25 Christmas, weekend, Mon 28 Boxing Day
    # substitute, Tue 29 - Thu 31 closures, Fri 1 Jan New Year's Day;
    # Mon 4 Jan = 1, Tue 5 = 2, Wed 6 Jan 2027 = 3.
    assert closed.add(d("2026-12-23"), 3) == d("2027-01-06")
    # Without the closures the same complaint is due Wed 30 Dec 2026.
    assert cal.add(d("2026-12-23"), 3) == d("2026-12-30")
    assert closed.between(d("2026-12-23"), d("2027-01-06")) == 3
    assert not closed.is_working_day(d("2026-12-24"))
    assert closed.closure_reason(d("2026-12-29")) == "Council closure"
    skipped = closed.skipped_between(d("2026-12-23"), d("2027-01-06"))
    assert [(s.day.isoformat(), s.reason) for s in skipped] == [
        ("2026-12-24", "Council closure (Christmas Eve)"),
        ("2026-12-25", "Christmas Day"),
        ("2026-12-28", "Boxing Day (observed)"),
        ("2026-12-29", "Council closure"),
        ("2026-12-30", "Council closure"),
        ("2026-12-31", "Council closure"),
        ("2027-01-01", "New Year's Day"),
    ]


def test_closures_belong_to_their_calendar_only():
    WorkingDayCalendar(COUNCIL_CLOSURES)
    plain = WorkingDayCalendar()
    assert plain.is_working_day(d("2026-12-24"))
    assert plain.add(d("2026-12-23"), 1) == d("2026-12-24")


def test_closure_on_a_weekend_changes_nothing(cal: WorkingDayCalendar):
    # Sat 12 and Sun 13 Dec 2026 are closed anyway.
    weekend = WorkingDayCalendar({d("2026-12-12"): "Winter fair", d("2026-12-13"): "Fair"})
    start = d("2026-12-01")
    for days in range(40):
        assert weekend.add(start, days) == cal.add(start, days)
    assert weekend.between(d("2026-12-11"), d("2026-12-14")) == 1  # only Mon 14
    assert weekend.skipped_between(d("2026-12-01"), d("2026-12-31")) == cal.skipped_between(
        d("2026-12-01"), d("2026-12-31")
    )
    assert weekend.closure_reason(d("2026-12-12")) == "Saturday"


@pytest.mark.parametrize(
    ("call", "named"),
    [
        pytest.param(lambda c: c.add(d("1989-12-29"), 3), "1989-12-29", id="add-before"),
        pytest.param(lambda c: c.add(d("2100-01-04"), 1), "2100-01-04", id="add-after"),
        pytest.param(
            lambda c: c.between(d("1989-12-29"), d("2026-01-05")), "1989-12-29", id="between-start"
        ),
        pytest.param(
            lambda c: c.between(d("2026-01-05"), d("2101-01-03")), "2101-01-03", id="between-end"
        ),
        # Thu 31 Dec 2099 + 3 working days lands in January 2100, past the range.
        pytest.param(lambda c: c.add(d("2099-12-31"), 3), "2100-01-", id="add-lands-after"),
    ],
)
def test_dates_outside_the_range_are_rejected(cal: WorkingDayCalendar, call, named: str):
    with pytest.raises(ValueError, match=named):
        call(cal)


def test_range_edges_are_supported(cal: WorkingDayCalendar):
    # Mon 1 Jan 1990 is New Year's Day; Tue 2 Jan 1990 is the first working day after it.
    assert cal.add(d("1990-01-01"), 1) == d("1990-01-02")
    # Tue 1 Dec 2099 + 10: Wed 2..Fri 4 = 1..3, Mon 7..Fri 11 = 4..8, Mon 14 = 9, Tue 15 = 10.
    assert cal.add(d("2099-12-01"), 10) == d("2099-12-15")


def test_skipped_between_rejects_dates_outside_the_range(cal: WorkingDayCalendar):
    # Christmas Day 1985 (Wed) was a bank holiday, but the calendar does not know 1985:
    # an empty list would silently claim nothing was skipped.
    with pytest.raises(ValueError, match="1985-12-20"):
        cal.skipped_between(d("1985-12-20"), d("1986-01-06"))


def _add_by_walking(cal: WorkingDayCalendar, start: date, days: int) -> date:
    day, counted = start, 0
    while counted < days:
        day += timedelta(days=1)
        if cal.is_working_day(day):
            counted += 1
    return day


def test_add_matches_a_day_by_day_walk():
    rng = random.Random(20260402)
    first, last = d("1990-01-01"), d("2098-06-30")  # room for a year of working days
    span = (last - first).days
    closures = {first + timedelta(days=rng.randrange(span)): f"closure {i}" for i in range(300)}
    calendars = [WorkingDayCalendar(), WorkingDayCalendar(closures)]
    for case in range(4000):
        cal = calendars[case % 2]
        start = first + timedelta(days=rng.randrange(span))
        days = rng.choice((rng.randrange(0, 30), rng.randrange(0, 260)))
        expected = _add_by_walking(cal, start, days)
        assert cal.add(start, days) == expected, (start, days)
        assert cal.between(start, expected) == days, (start, days)


def test_between_counts_like_a_walk():
    rng = random.Random(1989)
    cal = WorkingDayCalendar()
    first = d("1990-01-01")
    for _ in range(1000):
        start = first + timedelta(days=rng.randrange(39000))
        end = start + timedelta(days=rng.randrange(-60, 400))
        low, high = min(start, end), max(start, end)
        walked = sum(
            cal.is_working_day(low + timedelta(days=i)) for i in range(1, (high - low).days + 1)
        )
        assert cal.between(start, end) == (walked if end >= start else -walked), (start, end)


def test_today_in_england_returns_a_date():
    before = datetime.now(ZoneInfo("Europe/London")).date()
    today = today_in_england()
    after = datetime.now(ZoneInfo("Europe/London")).date()
    assert type(today) is date
    assert today in (before, after)


def test_today_in_england_uses_london_time_not_utc(monkeypatch: pytest.MonkeyPatch):
    # 23:30 UTC on 30 June 2026 is 00:30 BST on 1 July in England.
    instant = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)

    class FrozenDatetime(datetime):
        @classmethod
        def now(cls, tz=None):
            return instant.astimezone(tz) if tz is not None else instant.replace(tzinfo=None)

    monkeypatch.setattr(calendar_module, "datetime", FrozenDatetime)
    assert today_in_england() == d("2026-07-01")


def test_one_range_bounds_the_arithmetic_and_what_enters_the_calendar(cal: WorkingDayCalendar):
    assert (calendar_module.FIRST_DAY, calendar_module.LAST_DAY) == (
        d("1990-01-01"),
        d("2099-12-31"),
    )
    assert calendar_module.check_in_range(d("2099-12-31")) == d("2099-12-31")
    for outside in (d("1989-12-31"), d("2100-01-01"), d("1970-01-01")):
        with pytest.raises(calendar_module.OutsideCalendar, match="1990-01-01 to 2099-12-31"):
            calendar_module.check_in_range(outside)
    with pytest.raises(calendar_module.OutsideCalendar, match="1989-06-01"):
        cal.add(d("1989-06-01"), 3)


def test_the_furthest_list_horizon_stays_inside_the_range(cal: WorkingDayCalendar):
    """A "due within N working days" list is bounded so that today + N can be counted."""
    furthest = cal.add(today_in_england(), calendar_module.MAX_HORIZON)
    assert furthest <= calendar_module.LAST_DAY
    assert cal.subtract(calendar_module.LAST_DAY, calendar_module.MAX_HORIZON) == d("2089-09-20")


def test_announced_holidays_outside_the_range_are_refused():
    def govuk(*days: str) -> dict:
        events = [{"title": f"Holiday {day}", "date": day} for day in days]
        return {"england-and-wales": {"events": events}}

    assert calendar_module.parse_bank_holidays(govuk("2026-04-20")) == {
        d("2026-04-20"): "Holiday 2026-04-20"
    }
    with pytest.raises(calendar_module.OutsideCalendar, match="1970-01-01"):
        calendar_module.parse_bank_holidays(govuk("2026-04-20", "1970-01-01"))


def test_a_financial_years_quarters_run_april_to_march() -> None:
    year = FinancialYear.of(2026)
    assert year.quarter(1) == (date(2026, 4, 1), date(2026, 6, 30))
    assert year.quarter(3) == (date(2026, 10, 1), date(2026, 12, 31))
    assert year.quarter(4) == (date(2027, 1, 1), date(2027, 3, 31))
    with pytest.raises(ValueError, match="not 5"):
        year.quarter(5)
