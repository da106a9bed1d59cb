"""Contract monitoring counts what the provider and case events say, whatever their order.

The year is 2025-26 (every quarter has ended, so "missing" does not depend on today).
Three providers, all commissioned by adults:

- Acorn (residential): contract A1, 40 beds, open-ended; contract A2 (nursing), 10 beds,
  January to 31 August 2025. Registered twice: revision 2 (40 beds) arrives first.
- Bright (home care): contract B1, 120 people from April 2025. Its name needs escaping.
- Cedar (supported living): contract C1, 15 people. It sends nothing at all.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date
from html.parser import HTMLParser
from typing import Any

import httpx

from complaints_reporting.service import create
from complaints_shared.auth import Role
from complaints_shared.contracts.envelope import Envelope, EventPayload, new_event
from complaints_shared.contracts.events import (
    CaseCorrected,
    CaseReceived,
    CaseResponded,
    CaseWithdrawn,
    Complainant,
    ComplimentReceived,
    OmbudsmanDecided,
    OmbudsmanReferred,
    Provider,
    ProviderChanged,
    ProviderContact,
    ProviderContract,
    ProviderNilReturn,
    ProviderReturnRecorded,
)
from complaints_shared.contracts.vocabulary import (
    Channel,
    OmbudsmanDecision,
    Outcome,
    ProviderReturnKind,
    ProviderServiceKind,
)
from complaints_shared.settings import Settings
from complaints_shared.testing.harness import Running, eventually, running
from complaints_shared.testing.issuer import LocalIssuer

ACORN, BRIGHT, CEDAR = (uuid.uuid4() for _ in range(3))
BRIGHT_NAME = "Bright <Home> Care & Co"
KIND = ProviderServiceKind


def provider(
    settings: Settings, revision: int, provider_id: uuid.UUID, code: str, **record: Any
) -> Envelope:
    return new_event(
        ProviderChanged(
            revision=revision,
            changed_on=date(2025, 3, 1),
            provider=Provider(
                provider_id=provider_id,
                code=code,
                contacts=(ProviderContact(name="Jo Manager", email="jo@example.org"),),
                **record,
            ),
        ),
        organisation=settings.organisation,
        directorate="adults",
    )


def contract(reference: str, places: int, starts_on: date, **terms: Any) -> ProviderContract:
    return ProviderContract(
        reference=reference, directorate="adults", starts_on=starts_on, places=places, **terms
    )


def register(settings: Settings) -> list[Envelope]:
    acorn = {"name": "Acorn Care Homes", "service_kind": KIND.RESIDENTIAL}
    nursing = contract(
        "A2", 10, date(2025, 1, 1), ends_on=date(2025, 8, 31), service_kind=KIND.NURSING
    )
    return [
        provider(
            settings,
            2,
            ACORN,
            "acorn",
            **acorn,
            contracts=(contract("A1", 40, date(2024, 4, 1)), nursing),
        ),
        # The first registration, arriving after its correction: 30 beds must not win.
        provider(
            settings,
            1,
            ACORN,
            "acorn",
            **acorn,
            contracts=(contract("A1", 30, date(2024, 4, 1)), nursing),
        ),
        provider(
            settings,
            1,
            BRIGHT,
            "bright",
            name=BRIGHT_NAME,
            service_kind=KIND.HOME_CARE,
            contracts=(contract("B1", 120, date(2025, 4, 1)),),
        ),
        provider(
            settings,
            1,
            CEDAR,
            "cedar",
            name="Cedar Supported Living",
            service_kind=KIND.SUPPORTED_LIVING,
            contracts=(contract("C1", 15, date(2023, 4, 1)),),
        ),
    ]


def returned(
    settings: Settings,
    provider_id: uuid.UUID,
    code: str,
    reference: str,
    received_on: date,
    *,
    revision: int = 1,
    return_id: uuid.UUID | None = None,
    **row: Any,
) -> Envelope:
    row.setdefault("service_kind", KIND.RESIDENTIAL if provider_id == ACORN else KIND.HOME_CARE)
    return new_event(
        ProviderReturnRecorded(
            return_id=return_id or uuid.uuid4(),
            provider_id=provider_id,
            provider=code,
            provider_reference=reference,
            revision=revision,
            recorded_on=received_on,
            received_on=received_on,
            **row,
        ),
        organisation=settings.organisation,
        directorate="adults",
    )


class Case:
    """A council case's events, numbered as intake's outbox numbers them."""

    def __init__(self, settings: Settings, received_on: date, **details: Any) -> None:
        self.id = uuid.uuid4()
        self.received = self._numbered(
            new_event(
                CaseReceived(
                    reference=f"ASC-2025-{received_on:%m%d}",
                    procedure=settings.directorate("adults").procedure,
                    received_on=received_on,
                    channel=Channel.EMAIL,
                    complainant=Complainant(name="Ann Example", email="ann@example.org"),
                    summary="The carer did not arrive on three mornings.",
                    **details,
                ),
                organisation=settings.organisation,
                directorate="adults",
                case_id=self.id,
            ),
            1,
        )
        self.count = 1

    def _numbered(self, envelope: Envelope, sequence: int) -> Envelope:
        return envelope.model_copy(update={"sequence": sequence})

    def then(self, payload: EventPayload) -> Envelope:
        self.count += 1
        return self._numbered(self.received.caused(payload), self.count)


def responded(on: date, outcome: Outcome) -> CaseResponded:
    return CaseResponded(responded_on=on, outcome=outcome)


async def report(client: httpx.AsyncClient, path: str = "", **params: Any) -> httpx.Response:
    return await client.get(f"/api/v1/reports/providers{path}", params=params)


async def test_contract_monitoring(settings: Settings, issuer: LocalIssuer) -> None:
    org = settings.organisation
    viewer = issuer.add_client(f"{org}-viewer", Role.REPORT_VIEWER)
    acorn_client = issuer.add_client(f"{org}-acorn", Role.PROVIDER, provider="acorn")
    stranger = issuer.add_client(f"{org}-stranger", Role.PROVIDER, provider="unknown-care")

    corrected_return = uuid.uuid4()
    referred = Case(
        settings,
        date(2025, 8, 13),
        provider_id=ACORN,
        provider_reference="A-3",
        primary_subject="Medication",
    )
    logged = Case(settings, date(2025, 9, 15), provider_id=ACORN, primary_subject="Staff attitude")
    withdrawn = Case(settings, date(2025, 7, 10), provider_id=ACORN)
    learnt_later = Case(settings, date(2025, 9, 1))  # the provider is named by a correction
    bright_case = Case(settings, date(2025, 8, 20), provider_id=BRIGHT, primary_subject="Visits")
    events = [
        *register(settings),
        # Acorn, Q2. A-1's correction (revision 2) arrives before the row it corrects.
        returned(
            settings,
            ACORN,
            "acorn",
            "A-1",
            date(2025, 7, 7),
            revision=2,
            return_id=corrected_return,
            contract_reference="A1",
            primary_subject="Care and support",
            outcome=Outcome.UPHELD,
            responded_on=date(2025, 7, 21),
        ),
        returned(
            settings,
            ACORN,
            "acorn",
            "A-1",
            date(2025, 7, 7),
            return_id=corrected_return,
            primary_subject="Staff attitude",
            outcome=Outcome.NOT_UPHELD,
            responded_on=date(2025, 7, 8),
        ),
        returned(settings, ACORN, "acorn", "A-2", date(2025, 8, 4), withdrawn=True),
        returned(
            settings,
            ACORN,
            "acorn",
            "A-3",
            date(2025, 8, 11),
            primary_subject="Medication",
            referred_case_id=referred.id,
            referred_on=date(2025, 8, 13),
        ),
        returned(
            settings, ACORN, "acorn", "A-4", date(2025, 9, 2), kind=ProviderReturnKind.COMPLIMENT
        ),
        # Acorn, Q1.
        returned(
            settings,
            ACORN,
            "acorn",
            "A-0",
            date(2025, 5, 12),
            primary_subject="Care and support",
            outcome=Outcome.NOT_UPHELD,
            responded_on=date(2025, 6, 20),
        ),
        # The council's cases about Acorn, some events before the ones they follow.
        referred.then(OmbudsmanReferred(referred_on=date(2025, 10, 1))),
        referred.received,
        referred.then(responded(date(2025, 9, 24), Outcome.PARTIALLY_UPHELD)),
        referred.then(
            OmbudsmanDecided(decided_on=date(2025, 12, 1), decision=OmbudsmanDecision.NOT_UPHELD)
        ),
        logged.received,
        logged.then(responded(date(2025, 10, 13), Outcome.NOT_UPHELD)),
        withdrawn.received,
        withdrawn.then(CaseWithdrawn(withdrawn_on=date(2025, 7, 20))),
        learnt_later.then(
            CaseCorrected(
                corrected_on=date(2025, 9, 5),
                reason="The provider was named later",
                fields=("provider", "provider_id"),
                provider="Acorn Care Homes",
                provider_id=ACORN,
            )
        ),
        learnt_later.received,
        new_event(
            ComplimentReceived(
                compliment_id=uuid.uuid4(),
                received_on=date(2025, 7, 20),
                channel=Channel.EMAIL,
                service_area="Residential care",
                provider_id=ACORN,
                summary="The staff were kind to my father.",
            ),
            organisation=org,
            directorate="adults",
        ),
        # Bright: a nil return for Q1 (sent twice), a complaint and a council case in Q2.
        *[
            new_event(
                ProviderNilReturn(
                    provider_id=BRIGHT,
                    provider="bright",
                    year=2025,
                    quarter=1,
                    declared_on=date(2025, 7, 2),
                ),
                organisation=org,
                directorate="adults",
            )
            for _ in range(2)
        ],
        returned(
            settings,
            BRIGHT,
            "bright",
            "B-1",
            date(2025, 7, 14),
            primary_subject="Visits",
            outcome=Outcome.NOT_UPHELD,
            responded_on=date(2025, 7, 28),
        ),
        bright_case.received,
        bright_case.then(responded(date(2025, 9, 3), Outcome.UPHELD)),
    ]
    async with running(settings, create(settings)) as suite:
        for event in events:
            await suite.publish(event)
        await eventually(suite.quiet, timeout=30)
        council = suite.client(issuer.token(viewer))
        await _quarter(council)
        await _year(council)
        await _formats(council)
        await _access(suite, council, issuer.token(acorn_client), issuer.token(stranger))


def _by_code(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {line["code"]: line for line in body["providers"]}


async def _quarter(council: httpx.AsyncClient) -> None:
    answer = await report(council, year=2025, quarter=2)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["year"], body["quarter"], body["starts_on"], body["ends_on"]) == (
        "2025-26",
        2,
        "2025-07-01",
        "2025-09-30",
    )
    # Listed by name: Acorn, Bright, Cedar.
    assert [line["code"] for line in body["providers"]] == ["acorn", "bright", "cedar"]
    lines = _by_code(body)
    acorn = lines["acorn"]
    assert acorn["name"] == "Acorn Care Homes"
    # Acorn in Q2, by hand:
    # returns A-1 (revision 2 counts), A-3 (referred: case "referred"); A-2 withdrawn.
    # council cases "referred" (A-3's), "logged", "learnt_later" (corrected to Acorn);
    # "withdrawn" left out. One complaint each: A-1, A-3 + its case, logged, learnt_later.
    assert acorn["figures"]["complaints"] == {
        "notified_by_provider": 2,
        "logged_by_council": 3,
        "referred_by_provider": 1,
        "total": 4,
    }
    # A-1 upheld (revision 2; revision 1 said not upheld); A-3 partially upheld by the
    # council's response; logged not upheld; learnt_later not yet decided.
    assert acorn["figures"]["outcomes"] == {
        "upheld": 1,
        "partially_upheld": 1,
        "not_upheld": 1,
        "not_yet_decided": 1,
    }
    assert acorn["figures"]["subjects"] == {
        "Care and support": 1,
        "Medication": 1,
        "Staff attitude": 1,
        "not recorded": 1,
    }
    # Working days: A-1 7 Jul -> 21 Jul = 10; A-3's case 13 Aug -> 24 Sep = 30 weekdays
    # less the bank holiday of 25 August = 29; logged 15 Sep -> 13 Oct = 20.
    # Average 59 / 3 = 19.7; within 20: 2 of 3; longest 29.
    assert acorn["figures"]["response_times"] == {
        "responded": 3,
        "average_working_days": 19.7,
        "within_20_working_days": 0.667,
        "longest_working_days": 29,
    }
    assert acorn["figures"]["ombudsman"] == {
        "referred": 1,
        "decisions": {"premature": 0, "not_investigated": 0, "upheld": 0, "not_upheld": 1},
    }
    # A-4 (a compliment return) and the council's compliment.
    assert acorn["figures"]["compliments"] == 2
    # On 30 September only A1 runs (A2 ended on 31 August): 40 beds; 4 / 40 * 100.
    assert (acorn["figures"]["places"], acorn["figures"]["complaints_per_100_places"]) == (40, 10.0)
    assert (acorn["return_status"], acorn["missing_return"]) == ("received", False)

    bright = lines["bright"]
    assert bright["name"] == BRIGHT_NAME
    # B-1 (notified) and the council's case: 2. Days: 14 Jul -> 28 Jul = 10; 20 Aug ->
    # 3 Sep = 10 weekdays less 25 August = 9. 2 / 120 * 100 = 1.67.
    assert bright["figures"]["complaints"] == {
        "notified_by_provider": 1,
        "logged_by_council": 1,
        "referred_by_provider": 0,
        "total": 2,
    }
    assert bright["figures"]["outcomes"]["upheld"] == 1
    assert bright["figures"]["outcomes"]["not_upheld"] == 1
    assert bright["figures"]["response_times"]["average_working_days"] == 9.5
    assert bright["figures"]["response_times"]["within_20_working_days"] == 1.0
    assert bright["figures"]["complaints_per_100_places"] == 1.67
    assert bright["return_status"] == "received"

    cedar = lines["cedar"]
    assert cedar["figures"]["complaints"]["total"] == 0
    assert cedar["figures"]["response_times"]["average_working_days"] is None
    assert (cedar["figures"]["places"], cedar["figures"]["complaints_per_100_places"]) == (15, 0.0)
    assert (cedar["return_status"], cedar["missing_return"]) == ("missing", True)
    assert cedar["missing_quarters"] == [2]

    kinds = {line["service_kind"]: line for line in body["service_kinds"]}
    assert set(kinds) == {kind.value for kind in KIND}
    # Acorn's four are residential (its returns say so; its cases take its kind).
    assert kinds["residential"]["figures"]["complaints"]["total"] == 4
    assert kinds["residential"]["figures"]["compliments"] == 2
    assert kinds["residential"]["figures"]["places"] == 40
    assert kinds["home_care"]["figures"]["complaints"]["total"] == 2
    # The nursing contract ended before the quarter's last day.
    assert kinds["nursing"]["figures"]["places"] is None
    assert kinds["nursing"]["providers"] == 0
    assert kinds["supported_living"]["providers"] == 1

    # Everything: 4 + 2 complaints; 3 + 1 notified, 3 + 1 logged, 1 referred; days 10,
    # 29, 20, 10, 9: average 15.6, 4 of 5 within 20; places 40 + 120 + 15 = 175.
    total = body["total"]["figures"]
    assert total["complaints"] == {
        "notified_by_provider": 3,
        "logged_by_council": 4,
        "referred_by_provider": 1,
        "total": 6,
    }
    assert total["outcomes"] == {
        "upheld": 2,
        "partially_upheld": 1,
        "not_upheld": 2,
        "not_yet_decided": 1,
    }
    assert total["response_times"] == {
        "responded": 5,
        "average_working_days": 15.6,
        "within_20_working_days": 0.8,
        "longest_working_days": 29,
    }
    assert (total["places"], total["complaints_per_100_places"]) == (175, 3.43)
    assert body["total"]["quarters"] == []

    # Q1: Acorn's A-0 only; Bright's nil return; Cedar still nothing. On 30 June both of
    # Acorn's contracts run: 40 + 10 places.
    first = _by_code((await report(council, year=2025, quarter=1)).json())
    assert first["acorn"]["figures"]["complaints"]["total"] == 1
    assert first["acorn"]["figures"]["places"] == 50
    # 12 May -> 20 June: 29 weekdays less the bank holiday of 26 May = 28.
    assert first["acorn"]["figures"]["response_times"]["longest_working_days"] == 28
    assert first["bright"]["return_status"] == "nil"
    assert first["cedar"]["missing_return"] is True

    assert (await report(council, year=2025, quarter=2, directorate="childrens")).json()[
        "providers"
    ] == []
    unknown = await report(council, year=2025, directorate="nowhere")
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["query", "directorate"]
    bad_quarter = await report(council, year=2025, quarter=5)
    assert bad_quarter.status_code == 422
    assert "quarter" in bad_quarter.text


async def _year(council: httpx.AsyncClient) -> None:
    body = (await report(council, year=2025)).json()
    assert body["quarter"] is None
    lines = _by_code(body)
    acorn = lines["acorn"]
    # A-0 in Q1 and four in Q2; nothing after.
    assert acorn["figures"]["complaints"]["total"] == 5
    assert [q["figures"]["complaints"]["total"] for q in acorn["quarters"]] == [1, 4, 0, 0]
    assert [q["return_status"] for q in acorn["quarters"]] == [
        "received",
        "received",
        "missing",
        "missing",
    ]
    assert (acorn["missing_return"], acorn["missing_quarters"]) == (True, [3, 4])
    assert lines["bright"]["missing_quarters"] == [3, 4]  # Q1's nil return counts
    assert lines["cedar"]["missing_quarters"] == [1, 2, 3, 4]
    # Places on 31 March 2026: A1's 40.
    assert (acorn["figures"]["places"], acorn["figures"]["complaints_per_100_places"]) == (40, 12.5)
    assert [q["figures"]["complaints"]["total"] for q in body["total"]["quarters"]] == [1, 6, 0, 0]
    assert body["total"]["figures"]["complaints"]["total"] == 7
    # A quarter that has not ended is due, not missing (Cedar's contract is open-ended).
    later = _by_code((await report(council, year=2099, quarter=1)).json())
    assert (later["cedar"]["return_status"], later["cedar"]["missing_return"]) == ("due", False)


class _Cells(HTMLParser):
    """Each table row's cells, by the column each names."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self._column: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append({})
        if tag == "td":
            self._column = dict(attrs).get("data-column")

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._column = None

    def handle_data(self, data: str) -> None:
        if self._column:
            self.rows[-1][self._column] = self.rows[-1].get(self._column, "") + data


