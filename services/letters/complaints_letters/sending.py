"""A letter as it leaves: dated the day it goes, rendered again, addressed (a letter to
staff to the email its event gave; one without fails as having no address).

The delivery worker calls :func:`preparer`'s function inside the transaction that
claims the letter, so the date and the words it is sent with are the ones kept.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from complaints_letters.channels import Outgoing
from complaints_letters.delivery import NoRoute, Prepare, Recipient, address_lines, recipient
from complaints_letters.drafting import Drafter
from complaints_letters.formats import as_pdf
from complaints_letters.models import CaseFacts, Letter
from complaints_shared.calendar import today_in_england
from complaints_shared.settings import Settings


def preparer(settings: Settings, drafter: Drafter) -> Prepare:
    """The delivery worker's ``prepare``: render with today's date, choose the route."""

    async def prepare(session: AsyncSession, letter: Letter) -> Outgoing:
        drafter.render(letter, today_in_england())
        if letter.case_id is None:  # to staff (kinds.STAFF): by email, to whom the event said
            email = letter.facts.get("recipient_email")
            if not email:
                raise NoRoute("the reminder gives no email address for its recipient")
            to = Recipient("email", email, ())
            reference = "learning"
            subject = f"{settings.organisation_name}: {letter.facts['subject']}"
        else:
            facts = await session.get(CaseFacts, letter.case_id)
            addressee = (letter.wording or {}).get("recipient_address")
            if addressee:  # to someone other than the complainant (a consent request): by post
                to = Recipient("post", None, address_lines(addressee))
            else:
                to = recipient(letter, facts)
            reference = (facts.reference if facts else None) or ""
            subject = f"{settings.organisation_name}: your complaint {reference}"
        html = letter.html
        return Outgoing(
            letter_id=letter.id,
            route=to.route,
            kind=letter.kind,
            case_reference=reference,
            subject=subject,
            text=letter.text,
            pdf=lambda: as_pdf(html),
            email=to.email,
            address=to.address,
        )

    return prepare
