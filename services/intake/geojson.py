"""GeoJSON features (RFC 7946) into incident events.

A feature is one incident, known by its feed and its `id` (the feature's, or `properties.id`).
Properties read: `title` (or `name`), `kind`, `severity`, `description`, `occurred_at` (or
`time`), `status` (CAP status), `insee` (commune codes), `state` ("closed" closes the incident).
Text (title, description, place) loses any HTML markup, with a warning, as CAP text does.
A feature sent again updates its incident when its content changed, and is a duplicate when not.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError

from schemas.envelope import Envelope, Status
from schemas.events import IncidentClosed, IncidentReported, IncidentUpdated
from schemas.values import GeoPoint, IncidentKind, Location, Polygon, Severity
from services.intake.correlation import CorrelationIndex, IncidentRef
from services.intake.errors import Rejection, Warnings
from services.intake.mapping import Mapped, event_id, incident_id_for
from services.intake.text import has_markup, one_line, plain
from services.intake.xmlsafe import check_size


@dataclass(frozen=True, slots=True)
class Feature:
    """One feature and where it is in the document."""

    path: str
    data: dict[str, Any]


def read_features(raw: bytes, *, max_bytes: int) -> list[Feature]:
    """The features of a GeoJSON document; `Rejection` when it is not GeoJSON."""
    check_size(raw, max_bytes)
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Rejection(f"not JSON: {exc}", "$") from None
    if not isinstance(document, dict):
        raise Rejection("a GeoJSON document is an object", "$")
    kind = document.get("type")
    if kind == "Feature":
        return [Feature("$", document)]
    if kind == "FeatureCollection":
        features = document.get("features")
        if not isinstance(features, list):
            raise Rejection("a FeatureCollection needs a list of features", "$.features")
        return [Feature(f"$.features[{i}]", f) for i, f in enumerate(features)]
    raise Rejection(f"GeoJSON type {kind!r} is not Feature or FeatureCollection", "$.type")


def map_feature(
    feature: Feature,
    index: CorrelationIndex,
    *,
    feed: str,
    received_at: datetime,
    crisis: str | None = None,
) -> Mapped:
    """The events one feature gives; `Rejection` names the member at fault."""
    data, path = feature.data, feature.path
    if not isinstance(data, dict) or data.get("type") != "Feature":
        raise Rejection("not a GeoJSON Feature", path)
    properties = data.get("properties") or {}
    if not isinstance(properties, dict):
        raise Rejection("properties must be an object", f"{path}.properties")
    warnings = Warnings()
    digest = hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()
    name = data.get("id", properties.get("id"))
    if name is None:
        warnings.add(path, "no id: known by its content, so a changed copy is a new incident")
        name = digest[:20]
    key = f"geojson:{feed}/{name}"[:500]
    version_key = f"{key}#{digest}"
    mapped = Mapped()
    if index.find([version_key]) is not None:
        mapped.notes.append("already received with the same content: nothing new")
        return mapped
    status = _status(properties.get("status"), path, warnings)
    location = _location(data.get("geometry"), properties, path)
    known = index.find([key])
    ref = known or IncidentRef(
        crisis or index.route(status.value), incident_id_for(key), status.value
    )
    envelope: dict[str, Any] = {
        "event_id": event_id(version_key),
        "crisis_id": ref.crisis_id,
        "occurred_at": _instant(properties, path, received_at, warnings),
        "received_at": received_at,
        "source": feed,
        "actor": f"feed:{feed}",
        "status": status,
        "correlation_id": event_id("incident", ref.incident_id),
    }
    closing = properties.get("state") == "closed"
    fields = _fields(properties, path, warnings)
    try:
        event: Envelope
        if known is None:
            event = IncidentReported(
                **envelope,
                incident_id=ref.incident_id,
                location=location,
                sources=[feed],
                external_ids=[key],
                warnings=list(warnings),
                **fields,
            )
        elif closing:
            event = IncidentClosed(
                **envelope,
                incident_id=ref.incident_id,
                reason=f"closed by feed {feed}",
                external_ids=[key],
                warnings=list(warnings),
            )
        else:
            event = IncidentUpdated(
                **envelope,
                incident_id=ref.incident_id,
                location=location,
                sources=[feed],
                note=f"feature {name} sent again with changes",
                external_ids=[key],
                warnings=list(warnings),
                **fields,
            )
    except ValidationError as exc:
        error = exc.errors()[0]
        member = ".".join(str(p) for p in error["loc"])
        raise Rejection(f"{member}: {error['msg']}", f"{path}.properties") from None
    mapped.events.append(event)
    if known is None and closing:
        # Reported already closed: the report, then its closing.
        mapped.events.append(
            IncidentClosed(
                **{**envelope, "event_id": event_id(version_key, "closed")},
                incident_id=ref.incident_id,
                reason=f"closed by feed {feed}",
                external_ids=[key],
            )
        )
    mapped.learnt.append(([key, version_key], ref))
    return mapped


def _fields(properties: dict[str, Any], path: str, warnings: Warnings) -> dict[str, Any]:
    title = properties.get("title") or properties.get("name")
    if not isinstance(title, str) or not title.strip():
        raise Rejection("a feature needs a title (or name)", f"{path}.properties.title")
    kind = properties.get("kind", "autre")
    if kind not in IncidentKind.__members__.values():
        warnings.add(f"{path}.properties.kind", f"{str(kind)[:40]!r} is not a known kind: autre")
        kind = "autre"
    severity = properties.get("severity", "unknown")
    if severity not in Severity.__members__.values():
        warnings.add(f"{path}.properties.severity", f"{str(severity)[:40]!r}: taken as unknown")
        severity = "unknown"
    description = properties.get("description")
    if isinstance(description, str) and has_markup(description):
        warnings.add(f"{path}.properties.description", "HTML markup removed")
        description = plain(description)
    if has_markup(title):
        warnings.add(f"{path}.properties.title", "HTML markup removed")
        title = one_line(title)
        if not title:
            raise Rejection("the title is only markup", f"{path}.properties.title")
    return {
        "kind": kind,
        "severity": severity,
        "title": title.strip()[:500],
        "description": description if isinstance(description, str) and description else None,
    }


def _status(value: object, path: str, warnings: Warnings) -> Status:
    if value is None:
        return Status.ACTUAL
    for status in Status:
        if isinstance(value, str) and value.lower() == status.value.lower():
            return status
    warnings.add(f"{path}.properties.status", f"{str(value)[:40]!r} is not a CAP status: Actual")
    return Status.ACTUAL


def _instant(
    properties: dict[str, Any], path: str, received_at: datetime, warnings: Warnings
) -> datetime:
    value = properties.get("occurred_at") or properties.get("time")
    if value is None:
        warnings.add(f"{path}.properties", "no occurred_at: the time of receipt is used")
        return received_at
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise Rejection(
            f"{str(value)[:60]!r} is not an ISO 8601 date-time", f"{path}.properties.occurred_at"
        ) from None
    if moment.tzinfo is None:
        raise Rejection(f"{value!r} has no time zone offset", f"{path}.properties.occurred_at")
    return moment


def _location(geometry: object, properties: dict[str, Any], path: str) -> Location:
    insee = properties.get("insee") or []
    if not isinstance(insee, list) or not all(isinstance(i, str) for i in insee):
        raise Rejection("insee must be a list of commune codes", f"{path}.properties.insee")
    place: dict[str, Any] = {"insee_codes": insee}
    if isinstance(properties.get("place"), str):
        where = properties["place"]
        place["description"] = (one_line(where) if has_markup(where) else where)[:500] or None
    if geometry is not None:
        place.update(_geometry(geometry, f"{path}.geometry"))
    try:
        return Location(**place)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = f"{path}.geometry"
        reason = error["msg"]
        if geometry is None:
            reason = "no geometry and no insee codes: the feature cannot be placed"
            where = f"{path}.geometry"
        raise Rejection(reason, where) from None


def _geometry(geometry: object, path: str) -> dict[str, Any]:
    if not isinstance(geometry, dict):
        raise Rejection("geometry must be an object or null", path)
    kind, coordinates = geometry.get("type"), geometry.get("coordinates")
    try:
        if kind == "Point":
            return {"point": _point(coordinates)}
        if kind == "Polygon":
            return {"polygons": [_ring(coordinates)]}
        if kind == "MultiPolygon" and isinstance(coordinates, list):
            return {"polygons": [_ring(polygon) for polygon in coordinates]}
    except (TypeError, ValueError, ValidationError) as exc:
        raise Rejection(f"coordinates are not valid {kind}: {_first_error(exc)}", path) from None
    raise Rejection(f"geometry type {kind!r} is not Point, Polygon or MultiPolygon", path)


def _point(pair: Any) -> GeoPoint:
    # GeoJSON writes longitude first.
    if not isinstance(pair, list) or len(pair) < 2:
        raise ValueError("a position is [longitude, latitude]")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pair[:2]):
        raise ValueError("a position's longitude and latitude are numbers")
    return GeoPoint(lon=pair[0], lat=pair[1])


def _ring(rings: Any) -> Polygon:
    if not isinstance(rings, list) or not rings:
        raise ValueError("a polygon is a list of rings")
    return Polygon(points=[_point(p) for p in rings[0]])


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
    return str(exc)