async def _formats(council: httpx.AsyncClient) -> None:
    answer = await report(council, year=2025, quarter=2, format="csv")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    acorn = next(r for r in rows if r["code"] == "acorn")
    assert (acorn["period"], acorn["total"], acorn["referred_by_provider"]) == (
        "2025-26 Q2",
        "4",
        "1",
    )
    assert (
        acorn["subjects"]
        == "Care and support: 1; Medication: 1; Staff attitude: 1; not recorded: 1"
    )
    residential = next(
        r for r in rows if r["group"] == "service_kind" and r["service_kind"] == "residential"
    )
    assert residential["places"] == "40"
    assert next(r for r in rows if r["group"] == "total")["total"] == "6"
    # A year: one row per provider per period (the year and its quarters).
    year = list(csv.DictReader(io.StringIO((await report(council, year=2025, format="csv")).text)))
    assert [r["period"] for r in year if r["code"] == "cedar"] == [
        "2025-26",
        *(f"2025-26 Q{q}" for q in (1, 2, 3, 4)),
    ]
    assert [r["return_status"] for r in year if r["code"] == "cedar"][1:] == ["missing"] * 4

    page = await report(council, year=2025, quarter=2, format="html")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<Home>" not in page.text  # escaped
    cells = _Cells()
    cells.feed(page.text)
    bright = next(r for r in cells.rows if r.get("code") == "bright")
    assert (bright["name"], bright["total"], bright["places"]) == (BRIGHT_NAME, "2", "120")


