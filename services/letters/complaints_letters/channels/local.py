"""The ``local`` channel: letters written to ``<data_dir>/outbox/`` for the embedded run.

Each letter is written as its route would carry it, owner-only, under
``<case reference>-<kind>-<letter id>``:

- **email**: ``.eml``, the message itself (to, subject and the letter's words as its
  body), which any mail program opens or forwards. No PDF is rendered: an emailed
  letter is its text, and a PDF costs a tenth of a second or more of CPU per letter,
  which at a council's volumes is most of the suite's time (issue 7);
- **post**: ``.pdf`` to print, and ``.txt`` beside it.

Writing them is delivering them. Each file is written beside its name and renamed
into place, the ``.eml`` or the PDF last, so that file under the letter's name means
the whole letter is there (what :meth:`find` checks).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Collection
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from complaints_letters.channels import Outgoing, Receipt, State
from complaints_shared.private_files import private_dir
from complaints_shared.settings import Settings

UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
DELIVERED_AS = (".eml", ".pdf")
"""The file that is written last for each route: its presence means the letter went."""


def _write_private(path: Path, content: bytes) -> None:
    partial = path.with_name(f".{path.name}.partial")
    descriptor = os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(content)
        file.flush()
        os.fsync(file.fileno())
    os.replace(partial, path)


class LocalChannel:
    name = "local"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path_for(self, outgoing: Outgoing) -> Path:
        reference = UNSAFE.sub("_", outgoing.case_reference) or "case"
        kind = UNSAFE.sub("_", outgoing.kind) or "letter"
        return self.folder / f"{reference}-{kind}-{outgoing.letter_id}.pdf"

    async def send(self, outgoing: Outgoing) -> Receipt:
        path = self.path_for(outgoing)
        if outgoing.route == "email":
            path = path.with_suffix(".eml")
            files = [(path, as_email(outgoing))]
        else:
            pdf = await outgoing.pdf_bytes()
            files = [(path.with_suffix(".txt"), outgoing.text.encode()), (path, pdf)]

        def write() -> None:
            private_dir(self.folder)
            for name, content in files:
                _write_private(name, content)

        await asyncio.to_thread(write)
        return Receipt(provider_id=path.name, state=State.DELIVERED)

    async def find(self, reference: str, besides: Collection[str] = ()) -> Receipt | None:
        names = await asyncio.to_thread(
            lambda: sorted(
                p.name
                for suffix in DELIVERED_AS
                for p in self.folder.glob(f"*-{reference}{suffix}")
            )
        )
        found = [name for name in names if name not in besides]
        return Receipt(provider_id=found[0], state=State.DELIVERED) if found else None

    async def status(self, receipt: Receipt) -> Receipt:
        return Receipt(provider_id=receipt.provider_id, state=State.DELIVERED)


def as_email(outgoing: Outgoing) -> bytes:
    """The letter as the email that would carry it (RFC 5322, UTF-8)."""
    message = EmailMessage(policy=SMTP)
    message["To"] = outgoing.email or ""
    message["Subject"] = outgoing.subject
    message["X-Complaints-Reference"] = outgoing.reference
    message.set_content(outgoing.text)
    return bytes(message)


def create(settings: Settings) -> LocalChannel:
    return LocalChannel(settings.data_dir / "outbox")
