"""The data traps the French partners' messages (EMSI, CISU) share, each with one rule: a UTC
offset that is not the sender's zone's on that date, a message far in time from its case, a
resource far in space from it. All are read as sent, with a warning (docs/intake.md)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

# The senders' zone: the SAMU and the fire services of metropolitan France.
SENDER_ZONE = ZoneInfo("Europe/Paris")
# A message further than this from its case's creation is suspect: kept, with a warning.
STALE_AFTER = timedelta(days=90)
# A resource further than this from its case is suspect: kept as sent, with a warning.
FAR_KM = 100.0
_EARTH_RADIUS_KM = 6371.0


class Located(Protocol):
    """Anything with a latitude and a longitude in WGS 84 degrees."""

    @property
    def lat(self) -> float:
        """Latitude."""

    @property
    def lon(self) -> float:
        """Longitude."""


def offset_trap(moment: datetime) -> str | None:
    """Why the UTC offset of `moment` is suspect, or None: UTC itself, or the offset the
    senders' zone had on that date (`+01:00` in July is not)."""
    given = moment.utcoffset()
    if not given:
        return None
    expected = moment.astimezone(SENDER_ZONE).utcoffset()
    if given == expected:
        return None
    day = moment.astimezone(SENDER_ZONE).date()
    return (
        f"UTC offset {_hours(given)} is not Europe/Paris's on {day} ({_hours(expected)}): "
        "instant kept as given"
    )


def distance_km(a: Located, b: Located) -> float:
    """Great-circle distance between two points (haversine)."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat, dlon = lat2 - lat1, math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _hours(delta: timedelta | None) -> str:
    minutes = int((delta or timedelta()).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