async def _access(
    suite: Running, council: httpx.AsyncClient, acorn_token: str, stranger_token: str
) -> None:
    acorn_client = suite.client(acorn_token)
    own = await report(acorn_client, "/mine", year=2025, quarter=2)
    assert own.status_code == 200, own.text
    body = own.json()
    assert [line["code"] for line in body["providers"]] == ["acorn"]
    assert body["total"]["figures"]["complaints"]["total"] == 4
    assert body["total"]["figures"]["places"] == 40
    assert "bright" not in own.text and "cedar" not in own.text and "Bright" not in own.text
    own_csv = await report(acorn_client, "/mine", year=2025, quarter=2, format="csv")
    assert {r["code"] for r in csv.DictReader(io.StringIO(own_csv.text))} == {"acorn", ""}

    refused = await report(suite.client(stranger_token), "/mine", year=2025)
    assert refused.status_code == 403
    assert "unknown-care" in refused.text
    assert (await report(acorn_client, year=2025)).status_code == 403
    assert (await report(council, "/mine", year=2025)).status_code == 403

    audit = await suite.http.get("/api/v1/audit/reporting")
    entries = [(e["what"], e["access"]) for e in audit.json()]
    assert ("provider_report", "export") in entries
    assert ("own_provider_report", "read") in entries
