"""CISU messages of the Hub Santé into incident and resource events (tests/data/intake/cisu)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.envelope import STANDING_WATCH, Envelope, Status
from schemas.events import (
    BilanAssessed,
    IncidentReported,
    IncidentUpdated,
    ResourceEngaged,
    ResourceReleased,
)
from schemas.values import Bilan, GeoPoint, IncidentKind, Service, Severity
from services.intake.cisu import (
    CisuMessage,
    is_cisu_json,
    is_cisu_xml,
    map_cisu,
    read_cisu_json,
    read_cisu_xml,
)
from services.intake.cisu import kind_of as cisu_kind_of
from services.intake.correlation import CorrelationIndex, Engaged
from services.intake.errors import Rejection, Warnings
from services.intake.mapping import Context, Mapped, incident_id_for
from services.intake.xmlsafe import parse_xml

pytestmark = pytest.mark.unit

T = TypeVar("T")

DATA = Path(__file__).resolve().parents[1] / "data" / "intake" / "cisu"
RECEIVED = datetime(2020, 10, 2, 16, 0, tzinfo=UTC)
FLOOD_CASE = "fr.fire.sis06.AF-20201002-0417"
FLOOD_INCIDENT = incident_id_for(f"case:{FLOOD_CASE}")
VALID_JSON = (
    "rc_eda_vesubie_flood.json",
    "rc_ri_vesubie_1.json",
    "rc_ri_vesubie_2.json",
    "rc_eda_nice_road_accident.json",
    "trap_old_generation_case.json",
    "trap_old_generation_resources.json",
)


class PlacedIndex(CorrelationIndex):
    """An index that also knows where incidents are (what the integrator is asked to add)."""

    def __init__(self) -> None:
        super().__init__()
        self.places: dict[str, GeoPoint] = {}

    def place_of(self, incident_id: str) -> GeoPoint | None:
        return self.places.get(incident_id)


def context(**changes: Any) -> Context:
    return Context(feed="hub-sante", language="fr-FR", received_at=RECEIVED, **changes)


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return loaded


def read(source: str | dict[str, Any]) -> CisuMessage:
    """A message from a file of the corpus (JSON or XML) or from a JSON document."""
    if isinstance(source, dict):
        return read_cisu_json(source, "", Warnings())
    if source.endswith(".xml"):
        root = parse_xml((DATA / source).read_bytes(), max_bytes=1 << 20).root
        return read_cisu_xml(root, "/message", Warnings())
    return read_cisu_json(load(source), "", Warnings())


def take(index: CorrelationIndex, source: str | dict[str, Any], **changes: Any) -> Mapped:
    """Map one message, then remember what it taught, as the intake does once it is published."""
    mapped = map_cisu(read(source), index, context(**changes))
    for keys, ref in mapped.learnt:
        index.remember(keys, ref)
    for event in mapped.events:
        placed = isinstance(event, IncidentReported) and event.location.point is not None
        if isinstance(index, PlacedIndex) and placed:
            assert isinstance(event, IncidentReported)
            assert event.location.point is not None
            index.places[event.incident_id] = event.location.point
    return mapped


def refusal(source: str | dict[str, Any], index: CorrelationIndex | None = None) -> Rejection:
    with pytest.raises(Rejection) as caught:
        map_cisu(read(source), index or CorrelationIndex(), context())
    return caught.value


def flood_known() -> CorrelationIndex:
    index = CorrelationIndex()
    take(index, "rc_eda_vesubie_flood.json")
    return index


def of_type(mapped: Mapped, kind: type[T]) -> list[T]:
    return [e for e in mapped.events if isinstance(e, kind)]


def wire(events: list[Envelope]) -> list[dict[str, Any]]:
    return [e.to_wire() for e in events]


# Case creation -----------------------------------------------------------------------------------


def test_a_case_creation_reports_the_flood_as_an_incident() -> None:
    mapped = take(CorrelationIndex(), "rc_eda_vesubie_flood.json")
    [event] = mapped.events
    assert isinstance(event, IncidentReported)
    assert event.incident_id == FLOOD_INCIDENT
    assert event.incident_id.startswith("case-")
    assert event.crisis_id == STANDING_WATCH
    assert event.kind is IncidentKind.INONDATION
    assert event.severity is Severity.UNKNOWN
    assert event.title == (
        "Inondation d'un bâtiment, local - Saint-Martin-Vésubie, quartier du Pont de la Cerise"
    )
    assert event.description is not None
    assert "rez-de-chaussée sous 1,20 m d'eau" in event.description
    assert "Qualification : Montée des eaux" in event.description
    assert "Victimes : PLUSIEURS" in event.description
    assert event.location.point == GeoPoint(lat=44.0689, lon=7.2558)
    assert event.location.insee_codes == ["06127"]
    assert event.location.description is not None
    assert "12 allée de la Vésubie" in event.location.description
    assert event.occurred_at == datetime.fromisoformat("2020-10-02T17:31:00+02:00")
    assert event.received_at == RECEIVED
    assert event.source == "hub-sante"
    assert event.actor == "feed:hub-sante"
    assert event.status is Status.ACTUAL
    assert event.sources == ["sgo-nexsis-06"]
    assert event.external_ids == [
        f"case:{FLOOD_CASE}",
        "cisu:fr.fire.sis06.sgo-nexsis-06.msg-20201002-174200-0417",
    ]
    assert event.warnings == []


def test_a_case_without_victims_gives_a_zero_bilan() -> None:
    mapped = take(CorrelationIndex(), "rc_eda_nice_road_accident.json")
    reported, bilan = mapped.events
    assert isinstance(reported, IncidentReported)
    assert reported.kind is IncidentKind.ACCIDENT_ROUTIER
    assert reported.location.insee_codes == ["06088"]
    assert isinstance(bilan, BilanAssessed)
    assert bilan.incident_id == reported.incident_id
    assert bilan.figures == Bilan(decedes=0, urgences_absolues=0, urgences_relatives=0)
    assert bilan.source_of_figures == "lrm-samu06"


def test_event_ids_are_stable_for_the_same_message() -> None:
    first = take(CorrelationIndex(), "rc_eda_vesubie_flood.json")
    second = take(CorrelationIndex(), "rc_eda_vesubie_flood.json")
    assert [e.event_id for e in first.events] == [e.event_id for e in second.events]


def test_a_copy_of_a_message_adds_nothing() -> None:
    index = flood_known()
    again = take(index, "rc_eda_vesubie_flood.json")
    assert again.events == []
    assert again.notes[0].startswith("already received")


def test_a_second_case_creation_for_a_known_case_updates_its_incident() -> None:
    index = flood_known()
    document = load("rc_eda_vesubie_flood.json")
    document["message"]["messageId"] = "fr.fire.sis06.sgo-nexsis-06.msg-20201002-181500-0417"
    document["message"]["kind"] = "Update"
    document["message"]["createCase"]["freetext"] = ["Eau à 1,60 m, étage menacé"]
    [event] = take(index, document).events
    assert isinstance(event, IncidentUpdated)
    assert event.incident_id == FLOOD_INCIDENT
    assert event.description is not None
    assert event.description.startswith("Eau à 1,60 m")
    assert event.severity is None  # unknown is no change
    assert event.external_ids == ["cisu:fr.fire.sis06.sgo-nexsis-06.msg-20201002-181500-0417"]


def test_a_case_goes_to_the_open_crisis_of_its_status() -> None:
    index = CorrelationIndex()
    index.open_crises = {"crue-vesubie-2020": False, "exercice-orsec-2020": True}
    document = load("rc_eda_vesubie_flood.json")
    document["message"]["status"] = "Exercise"
    [event] = take(index, document).events
    assert event.crisis_id == "exercice-orsec-2020"
    assert event.status is Status.EXERCISE


def test_an_exercise_message_on_a_real_case_is_refused() -> None:
    index = flood_known()
    document = load("rc_eda_vesubie_flood.json")
    document["message"]["messageId"] = "fr.fire.sis06.exercice.msg-1"
    document["message"]["status"] = "Exercise"
    error = refusal(document, index)
    assert "exercise and real never mix" in error.reason
    assert "CISU" in error.reason
    assert error.path == "/message"


def test_actual_inside_an_exercise_envelope_is_taken_as_exercise() -> None:
    mapped = take(CorrelationIndex(), "rc_eda_vesubie_flood.json", imposed_status="Exercise")
    [event] = mapped.events
    assert event.status is Status.EXERCISE
    assert isinstance(event, IncidentReported)
    assert any("envelope marked Exercise" in w for w in event.warnings)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("C01.01.01", IncidentKind.ACCIDENT_ROUTIER),
        ("C01.06.02", IncidentKind.ACCIDENT_ROUTIER),
        ("C04.05.04", IncidentKind.FEU_DE_FORET),
        ("C04.02.05", IncidentKind.FEU),
        ("C08.01.01", IncidentKind.INONDATION),
        ("C08.06.03", IncidentKind.MOUVEMENT_DE_TERRAIN),
        ("C02.05.00", IncidentKind.AUTRE),
        ("", IncidentKind.AUTRE),
    ],
)
def test_the_nature_code_says_the_kind(code: str, kind: IncidentKind) -> None:
    assert cisu_kind_of(code) is kind


# Resource lists ----------------------------------------------------------------------------------


def test_the_first_resource_list_engages_three_resources() -> None:
    index = flood_known()
    mapped = take(index, "rc_ri_vesubie_1.json")
    engaged = of_type(mapped, ResourceEngaged)
    assert len(engaged) == len(mapped.events) == 3
    assert [e.service for e in engaged] == [Service.SDIS, Service.SAMU_SMUR, Service.SDIS]
    assert all(e.incident_id == FLOOD_INCIDENT for e in engaged)
    assert all(e.units == 1 and e.personnel == 0 for e in engaged)
    assert all(e.resource_id.startswith("cisu-res-") for e in engaged)
    assert engaged[0].description == (
        "VSAV 1 Saint-Martin-Vésubie (SIS, CIS Saint-Martin-Vésubie, Équipage VSAV 1 (SECOURS))"
    )
    assert engaged[0].occurred_at == datetime.fromisoformat("2020-10-02T17:48:00+02:00")
    assert set(index.engaged(FLOOD_INCIDENT)) == {e.resource_id for e in engaged}


def test_a_second_list_releases_the_absent_one_and_engages_the_new_one() -> None:
    index = flood_known()
    first = of_type(take(index, "rc_ri_vesubie_1.json"), ResourceEngaged)
    mapped = take(index, "rc_ri_vesubie_2.json")
    [released] = of_type(mapped, ResourceReleased)
    [engaged] = of_type(mapped, ResourceEngaged)
    assert len(mapped.events) == 2
    assert released.resource_id == first[2].resource_id  # the FPT, absent from the new list
    assert released.description == "FPT Roquebillière (SIS, CIS Roquebillière)"
    assert released.reason is not None
    assert "no longer in the case's resource list" in released.reason
    assert engaged.description is not None
    assert engaged.description.startswith("Dragon 06")
    assert set(index.engaged(FLOOD_INCIDENT)) == {
        first[0].resource_id,
        first[1].resource_id,
        engaged.resource_id,
    }


def test_a_state_meaning_returned_releases_the_resource() -> None:
    index = flood_known()
    take(index, "rc_ri_vesubie_1.json")
    take(index, "rc_ri_vesubie_2.json")
    [released] = take(index, "rc_ri_vesubie_3.json").events
    assert isinstance(released, ResourceReleased)
    assert released.service is Service.SAMU_SMUR
    assert released.reason is not None
    assert released.reason.startswith("CISU state RETOUR")
    assert released.occurred_at == datetime.fromisoformat("2020-10-02T19:01:00+02:00")


def test_the_same_list_twice_gives_nothing_the_second_time() -> None:
    index = flood_known()
    take(index, "rc_ri_vesubie_1.json")
    again = take(index, "rc_ri_vesubie_1.json")
    assert again.events == []
    assert again.notes[0].startswith("already received")
    resent = load("rc_ri_vesubie_1.json")
    resent["message"]["messageId"] = "fr.fire.sis06.sgo-nexsis-06.msg-resent"
    mapped = take(index, resent)
    assert mapped.events == []
    assert mapped.notes == ["the case's resources are as they were: nothing new"]


def test_a_list_diffs_against_the_previous_one_of_the_same_input() -> None:
    # No `remember` between the two: the index learns engagements as the mapper emits them.
    index = flood_known()
    map_cisu(read("rc_ri_vesubie_1.json"), index, context())
    mapped = map_cisu(read("rc_ri_vesubie_2.json"), index, context())
    assert len(of_type(mapped, ResourceReleased)) == len(of_type(mapped, ResourceEngaged)) == 1


def test_resources_engaged_by_others_are_not_released_by_a_list() -> None:
    index = flood_known()
    operator = Engaged("res-sdis06-ccf-01", "sdis", 4, 16, "GIFF 06")
    index.engage(FLOOD_INCIDENT, operator)
    take(index, "rc_ri_vesubie_1.json")
    mapped = take(index, "rc_ri_vesubie_2.json")
    assert operator.resource_id not in {e.resource_id for e in of_type(mapped, ResourceReleased)}
    assert operator.resource_id in index.engaged(FLOOD_INCIDENT)


def test_resources_of_a_case_not_received_are_refused() -> None:
    error = refusal("rc_ri_vesubie_1.json")
    assert error.reason == (
        f"resource status for a case this intake has not received (case:{FLOOD_CASE})"
    )
    assert error.path == "/message/resourcesInfoCisu/caseId"


def test_an_exercise_resource_list_on_a_real_case_is_refused() -> None:
    document = load("rc_ri_vesubie_1.json")
    document["message"]["status"] = "Exercise"
    assert "never mix" in refusal(document, flood_known()).reason


# XML ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stem", ["rc_eda_vesubie_flood", "rc_ri_vesubie_1"])
def test_the_xml_form_gives_the_same_events_as_the_json_form(stem: str) -> None:
    from_json, from_xml = flood_known(), flood_known()
    if stem.startswith("rc_eda"):
        from_json, from_xml = CorrelationIndex(), CorrelationIndex()
    events_json = take(from_json, f"{stem}.json").events
    events_xml = take(from_xml, f"{stem}.xml").events
    assert events_json
    assert wire(events_xml) == wire(events_json)


def test_messages_are_recognised_in_json_and_in_xml() -> None:
    document = load("rc_eda_vesubie_flood.json")
    assert is_cisu_json(document)
    assert is_cisu_json(document["message"])
    assert not is_cisu_json({"type": "FeatureCollection", "features": []})
    assert not is_cisu_json(["createCase"])
    root = parse_xml((DATA / "rc_ri_vesubie_1.xml").read_bytes(), max_bytes=1 << 20).root
    assert is_cisu_xml(root)
    cap = parse_xml(b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>', max_bytes=99)
    assert not is_cisu_xml(cap.root)


def test_an_xml_coordinate_that_is_not_a_number_is_refused() -> None:
    text = (DATA / "rc_eda_vesubie_flood.xml").read_text(encoding="utf-8")
    root = parse_xml(
        text.replace("<lat>44.0689</lat>", "<lat>nord</lat>").encode(), max_bytes=1 << 20
    )
    with pytest.raises(Rejection) as caught:
        read_cisu_xml(root.root, "/message", Warnings())
    assert caught.value.path == "/message/createCase/location/geometry/point/coord/lat"


# Tolerated traps ---------------------------------------------------------------------------------


def test_an_offset_that_is_not_paris_in_july_is_kept_with_a_warning() -> None:
    document = load("rc_eda_nice_road_accident.json")
    document["message"]["createCase"]["creation"] = "2024-07-12T08:14:00+01:00"
    reported, bilan = take(CorrelationIndex(), document).events
    assert isinstance(reported, IncidentReported)
    assert reported.occurred_at == datetime(2024, 7, 12, 7, 14, tzinfo=UTC)
    expected = (
        "/message/createCase/creation: UTC offset +01:00 is not Europe/Paris's on 2024-07-12 "
        "(+02:00): instant kept as given"
    )
    assert expected in reported.warnings
    assert isinstance(bilan, BilanAssessed)
    assert expected in bilan.warnings


def test_utc_written_as_the_dst_asks_is_not_warned_about() -> None:
    document = load("rc_eda_nice_road_accident.json")
    document["message"]["sentAt"] = "2024-07-12T06:19:00-00:00"
    reported = take(CorrelationIndex(), document).events[0]
    assert isinstance(reported, IncidentReported)
    assert reported.warnings == []


def test_a_message_sent_months_after_its_case_is_kept_with_a_warning() -> None:
    document = load("rc_eda_nice_road_accident.json")
    document["message"]["sentAt"] = "2025-02-12T08:19:00+01:00"
    reported = take(CorrelationIndex(), document).events[0]
    assert isinstance(reported, IncidentReported)
    assert reported.occurred_at == datetime.fromisoformat("2024-07-12T08:14:00+02:00")
    assert any(
        w.startswith("/message/createCase/creation: message sent 215 days after its case")
        for w in reported.warnings
    )


def test_a_resource_far_from_its_case_is_kept_with_a_warning() -> None:
    index = PlacedIndex()
    take(index, "rc_eda_vesubie_flood.json")
    take(index, "rc_ri_vesubie_1.json")
    take(index, "rc_ri_vesubie_2.json")
    mapped = take(index, "trap_far_resource.json")
    lyon = [e for e in of_type(mapped, ResourceEngaged) if "Corbas" in (e.description or "")]
    assert len(lyon) == 1
    assert (
        "/message/resourcesInfoCisu/resource/3/position: position 257 km from its case: "
        "kept as sent"
    ) in lyon[0].warnings


def test_the_nice_smur_on_its_way_is_not_far() -> None:
    index = PlacedIndex()
    take(index, "rc_eda_vesubie_flood.json")
    mapped = take(index, "rc_ri_vesubie_1.json")
    engaged = of_type(mapped, ResourceEngaged)
    assert len(engaged) == 3
    assert all(e.warnings == [] for e in engaged)


def test_an_older_generation_case_is_read_with_warnings() -> None:
    [event] = take(CorrelationIndex(), "trap_old_generation_case.json").events
    assert isinstance(event, IncidentReported)
    assert event.kind is IncidentKind.ACCIDENT_ROUTIER
    assert event.severity is Severity.SEVERE
    assert event.location.point == GeoPoint(lat=43.6845, lon=7.2210)
    assert event.description is not None
    assert event.description.startswith("Collision scooter - voiture")
    assert "Victimes : PLUSIEURS" in event.description
    for said in (
        "/message/createCase/createdAt: createdAt of an older generation of RC-EDA read as "
        "creation",
        "/message/createCase/caseLocation: caseLocation of an older generation of RC-EDA read "
        "as location",
        "/message/createCase/initialAlert/alertCode: alertCode of an older generation of RC-EDA "
        "read as qualification",
        "/message/createCase/severity: severity of an older generation of RC-EDA read",
    ):
        assert said in event.warnings


def test_an_older_generation_resource_list_is_read_with_warnings() -> None:
    index = CorrelationIndex()
    take(index, "trap_old_generation_case.json")
    mapped = take(index, "trap_old_generation_resources.json")
    smur, vsav = of_type(mapped, ResourceEngaged)
    assert smur.service is Service.SAMU_SMUR
    assert smur.occurred_at == datetime.fromisoformat("2024-07-12T09:27:00+02:00")  # latest
    assert vsav.service is Service.SDIS
    assert vsav.occurred_at == datetime.fromisoformat("2024-07-12T09:25:00+02:00")
    assert "/message/resourcesInfo: resourcesInfo (older RC-RI generation) read as RC-RI" in (
        smur.warnings
    )
    assert (
        "/message/resourcesInfo/resource/1/vehicleType: SDIS (older RC-RI generation) read as SIS"
        in vsav.warnings
    )


def test_two_namespace_generations_in_one_message_are_read_with_a_warning() -> None:
    [event] = take(CorrelationIndex(), "trap_mixed_namespaces.xml").events
    assert isinstance(event, IncidentReported)
    assert event.location.insee_codes == ["06127"]
    assert event.warnings == [
        "/message/createCase/location: <location> in urn:emergency:eda:1.9:createcase inside "
        "<createCase> in urn:emergency:cisu:2.0:createCase: two generations of the schema, "
        "read as one message"
    ]


def test_a_status_in_capitals_is_read_with_a_warning() -> None:
    document = load("rc_eda_nice_road_accident.json")
    document["message"]["status"] = "ACTUAL"
    event = take(CorrelationIndex(), document).events[0]
    assert event.status is Status.ACTUAL
    assert isinstance(event, IncidentReported)
    assert "/message/status: 'ACTUAL' read as 'Actual'" in event.warnings


# Refusals ----------------------------------------------------------------------------------------


def _without(document: dict[str, Any], *keys: str | int) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    node: Any = changed
    for key in keys[:-1]:
        node = node[key]
    del node[keys[-1]]
    return changed


def _with(document: dict[str, Any], value: Any, *keys: str | int) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    node: Any = changed
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    return changed


CASE = load("rc_eda_vesubie_flood.json")
RESOURCES = load("rc_ri_vesubie_1.json")
M, C, R = "message", "createCase", "resourcesInfoCisu"


@pytest.mark.parametrize(
    ("document", "reason", "path"),
    [
        (
            _without(CASE, M, C, "caseId"),
            "caseId is missing and the schema requires a value",
            "/message/createCase/caseId",
        ),
        (
            _without(CASE, M, C, "location"),
            "location is missing and the schema requires it",
            "/message/createCase/location",
        ),
        (
            _without(CASE, M, "messageId"),
            "messageId is missing and the schema requires a value",
            "/message/messageId",
        ),
        (
            _with(CASE, "", M, C, "qualification", "whatsHappen", "label"),
            "label is empty and the schema requires a value",
            "/message/createCase/qualification/whatsHappen/label",
        ),
        (
            _with(CASE, "le 2 octobre vers 17 h", M, "sentAt"),
            "'le 2 octobre vers 17 h' is not a date-time with an offset "
            "(like 2024-07-12T14:05:00+02:00)",
            "/message/sentAt",
        ),
        (
            _with(CASE, "2020-10-02T17:31:00", M, C, "creation"),
            "'2020-10-02T17:31:00' is not a date-time with an offset "
            "(like 2024-07-12T14:05:00+02:00)",
            "/message/createCase/creation",
        ),
        (
            _with(CASE, "2020-02-30T17:31:00+01:00", M, C, "creation"),
            "'2020-02-30T17:31:00+01:00' is not a valid date-time",
            "/message/createCase/creation",
        ),
        (
            _with(CASE, 144.0689, M, C, "location", "geometry", "point", "coord", "lat"),
            "lat 144.0689 is out of range (±90)",
            "/message/createCase/location/geometry/point/coord/lat",
        ),
        (
            _with(CASE, "7.2558", M, C, "location", "geometry", "point", "coord", "lon"),
            "lon must be a number, not a string",
            "/message/createCase/location/geometry/point/coord/lon",
        ),
        (
            _with(CASE, "Real", M, "status"),
            "'Real' is not one of Actual, Exercise, System, Test",
            "/message/status",
        ),
        (
            _with(CASE, "-3", M, C, "qualification", "victims", "count"),
            "a count cannot be negative (-3)",
            "/message/createCase/qualification/victims/count",
        ),
        (
            _with(CASE, "QUELQUES", M, C, "qualification", "victims", "count"),
            "'QUELQUES' is not one of 0, 1, PLUSIEURS, BEAUCOUP, INCONNU, NON DEFINI",
            "/message/createCase/qualification/victims/count",
        ),
        (
            _with(CASE, 417, M, C, "caseId"),
            "caseId must be a string, not a number",
            "/message/createCase/caseId",
        ),
        (
            _with(RESOURCES, "EN_ROUTE", M, R, "resource", 0, "state", "status"),
            "'EN_ROUTE' is not one of DECISION, DECLENCHE, DEPART, ARRIVEE, PEC, BILAN, "
            "ORIENTAT, TRANSP, ETAPE1, TRANSP2, ETAPE2, TRANSP3, DESTIN, FINPEC, ANNULE, "
            "RETOUR, RET-BASE, REN-BASE",
            "/message/resourcesInfoCisu/resource/0/state/status",
        ),
        (
            _with(RESOURCES, "HELICO", M, R, "resource", 1, "vehicleType"),
            "'HELICO' is not one of VECTEUR_SANTE, SMUR, SAMU, TSU, SIS, SDIS, AASC, FSI, LIB, "
            "AUTREVEC, AUTRE",
            "/message/resourcesInfoCisu/resource/1/vehicleType",
        ),
        (
            _with(RESOURCES, -95.0, M, R, "resource", 0, "position", "coord", "lat"),
            "lat -95.0 is out of range (±90)",
            "/message/resourcesInfoCisu/resource/0/position/coord/lat",
        ),
        (
            _without(RESOURCES, M, R, "resource", 2, "resourceId"),
            "resourceId is missing and the schema requires a value",
            "/message/resourcesInfoCisu/resource/2/resourceId",
        ),
    ],
)
def test_a_message_is_refused_with_its_reason_and_path(
    document: dict[str, Any], reason: str, path: str
) -> None:
    error = refusal(document, flood_known())
    assert (error.reason, error.path) == (reason, path)


def test_a_cancel_is_refused_and_an_ack_records_nothing() -> None:
    error = refusal(_with(CASE, "Cancel", M, "kind"))
    assert error.path == "/message/kind"
    mapped = take(CorrelationIndex(), _with(CASE, "Ack", M, "kind"))
    assert mapped.events == []
    assert mapped.notes == ["kind Ack carries no case: nothing to record"]


def test_a_location_that_says_nowhere_is_refused() -> None:
    nowhere = {"locID": "loc-x", "country": "FR"}
    error = refusal(_with(CASE, nowhere, M, C, "location"))
    assert error.path == "/message/createCase/location"
    assert "says nowhere" in error.reason


# Mutated documents -------------------------------------------------------------------------------

GARBAGE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**18),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        [
            "",
            " ",
            "-1",
            "9999-12-31T23:59:59-05:00",
            "0001-01-01T00:00:00+01:00",
            "2020-10-02T17:31:00+25:00",
            "ACTUAL",
            "RETOUR",
            "0",
        ]
    ),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _outcome(run: Callable[[], Mapped]) -> Mapped | Rejection:
    """What mapping gives: events, or the refusal; any other exception fails the test."""
    try:
        return run()
    except Rejection as error:
        return error


def _paths(node: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _paths(value, (*prefix, i))
    return found


def _mutated(document: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(document)
        if not paths:
            break
        *parents, last = data.draw(st.sampled_from(paths))
        node: Any = document
        for key in parents:
            node = node[key]
        if data.draw(st.booleans()):
            del node[last]
        else:
            node[last] = data.draw(GARBAGE)
    return document


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(VALID_JSON))
def test_mutated_documents_give_events_or_a_refusal(data: st.DataObject, name: str) -> None:
    index = flood_known()
    take(index, "trap_old_generation_case.json")
    document = _mutated(load(name), data)
    outcome = _outcome(lambda: map_cisu(read_cisu_json(document, "", Warnings()), index, context()))
    assert isinstance(outcome, Mapped) or outcome.reason


XML_FORMS = ("rc_eda_vesubie_flood.xml", "rc_ri_vesubie_1.xml", "trap_mixed_namespaces.xml")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(XML_FORMS))
def test_mutated_xml_gives_events_or_a_refusal(data: st.DataObject, name: str) -> None:
    root = parse_xml((DATA / name).read_bytes(), max_bytes=1 << 20).root
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        parent, child = data.draw(st.sampled_from([(p, c) for p in root.iter() for c in p]))
        change = data.draw(st.sampled_from(["remove", "text", "repeat"]))
        if change == "remove":
            parent.remove(child)
        elif change == "text":
            child.text = data.draw(st.text(max_size=12) | st.sampled_from(["-1", "nan", "1e400"]))
        else:
            parent.append(copy.deepcopy(child))
    index = flood_known()
    outcome = _outcome(
        lambda: map_cisu(read_cisu_xml(root, "/message", Warnings()), index, context())
    )
    assert isinstance(outcome, Mapped) or outcome.reason
