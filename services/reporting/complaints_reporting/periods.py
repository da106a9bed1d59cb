"""Financial years and their quarters, as councils report by them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from complaints_shared.calendar import FinancialYear


@dataclass(frozen=True)
class Period:
    """A financial year (``quarter`` None) or one of its quarters (1 is April to June)."""

    year: int
    quarter: int | None = None

    @property
    def days(self) -> tuple[date, date]:
        """Its first and last days."""
        year = FinancialYear.of(self.year)
        return year.quarter(self.quarter) if self.quarter else (year.starts_on, year.ends_on)

    @property
    def starts_on(self) -> date:
        return self.days[0]

    @property
    def ends_on(self) -> date:
        return self.days[1]

    @property
    def label(self) -> str:
        year = FinancialYear.of(self.year).label
        return f"{year} Q{self.quarter}" if self.quarter else year

    def holds(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on

    def quarters(self) -> tuple[Period, ...]:
        """The year's four quarters (a quarter: none)."""
        return () if self.quarter else tuple(Period(self.year, q) for q in (1, 2, 3, 4))
