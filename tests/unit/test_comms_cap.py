"""Public alerts written as CAP 1.2: valid by the OASIS XSD, and read back by our own intake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from defusedxml.ElementTree import fromstring

from schemas.envelope import Status
from schemas.events import IncidentReported, PublicAlertDrafted, PublicAlertIssued
from schemas.values import Location, Severity
from services.comms.cap_out import (
    ALERT_ID_PARAMETER,
    CAP_NAMESPACE,
    CHANNEL_PARAMETER,
    EXERCISE_MARK,
    cap_time,
    categories_of,
    public_alert_cap,
    validate_cap,
)
from services.intake.core import Intake
from services.intake.correlation import CorrelationIndex

pytestmark = pytest.mark.unit

PARIS = timezone(timedelta(hours=2))
SENT = datetime(2020, 10, 2, 14, 32, tzinfo=PARIS)
SENDER = "pref06-cod@alpes-maritimes.gouv.fr"
NS = {"cap": CAP_NAMESPACE}
VESUBIE_RING = [
    {"lat": 44.10, "lon": 7.20},
    {"lat": 44.10, "lon": 7.30},
    {"lat": 44.00, "lon": 7.30},
    {"lat": 44.00, "lon": 7.20},
    {"lat": 44.10, "lon": 7.20},
]
SPECIAL = 'Crue & débordement : niveau < 3 m, "Vésubie" à Saint-Martin-Vésubie'


def issued(**fields: Any) -> dict[str, Any]:
    """The wire dict of a `comms.public_alert_issued`, as the bus carries it."""
    values: dict[str, Any] = {
        "crisis_id": "alex-06-2020",
        "occurred_at": SENT,
        "source": "console",
        "actor": "op.dupont",
        "alert_id": "alert-0002",
        "channel": "fr_alert",
        "headline": "Alerte inondation : crue torrentielle de la Vésubie",
        "risk": "Crue violente de la Vésubie, montée rapide des eaux",
        "issuing_authority": "Préfet des Alpes-Maritimes",
        "area": {"description": "Vallée de la Vésubie", "polygons": [{"points": VESUBIE_RING}]},
        "instructions": "Rejoignez les étages, ne prenez pas votre véhicule.",
        "severity": "extreme",
        "validated_by": "Directeur de cabinet",
        **fields,
    }
    return PublicAlertIssued(**values).to_wire()


def drafted(**fields: Any) -> dict[str, Any]:
    """The wire dict of a `comms.public_alert_drafted`."""
    wire = issued(**fields)
    for key in ("type", "schema_version", "cap_identifier", "validated_by"):
        wire.pop(key)
    return PublicAlertDrafted(**wire).to_wire()


# (name, wire dict, status): polygon, circle, INSEE only; with and without link and expiry.
CASES: list[tuple[str, dict[str, Any], str]] = [
    (
        "polygon-link-expiry-actual",
        issued(
            link="https://www.alpes-maritimes.gouv.fr/alerte?id=2&canal=fr-alert",
            expires_at=SENT + timedelta(hours=16),
            incident_ids=["inc-vesubie-1"],
        ),
        "Actual",
    ),
    (
        "circle-exercise",
        issued(
            headline="Alerte industrielle : nuage toxique à Carros",
            risk="Fuite de chlore sur le site SEVESO de Carros, nuage toxique",
            area={"circles": [{"center": {"lat": 43.7886, "lon": 7.1844}, "radius_km": 2.5}]},
            severity="severe",
            expires_at=SENT + timedelta(hours=2),
        ),
        "Exercise",
    ),
    (
        "insee-only-actual",
        drafted(
            headline="Tempête : restez chez vous",
            risk="Vents violents jusqu'à 150 km/h",
            area={"insee_codes": ["06088", "06120"]},
            severity="moderate",
        ),
        "Actual",
    ),
    (
        "everything-exercise",
        drafted(
            headline=SPECIAL,
            risk=f"{SPECIAL}\nLa crue peut atteindre les habitations.",
            instructions='Montez aux étages & attendez les secours ; "ne descendez pas"',
            area={
                "description": "Saint-Martin-Vésubie & Roquebillière",
                "polygons": [{"points": VESUBIE_RING}],
                "circles": [{"center": {"lat": 44.0689, "lon": 7.2553}, "radius_km": 1.5}],
                "insee_codes": ["06127", "06101"],
            },
            link="https://www.alpes-maritimes.gouv.fr",
            expires_at=SENT + timedelta(days=1),
            severity="unknown",
        ),
        "Exercise",
    ),
]
IDS = [name for name, _, _ in CASES]


def document(alert: dict[str, Any], status: str = "Actual", **kwargs: Any) -> bytes:
    """The CAP message of `alert`, with the sender and time of these tests."""
    return public_alert_cap(
        alert,
        identifier=f"{alert['alert_id']}-{status}",
        sender=SENDER,
        sent=SENT,
        status=status,
        **kwargs,
    )


def texts(raw: bytes, path: str) -> list[str]:
    """The texts of the elements at `path` (CAP namespace as `cap:`)."""
    return [element.text or "" for element in fromstring(raw).findall(path, NS)]


async def read_back(raw: bytes) -> IncidentReported:
    """What the project's own intake makes of `raw`: one incident reported."""
    outcomes = await Intake(CorrelationIndex()).take(raw, name="cap-out", feed="pref06")
    assert len(outcomes) == 1
    outcome = outcomes[0]
    assert outcome.accepted, outcome.error
    assert len(outcome.events) == 1
    event = outcome.events[0]
    assert isinstance(event, IncidentReported)
    return event


