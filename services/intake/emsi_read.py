"""The sections of an EMSI message (CONTEXT, EVENT, MISSION, RESOURCE), read from its tree.

What is refused and what is tolerated is listed in `services/intake/emsi.py`; this module also
checks two of the tolerated traps, which need the whole message: a message created months away
from its case, and a resource positioned far from the event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from schemas.envelope import Status
from services.intake.emsi_tree import Reader, Tree
from services.intake.errors import Rejection, Warnings
from services.intake.traps import FAR_KM, STALE_AFTER, distance_km

_MAX_PEOPLE = 100_000
MODES = {
    "ACTUAL": Status.ACTUAL,
    "EXERCS": Status.EXERCISE,
    "SYSTEM": Status.SYSTEM,
    "TEST": Status.TEST,
}
_MODE_ALIASES = {"EXERCISE": "EXERCS"}
MSG_TYPES = ("ALERT", "UPDATE", "CANCEL", "ACK", "ERROR")
LEVELS = ("STRTGC", "OPR", "TACTCL")
EVENT_STATUSES = {"COM": "terminé", "IPR": "en cours", "NST": "non débuté", "STOP": "maîtrisé"}
_RESOURCE_STATUSES = (
    "AVAILB",
    "UNAV",
    "MAINTC",
    "RESRVD",
    "VIRTUAL",
    "IN_USE/MOBILE",
    "IN_USE/ON_SCENE",
)


_WGS84 = {"EPSG-4326", "EPSG:4326", "WGS84", "WGS-84", "WGS 84"}
SCALES = ("1", "2", "3", "4", "5")


@dataclass(frozen=True, slots=True)
class Coordinate:
    """One COORD, in WGS 84; HEIGHT in metres."""

    lat: float
    lon: float
    height: float | None


@dataclass(frozen=True, slots=True)
class Place:
    """One position: an EGEO, a MISSION's or a RESOURCE's (RGEO) POSITION."""

    kind: str | None
    name: str | None
    shape: str | None
    coordinates: list[Coordinate]
    addresses: list[str]
    text: str | None
    path: str


@dataclass(frozen=True, slots=True)
class Casualties:
    """One CASUALTIES block, by triage colour."""

    context: str | None
    at: datetime | None
    dead: int | None
    red: int | None
    yellow: int | None
    green: int | None
    missing: int | None
    path: str


@dataclass(frozen=True, slots=True)
class Evacuation:
    """One EVAC block."""

    at: datetime | None
    displaced: int | None
    evacuated: int | None
    path: str


@dataclass(frozen=True, slots=True)
class EmsiEvent:
    """The EVENT section."""

    id: str
    name: str | None
    main_event_id: str | None
    categories: list[str]
    actors: list[str]
    loctypes: list[str]
    environment: str | None
    scale: str | None
    declared: datetime | None
    occurred: datetime | None
    observed: datetime | None
    status: str | None
    risk: str | None
    cause: str | None
    text: str | None
    casualties: list[Casualties]
    evacuations: list[Evacuation]
    places: list[Place]
    path: str


@dataclass(frozen=True, slots=True)
class Mission:
    """One MISSION."""

    id: str | None
    type: str | None
    org_id: str | None
    name: str | None
    status: str | None
    text: str | None
    resource_ids: list[str]
    start: datetime | None
    end: datetime | None
    place: Place | None
    path: str


@dataclass(frozen=True, slots=True)
class Resource:
    """One RESOURCE."""

    id: str | None
    org_id: str | None
    name: str | None
    text: str | None
    classes: list[str]
    quantity: float | None
    # People it counts: its QUANTITY when its class is HUM (people), else 1; none for equipment.
    personnel: int
    status: str | None
    places: list[Place]
    path: str


@dataclass(slots=True)
class EmsiMessage:
    """An EMSI message as read, with what was tolerated reading it."""

    generation: str
    message_id: str
    origin_org: str | None
    origin_name: str | None
    created: datetime
    status: str
    msg_type: str
    level: str | None
    context_text: str | None
    event: EmsiEvent | None
    missions: list[Mission]
    resources: list[Resource]
    path: str
    warnings: Warnings = field(default_factory=Warnings)

    @property
    def origin(self) -> str:
        """The sending organisation, `unknown` when the message does not say."""
        return self.origin_org or "unknown"

    @property
    def key(self) -> str:
        """The message's identity across feeds: `emsi:<origin org>,<CONTEXT/ID>`."""
        return f"emsi:{self.origin},{self.message_id}"

    @property
    def event_key(self) -> str | None:
        """The EVENT's identity: `emsi-event:<origin org>,<EVENT/ID>`."""
        return f"emsi-event:{self.origin},{self.event.id}" if self.event else None

    @property
    def case_keys(self) -> list[str]:
        """The shared case id, as CISU messages know it: `case:<MAIN_EVENT_ID>`."""
        main = self.event.main_event_id if self.event else None
        return [f"case:{main}"] if main else []


