"""Complaint procedures as data: stages, their steps' timescales, extension caps.

Intake uses a procedure's stages (how many, what may be extended and by how much,
whether a response can be escalated); deadlines uses the steps' timescales. Both
read the same definitions, which are plugins: each is a ``Procedure`` object named
under the ``complaints.procedures`` entry-point group, so a council adds its own by
installing a distribution. The statutory ones ship here.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from pydantic import BaseModel, ConfigDict, Field, model_validator

from complaints_shared.contracts.vocabulary import DeadlineKind

PROCEDURES_GROUP = "complaints.procedures"

STAGE_START = "stage_start"
MAX_STAGES = 9
"""The most stages a procedure may have (the statutory ones have two or three)."""


class Step(BaseModel):
    """A dated step within a stage, e.g. "respond within 10 working days"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: DeadlineKind
    working_days: int = Field(default=0, ge=0)
    calendar_months: int = Field(default=0, ge=0, description="For month-based limits instead.")
    reminder_days: int | None = Field(
        default=None, ge=0, description="Working days before it is due to remind (default: config)."
    )
    counts_from: DeadlineKind | str = Field(
        default=STAGE_START,
        description="'stage_start' (the day the stage began), or another step of the stage",
    )
    extendable_to: int | None = Field(
        default=None, description="Most working days it may run to with an extension."
    )
    rule: str

    @model_validator(mode="after")
    def _cap_above_timescale(self) -> Step:
        if (self.working_days > 0) == (self.calendar_months > 0):
            raise ValueError(f"{self.kind}: give working_days or calendar_months, not both")
        if self.extendable_to is not None and self.extendable_to < self.working_days:
            raise ValueError(f"{self.kind}: extendable_to is below its {self.working_days} days")
        return self


class Stage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    number: int = Field(ge=1)
    name: str
    steps: tuple[Step, ...]
    escalation_window: int | None = Field(
        default=None,
        description="Working days after this stage's response in which the next may be asked for.",
    )

    def step(self, kind: DeadlineKind) -> Step | None:
        return next((step for step in self.steps if step.kind == kind), None)


class Procedure(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9_-]+$")
    title: str
    stages: tuple[Stage, ...] = Field(min_length=1, max_length=MAX_STAGES)

    @model_validator(mode="after")
    def _stages_numbered(self) -> Procedure:
        numbers = [stage.number for stage in self.stages]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(f"{self.name}: stages must be numbered 1, 2, ... (got {numbers})")
        return self

    def stage(self, number: int) -> Stage:
        if not 1 <= number <= len(self.stages):
            raise LookupError(f"{self.name} has no stage {number}")
        return self.stages[number - 1]

    @property
    def last_stage(self) -> int:
        return len(self.stages)


_ACK, _RESPONSE = DeadlineKind.ACKNOWLEDGEMENT, DeadlineKind.RESPONSE

ADULTS = Procedure(
    name="adults",
    title="Adult social care statutory complaints procedure",
    stages=(
        Stage(
            number=1,
            name="Local resolution",
            steps=(
                Step(
                    kind=_ACK,
                    working_days=3,
                    rule="Acknowledge within 3 working days of receipt (Local Authority Social "
                    "Services and NHS Complaints (England) Regulations 2009, reg. 13(2))",
                ),
                Step(
                    kind=_RESPONSE,
                    working_days=20,
                    # Longer by agreement with the complainant, within the 6-month
                    # relevant period (about 129 working days).
                    extendable_to=129,
                    rule="Respond within the council's local target of 20 working days of "
                    "receipt (statutory limit 6 months, 2009 Regulations reg. 14(2))",
                ),
                Step(
                    kind=DeadlineKind.STATUTORY_LIMIT,
                    calendar_months=6,
                    reminder_days=20,
                    rule="Respond within the relevant period of 6 months from receipt unless a "
                    "longer period is agreed (2009 Regulations reg. 14(2)(b))",
                ),
            ),
        ),
    ),
)

