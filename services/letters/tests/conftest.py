"""What every letter's template is given, as the drafter gives it (see packs.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from complaints_shared.settings import Settings


def _letter_context(settings: Settings | None = None, **changes: Any) -> dict[str, Any]:
    settings = settings or Settings()
    context: dict[str, Any] = {
        "organisation_name": settings.organisation_name,
        "complaints_team": settings.complaints_team,
        "contact": settings.complaints_contact.model_dump(mode="json"),
        "reference": "ASC-2026-00001",
        "issued_on": date(2026, 12, 7),
        "recipient": {
            "name": "Ms Ann Example",
            "address_lines": ["Flat 2", "14 Long Road", "Little Village", "AB1 2CD"],
        },
        "salutation": "Dear Ms Example",
        "kind": "acknowledgement",
        "stage": 1,
        "variant": "standard",
        "directorate_name": "Adult Social Care",
        "procedure": "adults",
        "procedure_name": "statutory adult social care complaints procedure",
        "signatory": settings.complaints_team,
        "received_on": date(2026, 12, 1),
        "response_due_on": date(2027, 1, 12),
    }
    return {**context, **changes}


@pytest.fixture
def letter_context() -> Callable[..., dict[str, Any]]:
    """``letter_context(settings=None, **changes)``: an acknowledgement's context for a
    named complainant with a postal address."""
    return _letter_context