# --- valid by the XSD --------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "alert", "status"), CASES, ids=IDS)
def test_each_alert_gives_a_document_the_oasis_xsd_finds_no_fault_in(
    name: str, alert: dict[str, Any], status: str
) -> None:
    assert validate_cap(document(alert, status)) == [], name


def test_an_update_naming_the_alert_it_replaces_is_valid_too() -> None:
    replaced = f"{SENDER},alert-0002-Actual,2020-10-02T14:32:00+02:00"
    raw = document(CASES[0][1], msg_type="Update", references=[replaced])
    assert validate_cap(raw) == []
    assert texts(raw, "cap:msgType") == ["Update"]


def test_a_document_without_a_sender_is_invalid() -> None:
    raw = document(CASES[0][1]).replace(f"<sender>{SENDER}</sender>".encode(), b"")
    errors = validate_cap(raw)
    assert errors
    assert any("sender" in error for error in errors)


def test_a_document_with_two_elements_swapped_is_invalid() -> None:
    raw = document(CASES[0][1])
    swapped = raw.replace(
        b"<status>Actual</status>\n  <msgType>Alert</msgType>",
        b"<msgType>Alert</msgType>\n  <status>Actual</status>",
    )
    assert swapped != raw
    assert validate_cap(swapped)


def test_a_document_with_a_severity_cap_does_not_know_is_invalid() -> None:
    raw = document(CASES[0][1]).replace(b"<severity>Extreme<", b"<severity>extreme<")
    assert any("severity" in error for error in validate_cap(raw))


def test_what_is_not_xml_gives_an_error_rather_than_an_exception() -> None:
    errors = validate_cap(b"<alert><identifier>x</alert>")
    assert len(errors) == 1
    assert errors[0].startswith("not well-formed XML")


# --- read back by the intake -------------------------------------------------------------------


@pytest.mark.parametrize(("name", "alert", "status"), CASES, ids=IDS)
async def test_the_intake_reads_each_document_back_as_one_incident_with_the_same_content(
    name: str, alert: dict[str, Any], status: str
) -> None:
    event = await read_back(document(alert, status))
    exercise = status == "Exercise"
    expected_headline = f"{EXERCISE_MARK} - {alert['headline']}" if exercise else alert["headline"]
    assert event.title == expected_headline, name
    assert event.severity is Severity(alert["severity"])
    assert event.status is Status(status)
    assert event.is_exercise is exercise
    sent = Location.model_validate(alert["area"])
    assert event.location.polygons == sent.polygons
    assert event.location.circles == sent.circles
    assert event.location.insee_codes == sent.insee_codes
    if sent.description is not None:
        assert event.location.description == sent.description
    assert event.sources == [alert["issuing_authority"]]
    assert event.description is not None
    assert alert["risk"] in event.description
    assert alert["instructions"] in event.description
    expires = alert.get("expires_at")
    assert event.expires_at == (datetime.fromisoformat(expires) if expires else None)
    assert event.warnings == []


