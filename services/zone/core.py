"""What goes up to the zone, and under which crisis id (départements' ids may collide)."""

from __future__ import annotations

from typing import Any

from schemas import subjects

# What the zone's cell needs: the crises themselves, their reports, and the serious incidents.
RELAYED_TYPES = frozenset(
    {
        "crisis.opened",
        "crisis.closed",
        "sitrep.issued",
        "incident.reported",
        "incident.updated",
        "incident.closed",
        "plan.activated",
        "plan.deactivated",
        "bilan.assessed",
    }
)
SEVERITY_ORDER = ("unknown", "minor", "moderate", "severe", "extreme")


def zone_crisis_id(departement: str, crisis_id: str) -> str:
    """The crisis' id at the zone: `<département>-<crisis id>` (64 characters at most)."""
    return subjects.token(f"{departement}-{crisis_id}"[:64], what="zone crisis id")


def relayed(event: dict[str, Any], departement: str, min_severity: str) -> dict[str, Any] | None:
    """The event as the zone records it, or None when it stays in the département.

    Incidents go up when reported or updated at `min_severity` or above; their closing and their
    bilan go up with them (the zone may hold a few it never saw reported: harmless, they are
    known by id). Ids are unchanged, so a copy relayed twice is one event at the zone.
    """
    kind = event.get("type")
    if kind not in RELAYED_TYPES:
        return None
    severity = event.get("severity")
    if kind in ("incident.reported", "incident.updated") and (
        severity is None or SEVERITY_ORDER.index(severity) < SEVERITY_ORDER.index(min_severity)
    ):
        return None
    return {
        **event,
        "crisis_id": zone_crisis_id(departement, event["crisis_id"]),
        "recorded_at": None,
    }
