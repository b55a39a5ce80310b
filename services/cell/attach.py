"""Attaching an incident to a crisis: two events, decided from the two crises' pictures.

An incident first reported in the standing watch (or in another crisis) is handed over by an
`incident.handed_over` in the crisis it leaves and arrives by an `incident.attached` in the one
it joins, carrying what was known of it. The intake follows attached incidents, so later CAP
updates of the same alert go to the crisis the incident joined.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from schemas.envelope import STANDING_WATCH, Status
from schemas.events import IncidentAttached, IncidentHandedOver
from services.intake.mapping import event_id
from services.picture.fold import Picture


class AttachRefused(ValueError):  # noqa: N818 (a refusal, said to the operator)
    """The incident cannot be attached; the message says why."""


def attach_incident(
    source: Picture,
    target: Picture,
    incident_id: str,
    *,
    actor: str,
    reason: str | None,
    now: datetime,
) -> tuple[IncidentHandedOver, IncidentAttached]:
    """The two events that move `incident_id` from crisis picture `source` to `target`."""
    from_id, to_id = source["crisis_id"], target["crisis_id"]
    if from_id == to_id:
        raise AttachRefused(f"the incident is already in {to_id}")
    incident = source["incidents"].get(incident_id)
    if incident is None or incident.get("reported") is None:
        raise AttachRefused(f"no incident {incident_id!r} reported in {from_id}")
    if incident["state"] != "open":
        raise AttachRefused(f"incident {incident_id} is {incident['state']} in {from_id}")
    if to_id != STANDING_WATCH and target["state"] != "open":
        raise AttachRefused(f"crisis {to_id} is not open (it is {target['state']})")
    status = Status(incident.get("status") or Status.ACTUAL)
    if to_id != STANDING_WATCH and target["exercise"] != (status is Status.EXERCISE):
        kind = "an exercise" if target["exercise"] else "a real crisis"
        raise AttachRefused(
            f"incident {incident_id} is {status.value}, and {to_id} is {kind}: "
            "exercise and real never mix"
        )
    common: dict[str, Any] = {
        "occurred_at": now,
        "received_at": now,
        "source": "cell",
        "actor": actor,
        "status": status,
        "correlation_id": event_id("attach", from_id, to_id, incident_id, now.isoformat()),
    }
    handed_over = IncidentHandedOver(
        **common,
        event_id=event_id("handed_over", from_id, to_id, incident_id, now.isoformat()),
        crisis_id=from_id,
        incident_id=incident_id,
        to_crisis_id=to_id,
        reason=reason,
    )
    # What was known of it, as the picture keeps it (wire values): the event validates them.
    known: dict[str, Any] = {
        "kind": incident["kind"],
        "severity": incident["severity"],
        "title": incident["title"],
        "description": incident.get("description"),
        "location": incident["location"],
        "sources": incident.get("sources", []),
        "external_ids": incident.get("external_ids", []),
    }
    attached = IncidentAttached(
        **common,
        event_id=event_id("attached", from_id, to_id, incident_id, now.isoformat()),
        causation_id=handed_over.event_id,
        crisis_id=to_id,
        incident_id=incident_id,
        from_crisis_id=from_id,
        **known,
        reason=reason,
    )
    return handed_over, attached
