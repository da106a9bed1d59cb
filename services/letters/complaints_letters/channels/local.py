"""The ``local`` channel: letters written to ``<data_dir>/outbox/`` for the embedded run.

Each letter is two owner-only files, ``<case reference>-<kind>-<letter id>.pdf`` and
``.txt``, for someone to print or forward by hand. Writing them is delivering them.
Each file is written beside its name and renamed into place, the PDF last, so a PDF
under the letter's name means the whole letter is there (what :meth:`find` checks).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Collection
from pathlib import Path

from complaints_letters.channels import Outgoing, Receipt, State
from complaints_shared.private_files import private_dir
from complaints_shared.settings import Settings

UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


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
        pdf = await outgoing.pdf_bytes()
        path = self.path_for(outgoing)

        def write() -> None:
            private_dir(self.folder)
            _write_private(path.with_suffix(".txt"), outgoing.text.encode())
            _write_private(path, pdf)

        await asyncio.to_thread(write)
        return Receipt(provider_id=path.name, state=State.DELIVERED)

    async def find(self, reference: str, besides: Collection[str] = ()) -> Receipt | None:
        names = await asyncio.to_thread(
            lambda: sorted(p.name for p in self.folder.glob(f"*-{reference}.pdf"))
        )
        found = [name for name in names if name not in besides]
        return Receipt(provider_id=found[0], state=State.DELIVERED) if found else None

    async def status(self, receipt: Receipt) -> Receipt:
        return Receipt(provider_id=receipt.provider_id, state=State.DELIVERED)


def create(settings: Settings) -> LocalChannel:
    return LocalChannel(settings.data_dir / "outbox")
