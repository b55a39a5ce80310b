"""Where something is, from command-line options."""

from __future__ import annotations

from typing import Any

import typer


def location(where: str | None, point: str | None, insee: list[str] | None) -> dict[str, Any]:
    """A Location as the catalogue takes it, from --where, --point LAT,LON and --insee."""
    place: dict[str, Any] = {"description": where, "insee_codes": insee or []}
    if point:
        try:
            lat, lon = (float(part) for part in point.split(","))
        except ValueError:
            raise typer.BadParameter(f"{point!r} is not LAT,LON", param_hint="--point") from None
        place["point"] = {"lat": lat, "lon": lon}
    if not (where or point or insee):
        raise typer.BadParameter("say where: --where, --point or --insee", param_hint="--where")
    return place
