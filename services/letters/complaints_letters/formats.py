"""A rendered letter in the forms it is sent in: plain text for an email's body, PDF to print.

The HTML from the templates is the letter; these are made from it, never written
separately, so the email and the printed letter cannot say different things.
"""

from __future__ import annotations

import re

from inscriptis import Inscriptis
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.html_properties import Display
from inscriptis.model.config import ParserConfig
from inscriptis.model.html_element import HtmlElement
from inscriptis.model.tag import CustomHtmlTagHandlerMapping
from lxml import html as lxml_html

PRINT_ONLY = "print-only"
"""A class for what belongs on paper only: the address block for the envelope's window."""


def _ul_start(state, _attributes: dict) -> None:
    state.li_counter.append("- ")


def _ul_end(state) -> None:
    state.li_counter.pop()


def _text_config() -> ParserConfig:
    css = dict(CSS_PROFILES["strict"])
    # Lists start at the margin ("- item", "1. item"): an email is read narrow, on a phone.
    css["ul"] = HtmlElement(display=Display.block, padding_inline=0)
    css["ol"] = HtmlElement(display=Display.block, padding_inline=0)
    handlers = CustomHtmlTagHandlerMapping(
        start_tag_mapping={"ul": _ul_start}, end_tag_mapping={"ul": _ul_end}
    )
    return ParserConfig(
        css=css, display_links=False, display_images=False, custom_html_tag_handler_mapping=handlers
    )


_CONFIG = _text_config()
_BLANK_LINES = re.compile(r"\n{3,}")


def as_text(html: str) -> str:
    """The letter as plain text for an email's body: headings and paragraphs apart, list
    items as ``- item`` (or ``1. item``), line breaks kept, the address block left out.

    inscriptis lays the text out as a browser would (whitespace collapsed, blocks on
    lines of their own); lxml parses the HTML first so print-only parts can go.
    """
    if not html.strip():
        return ""
    tree = lxml_html.document_fromstring(html)
    for element in tree.xpath(
        f'//*[contains(concat(" ", normalize-space(@class), " "), " {PRINT_ONLY} ")]'
    ):
        element.drop_tree()
    text = Inscriptis(tree, _CONFIG).get_text()
    lines = [line.rstrip() for line in text.splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip() + "\n"


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
