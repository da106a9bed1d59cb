"""The event contracts: golden samples, compatibility rules, subjects, streams, schemas."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pydantic
import pytest

from complaints_shared import contracts
from complaints_shared.calendar import WorkingDayCalendar
from complaints_shared.contracts.envelope import Envelope, EventPayload, new_event
from complaints_shared.contracts.events import (
    EVENT_TYPES,
    CaseReceived,
    CaseResponded,
    Complainant,
    DeadlineScheduled,
    LetterIssued,
    ProviderNilReturn,
    ProviderReturnRecorded,
    payload_model,
)
from complaints_shared.contracts.schemas import export_schemas, schema_documents
from complaints_shared.contracts.subjects import (
    CASES,
    DEAD_LETTERS,
    DEADLINES,
    LEARNING,
    LETTERS,
    STREAMS,
    dead_letter_subject,
    keyed_by_provider,
    stream_for,
    subscription_subject,
)
from complaints_shared.contracts.vocabulary import Channel, LetterKind

SAMPLES = Path(contracts.__file__).resolve().parent / "samples"
SCHEMAS = Path(__file__).resolve().parents[1] / "schemas" / "events"
SAMPLE_NAME = re.compile(r"^(?P<type>[a-z_]+\.[a-z_]+)\.v(?P<version>[1-9][0-9]*)\.json$")
ENVELOPE_FIELDS = {
    "id",
    "type",
    "schema_version",
    "occurred_at",
    "organisation",
    "directorate",
    "case_id",
    "correlation_id",
    "causation_id",
    "payload",
}
PROVIDER_FIELD = "provider"
"""Added to the envelope for the events keyed by a provider; older samples lack it."""
REGISTERED = sorted(EVENT_TYPES)


def _sample_keys() -> list[tuple[str, int]]:
    """(type, version) of each sample file present; a missing one fails only one test."""
    keys = []
    for path in sorted(SAMPLES.glob("*.json")):
        match = SAMPLE_NAME.match(path.name)
        if match:
            keys.append((match["type"], int(match["version"])))
    return keys


SAMPLED = _sample_keys()


def sample_path(event_type: str, version: int) -> Path:
    return SAMPLES / f"{event_type}.v{version}.json"


def sample_text(event_type: str, version: int) -> str:
    return sample_path(event_type, version).read_text()


def sample_data(event_type: str, version: int) -> dict:
    return json.loads(sample_text(event_type, version))


def key_id(key: tuple[str, int]) -> str:
    return f"{key[0]}.v{key[1]}"


# --- golden samples ---------------------------------------------------------------


def test_the_registry_is_not_empty():
    assert ("case.received", 1) in EVENT_TYPES
    assert len(EVENT_TYPES) >= 5


@pytest.mark.parametrize("key", REGISTERED, ids=key_id)
def test_every_registered_event_has_a_sample(key: tuple[str, int]):
    assert sample_path(*key).is_file(), f"add a golden sample {sample_path(*key).name}"


def test_every_sample_is_a_registered_event():
    names = sorted(
        p.name for p in SAMPLES.iterdir() if p.name != "__pycache__" and p.name[0] != "."
    )
    assert names, "no golden samples"
    for name in names:
        match = SAMPLE_NAME.match(name)
        assert match, f"{name} is not named <type>.v<version>.json"
        key = (match["type"], int(match["version"]))
        assert key in EVENT_TYPES, f"{name} has no registered payload model"
    assert len(names) == len(EVENT_TYPES)


@pytest.mark.parametrize("key", SAMPLED, ids=key_id)
def test_sample_is_a_complete_wire_envelope(key: tuple[str, int]):
    data = sample_data(*key)
    keyed = keyed_by_provider(EVENT_TYPES[key])
    assert set(data) == ENVELOPE_FIELDS | ({PROVIDER_FIELD} if keyed else set())
    if keyed:  # the subject's last token is the provider the payload is about
        payload = Envelope.model_validate(data).parse(EVENT_TYPES[key])
        assert data[PROVIDER_FIELD] == payload.provider_code
    assert (data["type"], data["schema_version"]) == key
    # occurred_at carries an explicit offset (AwareDatetime), not a naive time.
    assert datetime.fromisoformat(data["occurred_at"]).utcoffset() is not None
    # Every required payload field is there (optional ones added later may be absent:
    # a golden sample is an event as it was published, which must keep parsing).
    required = {
        name for name, field in EVENT_TYPES[key].model_fields.items() if field.is_required()
    }
    assert required <= set(data["payload"])


@pytest.mark.parametrize("key", SAMPLED, ids=key_id)
def test_sample_parses(key: tuple[str, int]):
    model = EVENT_TYPES[key]
    data = sample_data(*key)
    envelope = Envelope.from_wire(sample_text(*key))
    assert envelope.id == uuid.UUID(data["id"])
    assert (envelope.type, envelope.schema_version) == key
    assert envelope.correlation_id == uuid.UUID(data["correlation_id"])
    assert envelope.occurred_at == datetime.fromisoformat(data["occurred_at"])
    payload = envelope.parse(model)
    assert isinstance(payload, model)
    # Nothing in the sample is lost or reinterpreted on the way in (fields added to the
    # version after the sample was published take their defaults, and are not compared).
    assert payload.model_dump(mode="json", exclude_unset=True) == data["payload"]
    # The sample is also what a strict producer would build today.
    assert model(**data["payload"]) == payload
    # And it survives a trip over the wire.
    again = Envelope.from_wire(envelope.to_wire())
    assert again == envelope
    assert again.parse(model) == payload


@pytest.mark.parametrize("key", SAMPLED, ids=key_id)
def test_sample_parses_through_payload_model_lookup(key: tuple[str, int]):
    envelope = Envelope.from_wire(sample_text(*key))
    assert envelope.parse(payload_model(envelope.type, envelope.schema_version))


def test_payload_model_names_an_unknown_type_and_version():
    with pytest.raises(KeyError, match=r"case\.reopened v7"):
        payload_model("case.reopened", 7)


STORY = [
    ("case.received", 1),
    ("deadline.scheduled", 1),
    ("letter.issued", 1),
    ("deadline.met", 1),
    ("case.responded", 1),
]


def test_samples_tell_one_consistent_story():
    """These samples follow one adult social care complaint from receipt to response."""
    received = Envelope.from_wire(sample_text("case.received", 1))
    assert received.causation_id is None
    assert received.correlation_id == received.id
    for key in STORY:
        envelope = Envelope.from_wire(sample_text(*key))
        assert envelope.correlation_id == received.id
        assert envelope.case_id == received.case_id
        assert envelope.organisation == received.organisation
        assert envelope.directorate == received.directorate
        if envelope.id != received.id:
            assert envelope.causation_id is not None
            assert envelope.occurred_at >= received.occurred_at


def test_deadline_sample_agrees_with_the_calendar():
    deadline = Envelope.from_wire(sample_text("deadline.scheduled", 1)).parse(DeadlineScheduled)
    calendar = WorkingDayCalendar()
    assert calendar.add(deadline.start_on, deadline.working_days) == deadline.due_on
    assert tuple(calendar.skipped_between(deadline.start_on, deadline.due_on)) == deadline.skipped


# --- compatibility rules -------------------------------------------------------------

NESTED_EXTRAS = {
    # An additive change may also land inside a nested object of a payload.
    ("case.received", 1): lambda payload: payload["complainant"].update(preferred_language="cy"),
    ("case.responded", 1): lambda payload: payload["learning_actions"][0].update(theme="comms"),
    ("deadline.scheduled", 1): lambda payload: payload["skipped"][0].update(kind="bank_holiday"),
}


@pytest.mark.parametrize("key", SAMPLED, ids=key_id)
def test_consumers_ignore_unknown_fields(key: tuple[str, int]):
    model = EVENT_TYPES[key]
    expected = Envelope.from_wire(sample_text(*key)).parse(model)
    data = sample_data(*key)
    data["priority"] = "high"  # a newer envelope field
    data["payload"]["added_in_a_later_release"] = {"any": ["shape", 1]}
    envelope = Envelope.from_wire(json.dumps(data))
    assert not hasattr(envelope, "priority")
    assert envelope.parse(model) == expected


@pytest.mark.parametrize("key", sorted(NESTED_EXTRAS), ids=key_id)
def test_consumers_ignore_unknown_nested_fields(key: tuple[str, int]):
    model = EVENT_TYPES[key]
    expected = Envelope.from_wire(sample_text(*key)).parse(model)
    data = sample_data(*key)
    NESTED_EXTRAS[key](data["payload"])
    assert Envelope.from_wire(json.dumps(data)).parse(model) == expected


@pytest.mark.parametrize("key", SAMPLED, ids=key_id)
def test_producers_refuse_unknown_fields(key: tuple[str, int]):
    model = EVENT_TYPES[key]
    payload = sample_data(*key)["payload"]
    model(**payload)  # the sample itself is acceptable
    with pytest.raises(pydantic.ValidationError, match="added_in_a_later_release"):
        model(**payload, added_in_a_later_release=True)


def test_producers_refuse_unknown_nested_fields():
    with pytest.raises(pydantic.ValidationError, match="preferred_language"):
        Complainant(name="Margaret Ellison", preferred_language="cy")


def test_producers_refuse_wrong_types():
    payload = sample_data("case.received", 1)["payload"]
    with pytest.raises(pydantic.ValidationError, match="channel"):
        CaseReceived(**{**payload, "channel": "carrier_pigeon"})
    with pytest.raises(pydantic.ValidationError, match="received_on"):
        CaseReceived(**{**payload, "received_on": "the second of April"})


def test_payloads_are_frozen():
    letter = LetterIssued(
        letter_id=uuid.uuid4(), kind=LetterKind.ACKNOWLEDGEMENT, issued_on=date(2026, 4, 7)
    )
    with pytest.raises(pydantic.ValidationError):
        letter.issued_on = date(2026, 4, 8)


def test_envelope_requires_a_timezone():
    data = sample_data("letter.issued", 1)
    data["occurred_at"] = "2026-04-07T09:15:42"
    with pytest.raises(pydantic.ValidationError, match="occurred_at"):
        Envelope.from_wire(json.dumps(data))


# --- new_event, caused, parse, subject ---------------------------------------------------


def _received() -> CaseReceived:
    return CaseReceived(
        reference="CSC-2026-00088",
        procedure="childrens",
        received_on=date(2026, 3, 9),
        channel=Channel.TELEPHONE,
        complainant=Complainant(name="Daniel Okafor", phone="07700 900461"),
        summary="Contact with my son at the family centre was cancelled twice without notice.",
    )


def test_new_event_starts_its_own_correlation():
    case_id = uuid.uuid4()
    envelope = new_event(
        _received(), organisation="cheshire-east", directorate="childrens", case_id=case_id
    )
    assert envelope.correlation_id == envelope.id
    assert envelope.causation_id is None
    assert (envelope.type, envelope.schema_version) == ("case.received", 1)
    assert envelope.case_id == case_id
    assert envelope.occurred_at.utcoffset() is not None
    assert abs(datetime.now(UTC) - envelope.occurred_at) < timedelta(minutes=1)
    assert envelope.parse(CaseReceived) == _received()
    other = new_event(_received(), organisation="cheshire-east", directorate="childrens")
    assert other.id != envelope.id
    assert other.correlation_id == other.id != envelope.correlation_id


def test_new_event_keeps_a_given_correlation():
    correlation = uuid.uuid4()
    envelope = new_event(
        _received(), organisation="demo", directorate="childrens", correlation_id=correlation
    )
    assert envelope.correlation_id == correlation
    assert envelope.id != correlation


def test_caused_keeps_the_correlation_and_points_at_its_parent():
    parent = Envelope.from_wire(sample_text("case.received", 1))
    letter = LetterIssued(
        letter_id=uuid.uuid4(), kind=LetterKind.ACKNOWLEDGEMENT, issued_on=date(2026, 4, 7)
    )
    child = parent.caused(letter)
    assert child.correlation_id == parent.correlation_id
    assert child.causation_id == parent.id
    assert child.id not in (parent.id, parent.correlation_id)
    assert (child.organisation, child.directorate, child.case_id) == (
        parent.organisation,
        parent.directorate,
        parent.case_id,
    )
    assert (child.type, child.schema_version) == ("letter.issued", 1)
    assert child.parse(LetterIssued) == letter
    # A grandchild still carries the first event's correlation id.
    grandchild = child.caused(letter)
    assert grandchild.correlation_id == parent.id
    assert grandchild.causation_id == child.id


def test_caused_accepts_overrides():
    parent = Envelope.from_wire(sample_text("case.received", 1))
    letter = LetterIssued(
        letter_id=uuid.uuid4(), kind=LetterKind.ACKNOWLEDGEMENT, issued_on=date(2026, 4, 7)
    )
    child = parent.caused(letter, directorate="corporate")
    assert child.directorate == "corporate"
    assert child.causation_id == parent.id


@pytest.mark.parametrize("key", SAMPLED, ids=key_id)
def test_subject(key: tuple[str, int]):
    data = sample_data(*key)
    envelope = Envelope.from_wire(sample_text(*key))
    event_type, version = key
    subject = f"complaints.{data['organisation']}.{data['directorate']}.{event_type}.v{version}"
    if keyed_by_provider(EVENT_TYPES[key]):
        subject += f".{data['provider']}"
    assert envelope.subject == subject


def test_subject_of_a_new_event():
    envelope = new_event(_received(), organisation="demo", directorate="childrens")
    assert envelope.subject == "complaints.demo.childrens.case.received.v1"


def test_parse_with_the_wrong_model_is_refused():
    envelope = Envelope.from_wire(sample_text("case.received", 1))
    with pytest.raises(ValueError, match=r"case\.received v1, not case\.responded v1"):
        envelope.parse(CaseResponded)


def test_parse_with_the_wrong_version_is_refused():
    class CaseReceivedV2(EventPayload):
        event_type: ClassVar[str] = "case.received"
        schema_version: ClassVar[int] = 2

        reference: str

    envelope = Envelope.from_wire(sample_text("case.received", 1))
    with pytest.raises(ValueError, match="not case.received v2"):
        envelope.parse(CaseReceivedV2)


# --- subjects and streams ------------------------------------------------------------


def matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: ``*`` is one token, ``>`` one or more trailing tokens."""
    wanted, tokens = pattern.split("."), subject.split(".")
    for index, token in enumerate(wanted):
        if token == ">":
            return len(tokens) > index
        if index >= len(tokens) or (token != "*" and token != tokens[index]):
            return False
    return len(tokens) == len(wanted)


