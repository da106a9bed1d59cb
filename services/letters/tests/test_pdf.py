"""Letters as PDF: rendered by weasyprint, fetching nothing a letter's HTML points at."""

from __future__ import annotations

import http.server
import threading

from complaints_letters.formats import as_pdf


def test_a_letter_renders_as_pdf_without_fetching_what_it_points_at(pdf_rendering) -> None:
    asked: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        html = (
            f'<link rel="stylesheet" href="{url}/style.css">'
            f'<p>Dear Ms Example</p><img src="{url}/tracker.png">'
        )
        pdf = as_pdf(html)
    finally:
        server.shutdown()
    assert pdf.startswith(b"%PDF-") and len(pdf) > 500
    assert asked == []
