"""Drafting letters: the statutory parts from the case, the officer's words, the rendering.

A letter's ``facts`` are filled in from the case when it is drafted (and again when an
officer refreshes it); its ``wording`` is what the officer writes. Both are kept, so
the letter can be rendered again as it was, on the day it is sent (a letter is dated
the day it goes). A letter that needs nobody's words is approved as it is drafted and
the delivery worker sends it; one that does, or that an officer must look at first
(``kinds.CHECKED_FIRST``), waits as a draft. Letters to staff have no case and are
drafted approved (:meth:`Drafter.draft_for_staff`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import structlog
from markupsafe import Markup, escape
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from complaints_letters.delivery import address_lines
from complaints_letters.formats import as_text
from complaints_letters.kinds import CHECKED_FIRST, WORDED, Kind, template_for
from complaints_letters.models import SYSTEM, CaseFacts, Letter, Status, history
from complaints_letters.packs import TemplatePacks
from complaints_shared.calendar import today_in_england
from complaints_shared.settings import Settings

log = structlog.get_logger(__name__)

PROCEDURE_NAMES = {
    "adults": "statutory adult social care complaints procedure",
    "childrens": "statutory children's social care complaints procedure",
    "corporate": "corporate complaints procedure",
}

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _dates(value: Any) -> Any:
    """``facts`` as stored (JSON) with its ISO dates as dates again, for the templates."""
    if isinstance(value, dict):
        return {key: _dates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_dates(item) for item in value]
    if isinstance(value, str) and _ISO_DATE.match(value):
        return date.fromisoformat(value)
    return value


class Drafter:
    """Drafts letters for a service's cases and renders them."""

    def __init__(self, settings: Settings, templates: TemplatePacks) -> None:
        self.settings = settings
        self.templates = templates
        self.wake: Callable[[], None] = lambda: None
        """Told when a letter is drafted approved (the service sets it to the delivery
        worker's wake-up), once the drafting transaction commits."""

    def common(self, facts: CaseFacts, kind: Kind, stage: int) -> dict[str, Any]:
        """What every letter carries: who writes, to whom, about which case."""
        settings = self.settings
        complainant = facts.complainant or {}
        name = complainant.get("name")
        directorate = settings.directorates.get(facts.directorate or "")
        return {
            "organisation_name": settings.organisation_name,
            "complaints_team": settings.complaints_team,
            "contact": settings.complaints_contact.model_dump(mode="json"),
            "reference": facts.reference,
            "recipient": {
                "name": name,
                "address_lines": list(address_lines(complainant.get("address"))),
            },
            "salutation": f"Dear {name}" if name else "Dear Sir or Madam",
            "complainant_name": name,
            "kind": str(kind),
            "stage": stage,
            "procedure": facts.procedure,
            "procedure_name": PROCEDURE_NAMES.get(facts.procedure or "", "complaints procedure"),
            "directorate_name": directorate.name if directorate else facts.directorate,
            "received_on": facts.received_on.isoformat() if facts.received_on else None,
            # An acknowledgement is the team's (it goes before anyone is allocated).
            "signatory": settings.complaints_team
            if kind == Kind.ACKNOWLEDGEMENT
            else facts.officer or settings.complaints_team,
        }

    def render(self, letter: Letter, issued_on: date) -> None:
        """(Re)render ``letter`` as it reads on ``issued_on``: its html and its text."""
        context = {
            **_dates(letter.facts),
            **_addressee(letter.wording or {}),
            "variant": letter.variant,
            "issued_on": issued_on,
            "words": _words(letter.wording or {}, draft=letter.status == Status.DRAFT),
        }
        rendered = self.templates.render(
            template_for(Kind(letter.kind), letter.stage),
            context,
            organisation=letter.facts.get("organisation") or self.settings.organisation,
            directorate=letter.facts.get("directorate") or "",
            variant=letter.variant,
        )
        letter.html = rendered.html
        letter.template = f"{rendered.template} ({rendered.source})"
        letter.text = as_text(rendered.html)
        letter.issued_on = issued_on

    def redate(self, letter: Letter, facts: CaseFacts) -> str | None:
        """Take the deadlines engine's date for a response's next step (it is the record:
        it knows closure days this service's calendar may not); what changed, or None."""
        step = letter.facts.get("next_step", {})
        engine = facts.due.get(f"{letter.stage}.escalation_window")
        if step.get("kind") != "escalate" or engine is None or step.get("by") == engine:
            return None
        letter.facts = {**letter.facts, "next_step": {**step, "by": engine}}
        letter.next_step_on = date.fromisoformat(engine)
        self.render(letter, today_in_england())
        return f"next step by {engine} (was {step.get('by')}), as the deadlines engine has it"

    async def draft(
        self,
        session: AsyncSession,
        facts: CaseFacts,
        kind: Kind,
        key: str,
        particulars: dict[str, Any] | None = None,
        *,
        stage: int = 1,
        actor: str = SYSTEM,
        wording: dict[str, str] | None = None,
        next_step_on: date | None = None,
    ) -> Letter | None:
        """Draft a ``kind`` letter for the case once per ``key``; None if it exists already
        or there is nobody to write to (an imported case, an anonymous complaint with no
        address)."""
        if facts.imported or not facts.writable:
            return None
        exists = await session.scalar(
            select(Letter.id).where(Letter.case_id == facts.case_id, Letter.key == key).limit(1)
        )
        if exists is not None:
            return None
        worded = kind in WORDED and not (
            kind in (Kind.HOLDING, Kind.CLOCK_STOPPED) and self.settings.letters_automatic_holding
        )
        held = worded or kind in CHECKED_FIRST
        letter_id = uuid.uuid4()
        letter = Letter(
            id=letter_id,
            series=letter_id,
            version=1,
            case_id=facts.case_id,
            key=key,
            kind=str(kind),
            stage=stage,
            variant=_variant(facts),
            status=Status.DRAFT if held else Status.APPROVED,
            needs_approval=self.settings.approval_needed(facts.directorate or "", str(kind)),
            facts={
                **self.common(facts, kind, stage),
                "organisation": facts.organisation,
                "directorate": facts.directorate,
                **(particulars or {}),
            },
            wording=dict(wording or {}),
            next_step_on=next_step_on,
            drafted_by=actor,
        )
        await self._keep(session, letter, actor, f"{kind}, stage {stage}")
        return letter

    async def draft_for_staff(
        self,
        session: AsyncSession,
        kind: Kind,
        key: str,
        particulars: dict[str, Any],
        *,
        recipient: str,
        organisation: str,
        directorate: str,
        send_after: datetime | None = None,
    ) -> Letter:
        """Draft a letter to a member of staff about no case, approved at once (nobody
        writes or checks a reminder); the caller has made sure ``key`` is new."""
        settings = self.settings
        letter_id = uuid.uuid4()
        letter = Letter(
            id=letter_id,
            series=letter_id,
            version=1,
            case_id=None,
            key=key,
            kind=str(kind),
            stage=1,
            variant="standard",
            status=Status.APPROVED,
            needs_approval=False,
            route="email",
            send_after=send_after,
            facts={
                "organisation_name": settings.organisation_name,
                "complaints_team": settings.complaints_team,
                "contact": settings.complaints_contact.model_dump(mode="json"),
                "reference": None,
                "recipient": {"name": recipient, "address_lines": []},
                "salutation": f"Dear {recipient}",
                "signatory": settings.complaints_team,
                "kind": str(kind),
                "organisation": organisation,
                "directorate": directorate,
                **particulars,
            },
            wording={},
            drafted_by=SYSTEM,
        )
        await self._keep(session, letter, SYSTEM, str(kind))
        return letter

    async def _keep(self, session: AsyncSession, letter: Letter, actor: str, what: str) -> None:
        """Render a new letter, store it with its history, and wake the delivery worker
        after the commit if it is ready to go."""
        self.render(letter, today_in_england())
        session.add(letter)
        await session.flush()
        history(session, letter, actor, "drafted", what)
        if letter.status == Status.APPROVED:
            history(session, letter, SYSTEM, "approved", "needs nobody's words")
            event.listen(session.sync_session, "after_commit", lambda _: self.wake(), once=True)
        log.info("letter drafted", letter_id=str(letter.id), kind=letter.kind, status=letter.status)


def _addressee(wording: dict[str, str]) -> dict[str, Any]:
    """A letter to someone other than the complainant (the service user asked for consent)
    is addressed as the officer wrote."""
    name = (wording.get("recipient_name") or "").strip()
    if not name:
        return {}
    return {
        "recipient": {
            "name": name,
            "address_lines": list(address_lines(wording.get("recipient_address"))),
        },
        "salutation": f"Dear {name}",
    }


def _variant(facts: CaseFacts) -> str:
    """Large print or easy read when the complainant asked for it in their needs."""
    needs = ((facts.complainant or {}).get("accessibility_needs") or "").lower()
    if "easy read" in needs:
        return "easy_read"
    if "large print" in needs:
        return "large_print"
    return "standard"


def _words(wording: dict[str, str], draft: bool) -> Callable[[str], Markup]:
    """``words(part)`` in a template: the officer's text as paragraphs (escaped), or in a
    draft a visible gap saying what is still to write."""

    def words(part: str) -> Markup:
        text = (wording.get(part) or "").strip()
        if not text:
            return (
                Markup('<p class="gap">[To be written: {}]</p>').format(part) if draft else Markup()
            )
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
        return Markup("").join(Markup("<p>{}</p>").format(escape(p)) for p in paragraphs)

    return words