def overlap(first: str, second: str) -> bool:
    """Whether some concrete subject matches both patterns."""

    def go(a: list[str], b: list[str]) -> bool:
        if not a or not b:
            return not a and not b
        if a[0] == ">" or b[0] == ">":
            return True  # both still need at least one token: there is one in common
        if a[0] != "*" and b[0] != "*" and a[0] != b[0]:
            return False
        return go(a[1:], b[1:])

    return go(first.split("."), second.split("."))


def covered(subject: str, stream) -> bool:
    return any(matches(pattern, subject) for pattern in stream.subjects)


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("complaints.*.*.case.>", "complaints.demo.adults.case.received.v1", True),
        ("complaints.*.*.case.>", "complaints.demo.adults.case", False),
        ("complaints.*.*.case.>", "complaints.demo.case.received.v1", False),
        ("complaints.*.*.case.>", "complaints.demo.adults.deadline.met.v1", False),
        ("a.*", "a.b", True),
        ("a.*", "a.b.c", False),
        ("a.b", "a.b", True),
        ("a.b", "a.b.c", False),
    ],
)
def test_the_subject_matcher(pattern: str, subject: str, expected: bool):
    assert matches(pattern, subject) is expected


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("complaints.*.*.case.>", "complaints.demo.>", True),
        ("complaints.*.*.case.>", "complaints.*.*.deadline.>", False),
        ("complaints.>", "complaints.a.b.case.received.v1", True),
        ("a.*.c", "a.b.*", True),
        ("a.*", "a.*.c", False),
        ("dead_letter.complaints.>", "complaints.*.*.case.>", False),
        ("a.>", "a", False),
    ],
)
def test_the_overlap_checker(first: str, second: str, expected: bool):
    assert overlap(first, second) is expected
    assert overlap(second, first) is expected


