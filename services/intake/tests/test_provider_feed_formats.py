"""Feed formats: the shipped JSON and CSV readers, choosing one, bodies that cannot be read,
and a third party's format installed as a distribution beside ours."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from complaints_intake.providers.feed_formats import (
    CSV,
    JSON,
    UnknownFormat,
    Unreadable,
    choose,
    installed_formats,
)
from complaints_intake.providers.models import Provider
from complaints_intake.service import create
from complaints_shared.auth import Role
from complaints_shared.settings import Settings
from complaints_shared.testing.harness import running
from complaints_shared.testing.issuer import LocalIssuer

RETURNS = "/api/v1/provider-feed/returns"


def test_json_takes_one_object_or_a_list_and_names_a_row_that_is_not_an_object() -> None:
    [one] = JSON.parse(b'{"provider_reference": "A"}')
    assert (one.number, one.fields, one.problems) == (1, {"provider_reference": "A"}, [])
    rows = JSON.parse(b'[{"provider_reference": "A"}, 3, {"provider_reference": "B"}]')
    assert [(r.number, r.fields) for r in rows] == [
        (1, {"provider_reference": "A"}),
        (2, {}),
        (3, {"provider_reference": "B"}),
    ]
    assert rows[1].problems[0].reason == "a row must be an object"
    for body, why in (
        (b"{", "not JSON"),
        (b'{"a": NaN}', "not JSON"),
        (b"\xff\xfe", "not JSON: not UTF-8"),
    ):
        with pytest.raises(Unreadable, match=why):
            JSON.parse(body)


def test_csv_reads_a_header_then_rows_with_blank_cells_absent() -> None:
    body = (
        "\ufeffprovider_reference, received_on ,other_subjects\n"
        'A,2026-04-02,"Communication;Safeguarding"\n'
        "\n"
        "B,,\n"
        "C,2026-04-03,x,surplus\n"
        '"D\nstill D",2026-04-04\n'
    ).encode()
    rows = CSV.parse(body)
    assert [(r.number, r.fields) for r in rows] == [
        (
            1,
            {
                "provider_reference": "A",
                "received_on": "2026-04-02",
                "other_subjects": "Communication;Safeguarding",
            },
        ),
        (3, {"provider_reference": "B"}),
        (4, {}),
        (5, {"provider_reference": "D\nstill D", "received_on": "2026-04-04"}),
    ]
    assert rows[2].problems[0].reason == "the row has 4 cells; the header names 3"
    for body, why in (
        (b"", "no header"),
        (b"\n\n", "no header"),
        (b"a,,b\n", "column 2 has no name"),
        (b"a,b,a\n", "names 'a' twice"),
        (b"a\n\xe9\n", "not UTF-8"),
        (b'a\n"unclosed\n', "not CSV"),
    ):
        with pytest.raises(Unreadable, match=why):
            CSV.parse(body)


def test_a_format_is_chosen_by_name_or_media_type() -> None:
    formats = installed_formats()
    assert {"json", "csv"} <= set(formats)
    assert choose(formats, "text/csv; charset=utf-8", None) is formats["csv"]
    assert choose(formats, "APPLICATION/JSON", None) is formats["json"]
    assert choose(formats, "text/plain", "csv") is formats["csv"]
    with pytest.raises(
        UnknownFormat, match=r"no feed format reads text/plain; installed: .*csv \(text/csv\)"
    ):
        choose(formats, "text/plain", None)
    with pytest.raises(UnknownFormat, match="no feed format 'xml'"):
        choose(formats, "application/json", "xml")


def install_format(site: Path) -> None:
    """A third party's distribution with a tab-separated format, installed on ``site`` (a
    sys.path entry) as pip would leave it: its module, metadata and entry point."""
    module = site / "council_tsv_feed"
    module.mkdir(parents=True)
    (module / "__init__.py").write_text(
        "from complaints_intake.providers.feed_formats import ParsedRow\n\n\n"
        "class Tsv:\n"
        '    name = "tsv"\n'
        '    media_types = ("text/tab-separated-values",)\n'
        '    description = "tab-separated, a header row first"\n\n'
        "    def parse(self, body):\n"
        "        header, *lines = body.decode().splitlines()\n"
        '        names = header.split("\\t")\n'
        "        return [\n"
        '            ParsedRow(n, {k: v for k, v in zip(names, line.split("\\t")) if v})\n'
        "            for n, line in enumerate(lines, start=1)\n"
        "        ]\n\n\n"
        "TSV = Tsv()\n"
    )
    info = site / "council_tsv_feed-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: council-tsv-feed\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[complaints.provider_feed_formats]\ntsv = council_tsv_feed:TSV\n"
        "broken = no_such_module:FORMAT\n"
    )


async def test_a_third_party_format_reads_returns_and_bad_bodies_are_refused(
    settings: Settings, issuer: LocalIssuer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_format(tmp_path / "site")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    service = create(settings)
    async with running(settings, service) as suite:
        async with service.db.transaction() as session:
            session.add(
                Provider(
                    id=uuid.uuid4(),
                    code="tab-care",
                    name="Tab Care",
                    service_kind="day_services",
                    contracts=[],
                )
            )
        name = issuer.add_client(f"tab-{uuid.uuid4().hex[:8]}", Role.PROVIDER, provider="tab-care")
        async with suite.client(issuer.token(name)) as tab:
            body = "provider_reference\treceived_on\nT-1\t2026-04-02\nT-2\tsoon\n"
            sent = await tab.post(
                RETURNS, content=body, headers={"Content-Type": "text/tab-separated-values"}
            )
            assert sent.status_code == 200, sent.text
            assert [(r["row"], r["status"]) for r in sent.json()["rows"]] == [
                (1, "created"),
                (2, "rejected"),
            ]
            listed = (await tab.get(RETURNS)).json()
            assert [(r["provider_reference"], r["service_kind"]) for r in listed] == [
                ("T-1", "day_services")
            ]

            unsupported = await tab.post(
                RETURNS, content=b"x", headers={"Content-Type": "text/plain"}
            )
            assert unsupported.status_code == 415
            assert "tsv (text/tab-separated-values)" in unsupported.json()["detail"]
            assert "broken" not in unsupported.json()["detail"]
            unknown = await tab.post(f"{RETURNS}?format=xml", json={})
            assert unknown.status_code == 422
            assert unknown.json()["detail"][0]["loc"] == ["query", "format"]
            for body, content_type in ((b"{", "application/json"), (b"", "text/csv")):
                unreadable = await tab.post(
                    RETURNS, content=body, headers={"Content-Type": content_type}
                )
                assert unreadable.status_code == 422
                assert unreadable.json()["detail"][0]["loc"] == ["body"]
            nothing_valid = await tab.post(RETURNS, json=[{"received_on": "2026-04-02"}])
            assert nothing_valid.status_code == 422
            report = nothing_valid.json()
            assert (report["received"], report["rejected"]) == (1, 1)
            assert report["rows"][0]["problems"] == [
                {"field": "provider_reference", "reason": "Field required"}
            ]
            empty = await tab.post(RETURNS, json=[])
            assert empty.status_code == 422 and empty.json()["received"] == 0
