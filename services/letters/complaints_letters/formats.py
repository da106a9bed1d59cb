"""Rendering letters from jinja2 templates (HTML, autoescaped)."""

from __future__ import annotations

from datetime import date
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


def long_date(value: date) -> str:
    """``Monday 7 December 2026``: how dates are written in letters."""
    return f"{value:%A} {value.day} {value:%B %Y}"


def environment() -> Environment:
    """Templates from this package; a missing variable is an error, never a blank."""
    env = Environment(
        loader=PackageLoader("complaints_letters", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["long_date"] = long_date
    return env


def render(env: Environment, template: str, context: dict[str, Any]) -> str:
    return env.get_template(template).render(**context)


class PdfUnavailable(Exception):
    """weasyprint cannot run here (Pango, a system library, is missing)."""


def as_pdf(html: str) -> bytes:
    """The letter as PDF, by weasyprint, loading nothing from outside the letter.

    weasyprint is imported here, not at start-up: it needs Pango, and a machine without
    it should still run the suite (the answer says what is missing).
    """
    try:
        from weasyprint import HTML
        from weasyprint.urls import URLFetcher
    except (ImportError, OSError) as error:
        raise PdfUnavailable(f"PDF rendering needs Pango (weasyprint): {error}") from None
    # Only inline data: nothing in a letter's HTML can make the service fetch a URL.
    fetcher = URLFetcher(allowed_protocols={"data"})
    return HTML(string=html, url_fetcher=fetcher).write_pdf()


def as_text(html: str) -> str:
    """TEMPORARY (replaced by the packs branch)."""
    import re as _re

    text = _re.sub(r"<(br|/p|/li|/h\d|/div)[^>]*>", "\n", html)
    text = _re.sub(r"<[^>]+>", "", text)
    import html as _html

    return "\n".join(" ".join(line.split()) for line in _html.unescape(text).splitlines()).strip()
