"""CISU messages of the Hub Santé (SAMU <-> NexSIS): case creations and resource lists.

Read after the ANS models (ansforge/SAMU-Hub-Modeles): RC-DE, the message header (`messageId`,
`sender`, `sentAt`, `kind`, `status`, `recipient`), beside one use case: RC-EDA `createCase` or
RC-RI `resourcesInfoCisu` (`resourcesInfo` in older messages). JSON comes bare or wrapped in
`{"message": …}`; XML is a `<message>` whose element names are the JSON field names.

Reading is in `cisu_read` (the header), `cisu_case` (RC-EDA), `cisu_resources` (RC-RI),
`cisu_fields` (fields, times, points) and `cisu_xml` (XML to the JSON the schema describes);
mapping is here.

Identity. A case is `case:<caseId>`, the key the EMSI mapper uses for the same shared case id,
and its incident `incident_id_for("case:<caseId>")`. A message is `cisu:<messageId>`: a copy
adds nothing. A resource of a case is `cisu-res-<hash of caseId and resourceId>`.

Mapping.
- createCase: IncidentReported for a case not yet known, IncidentUpdated for a known one. The
  victims count of CISU is not triaged (0, 1, PLUSIEURS, BEAUCOUP…): a count of 0 gives a
  BilanAssessed (nobody dead, UA or UR); other counts go into the description only, since
  décédés, UA and UR cannot be told apart from them.
- RC-RI re-sends the whole resource list of a case: what changed from what the index knows is
  engaged on the case's incident gives ResourceEngaged and ResourceReleased. Only resources
  engaged by this module (`cisu-res-…`) are released for being absent: an operator's or another
  feed's resources on the same incident are left alone.
- An RC-RI for a case this intake has not received is refused. It never says where the case is
  (resource positions may be at a base far away), so no incident can be placed from it; the Hub
  re-sends the whole list, so the next RC-RI after the createCase brings everything.
- Ack and Error messages record nothing (a note). A Cancel is refused: nothing here undoes a
  case, an operator decides.

Tolerated, with a warning kept on the events:
1. an offset that is not Europe/Paris's on that date (`+01:00` in July): the instant is kept as
   given. UTC written `-00:00` (as the DST asks) or `+00:00` is not warned about; `Z` is read as
   UTC with a warning;
2. a createCase sent more than 90 days from its case's creation, a resource engaged more than
   90 days from its message's sending;
3. a resource position more than 100 km from its case's point, when the index can tell where the
   case is (`KnowsPlaces`): kept as sent;
4. fields of an older generation of the schema (RC-EDA 0.4: `createdAt`, `caseLocation`,
   `alertCode`, `severity`, `address`, freetext as one string; RC-RI 25.x: `state` as a list,
   vehicleType `SDIS`; the use case named `resourcesInfo`), and XML elements of one part of a
   message in two namespaces: read, the newer field used when both are given;
5. fields the schema requires but the mapping does not use, missing (`referenceVersion`, `locID`,
   `country`, `obsDatime`, `precision`, `sender/URI`, `recipient`); an INSEE code not of the
   INSEE form (left out); a status or an enumerated value spelt in another case; a single object
   where the schema has an array; a resource listed twice (the first one read).

Refused (`Rejection`, with a reason and a JSON path such as `/message/createCase/location`):
- a required field the mapping needs, missing or empty: `messageId`, `sender/name`, `sentAt`,
  `kind`, `status`, `caseId`, the case's creation time, `whatsHappen` code and label,
  `location`, a resource's `resourceId`, `datetime` and `vehicleType`, a state's `status`;
- a time that is not an ISO 8601 date-time with an offset; coordinates that are not numbers or
  out of range; a location that says nowhere;
- a value outside its enumeration (`status`, `kind`, `vehicleType`, a resource state, the victims
  count), a negative count, a value of the wrong JSON type where a field is read;
- an exercise message on a real incident, or the reverse (`mapping.check_mix`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from schemas.envelope import Status
from schemas.events import (
    BilanAssessed,
    IncidentReported,
    IncidentUpdated,
    ResourceEngaged,
    ResourceReleased,
)
from schemas.values import Bilan, GeoPoint, IncidentKind, Location, Service, Severity
from services.intake.cisu_case import Case, Place
from services.intake.cisu_fields import short_text
from services.intake.cisu_read import (
    CisuMessage,
    is_cisu_json,
    is_cisu_xml,
    read_cisu_json,
    read_cisu_xml,
)
from services.intake.cisu_resources import Resource
from services.intake.correlation import CorrelationIndex, Engaged, IncidentRef
from services.intake.errors import Rejection
from services.intake.mapping import (
    Context,
    Mapped,
    check_mix,
    event_id,
    incident_id_for,
    status_of,
)
from services.intake.traps import FAR_KM, distance_km

__all__ = [
    "CisuMessage",
    "KnowsPlaces",
    "is_cisu_json",
    "is_cisu_xml",
    "map_cisu",
    "read_cisu_json",
    "read_cisu_xml",
]

# How far a resource may be from its case before a warning.
RESOURCE_PREFIX = "cisu-res-"
# Nature de fait (CISU whatsHappen codes, Cxx.yy.zz): the longest prefix wins; else AUTRE.
NATURE_KINDS: tuple[tuple[str, IncidentKind], ...] = (
    ("C01.01", IncidentKind.ACCIDENT_ROUTIER),  # accident routier
    ("C01.06", IncidentKind.ACCIDENT_ROUTIER),  # accident routier suivi de feu
    ("C01.02", IncidentKind.ACCIDENT_FERROVIAIRE),  # accident ferroviaire, tramway
    ("C04.03", IncidentKind.FEU_DE_FORET),  # feux d'espaces naturels (CISU 1.x)
    ("C04.05", IncidentKind.FEU_DE_FORET),  # haies, broussailles, chaumes, forêt
    ("C04", IncidentKind.FEU),  # incendies
    ("C07", IncidentKind.ORDRE_PUBLIC),  # violences urbaines
    ("C08.01", IncidentKind.INONDATION),  # montée des eaux, inondation
    ("C08.05", IncidentKind.TEMPETE),  # chutes d'arbres, toitures
    ("C08.06", IncidentKind.MOUVEMENT_DE_TERRAIN),  # éboulement, effondrement
    ("C08.08", IncidentKind.POLLUTION),  # pollution
)


@runtime_checkable
class KnowsPlaces(Protocol):
    """An index that can tell where an incident is, for the distance check of resources."""

    def place_of(self, incident_id: str) -> GeoPoint | None:
        """The point of the incident's location, if known."""
        ...  # pragma: no cover


