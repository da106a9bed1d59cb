"""Procedures as data: each step's timescale in working days, with its source.

A step either counts from the day the complaint was received or from another
step's due date (``after``). The skeleton schedules the first steps of each
procedure; later stages, extensions and clock stops build on the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass

from complaints_shared.contracts.vocabulary import DeadlineKind


@dataclass(frozen=True)
class Step:
    kind: DeadlineKind
    working_days: int
    rule: str
    after: DeadlineKind | None = None


PROCEDURES: dict[str, tuple[Step, ...]] = {
    "adults": (
        Step(
            DeadlineKind.ACKNOWLEDGEMENT,
            3,
            "Acknowledge within 3 working days of receipt (Local Authority Social Services "
            "and NHS Complaints (England) Regulations 2009, reg. 13(2))",
        ),
        Step(
            DeadlineKind.RESPONSE,
            20,
            "Respond within the council's local target of 20 working days of receipt "
            "(statutory limit 6 months, 2009 Regulations reg. 14(2))",
        ),
    ),
    "childrens": (
        Step(
            DeadlineKind.ACKNOWLEDGEMENT,
            3,
            "Acknowledge within 3 working days of receipt (Getting the Best from Complaints, 2006)",
        ),
        Step(
            DeadlineKind.RESPONSE,
            10,
            "Stage 1 response within 10 working days of receipt, extendable to 20 (Children "
            "Act 1989 Representations Procedure (England) Regulations 2006, reg. 14)",
        ),
    ),
    "corporate": (
        Step(
            DeadlineKind.ACKNOWLEDGEMENT,
            5,
            "Acknowledge within 5 working days of receipt (LGSCO Complaint Handling Code)",
        ),
        Step(
            DeadlineKind.RESPONSE,
            10,
            "Stage 1 response within 10 working days of acknowledgement (LGSCO Complaint "
            "Handling Code); counted from the acknowledgement's due date",
            after=DeadlineKind.ACKNOWLEDGEMENT,
        ),
    ),
}


def procedure(name: str) -> tuple[Step, ...]:
    try:
        return PROCEDURES[name]
    except KeyError:
        known = ", ".join(sorted(PROCEDURES))
        raise LookupError(f"no procedure named {name!r}; known: {known}") from None