async def test_special_characters_survive_the_round_trip() -> None:
    alert = CASES[3][1]
    raw = document(alert, "Actual")
    assert validate_cap(raw) == []
    event = await read_back(raw)
    assert event.title == SPECIAL
    assert event.location.description == "Saint-Martin-Vésubie & Roquebillière"
    assert event.description is not None
    assert 'Montez aux étages & attendez les secours ; "ne descendez pas"' in event.description
    assert texts(raw, "cap:info/cap:headline") == [SPECIAL]


# --- exercise and real -------------------------------------------------------------------------


def test_an_exercise_says_exercice_at_the_start_of_headline_and_description_and_in_a_note() -> None:
    raw = document(CASES[1][1], "Exercise")
    (headline,) = texts(raw, "cap:info/cap:headline")
    (description,) = texts(raw, "cap:info/cap:description")
    (note,) = texts(raw, "cap:note")
    assert headline.startswith(EXERCISE_MARK)
    assert description.startswith(EXERCISE_MARK)
    assert EXERCISE_MARK in note
    assert texts(raw, "cap:status") == ["Exercise"]


def test_an_exercise_already_marked_is_not_marked_twice() -> None:
    raw = document(issued(headline="EXERCICE - Alerte crue"), "Exercise")
    assert texts(raw, "cap:info/cap:headline") == ["EXERCICE - Alerte crue"]


@pytest.mark.parametrize(("name", "alert"), [(n, a) for n, a, _ in CASES], ids=IDS)
def test_only_an_exercise_says_exercice(name: str, alert: dict[str, Any]) -> None:
    assert EXERCISE_MARK.encode() not in document(alert, "Actual"), name
    assert EXERCISE_MARK.encode() in document(alert, "Exercise"), name


# --- what the document says, and how -----------------------------------------------------------


_DRAFT = {
    "alert_id",
    "channel",
    "headline",
    "risk",
    "issuing_authority",
    "area",
    "instructions",
    "link",
    "severity",
    "expires_at",
    "incident_ids",
}


def test_the_same_alert_gives_the_same_bytes() -> None:
    first = document(CASES[3][1], "Exercise")
    again = document(drafted(**{k: v for k, v in CASES[3][1].items() if k in _DRAFT}), "Exercise")
    assert first == document(CASES[3][1], "Exercise")
    assert first == again


def test_the_document_is_utf8_with_a_declaration_and_cap_as_default_namespace() -> None:
    raw = document(CASES[0][1])
    assert raw.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n")
    assert f'<alert xmlns="{CAP_NAMESPACE}">'.encode() in raw
    assert "Préfet".encode() in raw


def test_the_fr_alert_content_is_where_cap_puts_it() -> None:
    raw = document(CASES[0][1])
    assert texts(raw, "cap:scope") == ["Public"]
    assert texts(raw, "cap:incidents") == ["inc-vesubie-1"]
    assert texts(raw, "cap:info/cap:language") == ["fr-FR"]
    assert texts(raw, "cap:info/cap:category") == ["Met"]
    assert texts(raw, "cap:info/cap:event") == [
        "Crue violente de la Vésubie, montée rapide des eaux"
    ]
    assert texts(raw, "cap:info/cap:urgency") == ["Immediate"]
    assert texts(raw, "cap:info/cap:severity") == ["Extreme"]
    assert texts(raw, "cap:info/cap:certainty") == ["Observed"]
    assert texts(raw, "cap:info/cap:senderName") == ["Préfet des Alpes-Maritimes"]
    assert texts(raw, "cap:info/cap:web") == [
        "https://www.alpes-maritimes.gouv.fr/alerte?id=2&canal=fr-alert"
    ]
    assert texts(raw, "cap:info/cap:expires") == ["2020-10-03T06:32:00+02:00"]
    assert texts(raw, "cap:info/cap:area/cap:polygon") == [
        "44.1,7.2 44.1,7.3 44.0,7.3 44.0,7.2 44.1,7.2"
    ]
    parameters = dict(
        zip(
            texts(raw, "cap:info/cap:parameter/cap:valueName"),
            texts(raw, "cap:info/cap:parameter/cap:value"),
            strict=True,
        )
    )
    assert parameters == {CHANNEL_PARAMETER: "fr_alert", ALERT_ID_PARAMETER: "alert-0002"}


