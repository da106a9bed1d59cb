"""Historical import: a mixed file, bad lines reported, good lines replayed, nothing twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from complaints_intake.importing import LINE, import_lines
from complaints_intake.service import create
from complaints_shared.settings import Settings
from complaints_shared.testing.harness import eventually, running

IMPORT_DIR = Path(__file__).resolve().parents[1] / "import"
EXAMPLE = IMPORT_DIR / "example.jsonl"


def line(reference: str, steps: list[dict], **complaint) -> str:
    body = {
        "directorate": "adults",
        "received_on": "2019-06-03",
        "channel": "letter",
        "complainant": {"name": "Joan Whitfield"},
        "summary": "Carers late.",
        **complaint,
    }
    return json.dumps({"reference": reference, "complaint": body, "steps": steps})


ACCEPT = {"action": "triage", "decision": "accepted", "decided_on": "2019-06-04"}
RESPOND = {"action": "response", "outcome": "upheld", "responded_on": "2019-07-01"}


async def test_a_mixed_file_imports_the_good_lines_and_names_each_bad_one(
    settings: Settings,
) -> None:
    service = create(settings)
    lines = [
        line("OLD-1", [ACCEPT, RESPOND]),
        "{not json",
        line("OLD-2", [ACCEPT], channel="pigeon"),
        line("OLD-3", [RESPOND]),  # responded before it was triaged
        line("OLD-4", [{"action": "teleport", "on": "2019-06-04"}]),
        line("OLD-5", [ACCEPT, {**RESPOND, "responded_on": "2019-05-01"}]),
        "",
        line("OLD-1", [ACCEPT]),  # already imported above
        line("OLD-6", [], directorate="parks"),
    ]
    async with running(settings, service) as suite:
        report = await import_lines(service, lines)
        assert report.imported == ["OLD-1"]
        assert report.skipped == ["OLD-1"]
        errors = {(e["line"], e["field"]) for e in report.errors}
        assert (2, "(line)") in errors
        assert (3, "complaint.channel") in errors
        assert (4, "steps.0.action") in errors
        assert (5, "steps.0") in errors
        assert (6, "steps.1.response.responded_on") in errors
        assert (9, "complaint.directorate") in errors
        refused = next(e for e in report.errors if e["line"] == 4)
        assert "it is received" in refused["reason"]

        cases = (await suite.http.get("/api/v1/complaints")).json()
        assert [c["reference"] for c in cases] == ["OLD-1"]  # no half-imported OLD-3 or OLD-5
        [case] = cases
        assert (case["status"], case["outcome"]) == ("responded", "upheld")
        history = (await suite.http.get(f"/api/v1/complaints/{case['id']}/history")).json()
        assert [h["action"] for h in history] == [
            "received",
            "triage",
            "response",
            "history-imported",
        ]
        assert {h["actor"] for h in history} == {"historical-import"}

        subject = f"complaints.{settings.organisation}.adults.case.>"
        events = await eventually(lambda: _at_least(suite.events(subject), 5))
        events = [e for e in events if e.type != "case.access_changed"]
        assert [e.type for e in events] == [
            "case.received",
            "case.triaged",
            "case.responded",
            "case.history_imported",
        ]
        assert [e.occurred_at.date().isoformat() for e in events[:3]] == [
            "2019-06-03",
            "2019-06-04",
            "2019-07-01",
        ]
        assert events[0].payload["imported"] is True

        again = await import_lines(service, lines)
        assert again.imported == [] and again.skipped == ["OLD-1", "OLD-1"]


async def test_the_import_refuses_what_the_api_refuses(settings: Settings) -> None:
    """The same complaint is refused for the same reason, in the same words, by HTTP or
    by import: the import used to check the directorate by a rule of its own."""
    service = create(settings)
    refusals = [
        ("received_on", {"received_on": "2999-01-01"}),  # in the future
        ("received_on", {"received_on": "1989-06-01"}),  # before the calendar's range
        ("directorate", {"directorate": "parks"}),
        ("primary_subject", {"primary_subject": "Parking"}),  # not an adults' subject
    ]
    async with running(settings, service) as suite:
        for field, change in refusals:
            complaint = json.loads(line("OLD-1", [], **change))["complaint"]
            answer = await suite.http.post("/api/v1/complaints", json=complaint)
            assert answer.status_code == 422, answer.text
            [refused] = answer.json()["detail"]
            assert refused["loc"] == ["body", field]

            report = await import_lines(service, [line("OLD-1", [ACCEPT], **change)])
            assert report.imported == []
            assert report.errors == [
                {"line": 1, "field": f"complaint.{field}", "reason": refused["msg"]}
            ]
        assert (await suite.http.get("/api/v1/complaints")).json() == []


async def test_the_example_file_imports_cleanly(settings: Settings) -> None:
    service = create(settings)
    async with running(settings, service) as suite:
        report = await import_lines(service, EXAMPLE.read_text().splitlines())
        assert report.errors == []
        assert report.imported == ["ASC/2019/0142", "CSC/2019/0031", "ASC/2019/0177"]
        cases = {c["reference"]: c for c in (await suite.http.get("/api/v1/complaints")).json()}
        assert cases["ASC/2019/0142"]["ombudsman"][-1]["decision"] == "not_investigated"
        assert cases["CSC/2019/0031"]["stage"] == 2
        assert cases["ASC/2019/0177"]["triage"]["reason"] == "self_funder"


def test_the_published_schema_is_current() -> None:
    published = json.loads((IMPORT_DIR / "import-line.schema.json").read_text())
    assert published == LINE.json_schema(), "run `complaints schemas` to republish it"


def test_the_command_reports_and_exits_nonzero_on_bad_lines(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(EXAMPLE.read_text() + "{not json\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPLAINTS_")}
    env["COMPLAINTS_DATA_DIR"] = str(tmp_path)
    command = [str(Path(sys.executable).parent / "complaints"), "import"]
    result = subprocess.run(
        [*command, str(bad)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["imported_count"] == 3
    assert report["errors"][0]["line"] == 4
    rerun = subprocess.run(
        [*command, str(EXAMPLE)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["skipped"] == [
        "ASC/2019/0142",
        "CSC/2019/0031",
        "ASC/2019/0177",
    ]


async def _at_least(pending, n: int):
    found = await pending
    return found if len(found) >= n else None


def test_the_command_names_a_file_it_cannot_read(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.jsonl"
    command = [str(Path(sys.executable).parent / "complaints"), "import", str(missing)]
    env = {**os.environ, "COMPLAINTS_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"complaints import: cannot read {missing}: No such file or directory"
    )
    assert "Traceback" not in result.stderr


def test_the_command_keeps_every_decodable_line_and_numbers_the_rest(tmp_path: Path) -> None:
    """JSON Lines: newlines end lines, nothing else does; a bad byte costs one line only."""
    separators = "U+2028 here:\u2028 and U+0085 here:\u0085 and U+000B:\x0b end"
    lines = [
        line("SEP-1", [], summary=separators).encode(),
        b'{"reference": "BAD-\xff"}',
        line("SEP-2", [ACCEPT]).encode(),
        line("FUTURE-1", [], received_on="2999-01-01").encode(),
        line("ANCIENT-1", [], received_on="1989-06-01").encode(),
    ]
    data = tmp_path / "mixed.jsonl"
    data.write_bytes(b"\n".join(lines) + b"\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPLAINTS_")}
    env["COMPLAINTS_DATA_DIR"] = str(tmp_path)
    command = [str(Path(sys.executable).parent / "complaints"), "import", str(data)]
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["imported"] == ["SEP-1", "SEP-2"]
    assert [(e["line"], e["field"]) for e in report["errors"]] == [
        (2, "(line)"),
        (4, "complaint.received_on"),
        (5, "complaint.received_on"),
    ]
    assert "not UTF-8" in report["errors"][0]["reason"]
    assert "future" in report["errors"][1]["reason"]
    assert "1990-01-01" in report["errors"][2]["reason"]


async def test_a_repeated_reference_that_differs_is_reported(settings: Settings) -> None:
    service = create(settings)
    async with running(settings, service):
        first = await import_lines(service, [line("REP-1", [ACCEPT])])
        assert first.imported == ["REP-1"]
        same = await import_lines(service, [line("REP-1", [ACCEPT])])
        assert (same.skipped, same.errors) == (["REP-1"], [])
        other = await import_lines(service, [line("REP-1", [], summary="Something else")])
        assert other.skipped == ["REP-1"]
        assert other.errors == [
            {
                "line": 1,
                "field": "reference",
                "reason": "REP-1 is already imported with a different summary, steps.0; "
                "skipped, the stored case is unchanged",
            }
        ]


async def test_a_long_import_reports_its_progress(settings: Settings) -> None:
    service = create(settings)
    seen: list[tuple[int, int]] = []
    async with running(settings, service):
        lines = [line(f"PROG-{n}", []) for n in range(450)]
        report = await import_lines(service, lines, lambda done, total: seen.append((done, total)))
    assert len(report.imported) == 450
    assert seen == [(200, 450), (400, 450), (450, 450)]


async def test_a_repeated_reference_is_compared_field_by_field_and_step_by_step(
    settings: Settings,
) -> None:
    """Every complaint field (the service user's details too) and every imported step is
    compared, not a handful of fields: a history that grew since the last export, or
    a corrected detail, is reported rather than skipped in silence."""
    service = create(settings)
    person = {"name": "Mary Whitfield", "age_band": "85+"}
    points = {
        "action": "points",
        "agreed_on": "2019-06-05",
        "points": [{"summary": "Visits missed", "desired_outcome": "An apology"}],
    }
    history = [ACCEPT, points, RESPOND]
    original = line("OLD-1", history, service_user=person)
    async with running(settings, service):
        assert (await import_lines(service, [original])).imported == ["OLD-1"]
        later = {**RESPOND, "responded_on": "2019-07-02"}
        again = await import_lines(
            service,
            [
                original,  # the same, though its points were given ids when stored
                line("OLD-1", [ACCEPT, points, later], service_user=person, summary="Never came."),
                line("OLD-1", history[:2], service_user={**person, "age_band": "75-84"}),
                line("OLD-1", history),
            ],
        )
        assert again.imported == [] and again.skipped == ["OLD-1"] * 4
        assert [(e["line"], e["field"], e["reason"]) for e in again.errors] == [
            (2, "reference", _differs("OLD-1", "summary, steps.2")),
            (3, "reference", _differs("OLD-1", "service_user, steps.2")),
            (4, "reference", _differs("OLD-1", "service_user")),
        ]


def _differs(reference: str, fields: str) -> str:
    return (
        f"{reference} is already imported with a different {fields}; skipped, the stored case "
        "is unchanged"
    )
