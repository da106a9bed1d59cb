"""A response letter's last paragraph: what the complainant can do next, and by when.

After a stage with an escalation window the complainant may ask for the next stage
within that many working days of the response (the deadlines engine schedules the
same window, and approval checks the two dates agree). After the last local stage
the next step is the Local Government and Social Care Ombudsman.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from complaints_shared.calendar import WorkingDayCalendar
from complaints_shared.procedures import Procedure

OMBUDSMAN = {
    "name": "Local Government and Social Care Ombudsman",
    "web": "www.lgo.org.uk",
    "phone": "0300 061 0614",
    "time_limit": "12 months",
}
"""How to reach the Ombudsman, and its time limit: it usually looks only at complaints
brought within 12 months of the complainant first knowing of the problem."""


@dataclass(frozen=True)
class NextStep:
    kind: str
    """``escalate`` (ask for ``to_stage``) or ``ombudsman``."""
    to_stage: int | None = None
    stage_name: str | None = None
    working_days: int | None = None
    by: date | None = None

    def as_facts(self) -> dict:
        return {
            "kind": self.kind,
            "to_stage": self.to_stage,
            "stage_name": self.stage_name,
            "working_days": self.working_days,
            "by": self.by.isoformat() if self.by else None,
            "ombudsman": OMBUDSMAN,
        }


def next_step(
    procedure: Procedure, stage: int, responded_on: date, calendar: WorkingDayCalendar
) -> NextStep:
    """What follows ``stage``'s response, dated on working days from ``responded_on``."""
    window = procedure.stage(stage).escalation_window
    if window is None or stage >= procedure.last_stage:
        return NextStep("ombudsman")
    following = procedure.stage(stage + 1)
    return NextStep(
        "escalate",
        to_stage=stage + 1,
        stage_name=following.name,
        working_days=window,
        by=calendar.add(responded_on, window),
    )
