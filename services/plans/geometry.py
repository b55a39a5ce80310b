"""Whether two places meet: points, CAP polygons and circles, in WGS 84.

Good enough for a département, not for a globe: polygons are tested as flat in longitude and
latitude (no ring crosses the antimeridian in France), circles by great-circle distance.
"""

from __future__ import annotations

import math
from itertools import pairwise

from schemas.values import Circle, GeoPoint, Location, Polygon

EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)

Shape = GeoPoint | Polygon | Circle


def haversine_km(a: GeoPoint, b: GeoPoint) -> float:
    """Great-circle distance between two points, in kilometres."""
    lat_a, lat_b = math.radians(a.lat), math.radians(b.lat)
    half_dlat = (lat_b - lat_a) / 2
    half_dlon = math.radians(b.lon - a.lon) / 2
    h = math.sin(half_dlat) ** 2 + math.cos(lat_a) * math.cos(lat_b) * math.sin(half_dlon) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def point_in_polygon(point: GeoPoint, polygon: Polygon) -> bool:
    """True when the point is inside the ring (ray casting along the parallel)."""
    inside = False
    for a, b in pairwise(polygon.points):
        if (a.lat > point.lat) != (b.lat > point.lat):
            lon_at = a.lon + (point.lat - a.lat) * (b.lon - a.lon) / (b.lat - a.lat)
            if point.lon < lon_at:
                inside = not inside
    return inside


def point_in_circle(point: GeoPoint, circle: Circle) -> bool:
    """True when the point is within the circle's radius of its centre."""
    return haversine_km(point, circle.center) <= circle.radius_km


def _polygon_meets(polygon: Polygon, other: Shape) -> bool:
    if isinstance(other, GeoPoint):
        return point_in_polygon(other, polygon)
    if isinstance(other, Circle):
        return point_in_polygon(other.center, polygon) or any(
            point_in_circle(vertex, other) for vertex in polygon.points
        )
    # A vertex of either ring inside the other is taken as enough: two rings that only cross
    # each other's edges, vertices all outside, are missed, and are rare between an incident area
    # and a site.
    return any(point_in_polygon(v, other) for v in polygon.points) or any(
        point_in_polygon(v, polygon) for v in other.points
    )


def meet(a: Shape, b: Shape) -> bool:
    """True when the two shapes share some ground (see `_polygon_meets` for two polygons)."""
    if isinstance(a, Polygon):
        return _polygon_meets(a, b)
    if isinstance(b, Polygon):
        return _polygon_meets(b, a)
    if isinstance(a, Circle) and isinstance(b, Circle):
        return haversine_km(a.center, b.center) <= a.radius_km + b.radius_km
    if isinstance(a, Circle):
        return isinstance(b, GeoPoint) and point_in_circle(b, a)
    if isinstance(b, Circle):
        return point_in_circle(a, b)
    return a == b


def shapes(location: Location) -> list[Shape]:
    """The point, polygons and circles of a location."""
    found: list[Shape] = [] if location.point is None else [location.point]
    return [*found, *location.polygons, *location.circles]
