"""Refusing text meant for the public that plainly carries personal data.

A "you said, we did" entry is published on the council's website and in its annual
report. Names cannot be recognised reliably, which is why every entry is reviewed by a
second person before it is published; what can be recognised (an email address, a
phone number, a postcode, a case reference, a date of birth) is refused at once, so the
reviewer's attention goes to what a machine cannot see.
"""

from __future__ import annotations

import re

PATTERNS = {
    "an email address": re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"),
    "a phone number": re.compile(r"(?:\+44\s?|\b0)(?:\d[\s-]?){9,10}\b"),
    "a postcode": re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE),
    "a case reference": re.compile(r"\b[A-Z]{2,6}-\d{4}-\d{3,}\b"),
    "a date of birth": re.compile(r"\b(?:born|d\.?o\.?b\.?|date of birth)\b", re.IGNORECASE),
}


def personal_data_in(text: str) -> str | None:
    """What kind of personal data ``text`` seems to hold (``"an email address"``), or None."""
    for kind, pattern in PATTERNS.items():
        if pattern.search(text):
            return kind
    return None