def map_cisu(message: CisuMessage, index: CorrelationIndex, context: Context) -> Mapped:
    """The events `message` gives; `Rejection` when it cannot be applied."""
    mapped = Mapped()
    if (known := index.find([message.key])) is not None:
        mapped.notes.append(
            f"already received (same messageId), in {known.crisis_id} as {known.incident_id}: "
            "nothing new"
        )
        return mapped
    if message.distribution_kind in ("Ack", "Error"):
        mapped.notes.append(f"kind {message.distribution_kind} carries no case: nothing to record")
        return mapped
    if message.distribution_kind == "Cancel":
        raise Rejection(
            "a CISU Cancel is not applied by this intake: an operator closes the incident",
            f"{message.path}/kind",
        )
    status = status_of(message.status, context, message.warnings, f"{message.path}/status")
    if message.case is not None:
        _map_case(message, message.case, status, index, context=context, mapped=mapped)
    else:
        _map_resources(message, status, index, context=context, mapped=mapped)
    return mapped


class _Writer:
    """Writes the events of one message about one incident."""

    def __init__(
        self, message: CisuMessage, status: Status, context: Context, ref: IncidentRef
    ) -> None:
        self.message, self.status, self.context, self.ref = message, status, context, ref

    def envelope(self, occurred: datetime, *kind: str) -> dict[str, Any]:
        return {
            "event_id": event_id(self.message.key, *kind),
            "crisis_id": self.ref.crisis_id,
            "occurred_at": occurred,
            "received_at": self.context.received_at,
            "source": self.context.feed,
            "actor": f"feed:{self.context.feed}",
            "status": self.status,
            "correlation_id": event_id("incident", self.ref.incident_id),
        }

    def reported(self, case: Case, keys: list[str]) -> IncidentReported:
        return IncidentReported(
            **self.envelope(case.created, "reported"),
            incident_id=self.ref.incident_id,
            kind=kind_of(case.nature_code),
            severity=case.severity,
            title=_title(case),
            description=_description(case),
            location=_location(case.place),
            sources=[short_text(self.message.sender) or "CISU"],
            external_ids=[k[:500] for k in keys],
            warnings=list(self.message.warnings),
            attachments=[self.context.original] if self.context.original else [],
        )

    def updated(self, case: Case) -> IncidentUpdated:
        message = self.message
        return IncidentUpdated(
            **self.envelope(case.created, "updated"),
            incident_id=self.ref.incident_id,
            kind=kind_of(case.nature_code),
            severity=case.severity if case.severity is not Severity.UNKNOWN else None,
            title=_title(case),
            description=_description(case),
            location=_location(case.place),
            sources=[short_text(message.sender) or "CISU"],
            note=f"CISU createCase {message.message_id} from {message.sender}"[:20_000],
            external_ids=[message.key[:500]],
            warnings=list(message.warnings),
            attachments=[self.context.original] if self.context.original else [],
        )

    def bilan(self, case: Case) -> BilanAssessed:
        return BilanAssessed(
            **self.envelope(case.created, "bilan"),
            incident_id=self.ref.incident_id,
            figures=Bilan(decedes=0, urgences_absolues=0, urgences_relatives=0),
            source_of_figures=short_text(self.message.sender) or "CISU",
            note="CISU victims count 0: nobody dead or hurt",
            warnings=list(self.message.warnings),
        )

    def engaged(self, resource: Resource, engaged: Engaged) -> ResourceEngaged:
        return ResourceEngaged(
            **self.envelope(
                resource.state_at or resource.engaged_at, "engaged", engaged.resource_id
            ),
            resource_id=engaged.resource_id,
            service=Service(engaged.service),
            units=engaged.units,
            personnel=engaged.personnel,
            incident_id=self.ref.incident_id,
            description=engaged.description,
            warnings=list(self.message.warnings),
        )

    def released(self, engaged: Engaged, resource: Resource | None) -> ResourceReleased:
        if resource is None:
            occurred, reason = self.message.sent_at, "no longer in the case's resource list"
        else:
            occurred = resource.state_at or self.message.sent_at
            reason = f"CISU state {resource.state}" if resource.state else "available"
        return ResourceReleased(
            **self.envelope(occurred, "released", engaged.resource_id),
            resource_id=engaged.resource_id,
            service=Service(engaged.service),
            units=engaged.units,
            personnel=engaged.personnel,
            incident_id=self.ref.incident_id,
            description=engaged.description,
            reason=f"{reason} (CISU message {self.message.message_id})"[:500],
            warnings=list(self.message.warnings),
        )


