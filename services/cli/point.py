"""Where something is, from command-line options."""

from __future__ import annotations

import math
from typing import Any

import typer

POINT_HELP = "LAT,LON, or LAT,LON,RADIUS_KM for the disc around it (a public alert's area)."


def location(where: str | None, point: str | None, insee: list[str] | None) -> dict[str, Any]:
    """A Location as the catalogue takes it, from --where, --point LAT,LON[,RADIUS_KM] and --insee.

    A radius makes the point the centre of a circle too: the area a CAP alert gives as
    `<circle>`. Without one, the CAP written gives the point as a circle of radius 0."""
    place: dict[str, Any] = {"description": where, "insee_codes": insee or []}
    if point:
        lat, lon, radius_km = _parsed(point)
        place["point"] = {"lat": lat, "lon": lon}
        if radius_km is not None:
            place["circles"] = [{"center": place["point"], "radius_km": radius_km}]
    if not (where or point or insee):
        raise typer.BadParameter("say where: --where, --point or --insee", param_hint="--where")
    return place


def _parsed(point: str) -> tuple[float, float, float | None]:
    """Latitude, longitude and the radius in km (None when not given) of a --point."""
    try:
        numbers = [float(part) for part in point.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) not in (2, 3) or not all(math.isfinite(n) for n in numbers):
        raise typer.BadParameter(
            f"{point!r} is not LAT,LON or LAT,LON,RADIUS_KM", param_hint="--point"
        )
    lat, lon = numbers[0], numbers[1]
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise typer.BadParameter(
            f"{point!r}: latitude or longitude out of range", param_hint="--point"
        )
    if len(numbers) == 2:
        return lat, lon, None
    radius_km = numbers[2]
    if not 0 < radius_km <= 20_000:
        raise typer.BadParameter(
            f"{point!r}: the radius is in km, above 0 and at most 20000 (leave it out for a "
            "point alone)",
            param_hint="--point",
        )
    return lat, lon, radius_km
