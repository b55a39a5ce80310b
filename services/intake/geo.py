"""Coordinates as real feeds write them: `+` signs, lon,lat order, open or empty rings."""

from __future__ import annotations

import math

from schemas.values import Circle, GeoPoint, Polygon
from services.intake.errors import Warnings

Points = list[tuple[float, float]]

# Where a French prefecture's alerts are: metropolitan France with Corsica, and the overseas
# départements. Used only to recognise coordinates written lon,lat instead of lat,lon.
FRENCH_AREAS: tuple[tuple[float, float, float, float], ...] = (
    (41.0, 51.5, -5.5, 10.0),  # métropole and Corse: lat min, lat max, lon min, lon max
    (15.8, 16.6, -61.9, -60.9),  # Guadeloupe
    (14.3, 14.95, -61.3, -60.75),  # Martinique
    (2.0, 6.0, -54.7, -51.5),  # Guyane
    (-21.5, -20.8, 55.1, 55.9),  # La Réunion
    (-13.1, -12.6, 44.9, 45.4),  # Mayotte
)


def _in_france(lat: float, lon: float) -> bool:
    return any(a <= lat <= b and c <= lon <= d for a, b, c, d in FRENCH_AREAS)


def _valid(lat: tuple[float, float], lon: tuple[float, float]) -> bool:
    """Latitudes and longitudes within range, from their (min, max)."""
    return -90 <= lat[0] <= lat[1] <= 90 and -180 <= lon[0] <= lon[1] <= 180


def _number(text: str) -> float:
    value = float(text)  # accepts a leading '+', and so do we
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def read_pairs(text: str) -> Points:
    """Pairs `a,b` separated by white space; ValueError names the first one that is not."""
    pairs = []
    for index, chunk in enumerate(text.split()):
        a, comma, b = chunk.partition(",")
        if not comma or "," in b:
            raise ValueError(f"point {index} {chunk[:40]!r} is not 'lat,lon'")
        try:
            pairs.append((_number(a), _number(b)))
        except ValueError:
            raise ValueError(f"point {index} {chunk[:40]!r} is not two numbers") from None
    return pairs


def _all_in_france(lat: tuple[float, float], lon: tuple[float, float], points: Points) -> bool:
    """Every point in one of FRENCH_AREAS; `lat` and `lon` are the (min, max) of the points."""
    for a, b, c, d in FRENCH_AREAS:
        if a <= lat[0] and lat[1] <= b and c <= lon[0] and lon[1] <= d:
            return True  # the box around them all is in one area: so is each point
    return all(_in_france(la, lo) for la, lo in points)


def oriented(pairs: Points, path: str, warnings: Warnings) -> Points | None:
    """(lat, lon) pairs, swapped when plainly written lon,lat; None if neither order fits.

    The pairs are finite numbers (`read_pairs`); each test is made on their bounds, once.
    """
    if not pairs:
        return pairs
    firsts, seconds = zip(*pairs, strict=True)
    one = (min(firsts), max(firsts))
    two = (min(seconds), max(seconds))
    as_written = _valid(one, two)
    swapped = _valid(two, one)
    if as_written and (not swapped or _all_in_france(one, two, pairs)):
        return pairs
    if swapped and (not as_written or _all_in_france(two, one, [(b, a) for a, b in pairs])):
        warnings.add(path, "coordinates written lon,lat: read as lat,lon")
        return [(b, a) for a, b in pairs]
    if as_written:
        return pairs
    return None


def polygon(text: str | None, path: str, warnings: Warnings) -> Polygon | None:
    """A CAP `<polygon>`, or None (with a warning) when it cannot be drawn."""
    if text is None or not text.strip():
        warnings.add(path, "empty polygon left out")
        return None
    if "+" in text:
        warnings.add(path, "'+' signs in coordinates ignored")
    try:
        pairs = read_pairs(text)
    except ValueError as exc:
        warnings.add(path, f"{exc}: polygon left out")
        return None
    points = oriented(pairs, path, warnings)
    if points is None:
        warnings.add(path, "coordinates out of range: polygon left out")
        return None
    if len(set(points)) < 3:
        warnings.add(path, f"{len(set(points))} distinct points: polygon left out")
        return None
    if points[0] != points[-1]:
        warnings.add(path, "ring not closed: closed by repeating its first point")
        points = [*points, points[0]]
    if len(points) > 10_000:
        warnings.add(path, f"{len(points)} points: polygon left out (at most 10,000)")
        return None
    # One validation for the whole ring (in pydantic's core), not one model per point.
    return Polygon.model_validate({"points": [{"lat": a, "lon": b} for a, b in points]})


def circle(text: str | None, path: str, warnings: Warnings) -> Circle | GeoPoint | None:
    """A CAP `<circle>` ("lat,lon radius_km"); a point when its radius is 0 (how CAP writers,
    this system's among them, place an alert at a point); None (with a warning) when unusable."""
    parts = (text or "").split()
    if len(parts) != 2:
        warnings.add(path, f"{(text or '').strip()[:60]!r} is not 'lat,lon radius': left out")
        return None
    if "+" in parts[0]:
        warnings.add(path, "'+' signs in coordinates ignored")
    try:
        pairs = read_pairs(parts[0])
        radius = _number(parts[1])
    except ValueError as exc:
        warnings.add(path, f"{exc}: circle left out")
        return None
    points = oriented(pairs, path, warnings)
    if points is not None and radius == 0 and len(points) == 1:
        return GeoPoint(lat=points[0][0], lon=points[0][1])
    if points is None or not 0 < radius <= 20_000:
        warnings.add(path, "centre or radius out of range: circle left out")
        return None
    lat, lon = points[0]
    return Circle(center=GeoPoint(lat=lat, lon=lon), radius_km=radius)
