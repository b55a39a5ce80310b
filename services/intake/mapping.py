"""A CAP alert into incident events: reported, updated or closed, in the crisis it belongs to."""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas.envelope import Envelope, Status
from schemas.events import (
    IncidentClosed,
    IncidentReported,
    IncidentUpdated,
    MainCouranteEntryRecorded,
)
from schemas.values import (
    Attachment,
    Direction,
    IncidentKind,
    LocalizedText,
    Location,
    Medium,
    Priority,
    Severity,
)
from services.intake.cap import Alert, Area, Info
from services.intake.correlation import Cancelled, CorrelationIndex, IncidentRef
from services.intake.errors import Rejection, Warnings
from services.intake.text import has_markup, one_line

# Event ids are derived from what identifies the input, so that a copy gives the same ids.
INTAKE_NAMESPACE = uuid.UUID("6f1d2c9e-6b1a-4c36-9a55-2f3e0c1d7a01")
OBJECT_BUCKET = "crisis-intake"
_INSEE_COMMUNE = re.compile(r"^([0-9]{2}|2A|2B)[0-9]{3}$")
_FEET = 0.3048
_SEVERITY = {
    "Extreme": Severity.EXTREME,
    "Severe": Severity.SEVERE,
    "Moderate": Severity.MODERATE,
    "Minor": Severity.MINOR,
}
# Words of the event's name (French and English, accents removed) that say what kind it is.
# The first match wins, so the more specific come first.
_KINDS: tuple[tuple[IncidentKind, tuple[str, ...]], ...] = (
    (IncidentKind.FEU_DE_FORET, ("feu de foret", "feux de foret", "forest fire", "wildfire")),
    (IncidentKind.INONDATION, ("inond", "crue", "flood", "submersion", "vagues")),
    (
        IncidentKind.MOUVEMENT_DE_TERRAIN,
        ("mouvement de terrain", "glissement", "eboulement", "landslide", "avalanche", "coulee"),
    ),
    (IncidentKind.TEMPETE, ("tempete", "vent", "wind", "storm", "orage", "thunder", "cyclone")),
    (IncidentKind.NEIGE_VERGLAS, ("neige", "verglas", "snow", "ice")),
    (IncidentKind.CANICULE, ("canicule", "heat")),
    (IncidentKind.GRAND_FROID, ("grand froid", "cold")),
    (IncidentKind.SEISME, ("seisme", "earthquake", "tsunami")),
    (IncidentKind.SEVESO, ("seveso",)),
    (IncidentKind.TMD, ("matieres dangereuses", "hazardous material", "tmd")),
    (IncidentKind.NRBC, ("nrbc", "chimique", "nucleaire", "radiolog", "cbrn")),
    (IncidentKind.ATTENTAT, ("attentat", "terror")),
    (IncidentKind.FEU, ("incendie", "feu", "fire")),
    (IncidentKind.ACCIDENT_ROUTIER, ("accident routier", "road accident", "collision")),
    (IncidentKind.PANNE_DE_RESEAUX, ("coupure", "panne", "outage")),
    (IncidentKind.PANDEMIE, ("pandemie", "epidemie", "pandemic", "epidemic")),
    (IncidentKind.POLLUTION, ("pollution",)),
)
_CATEGORY_KINDS = {
    "Fire": IncidentKind.FEU,
    "CBRNE": IncidentKind.NRBC,
    "Security": IncidentKind.ORDRE_PUBLIC,
    "Infra": IncidentKind.PANNE_DE_RESEAUX,
    "Health": IncidentKind.PANDEMIE,
    "Env": IncidentKind.POLLUTION,
    "Geo": IncidentKind.MOUVEMENT_DE_TERRAIN,
    "Met": IncidentKind.TEMPETE,
}


@dataclass(frozen=True, slots=True)
class Context:
    """What mapping needs besides the alert: who sent it, in which language, and when."""

    feed: str
    language: str
    received_at: datetime
    # The status imposed by the envelope (EDXL-DE distributionStatus), when not Actual.
    imposed_status: str | None = None
    original: Attachment | None = None
    forced_crisis: str | None = None


