"""Subject access: one archive of everything every service holds about a person.

All five services on real NATS, SQLite and PostgreSQL; the archive is gathered over
their HTTP APIs as ``complaints subject-access`` gathers it, and is itself audited.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from complaints_deadlines.service import create as deadlines
from complaints_intake.service import create as intake
from complaints_learning.service import create as learning
from complaints_letters.service import create as letters
from complaints_reporting.service import create as reporting
from complaints_shared.calendar import today_in_england
from complaints_shared.settings import Settings
from complaints_shared.subject_access import gather, zipped
from complaints_shared.testing.cases import Case
from complaints_shared.testing.harness import eventually, running
from complaints_shared.testing.suite import EXAMPLE_COMPLAINT

SERVICES = ("intake", "deadlines", "letters", "learning", "reporting")
PERSON = {"name": "Sian Subject-Access", "email": "sian@example.org"}
TODAY = today_in_england()
COMPLAINT = {**EXAMPLE_COMPLAINT, "received_on": TODAY.isoformat()}
"""Received today: no reminder of a response falls due (and drafts a holding letter)
while the test runs."""


async def test_a_persons_archive_holds_their_cases_letters_actions_and_who_read_them(
    settings: Settings, pdf_rendering: None
) -> None:
    services = [f(settings) for f in (intake, deadlines, letters, learning, reporting)]
    async with running(settings, *services) as suite:
        first = await Case.log(suite, {**COMPLAINT, "complainant": PERSON})
        second = await Case.log(
            suite,
            {**COMPLAINT, "directorate": "childrens", "complainant": PERSON},
        )
        someone_else = await Case.log(suite, COMPLAINT)
        await first.act("triage", decision="accepted", decided_on=TODAY.isoformat())
        await first.act(
            "response",
            outcome="upheld",
            responded_on=TODAY.isoformat(),
            learning_actions=[
                {
                    "description": "Rota checks",
                    "owner": "Lead",
                    "due_on": str(TODAY.replace(year=TODAY.year + 1)),
                }
            ],
        )

        async def letters_of(case: Case) -> list:
            answer = await suite.http.get("/api/v1/letters", params={"case_id": case.id})
            return answer.json()

        for case in (first, second, someone_else):
            await eventually(lambda case=case: letters_of(case), timeout=30)
        await eventually(suite.quiet, timeout=30)

        files = await gather(suite.http, SERVICES, email="SIAN@example.org", name=None)
        cases = {case["id"] for case in json.loads(files["cases.json"])}
        assert cases == {first.id, second.id}
        letter_files = [path for path in files if path.endswith(".html")]
        # Each case's acknowledgement and the first's response (a draft is data held
        # about them too), and nobody else's.
        assert len(letter_files) == 3
        assert sum("-response-" in path for path in letter_files) == 1
        assert all(PERSON["name"] in files[path].decode() for path in letter_files)
        pdfs = [path for path in files if path.endswith(".pdf")]
        assert sorted(p.removesuffix(".pdf") for p in pdfs) == sorted(
            p.removesuffix(".html") for p in letter_files
        )
        assert all(files[path].startswith(b"%PDF-") for path in pdfs)
        intake_export = json.loads(files["intake.json"])
        assert {row["id"] for row in intake_export["records"]["cases"]} == cases
        assert intake_export["records"]["case_history"] and intake_export["audit"]
        learning_export = json.loads(files["learning.json"])
        assert [a["description"] for a in learning_export["records"]["learning_actions"]] == [
            "Rota checks"
        ]
        assert "deadlines.json" in files and "reporting.json" not in files
        assert someone_else.id not in str(files)
        # The export itself is in each service's trail.
        trail = await suite.http.get(
            "/api/v1/audit/letters", params={"access": "export", "case_id": first.id}
        )
        what = [entry["what"] for entry in trail.json()]
        assert what == ["subject_access_letters", "letter_pdf", "letter_pdf"]  # its two letters
        by_name = await gather(suite.http, SERVICES, email=None, name="sian subject-access")
        assert by_name.keys() == files.keys()
        with zipfile.ZipFile(io.BytesIO(zipped(files))) as archive:
            assert sorted(archive.namelist()) == sorted(files)
            assert archive.read(letter_files[0]) == files[letter_files[0]]


def test_the_command_says_what_it_needs_and_writes_nothing_when_it_fails(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    complaints = Path(sys.executable).parent / "complaints"
    refused = subprocess.run(
        [complaints, "subject-access", "--token", "t", "--out", str(tmp_path / "a.zip")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2 and "--email or --name" in refused.stderr
    unreachable = subprocess.run(
        [complaints, "subject-access", "--token", "t", "--email", "x@example.org"]
        + ["--api", "http://127.0.0.1:1", "--out", str(tmp_path / "a.zip")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert unreachable.returncode == 1 and not (tmp_path / "a.zip").exists()
