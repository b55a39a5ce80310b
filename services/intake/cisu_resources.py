"""The resource list of a CISU message (RC-RI), of the current generation or of RC-RI 25.x.

What is tolerated and what is refused is listed in `services.intake.cisu`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas.values import GeoPoint, Service
from services.intake.cisu_fields import (
    FieldReader,
    days_apart,
    point_at,
    short_text,
    type_name,
)
from services.intake.errors import Rejection
from services.intake.traps import STALE_AFTER

# Resource states (nomenclature HubSante.statutVecteur): the last four mean the resource no
# longer works on the case; the others, from the decision to the end of care, that it does.
ENGAGED_STATES = (
    "DECISION", "DECLENCHE", "DEPART", "ARRIVEE", "PEC", "BILAN", "ORIENTAT", "TRANSP",
    "ETAPE1", "TRANSP2", "ETAPE2", "TRANSP3", "DESTIN", "FINPEC",
)  # fmt: skip
RELEASED_STATES = ("ANNULE", "RETOUR", "RET-BASE", "REN-BASE")
# The family of a vehicleType (before any `.`): RC-RI says VECTEUR_SANTE/SIS (SMUR/SDIS before),
# the RS-RI nomenclature SMUR.VLM, SIS.VSAV, FSI.*, AASC.*, TSU.* (private ambulances engaged by
# the SAMU), LIB.* (doctors and nurses in private practice), AUTREVEC.*.
SERVICES = {
    "VECTEUR_SANTE": Service.SAMU_SMUR,
    "SMUR": Service.SAMU_SMUR,
    "SAMU": Service.SAMU_SMUR,
    "TSU": Service.SAMU_SMUR,
    "SIS": Service.SDIS,
    "SDIS": Service.SDIS,
    "AASC": Service.AASC,
    "FSI": Service.POLICE,
    "LIB": Service.AUTRE,
    "AUTREVEC": Service.AUTRE,
    "AUTRE": Service.AUTRE,
}


@dataclass(frozen=True, slots=True)
class Resource:
    """One resource of an RC-RI list, in its current state."""

    resource_id: str
    vehicle_type: str
    service: Service
    engaged_at: datetime
    state: str | None
    state_at: datetime | None
    available: bool | None
    position: GeoPoint | None
    description: str
    path: str

    @property
    def released(self) -> bool:
        """True when the resource no longer works on the case."""
        return self.state in RELEASED_STATES or self.available is True


def read_resources(
    reader: FieldReader, content: Mapping[str, Any], path: str, *, sent_at: datetime
) -> list[Resource]:
    """Read the resource list at `path` of a message sent at `sent_at`."""
    found = []
    for i, item in enumerate(reader.items(content, "resource", path)):
        at = f"{path}/resource/{i}"
        if not isinstance(item, Mapping):
            raise Rejection(f"resource must hold objects, not {type_name(item)}", at)
        found.append(_resource(reader, item, at))
    for resource in found:
        if abs(sent_at - resource.engaged_at) > STALE_AFTER:
            reader.warnings.add(
                f"{resource.path}/datetime",
                f"resource engaged {days_apart(resource.engaged_at - sent_at)} its "
                f"message was sent (more than {STALE_AFTER.days} days apart): kept as sent",
            )
    return found


def _resource(reader: FieldReader, item: Mapping[str, Any], path: str) -> Resource:
    resource_id = reader.identifier(item, "resourceId", path)
    vehicle_type = reader.text(item, "vehicleType", path, required=True) or ""
    state, state_path = _state(reader, item, path)
    status = state_at = available = None
    if state is not None:
        status = reader.choice(state, "status", state_path, (*ENGAGED_STATES, *RELEASED_STATES))
        state_at = reader.instant(state, "datetime", state_path, required=False)
        available = _availability(state, state_path)
    position = reader.obj(item, "position", path)
    return Resource(
        resource_id=resource_id,
        vehicle_type=vehicle_type,
        service=_service(reader, vehicle_type, item, path),
        engaged_at=reader.moment(item, "datetime", path),
        state=status,
        state_at=state_at,
        available=available,
        position=point_at(reader, position, f"{path}/position"),
        description=_resource_words(reader, item, path, resource_id, vehicle_type),
        path=path,
    )


def _state(
    reader: FieldReader, item: Mapping[str, Any], path: str
) -> tuple[Mapping[str, Any] | None, str]:
    """The current state: one object now, a list of states in RC-RI 25.x (the latest is read)."""
    value = item.get("state")
    if not isinstance(value, list):
        return reader.obj(item, "state", path), f"{path}/state"
    reader.warnings.add(f"{path}/state", "state as a list (older RC-RI generation): latest read")
    latest: tuple[datetime, int] | None = None
    for i, state in enumerate(value):
        at = f"{path}/state/{i}"
        if not isinstance(state, Mapping):
            raise Rejection(f"state must hold objects, not {type_name(state)}", at)
        moment = reader.moment(state, "datetime", at)
        if latest is None or moment >= latest[0]:
            latest = (moment, i)
    if latest is None:
        return None, f"{path}/state"
    return value[latest[1]], f"{path}/state/{latest[1]}"


def _availability(state: Mapping[str, Any], path: str) -> bool | None:
    value = state.get("availability")
    if value is not None and not isinstance(value, bool):
        raise Rejection(
            f"availability must be a boolean, not {type_name(value)}", f"{path}/availability"
        )
    return value


def _service(reader: FieldReader, vehicle_type: str, item: Mapping[str, Any], path: str) -> Service:
    family = vehicle_type.split(".", 1)[0]
    chosen = reader.enumerated(family, f"{path}/vehicleType", tuple(SERVICES))
    if chosen == "SDIS":
        reader.warnings.add(f"{path}/vehicleType", "SDIS (older RC-RI generation) read as SIS")
    if chosen == "FSI" and "gend" in (reader.text(item, "orgId", path) or "").lower():
        return Service.GENDARMERIE
    return SERVICES[chosen]


def _resource_words(
    reader: FieldReader, item: Mapping[str, Any], path: str, resource_id: str, vehicle_type: str
) -> str:
    team = reader.obj(item, "team", path)
    team_name = reader.text(team, "name", f"{path}/team") if team else None
    level = reader.text(team, "medicalLevel", f"{path}/team") if team else None
    details = [
        vehicle_type,
        reader.text(item, "centerName", path) or reader.text(item, "orgId", path),
        " ".join(w for w in (team_name, level and f"({level})") if w) or None,
    ]
    name = reader.text(item, "name", path) or resource_id
    return short_text(f"{name} ({', '.join(d for d in details if d)})") or resource_id
