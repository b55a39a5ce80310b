"""The key events of a crisis, each told in one French line: what happened, about what, detail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.review.model import KeyEvent, MainCouranteLine, Stamped, stamp_fields

Event = dict[str, Any]
# (label, subject, detail) of one event.
Told = tuple[str, str | None, str | None]

PHENOMENON_LABELS = {
    "vent_violent": "vent violent",
    "pluie_inondation": "pluie-inondation",
    "inondation": "crues",
    "orages": "orages",
    "neige_verglas": "neige-verglas",
    "canicule": "canicule",
    "grand_froid": "grand froid",
    "avalanches": "avalanches",
    "vagues_submersion": "vagues-submersion",
}
POSTURE_LABELS = {
    "vigilance": "Vigilance",
    "securite_renforcee_risque_attentat": "Sécurité renforcée - risque attentat",
    "urgence_attentat": "Urgence attentat",
}


def _joined(*parts: Any) -> str | None:
    """The parts that are given, as one line."""
    text = " — ".join(str(part) for part in parts if part)
    return text or None


def _by(name: Any) -> str | None:
    return f"décidé par {name}" if name else None


def _vigilance(e: Event) -> Told:
    phenomenon = PHENOMENON_LABELS.get(e.get("phenomenon", ""), e.get("phenomenon"))
    label = f"Vigilance {e.get('colour', '?')} {phenomenon}"
    return label, e.get("phenomenon"), _joined(e.get("bulletin_ref"))


def _vigipirate(e: Event) -> Told:
    posture = POSTURE_LABELS.get(e.get("posture", ""), e.get("posture"))
    return (
        f"Vigipirate : {posture}",
        e.get("posture"),
        _joined(e.get("scope"), _by(e.get("decided_by"))),
    )


_TELLERS: dict[str, Callable[[Event], Told]] = {
    "crisis.opened": lambda e: ("Ouverture de la crise", None, e.get("name")),
    "crisis.closed": lambda e: ("Clôture de la crise", None, e.get("summary")),
    "cod.convened": lambda e: (
        "COD réuni",
        None,
        _joined(e.get("location"), f"convoqué par {e.get('convened_by')}"),
    ),
    "cod.stood_down": lambda e: ("COD levé", None, e.get("reason")),
    "incident.reported": lambda e: ("Incident signalé", e.get("incident_id"), e.get("title")),
    "incident.attached": lambda e: (
        "Incident rattaché",
        e.get("incident_id"),
        _joined(e.get("title"), f"venu de la crise {e.get('from_crisis_id')}"),
    ),
    "incident.closed": lambda e: ("Incident clos", e.get("incident_id"), e.get("reason")),
    "plan.activation_proposed": lambda e: (
        "Activation de plan proposée",
        e.get("plan_code"),
        _joined(e.get("plan_name"), e.get("reason")),
    ),
    "plan.activated": lambda e: (
        "Plan activé",
        e.get("plan_code"),
        _joined(e.get("plan_name"), _by(e.get("decided_by"))),
    ),
    "plan.deactivated": lambda e: (
        "Plan levé",
        e.get("plan_code"),
        _joined(_by(e.get("decided_by")), e.get("reason")),
    ),
    "vigilance.changed": _vigilance,
    "vigipirate.posture_changed": _vigipirate,
    "decision.taken": lambda e: (
        "Décision",
        e.get("decision_id"),
        _joined(e.get("text"), e.get("taken_by")),
    ),
    "comms.public_alert_issued": lambda e: (
        "Alerte des populations",
        e.get("alert_id"),
        _joined(e.get("headline"), e.get("channel")),
    ),
    "comms.press_release_published": lambda e: (
        "Communiqué de presse",
        e.get("release_id"),
        e.get("title"),
    ),
    "sitrep.issued": lambda e: (
        f"Point de situation n° {e.get('number')}",
        str(e.get("number")),
        e.get("summary"),
    ),
}
KEY_EVENT_TYPES = tuple(_TELLERS)


def key_event(event: Event, stamp: Stamped) -> KeyEvent | None:
    """The event as a key event of the timeline, or None when it is not one."""
    teller = _TELLERS.get(event["type"])
    if teller is None:
        return None
    label, subject, detail = teller(event)
    return KeyEvent(
        **stamp_fields(stamp),
        type=event["type"],
        label=label,
        subject=None if subject is None else str(subject),
        detail=detail,
    )


def main_courante_line(event: Event, stamp: Stamped, number: int) -> MainCouranteLine:
    """A main-courante entry event as a line of the timeline, numbered `number`."""
    return MainCouranteLine(
        **stamp_fields(stamp),
        number=number,
        entry_id=event["entry_id"],
        direction=event["direction"],
        sender=event["sender"],
        recipient=event.get("recipient"),
        medium=event["medium"],
        priority=event["priority"],
        text=event["text"],
    )