def _map_case(
    message: CisuMessage,
    case: Case,
    status: Status,
    index: CorrelationIndex,
    *,
    context: Context,
    mapped: Mapped,
) -> None:
    target = index.find([message.case_key])
    if target is not None:
        check_mix(status, target, index, message.path, "CISU")
        writer = _Writer(message, status, context, target)
        mapped.events.append(writer.updated(case))
        keys = [message.key]
    else:
        crisis_id = context.forced_crisis or index.route(status.value)
        target = IncidentRef(crisis_id, incident_id_for(message.case_key), status.value)
        writer = _Writer(message, status, context, target)
        keys = [message.case_key, message.key]
        mapped.events.append(writer.reported(case, keys))
    if case.victims == "0":
        mapped.events.append(writer.bilan(case))
    mapped.learnt.append((keys, target))


def _map_resources(
    message: CisuMessage,
    status: Status,
    index: CorrelationIndex,
    *,
    context: Context,
    mapped: Mapped,
) -> None:
    target = index.find([message.case_key])
    if target is None:
        raise Rejection(
            f"resource status for a case this intake has not received ({message.case_key})",
            f"{message.content_path}/caseId",
        )
    check_mix(status, target, index, message.path, "CISU")
    _check_distances(message, index, target)
    writer = _Writer(message, status, context, target)
    incident = target.incident_id
    known = {k: v for k, v in index.engaged(incident).items() if k.startswith(RESOURCE_PREFIX)}
    listed: set[str] = set()
    for resource in message.resources:
        resource_id = resource_id_for(message.case_id, resource.resource_id)
        if resource_id in listed:
            message.warnings.add(resource.path, "resource listed twice: the first one read")
            continue
        listed.add(resource_id)
        if resource.released and resource_id in known:
            mapped.events.append(writer.released(known[resource_id], resource))
            index.release(incident, resource_id)
        elif not resource.released and resource_id not in known:
            engaged = Engaged(resource_id, resource.service.value, 1, 0, resource.description)
            mapped.events.append(writer.engaged(resource, engaged))
            index.engage(incident, engaged)
    for resource_id, gone in known.items():
        if resource_id not in listed:
            mapped.events.append(writer.released(gone, None))
            index.release(incident, resource_id)
    if not mapped.events:
        mapped.notes.append("the case's resources are as they were: nothing new")
    mapped.learnt.append(([message.key], target))