@pytest.mark.parametrize("key", REGISTERED, ids=key_id)
def test_each_event_lives_in_exactly_its_stream(key: tuple[str, int]):
    event_type, _ = key
    stream = stream_for(event_type)
    assert stream in STREAMS
    subjects = []
    for organisation in ("demo", "cheshire-east", "west_berkshire"):
        for directorate in ("adults", "childrens", "corporate"):
            subjects.append(f"complaints.{organisation}.{directorate}.{event_type}.v{key[1]}")
    for subject in subjects:
        assert [s.name for s in STREAMS if covered(subject, s)] == [stream.name], subject
    # A consumer's filter stays inside the stream too.
    model = EVENT_TYPES[key]
    for subject in (subscription_subject(model), subscription_subject(model, "demo", "adults")):
        assert any(overlap(pattern, subject) for pattern in stream.subjects), subject


def test_stream_for_known_aggregates():
    assert stream_for("case.received") is CASES
    assert stream_for("deadline.scheduled") is DEADLINES
    assert stream_for("letter.issued") is LETTERS
    assert stream_for("learning.action_changed") is LEARNING


def test_stream_for_an_unknown_aggregate():
    with pytest.raises(KeyError, match="invoice"):
        stream_for("invoice.raised")


def test_no_two_streams_overlap():
    names = [stream.name for stream in STREAMS]
    assert len(set(names)) == len(names)
    for i, first in enumerate(STREAMS):
        for second in STREAMS[i + 1 :]:
            for a in first.subjects:
                for b in second.subjects:
                    assert not overlap(a, b), f"{first.name} {a} overlaps {second.name} {b}"


