"""The ``notify`` channel: letters sent by GOV.UK Notify, through its official client.

- **Email**: the council's Notify email template (``COMPLAINTS_NOTIFY_EMAIL_TEMPLATE_ID``)
  with ``((subject))``, ``((body))`` (the letter as plain text) and ``((letter))``, the
  PDF as a file Notify links to (``prepare_upload``; at most 2 MB).
- **Post**: the PDF as a precompiled letter, second class. Notify reads the address
  from the PDF's address block, so the letter's layout must follow Notify's letter
  specification.

Our reference at Notify is the letter id, so :meth:`NotifyChannel.find` can ask
whether a send whose answer was lost went through. The client blocks (``requests``),
so each call runs in a thread, with a client of its own (the client is not
thread-safe). Errors are sorted as the delivery worker needs them: a 400 (an
address Notify will not take, a PDF it will not print) is a permanent refusal with
Notify's message as the reason; any other 4xx (rate limit, a key Notify does not
accept) a refusal worth trying again; a 5xx, a timeout or no connection leaves the
outcome unknown.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable, Collection
from typing import Any, TypeVar

from notifications_python_client import NotificationsAPIClient, prepare_upload
from notifications_python_client.errors import APIError

from complaints_letters.channels import (
    OutcomeUnknown,
    Outgoing,
    Receipt,
    Refused,
    State,
)
from complaints_shared.settings import Settings

T = TypeVar("T")

# The client logs each failed request with Notify's message; ours says what is needed
# (ids and status codes) and nothing a provider's message might quote.
logging.getLogger("notifications_python_client").setLevel(logging.ERROR)

POSTAGE = "second"

SENDING = {"created", "sending", "pending", "sent", "accepted", "pending-virus-check"}
DELIVERED = {"delivered", "received"}
PERMANENT = {
    "permanent-failure": "the recipient's address does not exist, or the letter cannot be printed",
    "validation-failed": "the PDF is outside Notify's letter specification (printable area)",
    "virus-scan-failed": "Notify's virus scan refused the PDF",
    "cancelled": "the letter was cancelled in GOV.UK Notify",
    "returned-letter": "the letter was returned undelivered",
}
TEMPORARY = {
    "temporary-failure": "the recipient's inbox was full or unavailable",
    "technical-failure": "GOV.UK Notify had a technical failure",
    "failed": "GOV.UK Notify could not deliver it",
}


def receipt_from(notification: dict[str, Any]) -> Receipt:
    """Our view of a Notify notification (its statuses for emails and letters)."""
    provider_id = str(notification["id"])
    status = str(notification.get("status") or "")
    if status in DELIVERED:
        return Receipt(provider_id, State.DELIVERED)
    if status in PERMANENT:
        reason = f"GOV.UK Notify: {status} ({PERMANENT[status]})"
        return Receipt(provider_id, State.FAILED, reason, permanent=True)
    if status in TEMPORARY:
        reason = f"GOV.UK Notify: {status} ({TEMPORARY[status]})"
        return Receipt(provider_id, State.FAILED, reason, permanent=False)
    return Receipt(provider_id, State.SENDING)  # SENDING, or a status new to us: ask again


def _message(error: APIError) -> str:
    """Notify's own words for a refusal: ``[{"error": ..., "message": ...}]`` joined."""
    said = error.message
    if isinstance(said, list):
        parts = [
            f"{item.get('error', 'Error')}: {item.get('message', '')}"
            for item in said
            if isinstance(item, dict)
        ]
        said = "; ".join(parts) or "refused"
    return f"GOV.UK Notify {error.status_code}: {said}"[:480]


class NotifyChannel:
    name = "notify"

    def __init__(
        self,
        api_key: str,
        base_url: str,
        email_template_id: str | None,
        timeout: float,
        email_pdf: bool = True,
    ) -> None:
        """``email_pdf``: link each email's letter as a PDF (``((letter))``), or send
        the words alone (no PDF rendered: much cheaper at volume)."""
        self._key = api_key
        self.base_url = base_url
        self.email_template_id = email_template_id
        self.timeout = timeout
        self.email_pdf = email_pdf

    def _client(self) -> NotificationsAPIClient:
        return NotificationsAPIClient(self._key, base_url=self.base_url, timeout=self.timeout)

    async def _call(self, call: Callable[[NotificationsAPIClient], T]) -> T:
        """Run ``call`` with a fresh client in a thread, sorting Notify's errors."""

        def run() -> T:
            client = self._client()
            try:
                return call(client)
            finally:
                client.request_session.close()

        try:
            return await asyncio.to_thread(run)
        except APIError as error:
            # The client reports no answer at all (timeout, no connection) as a 503.
            code = error.status_code
            if error.response is None or code >= 500 or code < 400:
                raise OutcomeUnknown(_message(error)) from None
            raise Refused(_message(error), permanent=code == 400) from None

    async def send(self, outgoing: Outgoing) -> Receipt:
        if outgoing.route == "email":
            if not self.email_template_id:
                raise Refused("COMPLAINTS_NOTIFY_EMAIL_TEMPLATE_ID is not set", permanent=False)
            if not outgoing.email:
                raise Refused("no email address to send to", permanent=True)
            personalisation = {"subject": outgoing.subject, "body": outgoing.text}
            if self.email_pdf:
                personalisation["letter"] = await self._upload(outgoing)
            answer = await self._call(
                lambda client: client.send_email_notification(
                    email_address=outgoing.email,
                    template_id=self.email_template_id,
                    personalisation=personalisation,
                    reference=outgoing.reference,
                )
            )
        else:
            pdf = await outgoing.pdf_bytes()
            answer = await self._call(
                lambda client: client.send_precompiled_letter_notification(
                    reference=outgoing.reference, pdf_file=io.BytesIO(pdf), postage=POSTAGE
                )
            )
        if not isinstance(answer, dict) or "id" not in answer:
            raise OutcomeUnknown("GOV.UK Notify accepted the request but gave no notification id")
        return Receipt(provider_id=str(answer["id"]))

    async def _upload(self, outgoing: Outgoing) -> dict[str, Any]:
        """The letter's PDF as Notify takes a file sent by email."""
        pdf = await outgoing.pdf_bytes()
        try:
            return prepare_upload(
                io.BytesIO(pdf), filename=f"{outgoing.case_reference}-{outgoing.kind}.pdf"
            )
        except ValueError:
            raise Refused(
                "the letter's PDF is larger than GOV.UK Notify's 2 MB limit", permanent=True
            ) from None

    async def find(self, reference: str, besides: Collection[str] = ()) -> Receipt | None:
        answer = await self._call(lambda client: client.get_all_notifications(reference=reference))
        for notification in (answer or {}).get("notifications", []):  # newest first
            if (
                notification.get("reference") == reference
                and str(notification["id"]) not in besides
            ):
                return receipt_from(notification)
        return None

    async def status(self, receipt: Receipt) -> Receipt:
        answer = await self._call(lambda client: client.get_notification_by_id(receipt.provider_id))
        return receipt_from(answer)


def create(settings: Settings) -> NotifyChannel:
    if settings.notify_api_key is None:
        raise ValueError("the notify letter channel needs COMPLAINTS_NOTIFY_API_KEY")
    return NotifyChannel(
        settings.notify_api_key.get_secret_value(),
        settings.notify_base_url,
        settings.notify_email_template_id,
        settings.letters_send_timeout,
        settings.notify_email_pdf,
    )