# EMSI security classifications that restrict who may read the message.
_RESTRICTED = {"CONFID": "confidential", "RESTRC": "restricted", "SECRET": "secret",
               "TOPSRT": "top secret"}  # fmt: skip


def _check_classification(reader: Reader, context: Tree, at: str, warnings: Warnings) -> None:
    """A classified message is marked on its events, never taken as for everyone."""
    seclass = (reader.text(context, "SECLASS", at) or "").upper()
    if seclass in _RESTRICTED:
        warnings.add(f"{at}/SECLASS", f"EMSI SECLASS {seclass}: {_RESTRICTED[seclass]}, "
                     "not for the public")  # fmt: skip


def read_tree(tree: Tree, path: str, generation: str, warnings: Warnings) -> EmsiMessage:
    """The message a tree holds; `Rejection` names the element at fault."""
    reader = Reader(warnings)
    context = reader.one(tree, "CONTEXT", path)
    if context is None:
        raise Rejection("CONTEXT is missing and EMSI requires it", f"{path}/CONTEXT")
    at = f"{path}/CONTEXT"
    message_id = reader.required(context, "ID", at)
    mode = reader.choice(reader.required(context, "MODE", at), f"{at}/MODE", MODES, _MODE_ALIASES)
    msg_type = reader.choice(reader.required(context, "MSGTYPE", at), f"{at}/MSGTYPE", MSG_TYPES)
    level = reader.text(context, "LEVEL", at)
    _check_classification(reader, context, at, warnings)
    created = reader.instant(context, "CREATION", at, required=True)
    assert created is not None  # noqa: S101 (required=True never returns None)
    origin = reader.one(context, "ORIGIN", at) or {}
    origin_org = reader.text(origin, "ORG_ID", f"{at}/ORIGIN")
    if origin_org is None:
        warnings.add(f"{at}/ORIGIN/ORG_ID", "no origin organisation: the sender is 'unknown'")
    event_tree = reader.one(tree, "EVENT", path)
    if event_tree is None and msg_type not in ("ACK", "ERROR"):
        raise Rejection(
            f"EVENT is missing: an EMSI {msg_type} must say which event it is about",
            f"{path}/EVENT",
        )
    message = EmsiMessage(
        generation=generation,
        message_id=message_id,
        origin_org=origin_org,
        origin_name=reader.text(origin, "NAME", f"{at}/ORIGIN"),
        created=created,
        status=MODES[mode].value,
        msg_type=msg_type,
        level=reader.choice(level, f"{at}/LEVEL", LEVELS) if level else None,
        context_text=reader.text(context, "FREETEXT", at),
        event=_event(reader, event_tree, f"{path}/EVENT") if event_tree is not None else None,
        missions=[_mission(reader, t, p) for t, p in reader.all(tree, "MISSION", path)],
        resources=[_resource(reader, t, p) for t, p in reader.all(tree, "RESOURCE", path)],
        path=path,
        warnings=warnings,
    )
    _check_age(message)
    _check_distances(message)
    return message