@pytest.mark.parametrize(
    ("organisation", "consumer"), [("demo", "deadlines"), ("cheshire-east", "letters")]
)
def test_dead_letters_only_go_to_the_dead_letter_stream(organisation: str, consumer: str):
    subject = dead_letter_subject(organisation, consumer)
    assert subject == f"dead_letter.complaints.{organisation}.{consumer}"
    assert [s.name for s in STREAMS if covered(subject, s)] == [DEAD_LETTERS.name]


def test_subscription_subject():
    assert subscription_subject(CaseReceived) == "complaints.*.*.case.received.v1"
    assert (
        subscription_subject(DeadlineScheduled, "demo", "childrens")
        == "complaints.demo.childrens.deadline.scheduled.v1"
    )
    # Events keyed by a provider end in its code, so a permission can name one provider.
    assert subscription_subject(ProviderNilReturn) == "complaints.*.*.provider.nil_return.v1.*"
    assert (
        subscription_subject(ProviderReturnRecorded, "demo", "adults", "oakwood")
        == "complaints.demo.adults.provider.return_recorded.v1.oakwood"
    )


def test_an_event_keyed_by_a_provider_carries_it_to_its_subject():
    nil = ProviderNilReturn(
        provider_id=uuid.uuid4(), provider="oakwood", year=2026, quarter=2, declared_on=date.today()
    )
    envelope = new_event(nil, organisation="demo", directorate="adults")
    assert envelope.provider == "oakwood"
    assert envelope.subject == "complaints.demo.adults.provider.nil_return.v1.oakwood"
    assert Envelope.from_wire(envelope.to_wire()).subject == envelope.subject
    assert new_event(_received(), organisation="demo", directorate="adults").provider is None


# --- published JSON Schemas ------------------------------------------------------------


def test_published_schemas_are_current():
    assert SCHEMAS.is_dir()
    assert export_schemas(SCHEMAS, check=True) == []


def test_published_schemas_cover_every_event():
    names = {path.name for path in SCHEMAS.glob("*.json")}
    assert "envelope.json" in names
    for event_type, version in EVENT_TYPES:
        assert f"{event_type}.v{version}.json" in names


def test_schema_check_reports_missing_files_without_writing(tmp_path: Path):
    out = tmp_path / "events"
    stale = export_schemas(out, check=True)
    assert sorted(Path(name).name for name in stale) == sorted(schema_documents())
    assert not out.exists()
    assert sorted(Path(name).name for name in export_schemas(out)) == sorted(schema_documents())
    assert export_schemas(out, check=True) == []
    (out / "letter.issued.v1.json").write_text("{}\n")
    assert export_schemas(out, check=True) == [str(out / "letter.issued.v1.json")]
