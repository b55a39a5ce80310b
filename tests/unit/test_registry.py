"""Decoding stored events by type and version, with upcasters for older versions."""

from __future__ import annotations

from typing import Any, Literal

import orjson
import pytest
from pydantic import Field

from schemas.catalogue import EVENT_TYPES, type_name
from schemas.envelope import Envelope
from schemas.registry import DecodeError, Registry
from schemas.wire import REGISTRY, decode, encode
from tests.unit.samples import ENVELOPE, OCCURRED_AT, incident_reported, sample_event

pytestmark = pytest.mark.unit


class GaugeRead(Envelope):
    """A river gauge was read (version 3: metres, with the station's code)."""

    type: Literal["gauge.read"] = "gauge.read"
    schema_version: Literal[3] = 3
    station: str = Field(description="Hydrometric station code.")
    level_m: float = Field(description="Water level in metres.")


def gauge_registry() -> Registry:
    registry = Registry([GaugeRead])

    @registry.upcaster("gauge.read", from_version=1)
    def v1_centimetres(data: dict[str, Any]) -> dict[str, Any]:
        data["level_m"] = data.pop("level_cm") / 100
        return data

    @registry.upcaster("gauge.read", from_version=2)
    def v2_station_code(data: dict[str, Any]) -> dict[str, Any]:
        data["station"] = data.pop("station_name").upper()
        return data

    return registry


STORED_V1 = {
    **ENVELOPE,
    "occurred_at": OCCURRED_AT.isoformat(),
    "event_id": "5b0c7d1e-2f43-4a57-9b7c-0c1d2e3f4a5b",
    "type": "gauge.read",
    "schema_version": 1,
    "station_name": "y6434005",
    "level_cm": 812,
}


def test_a_stored_v1_event_is_upcast_through_every_version_to_the_current_one() -> None:
    event = gauge_registry().decode(orjson.dumps(STORED_V1))
    assert isinstance(event, GaugeRead)
    assert event.schema_version == 3
    assert event.level_m == pytest.approx(8.12)
    assert event.station == "Y6434005"
    assert str(event.event_id) == STORED_V1["event_id"]


def test_a_current_event_is_decoded_without_upcasting() -> None:
    current = {**STORED_V1, "schema_version": 3, "station": "Y1", "level_m": 0.5}
    del current["station_name"], current["level_cm"]
    event = gauge_registry().decode(current)
    assert isinstance(event, GaugeRead)
    assert event.level_m == 0.5


def test_a_version_without_its_upcaster_is_refused_by_name() -> None:
    registry = Registry([GaugeRead])
    with pytest.raises(DecodeError, match=r"no upcaster from gauge\.read v1 to v2") as caught:
        registry.decode(STORED_V1)
    assert caught.value.field == "schema_version"


def test_an_event_from_a_newer_schema_than_known_is_refused() -> None:
    with pytest.raises(DecodeError, match="newer than this system knows"):
        gauge_registry().decode({**STORED_V1, "schema_version": 4})


def test_an_upcaster_cannot_be_registered_twice() -> None:
    registry = gauge_registry()
    with pytest.raises(ValueError, match="registered twice"):
        registry.upcaster("gauge.read", from_version=1)(lambda data: data)


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=type_name)
def test_every_event_type_round_trips_through_the_wire_and_the_registry(
    cls: type[Envelope],
) -> None:
    event = sample_event(cls)
    assert decode(encode(event)) == event
    assert REGISTRY.current_version(event.type) == event.schema_version


@pytest.mark.parametrize(
    ("raw", "field", "reason"),
    [
        (b"{not json", None, "not valid JSON"),
        (b"[1, 2]", None, "JSON object"),
        (b'{"crisis_id": "x"}', "type", "missing"),
        (b'{"type": "incident.exploded"}', "type", "unknown event type"),
    ],
)
def test_undecodable_input_is_refused_with_a_reason(
    raw: bytes, field: str | None, reason: str
) -> None:
    with pytest.raises(DecodeError, match=reason) as caught:
        decode(raw)
    assert caught.value.field == field


def test_an_invalid_field_is_named_in_the_error() -> None:
    data = orjson.loads(encode(incident_reported()))
    data["location"]["point"]["lat"] = 123.0
    with pytest.raises(DecodeError) as caught:
        decode(data)
    assert caught.value.field == "location.point.lat"
    assert "location.point.lat" in str(caught.value)