def _event(reader: Reader, tree: Tree, path: str) -> EmsiEvent:
    etype = reader.one(tree, "ETYPE", path) or {}
    at = f"{path}/ETYPE"
    casualties = [_casualties(reader, t, p) for t, p in reader.all(tree, "CASUALTIES", path)]
    evacuations = [_evacuation(reader, t, p) for t, p in reader.all(tree, "EVAC", path)]
    for name, found in (("CASUALTIES", casualties), ("EVAC", evacuations)):
        if len(found) > 1:
            reader.warnings.add(f"{path}/{name}", f"{len(found)} {name}: the latest one used")
    return EmsiEvent(
        id=reader.required(tree, "ID", path),
        name=reader.text(tree, "NAME", path),
        main_event_id=reader.text(tree, "MAIN_EVENT_ID", path),
        categories=[c.upper() for c in reader.texts(etype, "CATEGORY", at)],
        actors=[a.upper() for a in reader.texts(etype, "ACTOR", at)],
        loctypes=[t.upper() for t in reader.texts(etype, "LOCTYPE", at)],
        environment=(reader.text(etype, "ENV", at) or "").upper() or None,
        scale=reader.option(tree, "SCALE", path, SCALES),
        declared=reader.instant(tree, "DECL_DATIME", path),
        occurred=reader.instant(tree, "OCC_DATIME", path),
        observed=reader.instant(tree, "OBS_DATIME", path),
        status=reader.option(tree, "STATUS", path, EVENT_STATUSES),
        risk=reader.option(tree, "RISK_ASSESMENT", path, ("NCREA", "DECREA", "STABLE")),
        cause=reader.option(tree, "CAUSE", path, ("ACC", "DEL", "NAT")),
        text=reader.text(tree, "FREETEXT", path),
        casualties=casualties,
        evacuations=evacuations,
        places=[_egeo(reader, t, p) for t, p in reader.all(tree, "EGEO", path)],
        path=path,
    )


def _casualties(reader: Reader, tree: Tree, path: str) -> Casualties:
    return Casualties(
        context=reader.text(tree, "CONTEXT", path),
        at=reader.instant(tree, "DATIME", path),
        dead=reader.count(tree, "TRIAGEBLACK", path),
        red=reader.count(tree, "TRIAGERED", path),
        yellow=reader.count(tree, "TRIAGEYELLOW", path),
        green=reader.count(tree, "TRIAGEGREEN", path),
        missing=reader.count(tree, "MISSING", path),
        path=path,
    )


def _evacuation(reader: Reader, tree: Tree, path: str) -> Evacuation:
    return Evacuation(
        at=reader.instant(tree, "DATIME", path),
        displaced=reader.count(tree, "DISPLACED", path),
        evacuated=reader.count(tree, "EVACUATED", path),
        path=path,
    )


def _egeo(reader: Reader, tree: Tree, path: str) -> Place:
    reader.instant(tree, "DATIME", path)  # checked, not kept
    position = reader.one(tree, "POSITION", path) or {}
    return _position(
        reader,
        position,
        f"{path}/POSITION",
        reader.text(tree, "TYPE", path),
        reader.text(tree, "FREETEXT", path),
    )


def _position(reader: Reader, tree: Tree, path: str, kind: str | None, text: str | None) -> Place:
    system = reader.text(tree, "COORDSYS", path)
    if system and system.upper() not in _WGS84:
        reader.warnings.add(f"{path}/COORDSYS", f"{system[:40]!r}: coordinates read as WGS 84")
    return Place(
        kind=kind,
        name=reader.text(tree, "NAME", path),
        shape=(reader.text(tree, "TYPE", path) or "").upper() or None,
        coordinates=[_coordinate(reader, t, p) for t, p in reader.all(tree, "COORD", path)],
        addresses=reader.texts(tree, "ADDRESS", path),
        text=text,
        path=path,
    )


def _coordinate(reader: Reader, tree: Tree, path: str) -> Coordinate:
    lat = reader.number(tree, "LAT", path, required=True)
    lon = reader.number(tree, "LONG", path, required=True)
    assert lat is not None  # noqa: S101 (required=True never returns None)
    assert lon is not None  # noqa: S101 (required=True never returns None)
    if not -90 <= lat <= 90:
        raise Rejection(f"latitude {lat} is outside -90..90", f"{path}/LAT")
    if not -180 <= lon <= 180:
        raise Rejection(f"longitude {lon} is outside -180..180", f"{path}/LONG")
    height = reader.number(tree, "HEIGHT", path, required=False)
    if height is not None and not -12_000 <= height <= 100_000:
        reader.warnings.add(f"{path}/HEIGHT", f"{height} m is out of range: left out")
        height = None
    return Coordinate(lat, lon, height)


