"""What must be true of a letter before it may be approved.

The seeds' failures are in letters: responses without the right to escalate, dates
that disagree with the procedure, no reference. A response letter is therefore
checked as it reads (its rendered text, whatever template drew it), and against the
deadlines engine's date for the complainant's next step.
"""

from __future__ import annotations

from datetime import date

from complaints_letters.kinds import WORDING, Kind
from complaints_letters.models import CaseFacts, Letter
from complaints_letters.next_step import OMBUDSMAN
from complaints_letters.packs import long_date
from complaints_shared.contracts.vocabulary import DeadlineKind


def problems(letter: Letter, facts: CaseFacts) -> list[str]:
    """Everything that stops ``letter`` going, each saying what is missing; [] if none."""
    text = " ".join(letter.text.split())
    found: list[str] = []
    if not facts.reference or facts.reference not in text:
        found.append(f"the letter does not give the case reference {facts.reference}")
    kind = Kind(letter.kind)
    wording = letter.wording or {}
    found += [
        f"the officer's words are missing: {part}"
        for part in WORDING.get(kind, ())
        if not (wording.get(part) or "").strip()
    ]
    if kind == Kind.RESPONSE:
        found += _response_problems(letter, facts, text)
    return found


def _response_problems(letter: Letter, facts: CaseFacts, text: str) -> list[str]:
    found = [
        f"the finding on point {finding['summary']!r} needs the officer's explanation"
        for finding in letter.facts.get("findings", [])
        if not (letter.wording.get(f"finding.{finding['point_id']}") or "").strip()
    ]
    step = letter.facts.get("next_step", {})
    if step.get("kind") == "ombudsman":
        if OMBUDSMAN["name"] not in text:
            found.append("the paragraph on the right to go to the Ombudsman is missing")
        return found
    by = date.fromisoformat(step["by"])
    if long_date(by) not in text:
        found.append(
            f"the paragraph on the right to ask for stage {step['to_stage']} by "
            f"{long_date(by)} is missing"
        )
    engine = facts.due.get(f"{letter.stage}.{DeadlineKind.ESCALATION_WINDOW}")
    if engine is None:
        found.append(
            "the deadlines engine has not yet dated the window to ask for stage "
            f"{step['to_stage']}: try again in a moment"
        )
    elif date.fromisoformat(engine) != by:  # refresh takes the engine's
        found.append(
            f"the letter gives {long_date(by)} as the last day to ask for stage "
            f"{step['to_stage']}, but the deadlines engine says "
            f"{long_date(date.fromisoformat(engine))}: refresh the draft to take it"
        )
    return found
