"""The event catalogue: wire names, JSON round trips and what every event refuses."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal, get_args, get_origin

import pytest
from pydantic import BaseModel, ValidationError

from schemas.catalogue import (
    EVENT_ADAPTER,
    EVENT_TYPES,
    TYPE_NAMES,
    AnyEvent,
    index_by_type_name,
    type_name,
)
from schemas.envelope import Envelope
from schemas.events import (
    BilanAssessed,
    CrisisClosed,
    CrisisOpened,
    IncidentMerged,
    IncidentReported,
    IncidentUpdated,
    InputRejected,
    MainCouranteEntryRecorded,
    PlanActivated,
    PublicAlertIssued,
    ResourceEngaged,
    SituationReportIssued,
    TaskAssigned,
    VigilanceChanged,
)
from schemas.subjects import split_type
from schemas.values import Bilan, Location, Polygon
from tests.unit.samples import LATER, OCCURRED_AT, PAYLOADS, VESUBIE_RING, naive, sample_event

pytestmark = pytest.mark.unit

each_event_type = pytest.mark.parametrize("cls", EVENT_TYPES, ids=type_name)


def literal_value(cls: type[BaseModel], field: str) -> object:
    """The single value a `Literal[...]` field allows, checked against its default."""
    info = cls.model_fields[field]
    assert get_origin(info.annotation) is Literal
    assert get_args(info.annotation) == (info.default,)
    return info.default


@each_event_type
def test_every_event_type_has_a_literal_type_of_form_aggregate_event_and_a_schema_version(
    cls: type[Envelope],
) -> None:
    name = literal_value(cls, "type")
    assert isinstance(name, str)
    split_type(name)
    version = literal_value(cls, "schema_version")
    assert isinstance(version, int)
    assert version >= 1


@each_event_type
def test_every_event_type_has_a_one_line_docstring_and_describes_its_payload_fields(
    cls: type[Envelope],
) -> None:
    assert cls.__doc__
    assert "\n" not in cls.__doc__.strip()
    payload = set(cls.model_fields) - set(Envelope.model_fields)
    for name in payload:
        assert cls.model_fields[name].description, f"{cls.__name__}.{name} has no description"


def test_the_catalogue_lists_every_event_class_once_under_its_wire_name() -> None:
    assert list(TYPE_NAMES.values()) == list(EVENT_TYPES)
    assert set(PAYLOADS) == set(EVENT_TYPES)
    union = get_args(AnyEvent)[0]
    assert get_args(union) == EVENT_TYPES


def test_two_classes_on_one_wire_name_are_refused() -> None:
    with pytest.raises(RuntimeError, match=r"crisis\.opened"):
        index_by_type_name((CrisisOpened, CrisisClosed, CrisisOpened))


@each_event_type
def test_every_event_type_round_trips_through_json_to_an_equal_object(
    cls: type[Envelope],
) -> None:
    event = sample_event(cls)
    parsed = EVENT_ADAPTER.validate_json(event.model_dump_json())
    assert type(parsed) is cls
    assert parsed == event
    assert EVENT_ADAPTER.validate_python(event.to_wire()) == event


def test_an_unknown_event_type_is_refused() -> None:
    data = sample_event(CrisisClosed).to_wire() | {"type": "crisis.vanished"}
    with pytest.raises(ValidationError):
        EVENT_ADAPTER.validate_python(data)


def test_an_event_cannot_claim_another_type_than_its_own() -> None:
    with pytest.raises(ValidationError):
        sample_event(IncidentReported, type="incident.closed")


@each_event_type
def test_extra_fields_are_refused(cls: type[Envelope]) -> None:
    data = sample_event(cls).to_wire() | {"unexpected": 1}
    with pytest.raises(ValidationError, match="unexpected"):
        cls.model_validate(data)
    with pytest.raises(ValidationError, match="unexpected"):
        EVENT_ADAPTER.validate_python(data)


def test_extra_fields_are_refused_in_value_objects_too() -> None:
    with pytest.raises(ValidationError, match="unexpected"):
        Location.model_validate({"description": "Nice", "unexpected": 1})


@each_event_type
def test_naive_datetimes_are_refused_in_the_envelope(cls: type[Envelope]) -> None:
    with pytest.raises(ValidationError, match="timezone"):
        sample_event(cls, occurred_at=naive(OCCURRED_AT))


@pytest.mark.parametrize(
    ("cls", "field"),
    [
        (PlanActivated, "decided_at"),
        (VigilanceChanged, "valid_from"),
        (MainCouranteEntryRecorded, "follow_up_due"),
        (TaskAssigned, "due_at"),
        (SituationReportIssued, "next_report_at"),
    ],
)
def test_naive_datetimes_are_refused_in_payloads(cls: type[Envelope], field: str) -> None:
    with pytest.raises(ValidationError, match="timezone"):
        sample_event(cls, **{field: naive(LATER)})


@each_event_type
def test_events_are_frozen(cls: type[Envelope]) -> None:
    event = sample_event(cls)
    with pytest.raises(ValidationError, match="frozen"):
        event.crisis_id = "another-crisis"  # type: ignore[misc]


def test_value_objects_inside_events_are_frozen_too() -> None:
    event = sample_event(IncidentReported)
    assert event.location.point is not None
    with pytest.raises(ValidationError, match="frozen"):
        event.location.point.lat = 0.0  # type: ignore[misc]


@pytest.mark.parametrize("bad", ["inc.0001", "inc*", "inc>", ">", "inc 0001", "", "-inc"])
@pytest.mark.parametrize(
    ("cls", "field", "as_list"),
    [
        (CrisisOpened, "crisis_id", False),
        (IncidentReported, "source", False),
        (IncidentReported, "incident_id", False),
        (IncidentMerged, "merged_ids", True),
        (PlanActivated, "plan_code", False),
        (ResourceEngaged, "resource_id", False),
        (MainCouranteEntryRecorded, "entry_id", False),
        (InputRejected, "input_source", False),
    ],
)
def test_invalid_tokens_in_ids_are_refused(
    cls: type[Envelope], field: str, *, as_list: bool, bad: str
) -> None:
    with pytest.raises(ValidationError, match=field):
        sample_event(cls, **{field: [bad] if as_list else bad})


def test_a_polygon_that_is_not_closed_is_refused() -> None:
    open_ring = [*VESUBIE_RING[:-1], {"lat": 44.0, "lon": 7.2}]
    with pytest.raises(ValidationError, match="closed"):
        Polygon.model_validate({"points": open_ring})


def test_a_polygon_of_fewer_than_four_points_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least 4"):
        Polygon.model_validate({"points": [VESUBIE_RING[0], VESUBIE_RING[1], VESUBIE_RING[0]]})


def test_a_location_that_says_nothing_of_where_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least one of"):
        Location.model_validate({"altitude_m": 300})


def test_a_bilan_with_nothing_assessed_is_refused_on_bilan_assessed() -> None:
    with pytest.raises(ValidationError, match="at least one figure"):
        sample_event(BilanAssessed, figures={})


def test_a_situation_report_may_carry_a_bilan_with_nothing_assessed_yet() -> None:
    report = sample_event(SituationReportIssued, bilan={})
    assert report.bilan.assessed() == {}


def test_a_bilan_gives_the_figures_assessed_and_zero_counts_as_assessed() -> None:
    assert Bilan(decedes=0, evacues=120).assessed() == {"decedes": 0, "evacues": 120}


# (case, event type, changes to its sample, what the error must mention)
INCONSISTENT: list[tuple[str, type[Envelope], dict[str, Any], str]] = [
    (
        "merge into itself",
        IncidentMerged,
        {"merged_ids": ["inc-0004", "inc-0001"]},
        "incident kept",
    ),
    ("merge nothing", IncidentMerged, {"merged_ids": []}, "at least 1 item"),
    ("merge twice", IncidentMerged, {"merged_ids": ["inc-0004", "inc-0004"]}, "repeat"),
    ("update nothing", IncidentUpdated, {"severity": None, "note": None}, "change or add"),
    (
        "vigilance ends first",
        VigilanceChanged,
        {"valid_until": OCCURRED_AT - timedelta(days=1)},
        "valid_until",
    ),
    ("empty resource", ResourceEngaged, {"units": 0, "personnel": 0}, "at least one unit"),
    ("negative count", ResourceEngaged, {"units": -1}, "greater than or equal to 0"),
    ("due without owner", MainCouranteEntryRecorded, {"follow_up_owner": None}, "follow-up owner"),
    (
        "entry corrects itself",
        MainCouranteEntryRecorded,
        {"corrects_entry_id": "mc-0001"},
        "correct itself",
    ),
    ("alert expired at issue", PublicAlertIssued, {"expires_at": OCCURRED_AT}, "expires_at"),
    ("link not http", PublicAlertIssued, {"link": "javascript:alert(1)"}, "link"),
    ("report number zero", SituationReportIssued, {"number": 0}, "number"),
    (
        "next report in the past",
        SituationReportIssued,
        {"next_report_at": OCCURRED_AT},
        "next_report_at",
    ),
    ("upper-case digest", InputRejected, {"raw_sha256": "BA7816BF" + "0" * 56}, "raw_sha256"),
    ("excerpt too long", InputRejected, {"raw_excerpt": "x" * 4097}, "at most 4096"),
    ("blank title", IncidentReported, {"title": "   "}, "title"),
    ("unknown département", CrisisOpened, {"departement": "99"}, "departement"),
    ("unknown kind", IncidentReported, {"kind": "meteorite"}, "kind"),
]


@pytest.mark.parametrize(
    ("cls", "changes", "mention"),
    [case[1:] for case in INCONSISTENT],
    ids=[case[0] for case in INCONSISTENT],
)
def test_inconsistent_payloads_are_refused(
    cls: type[Envelope], changes: dict[str, Any], mention: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(mention)):
        sample_event(cls, **changes)


def test_the_whole_catalogue_has_a_json_schema_keyed_by_wire_name() -> None:
    schema = EVENT_ADAPTER.json_schema()
    assert set(schema["discriminator"]["mapping"]) == set(TYPE_NAMES)
