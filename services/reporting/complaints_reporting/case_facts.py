"""The facts reports count about each case and compliment, kept from intake's events.

A case's events reach a handler in the order they happened (the platform holds one
that overtakes an earlier one), but a row is made by whichever event comes first, so a
history replayed from the middle still lands. Only figures and dates are kept: who
complained and what about stay in intake.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from complaints_reporting.models import CaseFacts, ComplimentFacts
from complaints_shared.contracts.envelope import Envelope
from complaints_shared.contracts.events import (
    CaseCorrected,
    CaseReceived,
    CaseReopened,
    CaseResponded,
    CaseWithdrawn,
    ComplimentReceived,
    OmbudsmanDecided,
    OmbudsmanReferred,
)
from complaints_shared.service import Service

CORRECTABLE = ("provider_id", "primary_subject")
"""The corrected fields the figures use; a correction names those it changed."""


async def _facts(session: AsyncSession, envelope: Envelope) -> CaseFacts:
    facts = await session.get(CaseFacts, envelope.case_id, with_for_update=True)
    if facts is None:
        facts = CaseFacts(case_id=envelope.case_id, directorate=envelope.directorate)
        session.add(facts)
    return facts


def register(service: Service) -> None:
    """Keep each case's receipt, provider, subject, first response, withdrawal and
    Ombudsman involvement, and each compliment's date and provider."""

    @service.on(CaseReceived)
    async def received(envelope: Envelope, case: CaseReceived, session: AsyncSession) -> None:
        facts = await _facts(session, envelope)
        facts.received_on = case.received_on
        facts.channel = case.channel
        facts.kind = case.kind
        facts.primary_subject = case.primary_subject
        facts.provider_id = case.provider_id
        facts.provider_reference = case.provider_reference

    @service.on(CaseCorrected)
    async def corrected(envelope: Envelope, change: CaseCorrected, session: AsyncSession) -> None:
        facts = await _facts(session, envelope)
        for name in CORRECTABLE:
            if name in change.fields:
                setattr(facts, name, getattr(change, name))

    @service.on(CaseResponded)
    async def responded(envelope: Envelope, response: CaseResponded, session: AsyncSession) -> None:
        facts = await _facts(session, envelope)
        if facts.responded_on is None:  # later stages' responses do not replace the first
            facts.responded_on = response.responded_on
            facts.outcome = response.outcome

    @service.on(CaseWithdrawn)
    async def withdrawn(envelope: Envelope, _: CaseWithdrawn, session: AsyncSession) -> None:
        (await _facts(session, envelope)).withdrawn = True

    @service.on(CaseReopened)
    async def reopened(envelope: Envelope, _: CaseReopened, session: AsyncSession) -> None:
        (await _facts(session, envelope)).withdrawn = False

    @service.on(OmbudsmanReferred)
    async def referred(
        envelope: Envelope, referral: OmbudsmanReferred, session: AsyncSession
    ) -> None:
        facts = await _facts(session, envelope)
        if facts.ombudsman_referred_on is None:
            facts.ombudsman_referred_on = referral.referred_on

    @service.on(OmbudsmanDecided)
    async def decided(
        envelope: Envelope, decision: OmbudsmanDecided, session: AsyncSession
    ) -> None:
        facts = await _facts(session, envelope)
        facts.ombudsman_decision = decision.decision
        facts.ombudsman_decided_on = decision.decided_on

    @service.on(ComplimentReceived)
    async def compliment(
        envelope: Envelope, compliment: ComplimentReceived, session: AsyncSession
    ) -> None:
        if await session.get(ComplimentFacts, compliment.compliment_id) is None:
            session.add(
                ComplimentFacts(
                    compliment_id=compliment.compliment_id,
                    directorate=envelope.directorate,
                    received_on=compliment.received_on,
                    service_area=compliment.service_area,
                    provider_id=compliment.provider_id,
                )
            )
