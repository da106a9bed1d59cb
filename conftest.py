"""Fixtures that need a service's code (the platform's own are in
``complaints_shared.testing.fixtures``, a pytest plugin every distribution gets)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def pdf_rendering() -> None:
    """Letters render as PDF here (weasyprint needs Pango, a system library): skipped
    locally without it, a failure under CI (``.ci/run`` installs it)."""
    from complaints_letters.formats import PdfUnavailable, as_pdf

    try:
        as_pdf("<p></p>")
    except PdfUnavailable as missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}; CI must render letters as PDF")
        pytest.skip(str(missing))
