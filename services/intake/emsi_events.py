"""The events one EMSI message gives: incident reported, updated or closed, its bilan, and the
resources engaged or released, with what the correlation index must learn."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from schemas.envelope import Status
from schemas.events import (
    BilanAssessed,
    IncidentClosed,
    IncidentReported,
    IncidentUpdated,
    ResourceEngaged,
    ResourceReleased,
)
from schemas.values import Bilan, GeoPoint, IncidentKind, Location, Polygon, Service, Severity
from services.intake.correlation import CorrelationIndex, Engaged, IncidentRef
from services.intake.emsi_codes import (
    MISSION_ENDED,
    NOT_YET,
    OFF_INCIDENT,
    SEVERITY_OF_SCALE,
    kind_of,
    service_of,
)
from services.intake.emsi_read import (
    EVENT_STATUSES,
    Casualties,
    EmsiEvent,
    EmsiMessage,
    Evacuation,
    Mission,
    Place,
    Resource,
)
from services.intake.errors import Rejection
from services.intake.mapping import (
    Context,
    Mapped,
    _long,
    _words,
    check_mix,
    event_id,
    incident_id_for,
)

_Block = TypeVar("_Block", Casualties, Evacuation)


class Writer:
    """Writes the events of one message; it knows the message, its status and the context."""

    def __init__(
        self, message: EmsiMessage, event: EmsiEvent, status: Status, context: Context
    ) -> None:
        self.message, self.event, self.status, self.context = message, event, status, context

    def write(
        self, index: CorrelationIndex, mapped: Mapped
    ) -> tuple[IncidentRef, list[Engaged | str]]:
        """Fill `mapped`; return the incident and the resource changes for the index."""
        message = self.message
        event_key = f"emsi-event:{message.origin},{self.event.id}"
        keys = [message.key, event_key, *message.case_keys]
        target = index.find([event_key, *message.case_keys])
        if target is not None:
            check_mix(self.status, target, index, message.path, "EMSI")
        if target is None and message.msg_type == "UPDATE":
            message.warnings.add(
                f"{message.path}/CONTEXT/MSGTYPE",
                "UPDATE of an event this intake has not received: reported as a new incident",
            )
        if message.msg_type == "CANCEL":
            if target is None:
                raise Rejection(
                    f"CANCEL of an event this intake has not received ({event_key})",
                    f"{self.event.path}/ID",
                )
            mapped.events.append(self.closed(target))
            mapped.learnt.append(([message.key], target))
            return target, []
        if target is not None:
            mapped.events.append(self.updated(target, keys))
            ref = target
        else:
            crisis_id = self.context.forced_crisis or index.route(self.status.value)
            # Named after the shared case when there is one, as CISU names it: two intakes that
            # each see only one of the two messages still give the incident the same id.
            identity = (message.case_keys or [event_key])[0]
            ref = IncidentRef(crisis_id, incident_id_for(identity), self.status.value)
            mapped.events.append(self.reported(ref, keys))
        mapped.events += self.bilan(ref)
        changes = self.resources(ref, index.engaged(ref.incident_id), mapped)
        mapped.learnt.append((keys, ref))
        return ref, changes

    def envelope(self, ref: IncidentRef, occurred: datetime | None, *kind: str) -> dict[str, Any]:
        return {
            "event_id": event_id(self.message.key, *kind),
            "crisis_id": ref.crisis_id,
            "occurred_at": occurred or self.message.created,
            "received_at": self.context.received_at,
            "source": self.context.feed,
            "actor": f"feed:{self.context.feed}",
            "status": self.status,
            "correlation_id": event_id("incident", ref.incident_id),
        }

    def reported(self, ref: IncidentRef, keys: list[str]) -> IncidentReported:
        event = self.event
        location = _location(event, self.message.missions)
        if location is None:
            raise Rejection(
                "the event has no EGEO position nor place name: it cannot be placed",
                f"{event.path}/EGEO",
            )
        return IncidentReported(
            **self.envelope(ref, event.occurred or event.declared, "reported"),
            incident_id=ref.incident_id,
            kind=kind_of(event),
            severity=SEVERITY_OF_SCALE.get(event.scale or "", Severity.UNKNOWN),
            title=_title(self.message, event),
            description=_long(_description(event)),
            location=location,
            sources=[self.source],
            external_ids=[k[:500] for k in keys],
            warnings=list(self.message.warnings),
            attachments=[self.context.original] if self.context.original else [],
        )

    def updated(self, target: IncidentRef, keys: list[str]) -> IncidentUpdated:
        message, event = self.message, self.event
        return IncidentUpdated(
            **self.envelope(target, event.observed, "updated"),
            incident_id=target.incident_id,
            # What the update does not say is left as it was (None), not reset to unknown.
            kind=kind if (kind := kind_of(event)) is not IncidentKind.AUTRE else None,
            severity=SEVERITY_OF_SCALE.get(event.scale or ""),
            title=_title(message, event),
            description=_long(_description(event)),
            location=_location(event, message.missions),
            sources=[self.source],
            note=f"EMSI {message.msg_type} {message.message_id} from {message.origin}"[:20_000],
            external_ids=[k[:500] for k in keys],
            warnings=list(message.warnings),
            attachments=[self.context.original] if self.context.original else [],
        )

    def closed(self, target: IncidentRef) -> IncidentClosed:
        message = self.message
        said = self.event.text or message.context_text
        return IncidentClosed(
            **self.envelope(target, self.event.observed, "closed"),
            incident_id=target.incident_id,
            reason=_long(said or f"Cancelled by {message.origin} (EMSI {message.message_id})"),
            external_ids=[message.key[:500]],
            warnings=list(message.warnings),
        )

    def bilan(self, ref: IncidentRef) -> list[BilanAssessed]:
        event = self.event
        casualties = _latest(event.casualties)
        evacuation = _latest(event.evacuations)
        figures = Bilan(
            decedes=casualties.dead if casualties else None,
            urgences_absolues=casualties.red if casualties else None,
            urgences_relatives=casualties.yellow if casualties else None,
            impliques=casualties.green if casualties else None,
            disparus=casualties.missing if casualties else None,
            evacues=evacuation.evacuated if evacuation else None,
        )
        if not figures.assessed():
            return []
        at = (casualties.at if casualties else None) or (evacuation.at if evacuation else None)
        context = casualties.context if casualties else None
        return [
            BilanAssessed(
                **self.envelope(ref, at or event.observed, "bilan"),
                incident_id=ref.incident_id,
                figures=figures,
                source_of_figures=self.source,
                note=f"EMSI {self.message.message_id}"
                + (f", CASUALTIES {context}" if context else ""),
                warnings=list(self.message.warnings),
            )
        ]

    def resources(
        self, ref: IncidentRef, engaged: dict[str, Engaged], mapped: Mapped
    ) -> list[Engaged | str]:
        """ResourceEngaged and ResourceReleased for what changed; the changes for the index."""
        changes: list[Engaged | str] = []
        seen: set[str] = set()
        for resource in self.message.resources:
            name = resource.id or resource.name
            if name is None:
                continue  # the reader warned: nothing identifies it
            org = resource.org_id or self.message.origin
            resource_id = incident_id_for(f"emsi-resource:{org},{''.join(name.split())}")
            if resource_id in seen:
                continue
            seen.add(resource_id)
            change = self.resource(ref, resource, resource_id, engaged.get(resource_id), mapped)
            if change is not None:
                changes.append(change)
        return changes

    def resource(
        self,
        ref: IncidentRef,
        resource: Resource,
        resource_id: str,
        known: Engaged | None,
        mapped: Mapped,
    ) -> Engaged | str | None:
        label = (resource.name or resource.id or "?")[:80]
        ended = self.ended(resource)
        if ended is not None:
            if known is None:
                mapped.notes.append(f"resource {label} released ({ended}) but was not engaged here")
                return None
            mapped.events.append(self.released(ref, resource, known, ended))
            return resource_id
        if resource.status in NOT_YET:
            mapped.notes.append(f"resource {label} is {resource.status}: not engaged yet")
            return None
        if known is not None:
            mapped.notes.append(f"resource {label} already engaged: not engaged again")
            return None
        engaged = self.engaged(ref, resource, resource_id)
        mapped.events.append(engaged)
        return Engaged(
            resource_id,
            engaged.service.value,
            engaged.units,
            engaged.personnel,
            engaged.description,
        )

    def ended(self, resource: Resource) -> str | None:
        """Why the resource no longer works on the incident, or None."""
        if resource.status in OFF_INCIDENT:
            return f"RESOURCE STATUS {resource.status}"
        wanted = "".join((resource.id or "").split())
        missions = [
            m
            for m in self.message.missions
            if wanted in ("".join(r.split()) for r in m.resource_ids)
        ]
        if wanted and missions and all(m.status in MISSION_ENDED for m in missions):
            return f"MISSION {missions[-1].id or '?'} STATUS {missions[-1].status}"
        return None

    def engaged(self, ref: IncidentRef, resource: Resource, resource_id: str) -> ResourceEngaged:
        return ResourceEngaged(
            **self.envelope(ref, None, "engaged", resource_id),
            resource_id=resource_id,
            service=service_of(resource, self.message),
            units=1,
            personnel=resource.personnel,
            incident_id=ref.incident_id,
            description=_words(resource.name or resource.id or "?"),
            mission=self.mission(resource),
            warnings=list(self.message.warnings),
        )

    def released(
        self, ref: IncidentRef, resource: Resource, known: Engaged, reason: str
    ) -> ResourceReleased:
        try:
            service = Service(known.service)
        except ValueError:
            service = service_of(resource, self.message)
        return ResourceReleased(
            **self.envelope(ref, None, "released", known.resource_id),
            resource_id=known.resource_id,
            service=service,
            units=max(known.units, 1),
            personnel=known.personnel,
            incident_id=ref.incident_id,
            description=known.description,
            reason=reason,
            warnings=list(self.message.warnings),
        )

    def mission(self, resource: Resource) -> str | None:
        wanted = "".join((resource.id or "").split())
        for mission in self.message.missions:
            if wanted and wanted in ("".join(r.split()) for r in mission.resource_ids):
                said = mission.text or mission.type
                return _words(said) if said else None
        return None

    @property
    def source(self) -> str:
        return _words(self.message.origin_name or self.message.origin)


def _latest(blocks: list[_Block]) -> _Block | None:
    """The block with the latest DATIME; among equals, or without times, the last one."""
    latest = blocks[-1] if blocks else None
    latest_at = None
    for block in blocks:
        if block.at is not None and (latest_at is None or block.at >= latest_at):
            latest, latest_at = block, block.at
    return latest


def _title(message: EmsiMessage, event: EmsiEvent) -> str:
    if event.name:
        return _words(event.name)
    if event.text and event.text.strip():
        return _words(event.text.strip().splitlines()[0])
    return _words(f"Événement {event.id} ({message.origin_name or message.origin})")


def _description(event: EmsiEvent) -> str | None:
    codes = "; ".join(
        f"{name} {' '.join(values)}"
        for name, values in (
            ("CATEGORY", event.categories),
            ("ACTOR", event.actors),
            ("LOCTYPE", event.loctypes),
            ("ENV", [event.environment] if event.environment else []),
        )
        if values
    )
    displaced = _latest(event.evacuations)
    lines = [
        event.text,
        f"État : {EVENT_STATUSES[event.status]} ({event.status})" if event.status else None,
        f"Évolution du risque : {event.risk}" if event.risk else None,
        f"Déplacés : {displaced.displaced}" if displaced and displaced.displaced else None,
        f"Codes EMSI : {codes}" if codes else None,
    ]
    return "\n".join(line for line in lines if line) or None


def _location(event: EmsiEvent, missions: list[Mission]) -> Location | None:
    places = event.places or [m.place for m in missions if m.place is not None]
    coordinates = [c for p in places for c in p.coordinates]
    names = list(dict.fromkeys(n for p in places for n in (p.name, *p.addresses, p.text) if n))
    if not coordinates and not names:
        return None
    first = coordinates[0] if coordinates else None
    return Location(
        description=_words("; ".join(names)) if names else None,
        point=GeoPoint(lat=first.lat, lon=first.lon) if first else None,
        polygons=[p for p in map(_polygon, places) if p is not None],
        altitude_m=first.height if first else None,
    )


def _polygon(place: Place) -> Polygon | None:
    if place.shape != "POLYGON" or len(place.coordinates) < 3:
        return None
    ring = [GeoPoint(lat=c.lat, lon=c.lon) for c in place.coordinates]
    if ring[0] != ring[-1]:
        ring.append(ring[0])
    return Polygon(points=ring) if 4 <= len(ring) <= 10_000 else None