@dataclass(slots=True)
class Mapped:
    """The events one alert gives, the content it brought, and what the index learns."""

    events: list[Envelope] = field(default_factory=list)
    blobs: dict[str, bytes] = field(default_factory=dict)
    learnt: list[tuple[list[str], IncidentRef]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def event_id(*parts: str) -> uuid.UUID:
    """A stable event id from what identifies the input."""
    return uuid.uuid5(INTAKE_NAMESPACE, "|".join(parts))


def incident_id_for(key: str) -> str:
    """A stable incident id from an external identity: `cap-<20 hex digits>`."""
    prefix = key.split(":", 1)[0]
    return f"{prefix}-{hashlib.sha256(key.encode()).hexdigest()[:20]}"


def map_alert(alert: Alert, index: CorrelationIndex, context: Context) -> Mapped:
    """The events `alert` gives; `Rejection` when it cannot be applied."""
    mapped = Mapped()
    if (known := index.find([alert.key])) is not None:
        mapped.notes.append(
            f"already received (same sender and identifier), in {known.crisis_id} as "
            f"{known.incident_id}: nothing new"
        )
        return mapped
    status = status_of(alert.status, context, alert.warnings, alert.path)
    writer = _Writer(alert, status, context, mapped)
    incident_keys = [f"cap-incident:{alert.sender},{token}" for token in alert.incidents]
    target = index.find(r.key for r in alert.references) or index.find(incident_keys)
    if alert.msg_type in ("Ack", "Error"):
        mapped.notes.append(f"msgType {alert.msg_type} carries no incident: nothing to record")
        return mapped
    if alert.msg_type == "Cancel":
        return _cancel(alert, writer, target, index, mapped)
    if not alert.infos:  # a header-only alert: CAP allows it, the cell keeps it
        return _header_only(alert, writer, target, index, mapped)
    info = _chosen(alert, context.language)
    if target is not None:
        check_mix(status, target, index, alert.path)
        mapped.events.append(writer.updated(info, target))
        mapped.learnt.append(([alert.key, *incident_keys], target))
        return mapped
    root_keys = [r.key for r in alert.references]
    if alert.msg_type == "Update":
        alert.warnings.add(
            f"{alert.path}/references",
            "Update of an alert this intake has not received: reported as a new incident",
        )
    keys = [alert.key, *incident_keys, *root_keys]
    crisis_id = context.forced_crisis or index.route(status)
    incident_id = incident_id_for(root_keys[0] if root_keys else (incident_keys or [alert.key])[0])
    ref = IncidentRef(crisis_id, incident_id, status.value)
    mapped.events.append(writer.reported(info, ref, keys))
    mapped.learnt.append((keys, ref))
    if (cancel := index.cancelled([alert.key, *root_keys])) is not None:
        alert.warnings.add(alert.path, f"withdrawn by {cancel.cancel_key} before it came")
        reason = f"Withdrawn by a CAP Cancel received before this alert ({cancel.cancel_key})"
        mapped.events.append(writer.closed(ref, reason))
    return mapped


def _cancel(
    alert: Alert,
    writer: _Writer,
    target: IncidentRef | None,
    index: CorrelationIndex,
    mapped: Mapped,
) -> Mapped:
    """A Cancel closes the incident of the alerts it names; one of alerts not received (yet)
    is recorded in the main courante and remembered (`_withdrawn_before`)."""
    if target is None:
        return _withdrawn_before(alert, writer, index, mapped)
    check_mix(writer.status, target, index, alert.path)
    mapped.events.append(writer.closed(target))
    mapped.learnt.append(([alert.key], target))
    return mapped


def _header_only(
    alert: Alert,
    writer: _Writer,
    target: IncidentRef | None,
    index: CorrelationIndex,
    mapped: Mapped,
) -> Mapped:
    """An Alert or Update with no `<info>`: a note on the incident it amends, else an entry in
    the main courante where a new incident would have gone."""
    if target is not None:
        check_mix(writer.status, target, index, alert.path)
        mapped.events.append(writer.header_update(target))
        mapped.learnt.append(([alert.key], target))
        return mapped
    crisis_id = writer.context.forced_crisis or index.route(writer.status.value)
    said = f"CAP {alert.msg_type} {alert.identifier} from {alert.sender}, with no <info>"
    text = f"{said}: {alert.note}" if alert.note else said
    mapped.events.append(writer.entry(crisis_id, text, [alert.key]))
    return mapped


def _withdrawn_before(
    alert: Alert, writer: _Writer, index: CorrelationIndex, mapped: Mapped
) -> Mapped:
    """A Cancel of alerts not received (yet): recorded in the main courante where its alerts
    would have gone, and remembered, so that an alert it names arriving later is closed."""
    named = [r.key for r in alert.references]
    if not named:
        alert.warnings.add(f"{alert.path}/references", "a Cancel that names no alert")
    crisis_id = writer.context.forced_crisis or index.route(writer.status.value)
    text = (
        f"CAP Cancel {alert.identifier} from {alert.sender} of alerts this intake has not "
        f"received: {' '.join(named) or 'none named'}" + (f": {alert.note}" if alert.note else "")
    )
    entry = writer.entry(crisis_id, text, [alert.key, *(f"cancels:{key}" for key in named)])
    mapped.events.append(entry)
    for key in named:
        index.cancel(key, Cancelled(alert.key, crisis_id, entry.entry_id, entry.text))
    return mapped


def status_of(said: str, context: Context, warnings: Warnings, path: str) -> Status:
    """The status a message gets: what it `said` (Actual, Exercise…), unless an envelope marked
    Exercise, Test or System holds it and it says Actual: then the envelope's, with a warning."""
    if context.imposed_status and said == "Actual" and context.imposed_status != "Actual":
        warnings.add(
            path,
            f"message says Actual inside an envelope marked {context.imposed_status}: "
            f"taken as {context.imposed_status}",
        )
        return Status(context.imposed_status)
    return Status(said)


def check_mix(
    status: Status, target: IncidentRef, index: CorrelationIndex, path: str, kind: str = "CAP"
) -> None:
    """Refuse a `kind` message (CAP, EMSI, CISU) of one kind, exercise or real, that would amend
    an incident of the other: exercise and real never mix."""
    exercise = index.is_exercise(target.crisis_id)
    if exercise is None and target.status in ("Actual", "Exercise"):
        exercise = target.status == "Exercise"
    if exercise is not None and exercise != (status is Status.EXERCISE):
        amended = "an exercise" if exercise else "a real"
        article = "an" if kind.startswith("E") else "a"
        raise Rejection(
            f"{article} {kind} {status.value} message cannot amend {amended} "
            f"incident ({target.incident_id} in {target.crisis_id}): exercise and real never mix",
            path,
        )


def _chosen(alert: Alert, language: str) -> Info:
    """The `<info>` in the configured language, else in its family, else the first one."""
    wanted = language.lower()
    for info in alert.infos:
        if info.language.lower() == wanted:
            return info
    for info in alert.infos:
        if info.language.lower().split("-")[0] == wanted.split("-")[0]:
            return info
    alert.warnings.add(
        f"{alert.path}/info", f"no <info> in {language}: the one in {alert.infos[0].language} used"
    )
    return alert.infos[0]


class _Writer:
    """Writes the events of one alert; it knows the alert, its status and the context."""

    def __init__(self, alert: Alert, status: Status, context: Context, mapped: Mapped) -> None:
        self.alert, self.status, self.context, self.mapped = alert, status, context, mapped

    def envelope(self, info: Info | None, ref: IncidentRef, kind: str) -> dict[str, Any]:
        occurred = (info.onset or info.effective) if info else None
        return {
            "event_id": event_id(self.alert.key, kind),
            "crisis_id": ref.crisis_id,
            "occurred_at": occurred or self.alert.sent,
            "received_at": self.context.received_at,
            "source": self.context.feed,
            "actor": f"feed:{self.context.feed}",
            "status": self.status,
            "correlation_id": event_id("incident", ref.incident_id),
        }

    def reported(self, info: Info, ref: IncidentRef, keys: list[str]) -> IncidentReported:
        alert = self.alert
        location = _location(info.areas)
        assert location is not None  # noqa: S101 (an Alert's infos all have areas)
        return IncidentReported(
            **self.envelope(info, ref, "reported"),
            incident_id=ref.incident_id,
            kind=kind_of(info),
            severity=_SEVERITY.get(info.severity, Severity.UNKNOWN),
            title=_words(info.headline or info.event),
            description=_long(_description(info)),
            location=location,
            sources=[_short(info.sender_name or alert.sender)],
            external_ids=[_short(k) for k in keys],
            warnings=list(alert.warnings),
            expires_at=info.expires,
            other_languages=[_localized(other) for other in alert.infos if other is not info],
            attachments=self.attachments(info),
            signed=alert.signed,
        )

    def updated(self, info: Info, target: IncidentRef) -> IncidentUpdated:
        alert = self.alert
        return IncidentUpdated(
            **self.envelope(info, target, "updated"),
            incident_id=target.incident_id,
            kind=kind_of(info),
            severity=_SEVERITY.get(info.severity, Severity.UNKNOWN),
            title=_words(info.headline or info.event),
            description=_long(_description(info)),
            location=_location(info.areas),
            sources=[_short(info.sender_name or alert.sender)],
            note=f"CAP {alert.msg_type} {alert.identifier} from {alert.sender}"[:20_000],
            external_ids=[_short(alert.key)],
            warnings=list(alert.warnings),
            expires_at=info.expires,
            attachments=self.attachments(info),
        )

    def closed(self, target: IncidentRef, reason: str | None = None) -> IncidentClosed:
        alert = self.alert
        info = alert.infos[0] if alert.infos else None
        said = reason or (info and (info.description or info.headline))
        return IncidentClosed(
            **self.envelope(info, target, "closed"),
            incident_id=target.incident_id,
            reason=_long(said or alert.note or f"Cancelled by {alert.sender} ({alert.identifier})"),
            external_ids=[_short(alert.key)],
            warnings=list(alert.warnings),
        )

    def header_update(self, target: IncidentRef) -> IncidentUpdated:
        """An Update with no `<info>`: what it says is its note, on the incident it amends."""
        alert = self.alert
        said = f"CAP Update {alert.identifier} from {alert.sender}, with no <info>"
        return IncidentUpdated(
            **self.envelope(None, target, "updated"),
            incident_id=target.incident_id,
            note=_long(f"{said}: {alert.note}" if alert.note else said),
            external_ids=[_short(alert.key)],
            warnings=list(alert.warnings),
        )

    def entry(
        self, crisis_id: str, text: str, external_ids: list[str]
    ) -> MainCouranteEntryRecorded:
        """A main courante entry for a message that concerns no incident known here."""
        alert = self.alert
        warnings = "".join(f"\n! {w}" for w in alert.warnings)
        return MainCouranteEntryRecorded(
            event_id=event_id(alert.key, "recorded"),
            crisis_id=crisis_id,
            occurred_at=alert.sent,
            received_at=self.context.received_at,
            source=self.context.feed,
            actor=f"feed:{self.context.feed}",
            status=self.status,
            entry_id=incident_id_for(alert.key).replace("cap-", "mc-cap-", 1),
            direction=Direction.RECEIVED,
            sender=_short(alert.sender),
            medium=Medium.PORTAL,
            priority=Priority.ROUTINE,
            text=_long(text + warnings) or "?",
            external_ids=[_short(k) for k in external_ids],
        )

    def attachments(self, info: Info) -> list[Attachment]:
        found = [self.context.original] if self.context.original else []
        for resource in info.resources:
            digest = None
            uri = resource.uri
            if resource.content is not None:
                digest = hashlib.sha256(resource.content).hexdigest()
                self.mapped.blobs[digest] = resource.content
                uri = f"nats-object://{OBJECT_BUCKET}/{digest}"
            found.append(
                Attachment(
                    description=_words(resource.description),
                    mime_type=_short(resource.mime_type) if resource.mime_type else None,
                    size=len(resource.content) if resource.content is not None else resource.size,
                    sha256=digest,
                    uri=_short(uri) if uri else None,
                )
            )
        return found


def kind_of(info: Info) -> IncidentKind:
    """The kind of incident an `<info>` describes, from its event name, else its category."""
    words = _folded(f"{info.event} {info.headline or ''}")
    for kind, needles in _KINDS:
        if any(re.search(rf"\b{re.escape(n)}", words) for n in needles):
            return kind
    for category in info.categories:
        if category in _CATEGORY_KINDS:
            return _CATEGORY_KINDS[category]
    return IncidentKind.AUTRE


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _description(info: Info) -> str | None:
    parts = [info.description, f"Consignes : {info.instruction}" if info.instruction else None]
    return "\n\n".join(p for p in parts if p) or None


def _location(areas: list[Area]) -> Location | None:
    if not areas:
        return None
    names = [a.description for a in areas if a.description]
    codes = [(n, v) for a in areas for n, v in a.geocodes]
    insee = [v for n, v in codes if "INSEE" in n.upper() and _INSEE_COMMUNE.fullmatch(v)]
    others = [f"{n} {v}" for n, v in codes if v not in insee]
    description = "; ".join(names) + (f" ({', '.join(others)})" if others else "")
    first_altitude = next((a for a in areas if a.altitude_ft is not None), None)
    altitude = first_altitude.altitude_ft if first_altitude else None
    ceiling = first_altitude.ceiling_ft if first_altitude else None
    return Location(
        description=_words(description) if description.strip() else None,
        point=next((p for a in areas for p in a.points), None),
        polygons=[p for a in areas for p in a.polygons],
        circles=[c for a in areas for c in a.circles],
        insee_codes=list(dict.fromkeys(insee)),
        altitude_m=round(altitude * _FEET, 1) if altitude is not None else None,
        ceiling_m=round(ceiling * _FEET, 1) if ceiling is not None else None,
    )


def _localized(info: Info) -> LocalizedText:
    return LocalizedText(
        language=_short(info.language),
        event=_words(info.event),
        headline=_short(info.headline) if info.headline else None,
        description=_long(info.description),
        instruction=_long(info.instruction),
    )


def _short(text: str) -> str:
    return text.strip()[:500]


def _words(text: str) -> str:
    """A line a person reads, without markup (`free_text` removed it from the headline already;
    the event and the area and resource descriptions lose it here); never empty."""
    if not has_markup(text):
        return _short(text)
    return (
        _short(one_line(text))
        or _short(" ".join(text.replace("<", " ").replace(">", " ").split()))
        or "?"
    )


def _long(text: str | None) -> str | None:
    return text.strip()[:20_000] if text and text.strip() else None
