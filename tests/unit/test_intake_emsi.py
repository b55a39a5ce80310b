"""EMSI messages (SAMU / NexSIS, Hub Santé) into incident, bilan and resource events.

The documents are in tests/data/intake/emsi: a flood of the Vésubie reported by the SDIS 06 and
updated at night, a road-accident exercise sent by the SAMU 06, the tolerated traps and two
refusals. Each XML document that has a JSON twin must read the same in both encodings.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.envelope import Status
from schemas.events import (
    BilanAssessed,
    IncidentClosed,
    IncidentReported,
    IncidentUpdated,
    ResourceEngaged,
    ResourceReleased,
)
from schemas.values import Bilan, GeoPoint, IncidentKind, Service, Severity
from services.intake.correlation import CorrelationIndex, IncidentRef
from services.intake.emsi import (
    EMSI_NAMESPACES,
    EmsiMessage,
    is_emsi,
    is_emsi_json,
    map_emsi,
    read_emsi,
    read_emsi_json,
)
from services.intake.errors import Rejection, Warnings
from services.intake.mapping import Context, Mapped, incident_id_for
from services.intake.xmlsafe import parse_xml

pytestmark = pytest.mark.unit

DATA = Path(__file__).resolve().parents[1] / "data" / "intake" / "emsi"
RECEIVED = datetime(2020, 10, 2, 15, 50, tzinfo=UTC)
CONTEXT = Context(feed="hub-sante", language="fr-FR", received_at=RECEIVED)
FLOOD_CASE = "case:fr.fire.sdis06.SDIS06-OPS-2020-041587"
EXERCISE_CASE = "case:fr.health.samu06.DRFR150602411200031"
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=150)


def xml_message(source: str | bytes) -> EmsiMessage:
    """A document of the corpus (by name) or raw XML, read as the intake would."""
    raw = (DATA / source).read_bytes() if isinstance(source, str) else source
    document = parse_xml(raw, max_bytes=1_000_000)
    return read_emsi(document.root, "/emsi", document.warnings)


def json_message(name: str) -> EmsiMessage:
    """The JSON twin of a document; the bare object is read as if it were under `/emsi`."""
    document = json.loads((DATA / name).read_text(encoding="utf-8"))
    return read_emsi_json(document, "" if "emsi" in document else "/emsi", Warnings())


def take(message: EmsiMessage, index: CorrelationIndex, context: Context = CONTEXT) -> Mapped:
    """Map a message and, as the intake does once the events are published, remember its keys."""
    mapped = map_emsi(message, index, context)
    for keys, ref in mapped.learnt:
        index.remember(keys, ref)
    return mapped


def index_with(*crises: tuple[str, str]) -> CorrelationIndex:
    """An index with these crises open, as (crisis id, status)."""
    index = CorrelationIndex()
    for crisis_id, status in crises:
        index.observe({"type": "crisis.opened", "crisis_id": crisis_id, "status": status})
    return index


def of_type(mapped: Mapped, kind: type[Any]) -> list[Any]:
    return [e for e in mapped.events if isinstance(e, kind)]


def incident_of(mapped: Mapped) -> IncidentReported | IncidentUpdated:
    """The first event of a mapping: the incident reported or updated."""
    first = mapped.events[0]
    assert isinstance(first, IncidentReported | IncidentUpdated)
    return first


def flood_alert(encoding: str) -> EmsiMessage:
    if encoding == "xml":
        return xml_message("vesubie_crue_alert.xml")
    return json_message("vesubie_crue_alert.json")


# --- Recognising EMSI --------------------------------------------------------------------------


def test_an_emsi_root_is_recognised_in_any_generation_or_none() -> None:
    for ns in [*EMSI_NAMESPACES, ""]:
        tag = f"{{{ns}}}emsi" if ns else "emsi"
        assert is_emsi(ElementTree.Element(tag))
    assert not is_emsi(ElementTree.Element("{urn:oasis:names:tc:emergency:cap:1.2}alert"))
    assert not is_emsi(ElementTree.Element("{urn:example:other}emsi"))


def test_an_emsi_json_document_is_recognised_wrapped_or_bare() -> None:
    assert is_emsi_json({"emsi": {"CONTEXT": {}, "EVENT": {}}})
    assert is_emsi_json({"CONTEXT": {}, "EVENT": {}})
    assert not is_emsi_json({"type": "FeatureCollection", "features": []})
    assert not is_emsi_json({"emsi": "text"})
    assert not is_emsi_json([{"CONTEXT": {}, "EVENT": {}}])


@pytest.mark.parametrize(
    "name", ["vesubie_crue_alert", "vesubie_crue_update", "rd6202_accident_exercice"]
)
def test_xml_and_json_of_one_document_give_the_same_message(name: str) -> None:
    from_xml = xml_message(f"{name}.xml")
    from_json = json_message(f"{name}.json")
    assert from_json == from_xml
    assert from_xml.warnings == []


# --- The Vésubie flood: reported, then updated ---------------------------------------------------


@pytest.mark.parametrize("encoding", ["xml", "json"])
def test_the_flood_alert_reports_an_inondation_in_the_open_crisis(encoding: str) -> None:
    index = index_with(("crue-vesubie-2020", "Actual"))
    mapped = take(flood_alert(encoding), index)

    reported = mapped.events[0]
    assert isinstance(reported, IncidentReported)
    assert reported.crisis_id == "crue-vesubie-2020"
    assert reported.status is Status.ACTUAL
    assert reported.kind is IncidentKind.INONDATION
    assert reported.severity is Severity.EXTREME
    assert reported.title == "Crue torrentielle de la Vésubie - Saint-Martin-Vésubie"
    assert reported.description is not None
    assert reported.description.startswith("Montée brutale des eaux")
    assert "État : en cours (IPR)" in reported.description
    assert "Déplacés : 40" in reported.description
    assert reported.location.point == GeoPoint(lat=44.0689, lon=7.2553)
    assert reported.location.altitude_m == 960
    assert len(reported.location.polygons) == 1
    ring = reported.location.polygons[0].points
    assert ring[0] == ring[-1] == GeoPoint(lat=44.0712, lon=7.2531)
    assert reported.location.description is not None
    assert "Allée du Boréon" in reported.location.description
    assert reported.occurred_at == datetime.fromisoformat("2020-10-02T16:05:00+02:00")
    assert reported.received_at == RECEIVED
    assert reported.source == "hub-sante"
    assert reported.actor == "feed:hub-sante"
    assert reported.sources == ["CTA-CODIS 06"]
    assert reported.external_ids == [
        "emsi:fr.fire.sdis06,fr.fire.sdis06.nexsis.EMSI-20201002-174500-0001",
        "emsi-event:fr.fire.sdis06,SDIS06-OPS-2020-041587",
        FLOOD_CASE,
    ]
    assert reported.warnings == []
    # Named after the shared case, as a CISU message about the same case names it.
    assert reported.incident_id == incident_id_for(FLOOD_CASE)


@pytest.mark.parametrize("encoding", ["xml", "json"])
def test_the_flood_alert_gives_its_casualties_as_a_bilan(encoding: str) -> None:
    mapped = take(flood_alert(encoding), CorrelationIndex())
    [bilan] = of_type(mapped, BilanAssessed)
    assert bilan.incident_id == incident_of(mapped).incident_id
    assert bilan.figures == Bilan(
        decedes=0,
        urgences_absolues=1,
        urgences_relatives=3,
        impliques=14,
        disparus=6,
        evacues=120,
    )
    assert bilan.source_of_figures == "CTA-CODIS 06"
    assert bilan.occurred_at == datetime.fromisoformat("2020-10-02T17:30:00+02:00")
    assert (
        bilan.note
        == "EMSI fr.fire.sdis06.nexsis.EMSI-20201002-174500-0001, CASUALTIES BILAN_PROVISOIRE"
    )


@pytest.mark.parametrize("encoding", ["xml", "json"])
def test_the_flood_alert_engages_each_resource_of_its_service(encoding: str) -> None:
    index = CorrelationIndex()
    mapped = take(flood_alert(encoding), index)
    incident_id = incident_of(mapped).incident_id
    engaged = {e.description: e for e in of_type(mapped, ResourceEngaged)}

    assert set(engaged) == {
        "FPTSR 1 CIS Saint-Martin-Vésubie",
        "VSAV 1 CIS Roquebillière",
        "Équipe GRIMP 2 SDIS 06",
        "SMUR 1 CHU de Nice",
    }
    fptsr = engaged["FPTSR 1 CIS Saint-Martin-Vésubie"]
    assert (fptsr.service, fptsr.units, fptsr.personnel) == (Service.SDIS, 1, 0)
    assert fptsr.mission == "Reconnaissance et sauvetage des personnes isolées rive gauche"
    assert fptsr.incident_id == incident_id
    assert fptsr.occurred_at == datetime.fromisoformat("2020-10-02T17:45:00+02:00")
    # A VSAV is an ambulance by its class, but it belongs to the fire service by its ORG_ID.
    assert engaged["VSAV 1 CIS Roquebillière"].service is Service.SDIS
    grimp = engaged["Équipe GRIMP 2 SDIS 06"]
    assert (grimp.service, grimp.units, grimp.personnel) == (Service.SDIS, 1, 5)
    assert engaged["SMUR 1 CHU de Nice"].service is Service.SAMU_SMUR
    assert set(index.engaged(incident_id)) == {e.resource_id for e in engaged.values()}
    assert all(e.resource_id.startswith("emsi-resource-") for e in engaged.values())


def test_a_later_message_on_the_same_event_updates_the_incident() -> None:
    index = CorrelationIndex()
    first = take(xml_message("vesubie_crue_alert.xml"), index)
    later = take(xml_message("vesubie_crue_update.xml"), index)

    updated = later.events[0]
    assert isinstance(updated, IncidentUpdated)
    assert updated.incident_id == incident_of(first).incident_id
    assert updated.crisis_id == incident_of(first).crisis_id
    assert updated.severity is Severity.EXTREME
    assert updated.title == (
        "Crue torrentielle de la Vésubie - Saint-Martin-Vésubie et Roquebillière"
    )
    assert updated.location is not None
    assert updated.location.point == GeoPoint(lat=44.0689, lon=7.2553)
    assert updated.occurred_at == datetime.fromisoformat("2020-10-02T22:05:00+02:00")
    assert updated.note == (
        "EMSI UPDATE fr.fire.sdis06.nexsis.EMSI-20201002-221000-0002 from fr.fire.sdis06"
    )
    [bilan] = of_type(later, BilanAssessed)
    assert bilan.figures == Bilan(
        decedes=2, urgences_absolues=2, urgences_relatives=5, impliques=31, disparus=9
    )


def test_a_later_message_releases_resources_and_engages_none_twice() -> None:
    index = CorrelationIndex()
    first = take(xml_message("vesubie_crue_alert.xml"), index)
    incident_id = incident_of(first).incident_id
    engaged_first = {e.description: e.resource_id for e in of_type(first, ResourceEngaged)}
    later = take(xml_message("vesubie_crue_update.xml"), index)

    released = {e.description: e for e in of_type(later, ResourceReleased)}
    assert set(released) == {"VSAV 1 CIS Roquebillière", "Équipe GRIMP 2 SDIS 06"}
    vsav = released["VSAV 1 CIS Roquebillière"]
    assert vsav.resource_id == engaged_first["VSAV 1 CIS Roquebillière"]
    assert (vsav.service, vsav.units, vsav.personnel) == (Service.SDIS, 1, 0)
    assert vsav.reason == "RESOURCE STATUS AVAILB"
    grimp = released["Équipe GRIMP 2 SDIS 06"]
    assert grimp.personnel == 5
    assert grimp.reason == "MISSION SDIS06-OPS-2020-041587-M02 STATUS COM"
    [newcomer] = of_type(later, ResourceEngaged)
    assert newcomer.description == "Groupe de sauvetage aquatique SDIS 83"
    assert (newcomer.service, newcomer.personnel) == (Service.SDIS, 12)
    assert "already engaged" in " ".join(later.notes)
    assert set(index.engaged(incident_id)) == {
        engaged_first["FPTSR 1 CIS Saint-Martin-Vésubie"],
        engaged_first["SMUR 1 CHU de Nice"],
        newcomer.resource_id,
    }
    # The same resource list sent again under a new CONTEXT/ID changes nothing.
    resent = replace(xml_message("vesubie_crue_update.xml"), message_id="resent-0003")
    again = take(resent, index)
    assert [type(e) for e in again.events] == [IncidentUpdated, BilanAssessed]


def test_a_copy_of_a_message_adds_nothing() -> None:
    index = CorrelationIndex()
    take(xml_message("vesubie_crue_alert.xml"), index)
    copy_ = take(json_message("vesubie_crue_alert.json"), index)
    assert copy_.events == []
    assert copy_.learnt == []
    assert "already received" in copy_.notes[0]


def test_event_ids_come_from_the_message_so_two_intakes_agree() -> None:
    one = take(xml_message("vesubie_crue_alert.xml"), CorrelationIndex())
    two = take(json_message("vesubie_crue_alert.json"), CorrelationIndex())
    assert [e.event_id for e in one.events] == [e.event_id for e in two.events]
    assert len({e.event_id for e in one.events}) == len(one.events)


def test_an_emsi_meets_the_cisu_incident_of_its_case() -> None:
    index = CorrelationIndex()
    cisu = IncidentRef("veille", "cisu-0123456789abcdef0123", "Actual")
    index.remember([FLOOD_CASE], cisu)
    mapped = take(xml_message("vesubie_crue_alert.xml"), index)
    updated = mapped.events[0]
    assert isinstance(updated, IncidentUpdated)
    assert updated.incident_id == cisu.incident_id
    assert {getattr(e, "incident_id", None) for e in mapped.events} == {cisu.incident_id}
    assert index.find(["emsi-event:fr.fire.sdis06,SDIS06-OPS-2020-041587"]) == cisu
    # The keys travel on the event too, so that an index rebuilt from the stream knows them.
    assert "emsi-event:fr.fire.sdis06,SDIS06-OPS-2020-041587" in updated.external_ids


# --- The road-accident exercise -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["rd6202_accident_exercice.xml", "rd6202_accident_exercice.json"])
def test_an_exercise_goes_to_the_exercise_crisis_with_its_resources(name: str) -> None:
    message = xml_message(name) if name.endswith(".xml") else json_message(name)
    index = index_with(("crue-vesubie-2020", "Actual"), ("exercice-nov-2024", "Exercise"))
    mapped = take(message, index)

    reported = mapped.events[0]
    assert isinstance(reported, IncidentReported)
    assert reported.status is Status.EXERCISE
    assert reported.crisis_id == "exercice-nov-2024"
    assert reported.incident_id == incident_id_for(EXERCISE_CASE)
    assert reported.kind is IncidentKind.ACCIDENT_ROUTIER
    assert reported.severity is Severity.SEVERE
    assert EXERCISE_CASE in reported.external_ids
    assert all(e.status is Status.EXERCISE for e in mapped.events)
    [bilan] = of_type(mapped, BilanAssessed)
    assert bilan.figures.assessed() == {
        "decedes": 1,
        "urgences_absolues": 2,
        "urgences_relatives": 3,
        "impliques": 6,
    }
    services = {e.description: e.service for e in of_type(mapped, ResourceEngaged)}
    # The SMUR has no ORG_ID: its class (an ambulance) says SAMU. The patrol's domain says
    # gendarmerie.
    assert services == {
        "SMUR 2 Hôpital Pasteur 2": Service.SAMU_SMUR,
        "Patrouille BTA Levens": Service.GENDARMERIE,
    }


def test_an_exercise_never_amends_a_real_incident() -> None:
    index = CorrelationIndex()
    index.remember([EXERCISE_CASE], IncidentRef("veille", "cisu-real-0001", "Actual"))
    with pytest.raises(Rejection) as refused:
        map_emsi(xml_message("rd6202_accident_exercice.xml"), index, CONTEXT)
    assert "exercise and real never mix" in refused.value.reason
    assert refused.value.reason.startswith("an EMSI ")
    assert refused.value.path == "/emsi"
    assert index.engaged("cisu-real-0001") == {}


def test_a_real_message_never_amends_an_exercise_incident() -> None:
    index = index_with(("exercice-oct-2020", "Exercise"))
    index.remember([FLOOD_CASE], IncidentRef("exercice-oct-2020", "cisu-exo-0001", "Exercise"))
    with pytest.raises(Rejection, match="exercise and real never mix"):
        map_emsi(xml_message("vesubie_crue_alert.xml"), index, CONTEXT)


def test_an_envelope_marked_exercise_makes_an_actual_message_an_exercise() -> None:
    context = Context(
        feed="hub-sante", language="fr-FR", received_at=RECEIVED, imposed_status="Exercise"
    )
    mapped = take(xml_message("vesubie_crue_alert.xml"), CorrelationIndex(), context)
    assert {e.status for e in mapped.events} == {Status.EXERCISE}
    assert any("taken as Exercise" in w for w in incident_of(mapped).warnings)


# --- Other message types -------------------------------------------------------------------------


def flood_variant(*edits: tuple[str, str]) -> bytes:
    """The flood alert with regular-expression edits applied to its text."""
    text = (DATA / "vesubie_crue_alert.xml").read_text(encoding="utf-8")
    for pattern, replacement in edits:
        text, count = re.subn(pattern, replacement, text, flags=re.DOTALL)
        assert count, pattern
    return text.encode()


def test_a_cancel_closes_the_incident_of_its_event() -> None:
    index = CorrelationIndex()
    reported = incident_of(take(xml_message("vesubie_crue_alert.xml"), index))
    cancel = flood_variant((r"<MSGTYPE>ALERT", "<MSGTYPE>CANCEL"), (r"-0001</ID>", "-0009</ID>"))
    [closed] = take(xml_message(cancel), index).events
    assert isinstance(closed, IncidentClosed)
    assert closed.incident_id == reported.incident_id
    assert closed.reason is not None
    assert closed.reason.startswith("Montée brutale des eaux")


def test_a_cancel_of_an_unknown_event_is_refused() -> None:
    cancel = flood_variant((r"<MSGTYPE>ALERT", "<MSGTYPE>CANCEL"))
    with pytest.raises(Rejection) as refused:
        map_emsi(xml_message(cancel), CorrelationIndex(), CONTEXT)
    assert refused.value.path == "/emsi/EVENT/ID"
    assert "has not received" in refused.value.reason


def test_an_acknowledgement_records_nothing() -> None:
    ack = flood_variant((r"<MSGTYPE>ALERT", "<MSGTYPE>ACK"), (r"<EVENT>.*</EVENT>", ""))
    mapped = map_emsi(xml_message(ack), CorrelationIndex(), CONTEXT)
    assert mapped.events == []
    assert "nothing to record" in mapped.notes[0]


def test_an_update_of_an_unknown_event_is_reported_as_new_with_a_warning() -> None:
    [reported, _bilan] = take(xml_message("trap_stale_case.xml"), CorrelationIndex()).events
    assert isinstance(reported, IncidentReported)
    assert reported.kind is IncidentKind.MOUVEMENT_DE_TERRAIN
    assert any("UPDATE of an event this intake has not received" in w for w in reported.warnings)


# --- Traps tolerated, with a warning on the events ------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind", "warning"),
    [
        (
            "trap_offset_summer.xml",
            IncidentReported,
            "/emsi/CONTEXT/CREATION: UTC offset +01:00 is not Europe/Paris's on 2024-07-14 "
            "(+02:00): instant kept as given",
        ),
        (
            "trap_stale_case.xml",
            BilanAssessed,
            "/emsi/CONTEXT/CREATION: message created 222 days after its case was: kept as sent",
        ),
        (
            "trap_far_resource.xml",
            ResourceEngaged,
            "/emsi/RESOURCE[0]/RGEO[0]/POSITION[0]: resource GK-318-ZT is 300 km from the "
            "event: kept as sent",
        ),
        (
            "trap_no_namespace.xml",
            IncidentReported,
            "/emsi: no EMSI namespace: read by local name as EMSI 1.9",
        ),
        (
            "trap_mixed_namespace.xml",
            IncidentReported,
            "/emsi: elements in other EMSI namespace generations (urn:emergency:cisu:2.0:emsi): "
            "read by local name as one message",
        ),
    ],
)
def test_each_trap_is_tolerated_with_its_warning_on_the_event(
    name: str, kind: type[Any], warning: str
) -> None:
    mapped = take(xml_message(name), CorrelationIndex())
    [event] = of_type(mapped, kind)
    assert warning in event.warnings


def test_a_wrong_offset_keeps_the_instant_as_given() -> None:
    [reported] = take(xml_message("trap_offset_summer.xml"), CorrelationIndex()).events
    assert reported.occurred_at == datetime(2024, 7, 14, 14, 12, tzinfo=UTC)


def test_utc_and_the_right_summer_offset_give_no_warning() -> None:
    raw = (DATA / "trap_offset_summer.xml").read_text(encoding="utf-8")
    raw = raw.replace("15:30:00+01:00", "14:30:00Z").replace("15:12:00+01:00", "16:12:00+02:00")
    assert xml_message(raw.encode()).warnings == []


def test_a_message_in_another_generation_namespace_is_read_with_a_warning() -> None:
    raw = (DATA / "trap_no_namespace.xml").read_text(encoding="utf-8")
    raw = raw.replace("<emsi>", '<emsi xmlns="urn:emergency:cisu:2.0:emsi">')
    message = xml_message(raw.encode())
    assert message.generation == "2.0"
    assert message.warnings == ["/emsi: EMSI 2.0 namespace: read by local name as the 1.9 profile"]


def test_a_mode_in_another_case_or_its_long_name_is_read_with_a_warning() -> None:
    message = xml_message(flood_variant((r"<MODE>ACTUAL", "<MODE>Exercise")))
    assert message.status == "Exercise"
    assert message.warnings == ["/emsi/CONTEXT/MODE: 'Exercise' read as 'EXERCS'"]


# --- Refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edits", "path", "reason"),
    [
        ([(r"<CONTEXT>.*?</CONTEXT>", "")], "/emsi/CONTEXT", "CONTEXT is missing"),
        ([(r"<ID>fr\.fire[^<]*</ID>", "")], "/emsi/CONTEXT/ID", "ID is missing"),
        ([(r"<CREATION>[^<]*</CREATION>", "")], "/emsi/CONTEXT/CREATION", "missing"),
        ([(r"<MODE>ACTUAL</MODE>", "")], "/emsi/CONTEXT/MODE", "MODE is missing"),
        (
            [(r"<CREATION>[^<]*<", "<CREATION>vendredi 17h45<")],
            "/emsi/CONTEXT/CREATION",
            "'vendredi 17h45' is not a date-time",
        ),
        (
            [(r"<CREATION>[^<]*<", "<CREATION>2020-10-02T17:45:00<")],
            "/emsi/CONTEXT/CREATION",
            "has no UTC offset",
        ),
        (
            [(r"<OBS_DATIME>[^<]*<", "<OBS_DATIME>2020-10-02T25:61:00+02:00<")],
            "/emsi/EVENT/OBS_DATIME",
            "is not a date-time",
        ),
        (
            [(r"<START_TIME>[^<]*<", "<START_TIME>0001-01-01T00:00:00+14:00<")],
            "/emsi/MISSION[0]/START_TIME",
            "not a plausible date",
        ),
        ([(r"<MODE>ACTUAL", "<MODE>REAL")], "/emsi/CONTEXT/MODE", "'REAL' is not one of"),
        ([(r"<LEVEL>OPR", "<LEVEL>CRISIS")], "/emsi/CONTEXT/LEVEL", "'CRISIS' is not one of"),
        ([(r"<MSGTYPE>ALERT", "<MSGTYPE>NOTIFY")], "/emsi/CONTEXT/MSGTYPE", "not one of"),
        ([(r"<EVENT>.*</EVENT>", "")], "/emsi/EVENT", "EVENT is missing"),
        ([(r"<ID>SDIS06-OPS-2020-041587</ID>", "")], "/emsi/EVENT/ID", "ID is missing"),
        (
            [(r"<LAT>44.0689", "<LAT>94.0689")],
            "/emsi/EVENT/EGEO[0]/POSITION/COORD[0]/LAT",
            "latitude 94.0689 is outside -90..90",
        ),
        (
            [(r"<LONG>7.2553", "<LONG>-187.2553")],
            "/emsi/EVENT/EGEO[0]/POSITION/COORD[0]/LONG",
            "outside -180..180",
        ),
        (
            [(r"<LAT>44.0689", "<LAT>quarante-quatre")],
            "/emsi/EVENT/EGEO[0]/POSITION/COORD[0]/LAT",
            "is not a number",
        ),
        (
            [(r"<LAT>44.0701", "<LAT>144.0701")],
            "/emsi/RESOURCE[0]/RGEO[0]/POSITION[0]/COORD[0]/LAT",
            "outside -90..90",
        ),
        (
            [(r"<TRIAGERED>1<", "<TRIAGERED>-1<")],
            "/emsi/EVENT/CASUALTIES[0]/TRIAGERED",
            "negative",
        ),
        (
            [(r"<MISSING>6<", "<MISSING>5000000<")],
            "/emsi/EVENT/CASUALTIES[0]/MISSING",
            "5,000,000 is over 1,000,000",
        ),
        (
            [(r"<TRIAGEGREEN>14<", "<TRIAGEGREEN>beaucoup<")],
            "/emsi/EVENT/CASUALTIES[0]/TRIAGEGREEN",
            "not a whole number",
        ),
        (
            [(r"<EVACUATED>120<", "<EVACUATED>2000000<")],
            "/emsi/EVENT/EVAC[0]/EVACUATED",
            "over 1,000,000",
        ),
    ],
)
def test_a_fault_is_refused_naming_the_element(
    edits: list[tuple[str, str]], path: str, reason: str
) -> None:
    with pytest.raises(Rejection) as refused:
        take(xml_message(flood_variant(*edits)), CorrelationIndex())
    assert refused.value.path == path
    assert reason in refused.value.reason


def test_a_json_fault_is_refused_naming_its_json_path() -> None:
    document = json.loads((DATA / "vesubie_crue_alert.json").read_text(encoding="utf-8"))
    document["emsi"]["EVENT"]["CASUALTIES"][0]["TRIAGERED"] = -2
    with pytest.raises(Rejection) as refused:
        read_emsi_json(document, "", Warnings())
    assert refused.value.path == "/emsi/EVENT/CASUALTIES[0]/TRIAGERED"


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("bad_position.xml", "/emsi/EVENT/EGEO[0]/POSITION/COORD[0]/LAT"),
        ("bad_missing_context.xml", "/emsi/CONTEXT"),
    ],
)
def test_the_refused_documents_are_refused(name: str, path: str) -> None:
    with pytest.raises(Rejection) as refused:
        xml_message(name)
    assert refused.value.path == path


def test_a_new_incident_without_any_position_is_refused() -> None:
    placeless = flood_variant((r"<EGEO>.*</EGEO>", ""))
    with pytest.raises(Rejection) as refused:
        map_emsi(xml_message(placeless), CorrelationIndex(), CONTEXT)
    assert refused.value.path == "/emsi/EVENT/EGEO"
    assert "cannot be placed" in refused.value.reason


def test_a_refused_mapping_leaves_the_index_unchanged() -> None:
    index = CorrelationIndex()
    index.remember([FLOOD_CASE], IncidentRef("veille", "cisu-exo-0002", "Exercise"))
    with pytest.raises(Rejection):
        map_emsi(xml_message("vesubie_crue_alert.xml"), index, CONTEXT)
    assert index.engaged("cisu-exo-0002") == {}


# --- The kind of incident from ETYPE -----------------------------------------------------------


@pytest.mark.parametrize(
    ("etype", "kind"),
    [
        ({"CATEGORY": ["FIR/CLA"], "ACTOR": ["ANI"], "LOCTYPE": ["NAT/FOREST"]}, "feu_de_foret"),
        ({"CATEGORY": ["FIR"], "ACTOR": ["BEV/RESDW"], "LOCTYPE": ["OTH"]}, "feu"),
        (
            {"CATEGORY": ["TRP/COL"], "ACTOR": ["VEH/TRN/PAS"], "LOCTYPE": ["OTH"]},
            "accident_ferroviaire",
        ),
        ({"CATEGORY": ["TRP/COL"], "ACTOR": ["VEH/TRK/HZD"], "LOCTYPE": ["OTH"]}, "tmd"),
        (
            {"CATEGORY": ["EXP/GAS"], "ACTOR": ["BEV/IND"], "LOCTYPE": ["OTH"]},
            "accident_industriel",
        ),
        ({"CATEGORY": ["POL/RAD"], "ACTOR": ["PPL"], "LOCTYPE": ["OTH"]}, "nrbc"),
        ({"CATEGORY": ["GND/EQK"], "ACTOR": ["PPL"], "LOCTYPE": ["OTH"]}, "seisme"),
        ({"CATEGORY": ["PSW/RIOT"], "ACTOR": ["PPL/GRP"], "LOCTYPE": ["OTH"]}, "ordre_public"),
        ({"CATEGORY": ["EXP"], "ACTOR": ["PPL"], "LOCTYPE": ["OTH"], "ENV": "TER"}, "attentat"),
        (
            {"CATEGORY": ["ASR"], "ACTOR": ["PPL"], "LOCTYPE": ["OTH"], "ENV": "DIS/STORM"},
            "tempete",
        ),
        ({"CATEGORY": ["ASR"], "ACTOR": ["PPL"], "LOCTYPE": ["OTH"]}, "autre"),
    ],
)
def test_the_kind_comes_from_the_etype_codes(etype: dict[str, Any], kind: str) -> None:
    document = json.loads((DATA / "vesubie_crue_alert.json").read_text(encoding="utf-8"))
    document["emsi"]["EVENT"]["ETYPE"] = etype
    document["emsi"]["EVENT"]["NAME"] = "Intervention"
    document["emsi"]["EVENT"].pop("FREETEXT")
    mapped = map_emsi(read_emsi_json(document, "", Warnings()), CorrelationIndex(), CONTEXT)
    assert incident_of(mapped).kind == IncidentKind(kind)


# --- Damaged documents: a Mapped or a Rejection, never another exception ------------------------

GARBAGE = st.one_of(
    st.text(max_size=30),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", " ", "NaN", "-1", "1e999", "2020-13-45T99:99:99+02:00", "9" * 40]),
    st.booleans(),
    st.none(),
    st.just({"x": ["y"]}),
    st.just([[], {}]),
)


def json_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document, as the keys and indexes that lead to it."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += json_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += json_paths(item, (*prefix, index))
    return found


ALERT_JSON = json.loads((DATA / "vesubie_crue_alert.json").read_text(encoding="utf-8"))
ALERT_PATHS = json_paths(ALERT_JSON)


def outcome(read: Callable[[], EmsiMessage]) -> Mapped | Rejection:
    try:
        return map_emsi(read(), CorrelationIndex(), CONTEXT)
    except Rejection as refused:
        return refused


def accepted_or_refused(read: Callable[[], EmsiMessage]) -> None:
    """Reading and mapping give a Mapped whose events validate again, or a Rejection."""
    result = outcome(read)
    if isinstance(result, Rejection):
        assert result.reason
        assert result.path
        return
    for event in result.events:
        assert type(event).model_validate(event.model_dump()) == event


@FUZZ
@given(
    st.lists(
        st.tuples(st.sampled_from(ALERT_PATHS), st.booleans(), GARBAGE), min_size=1, max_size=4
    )
)
def test_a_damaged_json_document_is_mapped_or_refused(
    mutations: list[tuple[tuple[Any, ...], bool, Any]],
) -> None:
    document = copy.deepcopy(ALERT_JSON)
    for path, remove, value in mutations:
        parent: Any = document
        for step in path[:-1]:
            try:
                parent = parent[step]
            except (KeyError, IndexError, TypeError):
                break
        else:
            try:
                if remove:
                    del parent[path[-1]]
                else:
                    parent[path[-1]] = value
            except (KeyError, IndexError, TypeError):
                pass
    accepted_or_refused(lambda: read_emsi_json(document, "", Warnings()))


ALERT_XML = (DATA / "vesubie_crue_alert.xml").read_bytes()
ALERT_ELEMENTS = sum(1 for _ in parse_xml(ALERT_XML, max_bytes=1_000_000).root.iter())


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=ALERT_ELEMENTS - 1),
            st.booleans(),
            st.one_of(GARBAGE.map(str), st.sampled_from(["-5", "1000001", "1e308", "200.5"])),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_a_damaged_xml_document_is_mapped_or_refused(
    mutations: list[tuple[int, bool, str]],
) -> None:
    root = parse_xml(ALERT_XML, max_bytes=1_000_000).root
    for position, remove, text in mutations:
        parents = {child: parent for parent in root.iter() for child in parent}
        elements = list(root.iter())
        target = elements[position % len(elements)]
        if target is root:
            continue
        if remove:
            parents[target].remove(target)
        else:
            target.text = text
    accepted_or_refused(lambda: read_emsi(root, "/emsi", Warnings()))


@pytest.mark.parametrize("seclass", ["RESTRC", "CONFID"])
def test_a_classified_message_is_marked_not_for_the_public(seclass: str) -> None:
    source = (DATA / "vesubie_crue_alert.xml").read_bytes().replace(b"UNCLAS", seclass.encode())
    mapped = take(xml_message(source), index_with(("crue-vesubie", "Actual")))
    incident = incident_of(mapped)
    assert any(f"SECLASS {seclass}" in w and "not for the public" in w for w in incident.warnings)