CHILDRENS = Procedure(
    name="childrens",
    title="Children's social care statutory complaints procedure",
    stages=(
        Stage(
            number=1,
            name="Local resolution",
            escalation_window=20,
            steps=(
                Step(
                    kind=_ACK,
                    working_days=3,
                    rule="Acknowledge within 3 working days of receipt (Getting the Best from "
                    "Complaints, 2006)",
                ),
                Step(
                    kind=_RESPONSE,
                    working_days=10,
                    extendable_to=20,
                    rule="Stage 1 response within 10 working days of receipt, extendable to 20 "
                    "(Children Act 1989 Representations Procedure (England) Regulations 2006, "
                    "reg. 14)",
                ),
            ),
        ),
        Stage(
            number=2,
            name="Investigation",
            escalation_window=20,
            steps=(
                Step(
                    kind=_RESPONSE,
                    working_days=25,
                    extendable_to=65,
                    rule="Stage 2 investigation and response within 25 working days of the "
                    "request, extendable to 65 (2006 Regulations, reg. 17)",
                ),
            ),
        ),
        Stage(
            number=3,
            name="Review panel",
            steps=(
                Step(
                    kind=DeadlineKind.PANEL,
                    working_days=30,
                    rule="Review panel convened within 30 working days of the request "
                    "(2006 Regulations, reg. 18)",
                ),
                Step(
                    kind=DeadlineKind.PANEL_REPORT,
                    working_days=5,
                    counts_from=DeadlineKind.PANEL,
                    rule="Panel's report within 5 working days of the panel (reg. 19)",
                ),
                Step(
                    kind=_RESPONSE,
                    working_days=15,
                    counts_from=DeadlineKind.PANEL_REPORT,
                    rule="Council's response within 15 working days of the panel's report "
                    "(reg. 19)",
                ),
            ),
        ),
    ),
)

CORPORATE = Procedure(
    name="corporate",
    title="Corporate complaints procedure (LGSCO Complaint Handling Code)",
    stages=(
        Stage(
            number=1,
            name="Stage 1",
            escalation_window=20,
            steps=(
                Step(
                    kind=_ACK,
                    working_days=5,
                    rule="Acknowledge within 5 working days of receipt (LGSCO Complaint "
                    "Handling Code)",
                ),
                Step(
                    kind=_RESPONSE,
                    working_days=10,
                    counts_from=_ACK,
                    extendable_to=20,
                    rule="Stage 1 response within 10 working days of acknowledgement, "
                    "extendable by 10 with reasons (LGSCO Complaint Handling Code)",
                ),
            ),
        ),
        Stage(
            number=2,
            name="Stage 2",
            steps=(
                Step(
                    kind=_ACK,
                    working_days=5,
                    rule="Acknowledge the escalation within 5 working days (LGSCO Complaint "
                    "Handling Code)",
                ),
                Step(
                    kind=_RESPONSE,
                    working_days=20,
                    counts_from=_ACK,
                    extendable_to=40,
                    rule="Stage 2 response within 20 working days of acknowledgement, "
                    "extendable by 20 with reasons (LGSCO Complaint Handling Code)",
                ),
            ),
        ),
    ),
)


@cache
def installed_procedures() -> dict[str, Procedure]:
    """Every procedure installed as a plugin, by name."""
    found: dict[str, Procedure] = {}
    for entry in entry_points(group=PROCEDURES_GROUP):
        procedure = entry.load()
        if not isinstance(procedure, Procedure):
            raise TypeError(f"{PROCEDURES_GROUP} plugin {entry.name} is not a Procedure")
        found[procedure.name] = procedure
    return found


def configured_procedures(
    extra: tuple[Procedure, ...] = (), overrides: dict[str, dict[str, int]] | None = None
) -> dict[str, Procedure]:
    """Installed procedures, plus a council's own, with its timescale overrides applied.

    ``overrides`` maps a procedure to ``{"<stage>.<step>": working_days}``, e.g.
    ``{"adults": {"1.response": 25}}`` for a 25-day local target. An override that
    names no existing step is an error, not a silent no-op.
    """
    procedures = {**installed_procedures(), **{p.name: p for p in extra}}
    for name, changes in (overrides or {}).items():
        if name not in procedures:
            raise LookupError(f"override for unknown procedure {name!r}")
        data = procedures[name].model_dump()
        for key, working_days in changes.items():
            stage_number, _, kind = key.partition(".")
            try:
                stage = data["stages"][int(stage_number) - 1]
                step = next(s for s in stage["steps"] if s["kind"] == kind)
            except (ValueError, IndexError, StopIteration):
                raise LookupError(f"override {name} {key!r}: no such stage and step") from None
            step["working_days"] = working_days
            step["rule"] += f" (overridden by the council: {working_days} working days)"
        procedures[name] = Procedure.model_validate(data)
    return procedures


def procedure(name: str, procedures: dict[str, Procedure] | None = None) -> Procedure:
    """The procedure called ``name``, or a LookupError naming those there are."""
    procedures = installed_procedures() if procedures is None else procedures
    try:
        return procedures[name]
    except KeyError:
        known = ", ".join(sorted(procedures))
        raise LookupError(f"no procedure named {name!r}; known: {known}") from None