def _mission(reader: Reader, tree: Tree, path: str) -> Mission:
    position = reader.one(tree, "POSITION", path)
    return Mission(
        id=reader.text(tree, "ID", path),
        type=reader.text(tree, "TYPE", path),
        org_id=reader.text(tree, "ORG_ID", path),
        name=reader.text(tree, "NAME", path),
        status=reader.option(tree, "STATUS", path, ("ABO", "NST", "CANCLD", "COM", "IPR", "PAU")),
        text=reader.text(tree, "FREETEXT", path),
        resource_ids=reader.texts(tree, "RESOURCE_ID", path),
        start=reader.instant(tree, "START_TIME", path),
        end=reader.instant(tree, "END_TIME", path),
        place=_position(reader, position, f"{path}/POSITION", None, None) if position else None,
        path=path,
    )


def _resource(reader: Reader, tree: Tree, path: str) -> Resource:
    rtype = reader.one(tree, "RTYPE", path) or {}
    classes = [c.upper() for c in reader.texts(rtype, "RCLASS", f"{path}/RTYPE")]
    quantity = reader.number(tree, "QUANTITY", path, required=False)
    places = []
    for rgeo, at in reader.all(tree, "RGEO", path):
        reader.instant(rgeo, "DATIME", at)  # checked, not kept
        kind, text = reader.text(rgeo, "TYPE", at), reader.text(rgeo, "FREETEXT", at)
        places += [_position(reader, t, p, kind, text) for t, p in reader.all(rgeo, "POSITION", at)]
    if not (tree.get("ID") or tree.get("NAME")):
        reader.warnings.add(path, "resource with neither ID nor NAME: ignored")
    status = reader.text(tree, "STATUS", path)
    if status is not None and status.upper() not in _RESOURCE_STATUSES:
        reader.warnings.add(
            f"{path}/STATUS", f"{status[:40]!r} is not a known status: taken as in use"
        )
        status = None
    return Resource(
        id=reader.text(tree, "ID", path),
        org_id=reader.text(tree, "ORG_ID", path),
        name=reader.text(tree, "NAME", path),
        text=reader.text(tree, "FREETEXT", path),
        classes=classes,
        quantity=quantity,
        personnel=_personnel(reader, classes, quantity, f"{path}/QUANTITY"),
        status=status.upper() if status else None,
        places=places,
        path=path,
    )


def _personnel(reader: Reader, classes: list[str], quantity: float | None, path: str) -> int:
    if not any(c == "HUM" or c.startswith("HUM/") for c in classes):
        return 0
    if quantity is None:
        return 1
    if quantity.is_integer() and 1 <= quantity <= _MAX_PEOPLE:
        return int(quantity)
    reader.warnings.add(path, f"{quantity} is not a number of people: 1 counted")
    return 1


def _check_age(message: EmsiMessage) -> None:
    """Trap 2: a message created months away from its case."""
    event = message.event
    case_time = event and (event.declared or event.occurred)
    if not case_time:
        return
    gap = message.created - case_time
    if abs(gap) > STALE_AFTER:
        side = "after" if gap > timedelta(0) else "before"
        message.warnings.add(
            f"{message.path}/CONTEXT/CREATION",
            f"message created {abs(gap).days} days {side} its case was: kept as sent",
        )


def _check_distances(message: EmsiMessage) -> None:
    """Trap 3: a resource positioned far from the event."""
    centre = _event_point(message)
    if centre is None:
        return
    for resource in message.resources:
        for place in resource.places:
            for coordinate in place.coordinates:
                km = distance_km(centre, coordinate)
                if km > FAR_KM:
                    message.warnings.add(
                        place.path,
                        f"resource {(resource.id or resource.name or '?')[:60]} is {km:.0f} km "
                        "from the event: kept as sent",
                    )


def _event_point(message: EmsiMessage) -> Coordinate | None:
    places = message.event.places if message.event else []
    return next((c for p in places for c in p.coordinates), None)