def _check_distances(message: CisuMessage, index: CorrelationIndex, target: IncidentRef) -> None:
    centre = index.place_of(target.incident_id) if isinstance(index, KnowsPlaces) else None
    if centre is None:
        return
    for resource in message.resources:
        if resource.position is None:
            continue
        distance = distance_km(centre, resource.position)
        if distance > FAR_KM:
            message.warnings.add(
                f"{resource.path}/position",
                f"position {distance:.0f} km from its case: kept as sent",
            )


def resource_id_for(case_id: str, resource_id: str) -> str:
    """A stable resource id from the case and the CISU resource id: `cisu-res-<20 hex digits>`."""
    return incident_id_for(f"cisu-res:{case_id},{resource_id}")


def kind_of(nature_code: str) -> IncidentKind:
    """The kind of incident a CISU nature code (whatsHappen) says, after `NATURE_KINDS`."""
    matches = [(p, k) for p, k in NATURE_KINDS if nature_code.upper().startswith(p)]
    return max(matches, key=lambda m: len(m[0]))[1] if matches else IncidentKind.AUTRE


def _title(case: Case) -> str:
    where = case.place.description.split(";")[0] if case.place.description else None
    return short_text(" - ".join(w for w in (case.nature_label, where) if w)) or case.case_id[:500]


def _description(case: Case) -> str | None:
    parts = [*case.texts, *(f"Qualification : {label}" for label in case.labels)]
    if case.victims is not None:
        said = f" ({case.victims_text})" if case.victims_text else ""
        parts.append(f"Victimes : {case.victims}{said}, non triées")
    parts.append(f"Affaire CISU {case.case_id}, nature {case.nature_code}")
    return "\n".join(parts)[:20_000]


def _location(place: Place) -> Location:
    return Location(
        description=place.description,
        point=place.point,
        insee_codes=[place.insee_code] if place.insee_code else [],
    )
