"""A letter as plain text (an email's body) and as PDF (A4, GOV.UK Notify's letter spec)."""

from __future__ import annotations

import io

import pytest

from complaints_letters.formats import as_pdf, as_text
from complaints_letters.packs import TemplatePacks
from complaints_shared.settings import Settings

MM = 72 / 25.4  # PDF points in a millimetre


def test_plain_text_keeps_headings_paragraphs_lists_and_line_breaks() -> None:
    html = """<!DOCTYPE html><html><head><title>Not this</title>
    <style>p { color: red }</style></head><body>
    <div class="recipient print-only"><div>Ms Ann Example</div><div>Flat 2</div></div>
    <h1>Our   response</h1>
    <p>Dear Ms Example,</p>
    <p>Thank you for
       contacting us about <strong>Adult Social Care</strong> &amp; its &lt;services&gt;.</p>
    <ul><li>An apology</li><li>A payment of £1,250.00</li></ul>
    <ol><li>First</li><li>Second</li></ol>
    <p>Yours sincerely,<br>Customer Relations Team<br>Demo Council</p>
    </body></html>"""
    assert as_text(html) == (
        "Our response\n"
        "\n"
        "Dear Ms Example,\n"
        "\n"
        "Thank you for contacting us about Adult Social Care & its <services>.\n"
        "\n"
        "- An apology\n"
        "- A payment of £1,250.00\n"
        "1. First\n"
        "2. Second\n"
        "\n"
        "Yours sincerely,\n"
        "Customer Relations Team\n"
        "Demo Council\n"
    )
    assert as_text("") == ""


def test_the_acknowledgement_as_text_has_the_contact_details_and_not_the_address(
    letter_context,
) -> None:
    html = TemplatePacks(Settings()).render("acknowledgement", letter_context(), "demo", "").html
    text = as_text(html)
    assert "Flat 2" not in text and "Ms Ann Example" not in text  # the envelope's, not email's
    assert "Our reference: ASC-2026-00001" in text
    assert "We aim to send you our full response by Tuesday 12 January 2027." in text
    assert "- by telephone on 01234 567890\n- by email at complaints@demo-council.example" in text
    assert "\n\nHow to contact us\n\n" in text
    assert text.endswith("Yours sincerely,\n\nCustomer Relations Team\nDemo Council\n")


def _placed_text(page) -> list[tuple[float, float, str]]:
    """Each run of text on a page: (mm from the left, mm from the top of its baseline, text)."""
    placed: list[tuple[float, float, str]] = []

    def visit(text, cm, tm, _font, _size) -> None:
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            placed.append((x / MM, float(page.mediabox.height) / MM - y / MM, text.strip()))

    page.extract_text(visitor_text=visit)
    return placed


@pytest.mark.parametrize("variant", ["standard", "large_print", "easy_read"])
def test_the_pdf_is_a4_with_the_address_in_the_window_and_page_numbers(
    pdf_rendering, letter_context, variant: str
) -> None:
    from pypdf import PdfReader

    context = letter_context(
        variant=variant,
        recipient={
            "name": "Ms Ann Example",
            # Seven lines, the most Notify takes: all of them fit in the window.
            "address_lines": [
                "Flat 2",
                "14 Long Road",
                "Little Village",
                "Near Town",
                "Someshire",
                "AB1 2CD",
            ],
        },
    )
    html = TemplatePacks(Settings()).render("acknowledgement", context, "demo", "", variant).html
    reader = PdfReader(io.BytesIO(as_pdf(html)))
    pages = len(reader.pages)
    assert 1 < pages <= 10  # Notify prints 10 pages at most
    for page in reader.pages:
        box = page.mediabox
        assert (round(float(box.width) / MM), round(float(box.height) / MM)) == (210, 297)

    first = reader.pages[0].extract_text().replace("-\n", "-")  # a line broken at a hyphen
    for line in ("Ms Ann Example", "Flat 2", "Someshire", "AB1 2CD"):
        assert line in first
    assert "ASC-2026-00001" in first and f"Page 1 of {pages}" in first
    assert "01234 567890" in first and "complaints@demo-council.example" in first
    assert f"Page {pages} of {pages}" in reader.pages[-1].extract_text()

    placed = _placed_text(reader.pages[0])
    # Notify's address block: the recipient's lines and nothing else.
    in_window = [
        text for x, y, text in placed if 24.5 <= x <= 120 and 39.5 <= y <= 66.3 and x < 120
    ]
    assert in_window == ["Ms Ann Example", *context["recipient"]["address_lines"]]
    assert all(abs(x - 24.6) < 0.2 for x, y, text in placed if text in in_window)
    # Everything inside the printable area; the letter itself starts below 95mm.
    for page in reader.pages:
        for x, y, text in _placed_text(page):
            assert 15 - 0.1 <= x <= 195 and 5 < y < 292, (x, y, text)
    date = next(y for x, y, text in placed if text == "Monday 7 December 2026")
    assert date > 95
    contact = [(x, y) for x, y, text in placed if "01234 567890" in text]
    assert any(x >= 125 - 0.1 and 30 <= y <= 95 for x, y in contact)  # the contact block
