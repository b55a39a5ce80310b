"""Every area of a public alert reaches its CAP: a point as a `<circle>` of radius 0, or of the
radius given with `--point LAT,LON,RADIUS_KM`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import typer
from defusedxml.ElementTree import fromstring

from schemas.events import PublicAlertIssued
from schemas.values import Location
from services.cli.point import location
from services.comms.cap_out import CAP_NAMESPACE, public_alert_cap, validate_cap
from services.intake.core import Intake
from services.intake.correlation import CorrelationIndex

pytestmark = pytest.mark.unit

SENT = datetime(2020, 10, 2, 14, 32, tzinfo=timezone(timedelta(hours=2)))
NS = {"cap": CAP_NAMESPACE}


def _cap(area: dict[str, Any]) -> bytes:
    alert = PublicAlertIssued(
        crisis_id="alex-06-2020",
        occurred_at=SENT,
        source="console",
        actor="op.dupont",
        alert_id="alert-0003",
        channel="fr_alert",
        headline="Alerte inondation : crue de la Vésubie",
        risk="Crue violente de la Vésubie",
        issuing_authority="Préfet des Alpes-Maritimes",
        area=Location.model_validate(area),
        instructions="Rejoignez les étages.",
        severity="extreme",
        validated_by="Directeur de cabinet",
    ).to_wire()
    return public_alert_cap(
        alert,
        identifier="alert-0003",
        sender="pref06@crisis-cell.invalid",
        sent=SENT,
        status="Actual",
    )


def _circles(raw: bytes) -> list[str]:
    return [e.text or "" for e in fromstring(raw).findall("cap:info/cap:area/cap:circle", NS)]


def test_a_point_alone_is_written_as_a_circle_of_radius_zero_the_xsd_accepts() -> None:
    raw = _cap(location(None, "44.0689,7.2553", None))
    assert _circles(raw) == ["44.0689,7.2553 0"]
    assert validate_cap(raw) == []


def test_a_point_with_a_radius_is_one_circle_of_that_radius() -> None:
    place = location(None, "44.0689,7.2553,1.5", None)
    assert place["point"] == {"lat": 44.0689, "lon": 7.2553}
    assert place["circles"] == [{"center": place["point"], "radius_km": 1.5}]
    raw = _cap(place)
    assert _circles(raw) == ["44.0689,7.2553 1.5"]  # not a second circle of radius 0
    assert validate_cap(raw) == []


def test_a_point_beside_other_areas_keeps_every_one_of_them() -> None:
    raw = _cap(
        {
            "description": "Saint-Martin-Vésubie",
            "point": {"lat": 44.0689, "lon": 7.2553},
            "circles": [{"center": {"lat": 43.7886, "lon": 7.1844}, "radius_km": 2.5}],
            "insee_codes": ["06127"],
        }
    )
    assert _circles(raw) == ["43.7886,7.1844 2.5", "44.0689,7.2553 0"]
    geocodes = fromstring(raw).findall("cap:info/cap:area/cap:geocode/cap:value", NS)
    assert [e.text for e in geocodes] == ["06127"]
    assert validate_cap(raw) == []


async def test_the_intake_accepts_an_alert_placed_by_a_point_alone() -> None:
    raw = _cap(location(None, "44.0689,7.2553", None))
    [outcome] = await Intake(CorrelationIndex()).take(raw, name="cap-out", feed="pref06")
    assert outcome.accepted, outcome.error
    [event] = outcome.events
    assert event.location.description == "Autour du point 44.0689,7.2553"  # type: ignore[attr-defined]
    # The circle of radius 0 is read back as the point it stands for, with no warning.
    point = event.location.point  # type: ignore[attr-defined]
    assert (point.lat, point.lon) == (44.0689, 7.2553)
    assert event.warnings == []  # type: ignore[attr-defined]


async def test_the_intake_reads_the_circle_of_a_point_with_a_radius_back() -> None:
    raw = _cap(location("Vésubie", "44.0689,7.2553,1.5", None))
    [outcome] = await Intake(CorrelationIndex()).take(raw, name="cap-out", feed="pref06")
    assert outcome.accepted, outcome.error
    [event] = outcome.events
    [circle] = event.location.circles  # type: ignore[attr-defined]
    assert (circle.center.lat, circle.center.lon, circle.radius_km) == (44.0689, 7.2553, 1.5)
    assert event.warnings == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("point", "says"),
    [
        ("44.0689", "is not LAT,LON"),
        ("44.0689,7.2553,1.5,2", "is not LAT,LON"),
        ("north,east", "is not LAT,LON"),
        ("44.0689,7.2553,nan", "is not LAT,LON"),
        ("94,7.2553", "out of range"),
        ("44.0689,7.2553,0", "above 0"),
        ("44.0689,7.2553,-1", "above 0"),
    ],
)
def test_a_point_that_cannot_be_read_is_refused_saying_why(point: str, says: str) -> None:
    with pytest.raises(typer.BadParameter, match=says):
        location(None, point, None)
