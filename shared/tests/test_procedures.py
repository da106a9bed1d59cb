"""Procedures are plugins, and their definitions are checked when loaded."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from complaints_shared.contracts.vocabulary import DeadlineKind
from complaints_shared.procedures import Procedure, Stage, Step, installed_procedures, procedure


def test_the_statutory_procedures_are_installed_as_plugins() -> None:
    installed = installed_procedures()
    assert {name: p.last_stage for name, p in installed.items()} == {
        "adults": 1,
        "childrens": 3,
        "corporate": 2,
    }


def test_timescales_and_extension_caps_follow_the_regulations() -> None:
    childrens = procedure("childrens")
    stage1, stage2, stage3 = childrens.stages
    assert (stage1.step(DeadlineKind.RESPONSE).working_days, stage1.escalation_window) == (10, 20)
    assert stage1.step(DeadlineKind.RESPONSE).extendable_to == 20
    assert stage2.step(DeadlineKind.RESPONSE).extendable_to == 65
    chain = [(s.kind, s.working_days, s.counts_from) for s in stage3.steps]
    assert chain == [
        (DeadlineKind.PANEL, 30, "stage_start"),
        (DeadlineKind.PANEL_REPORT, 5, DeadlineKind.PANEL),
        (DeadlineKind.RESPONSE, 15, DeadlineKind.PANEL_REPORT),
    ]
    corporate = procedure("corporate").stage(1)
    assert corporate.step(DeadlineKind.RESPONSE).counts_from == DeadlineKind.ACKNOWLEDGEMENT
    assert procedure("adults").stage(1).step(DeadlineKind.ACKNOWLEDGEMENT).working_days == 3


def test_unknown_procedures_and_stages_are_named_in_the_error() -> None:
    with pytest.raises(LookupError, match="no procedure named 'housing'; known: adults"):
        procedure("housing")
    with pytest.raises(LookupError, match="adults has no stage 2"):
        procedure("adults").stage(2)


def test_a_malformed_procedure_is_refused() -> None:
    with pytest.raises(ValidationError, match="extendable_to is below"):
        Step(kind=DeadlineKind.RESPONSE, working_days=10, extendable_to=5, rule="r")
    step = Step(kind=DeadlineKind.RESPONSE, working_days=10, rule="r")
    with pytest.raises(ValidationError, match="numbered 1, 2"):
        Procedure(name="own", title="Own", stages=(Stage(number=2, name="x", steps=(step,)),))