def test_circles_and_insee_codes_are_written_as_cap_wants() -> None:
    circle = document(CASES[1][1])
    assert texts(circle, "cap:info/cap:area/cap:circle") == ["43.7886,7.1844 2.5"]
    insee = document(CASES[2][1])
    assert texts(insee, "cap:info/cap:area/cap:areaDesc") == [
        "Communes (code INSEE) : 06088, 06120"
    ]
    assert texts(insee, "cap:info/cap:area/cap:geocode/cap:valueName") == ["INSEE", "INSEE"]
    assert texts(insee, "cap:info/cap:area/cap:geocode/cap:value") == ["06088", "06120"]
    assert texts(insee, "cap:info/cap:web") == []
    assert texts(insee, "cap:info/cap:expires") == []


def test_a_severity_maps_to_the_cap_severity_of_the_same_name() -> None:
    written = {
        severity: texts(document(issued(severity=severity.value)), "cap:info/cap:severity")
        for severity in Severity
    }
    assert written == {
        Severity.EXTREME: ["Extreme"],
        Severity.SEVERE: ["Severe"],
        Severity.MODERATE: ["Moderate"],
        Severity.MINOR: ["Minor"],
        Severity.UNKNOWN: ["Unknown"],
    }


@pytest.mark.parametrize(
    ("risk", "categories"),
    [
        ("Crue violente de la Vésubie", ["Met"]),
        ("Feu de forêt attisé par un vent violent", ["Fire", "Met"]),
        ("Nuage toxique après une explosion chimique", ["CBRNE"]),
        ("Séisme de magnitude 5,2", ["Geo"]),
        ("Attentat en cours, tireur en fuite", ["Security"]),
        ("Rassemblement interdit sur la promenade", ["Safety"]),
    ],
)
def test_categories_come_from_the_words_of_the_risk(risk: str, categories: list[str]) -> None:
    assert categories_of(risk) == categories


def test_times_are_written_to_the_second_with_utc_as_minus_zero() -> None:
    assert cap_time(datetime(2020, 10, 2, 12, 0, 5, 999, tzinfo=UTC), "sent") == (
        "2020-10-02T12:00:05-00:00"
    )
    assert cap_time("2020-10-02T14:00:00+02:00", "sent") == "2020-10-02T14:00:00+02:00"
    assert cap_time("2020-10-02T12:00:00Z", "sent") == "2020-10-02T12:00:00-00:00"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        # A naive time is what is refused here.
        ({"sent": datetime(2020, 10, 2, 14, 32)}, "time zone"),  # noqa: DTZ001
        ({"status": "Real"}, "status"),
        ({"msg_type": "Alarm"}, "msgType"),
        ({"identifier": "alert 0002"}, "identifier"),
        ({"sender": "pref06,cod"}, "sender"),
        ({"language": "fr_FR"}, "language"),
        ({"references": ["alert-0001"]}, "reference"),
    ],
)
def test_what_cap_cannot_say_is_refused_before_writing(change: dict[str, Any], reason: str) -> None:
    arguments: dict[str, Any] = {
        "identifier": "alert-0002",
        "sender": SENDER,
        "sent": SENT,
        "status": "Actual",
        **change,
    }
    with pytest.raises(ValueError, match=reason):
        public_alert_cap(CASES[0][1], **arguments)


def test_an_alert_without_its_headline_is_refused() -> None:
    alert = {k: v for k, v in CASES[0][1].items() if k != "headline"}
    with pytest.raises(ValueError, match="headline"):
        document(alert)
