"""OASIS CAP 1.0, 1.1 and 1.2 alerts, read leniently where feeds are known to stray.

Elements are found by local name in any CAP namespace, so an alert that mixes namespaces of two
CAP versions is read (with a warning). A mandatory element that is missing refuses the alert;
one present but empty is tolerated where a value can stand in (an empty `<severity>` is
Unknown). What each rule tolerates is listed in `docs/intake.md`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from xml.etree.ElementTree import Element

from schemas.values import Circle, GeoPoint, Polygon
from services.intake import geo
from services.intake.errors import Rejection, Warnings
from services.intake.text import has_markup, plain
from services.intake.xmlsafe import local, namespace

CAP_NAMESPACES = {
    "urn:oasis:names:tc:emergency:cap:1.2": "1.2",
    "urn:oasis:names:tc:emergency:cap:1.1": "1.1",
    "http://www.incident.com/cap/1.0": "1.0",
}
XMLDSIG = "http://www.w3.org/2000/09/xmldsig#"

STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
MSG_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")


def is_cap(element: Element) -> bool:
    """True for an `<alert>` in a CAP namespace or in none."""
    return local(element.tag) == "alert" and namespace(element.tag) in {"", *CAP_NAMESPACES}


@dataclass(frozen=True, slots=True)
class Reference:
    """An earlier alert named in `<references>`: sender, identifier and, from CAP 1.1, sent."""

    sender: str
    identifier: str

    @property
    def key(self) -> str:
        """The alert's identity across feeds: `cap:<sender>,<identifier>`."""
        return f"cap:{self.sender},{self.identifier}"


@dataclass(frozen=True, slots=True)
class Area:
    """One `<area>`."""

    description: str | None
    polygons: list[Polygon]
    circles: list[Circle]
    geocodes: list[tuple[str, str]]
    altitude_ft: float | None
    ceiling_ft: float | None
    # Circles of radius 0: points.
    points: list[GeoPoint] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Resource:
    """One `<resource>`; `content` is the decoded `<derefUri>` when it came inline."""

    description: str
    mime_type: str | None
    size: int | None
    uri: str | None
    content: bytes | None


@dataclass(frozen=True, slots=True)
class Info:
    """One `<info>` block: the alert in one language."""

    language: str
    categories: list[str]
    event: str
    urgency: str
    severity: str
    certainty: str
    headline: str | None
    description: str | None
    instruction: str | None
    sender_name: str | None
    web: str | None
    onset: datetime | None
    effective: datetime | None
    expires: datetime | None
    areas: list[Area]
    resources: list[Resource]


@dataclass(slots=True)
class Alert:
    """A CAP alert as read, with what was tolerated reading it."""

    version: str
    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    scope: str
    references: list[Reference]
    incidents: list[str]
    note: str | None
    infos: list[Info]
    signed: bool
    path: str
    warnings: Warnings = field(default_factory=Warnings)

    @property
    def key(self) -> str:
        """The alert's identity across feeds: `cap:<sender>,<identifier>`."""
        return Reference(self.sender, self.identifier).key


class _Reader:
    """Reads one `<alert>` element; children are found by local name in any CAP namespace."""

    def __init__(self, element: Element, path: str, warnings: Warnings) -> None:
        self.root = element
        self.path = path
        self.warnings = warnings
        self.version = CAP_NAMESPACES.get(namespace(element.tag), "")
        self._children: dict[Element, dict[str, list[Element]]] = {}

    def children(self, parent: Element, name: str) -> list[Element]:
        # Each element's children are sorted by local name once: an alert asks for dozens.
        by_name = self._children.get(parent)
        if by_name is None:
            by_name = self._children[parent] = {}
            for child in parent:
                if isinstance(tag := child.tag, str):
                    by_name.setdefault(tag.rpartition("}")[2], []).append(child)
        return by_name.get(name, [])

    def text(self, parent: Element, name: str, path: str) -> str | None:
        found = self.children(parent, name)
        if not found:
            return None
        if len(found) > 1:
            self.warnings.add(f"{path}/{name}", f"{len(found)} <{name}>: the first one used")
        value = (found[0].text or "").strip()
        return value or ""

    def required(self, parent: Element, name: str, path: str) -> str:
        value = self.text(parent, name, path)
        if value is None:
            raise Rejection(f"<{name}> is missing and CAP requires it", f"{path}/{name}")
        if not value:
            raise Rejection(f"<{name}> is empty and CAP requires a value", f"{path}/{name}")
        return value

    def choice(self, parent: Element, name: str, path: str, allowed: tuple[str, ...]) -> str:
        value = self.text(parent, name, path)
        if value is None:
            raise Rejection(f"<{name}> is missing and CAP requires it", f"{path}/{name}")
        return self._enumerated(value, f"{path}/{name}", allowed)

    def _enumerated(self, value: str, path: str, allowed: tuple[str, ...]) -> str:
        for option in allowed:
            if value == option:
                return option
            if value.lower() == option.lower():
                self.warnings.add(path, f"{value!r} read as {option!r}")
                return option
        raise Rejection(f"{value[:60]!r} is not one of {', '.join(allowed)}", path)

    def instant(self, parent: Element, name: str, path: str, *, required: bool) -> datetime | None:
        value = self.required(parent, name, path) if required else self.text(parent, name, path)
        if not value:
            return None
        at = f"{path}/{name}"
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            if required:
                raise Rejection(
                    f"{value[:60]!r} is not a CAP date-time (like 2020-10-02T14:00:00+02:00)", at
                ) from None
            self.warnings.add(at, f"{value[:60]!r} is not a CAP date-time: left out")
            return None
        if moment.tzinfo is None:
            if required:
                raise Rejection(f"{value!r} has no time zone offset, which CAP requires", at)
            self.warnings.add(at, f"{value!r} has no time zone offset: left out")
            return None
        return moment

    def free_text(self, parent: Element, name: str, path: str) -> str | None:
        value = self.text(parent, name, path)
        if not value:
            return None
        if has_markup(value):
            self.warnings.add(f"{path}/{name}", "HTML markup removed")
            value = plain(value)
        return value or None


def read_alert(element: Element, path: str, warnings: Warnings | None = None) -> Alert:
    """Read one `<alert>`; `Rejection` names the element at fault."""
    warnings = Warnings(warnings or [])
    reader = _Reader(element, path, warnings)
    ns = namespace(element.tag)
    if ns and ns not in CAP_NAMESPACES:
        raise Rejection(f"<alert> is in namespace {ns!r}, which is not CAP 1.0, 1.1 or 1.2", path)
    if not ns:
        warnings.add(path, "no CAP namespace: read as CAP 1.2")
    _check_namespaces(reader)
    identifier = reader.required(element, "identifier", path)
    sender = reader.required(element, "sender", path)
    for name, value in (("identifier", identifier), ("sender", sender)):
        if any(c in value for c in " ,<&"):
            raise Rejection(f"{value[:60]!r} contains a space, comma, < or &", f"{path}/{name}")
    sent = reader.instant(element, "sent", path, required=True)
    assert sent is not None  # noqa: S101 (required=True never returns None)
    msg_type = reader.choice(element, "msgType", path, MSG_TYPES)
    alert = Alert(
        version=reader.version or "1.2",
        identifier=identifier,
        sender=sender,
        sent=sent,
        status=reader.choice(element, "status", path, STATUSES),
        msg_type=msg_type,
        scope=_scope(reader),
        references=_references(reader, sender, msg_type),
        incidents=(reader.text(element, "incidents", path) or "").split(),
        note=reader.free_text(element, "note", path),
        infos=[
            _info(reader, info, f"{path}/info[{i}]", msg_type)
            for i, info in enumerate(reader.children(element, "info"))
        ],
        signed=any(
            local(c.tag) == "Signature" and namespace(c.tag) == XMLDSIG
            for c in element
            if isinstance(c.tag, str)
        ),
        path=path,
        warnings=warnings,
    )
    if alert.signed:
        warnings.add(path, "digital signature present: recorded, not verified")
    if msg_type in ("Alert", "Update") and not alert.infos:
        warnings.add(path, f"a CAP {msg_type} with no <info> (CAP allows it): recorded as received")
    return alert


def _check_namespaces(reader: _Reader) -> None:
    others = CAP_NAMESPACES.keys() - {namespace(reader.root.tag)}
    # Each distinct tag once (an alert repeats a few dozen); the first element at fault, in
    # document order, only when there is one.
    tags = {element.tag for element in reader.root.iter()}
    if not any(isinstance(tag, str) and namespace(tag) in others for tag in tags):
        return
    for element in reader.root.iter():
        if isinstance(element.tag, str) and (ns := namespace(element.tag)) in others:
            reader.warnings.add(
                reader.path,
                f"<{local(element.tag)}> in the CAP {CAP_NAMESPACES[ns]} namespace inside a CAP "
                f"{reader.version or 'without namespace'} alert: read as one alert",
            )
            return


SCOPES = ("Public", "Restricted", "Private")


def _scope(reader: _Reader) -> str:
    """Who the alert is for. Never guessed: an alert meant for a few is never taken as public."""
    path = reader.path
    value = reader.text(reader.root, "scope", path)
    if value is None:
        raise Rejection(
            "<scope> is missing and CAP requires it: who the alert is for (Public, Restricted "
            "or Private) is never guessed",
            f"{path}/scope",
        )
    if not value:
        raise Rejection(
            "<scope> is empty: who the alert is for (Public, Restricted or Private) is never "
            "guessed",
            f"{path}/scope",
        )
    scope = reader.choice(reader.root, "scope", path, SCOPES)
    if scope == "Restricted" and not reader.text(reader.root, "restriction", path):
        reader.warnings.add(f"{path}/restriction", "Restricted alert without <restriction>")
    if scope == "Private" and not reader.text(reader.root, "addresses", path):
        reader.warnings.add(f"{path}/addresses", "Private alert without <addresses>")
    if scope != "Public":
        restriction = reader.free_text(reader.root, "restriction", path)
        reader.warnings.add(
            f"{path}/scope",
            f"CAP scope {scope}: not for the public"
            + (f" ({restriction[:200]})" if restriction else ""),
        )
    return scope


def _references(reader: _Reader, sender: str, msg_type: str) -> list[Reference]:
    path = f"{reader.path}/references"
    value = reader.text(reader.root, "references", reader.path)
    if value is None:
        return []
    if not value:
        if msg_type in ("Update", "Cancel"):
            reader.warnings.add(
                path,
                "empty <references/>: the link to the alert it amends is lost",
            )
        else:
            reader.warnings.add(path, "empty <references/> ignored")
        return []
    found = []
    for chunk in value.split():
        parts = chunk.split(",")
        if len(parts) == 3:
            found.append(Reference(parts[0], parts[1]))
        elif len(parts) == 1:  # CAP 1.0 feeds often give the identifier alone
            reader.warnings.add(path, f"{chunk[:60]!r} without sender: taken as from {sender}")
            found.append(Reference(sender, parts[0]))
        else:
            reader.warnings.add(path, f"{chunk[:60]!r} is not 'sender,identifier,sent': ignored")
    return found


def _info(reader: _Reader, element: Element, path: str, msg_type: str) -> Info:
    text, required = reader.text, reader.required
    categories = [(c.text or "").strip() for c in reader.children(element, "category")]
    if not any(categories):
        reader.warnings.add(f"{path}/category", "no <category>: taken as Other")
        categories = ["Other"]
    info = Info(
        language=(text(element, "language", path) or "en-US"),
        categories=[c for c in categories if c],
        event=required(element, "event", path),
        urgency=_assessment(reader, element, "urgency", path),
        severity=_assessment(reader, element, "severity", path),
        certainty=_assessment(reader, element, "certainty", path),
        headline=reader.free_text(element, "headline", path),
        description=reader.free_text(element, "description", path),
        instruction=reader.free_text(element, "instruction", path),
        sender_name=reader.free_text(element, "senderName", path),
        web=text(element, "web", path) or None,
        onset=reader.instant(element, "onset", path, required=False),
        effective=reader.instant(element, "effective", path, required=False),
        expires=reader.instant(element, "expires", path, required=False),
        areas=[
            _area(reader, area, f"{path}/area[{i}]")
            for i, area in enumerate(reader.children(element, "area"))
        ],
        resources=[
            resource
            for i, element_ in enumerate(reader.children(element, "resource"))
            if (resource := _resource(reader, element_, f"{path}/resource[{i}]")) is not None
        ],
    )
    if msg_type in ("Alert", "Update") and not info.areas:
        raise Rejection("an alert without an <area> cannot be placed", f"{path}/area")
    return info


def _assessment(reader: _Reader, element: Element, name: str, path: str) -> str:
    """Urgency, severity or certainty: mandatory, but an empty one is read as Unknown."""
    value = reader.text(element, name, path)
    if value is None:
        raise Rejection(f"<{name}> is missing and CAP requires it", f"{path}/{name}")
    if not value:
        reader.warnings.add(f"{path}/{name}", f"empty <{name}>: taken as Unknown")
        return "Unknown"
    return value


def _area(reader: _Reader, element: Element, path: str) -> Area:
    warnings = reader.warnings
    description = reader.text(element, "areaDesc", path)
    polygons = [
        p
        for i, e in enumerate(reader.children(element, "polygon"))
        if (p := geo.polygon(e.text, f"{path}/polygon[{i}]", warnings)) is not None
    ]
    discs = [
        c
        for i, e in enumerate(reader.children(element, "circle"))
        if (c := geo.circle(e.text, f"{path}/circle[{i}]", warnings)) is not None
    ]
    circles = [c for c in discs if isinstance(c, Circle)]
    points = [c for c in discs if isinstance(c, GeoPoint)]
    geocodes = []
    for i, geocode in enumerate(reader.children(element, "geocode")):
        name = reader.text(geocode, "valueName", f"{path}/geocode[{i}]")
        value = reader.text(geocode, "value", f"{path}/geocode[{i}]")
        if name is None and "=" in (geocode.text or ""):
            # CAP 1.0 writes a geocode as text: `INSEE=06088`.
            name, _, value = (geocode.text or "").strip().partition("=")
        if name and value:
            geocodes.append((name, value))
        else:
            warnings.add(f"{path}/geocode[{i}]", "geocode without valueName or value: ignored")
    if not description:
        if not (polygons or circles or points or geocodes):
            raise Rejection("<areaDesc> is missing and the area has no usable geometry", path)
        warnings.add(f"{path}/areaDesc", "<areaDesc> missing or empty")
    altitude = _feet(reader, element, "altitude", path)
    ceiling = _feet(reader, element, "ceiling", path)
    if altitude is not None and ceiling is not None and ceiling < altitude:
        warnings.add(f"{path}/ceiling", "ceiling below altitude: ceiling left out")
        ceiling = None
    return Area(description or None, polygons, circles, geocodes, altitude, ceiling, points)


# What a Location can hold, in feet: from the deepest trench to well above any airspace.
_LOWEST_FT, _HIGHEST_FT = -39_000.0, 328_000.0


def _feet(reader: _Reader, element: Element, name: str, path: str) -> float | None:
    value = reader.text(element, name, path)
    if not value:
        return None
    try:
        feet = float(value.removeprefix("+"))
    except ValueError:
        reader.warnings.add(f"{path}/{name}", f"{value[:40]!r} is not a number: left out")
        return None
    if not _LOWEST_FT <= feet <= _HIGHEST_FT:  # also refuses NaN and infinities
        reader.warnings.add(f"{path}/{name}", f"{value[:40]!r} feet is out of range: left out")
        return None
    return feet


def _size(reader: _Reader, text: str | None, path: str) -> int | None:
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or int(text) > 100_000_000:
        reader.warnings.add(path, f"{text[:40]!r} is not a size in bytes: left out")
        return None
    return int(text)


def _resource(reader: _Reader, element: Element, path: str) -> Resource | None:
    description = reader.text(element, "resourceDesc", path)
    if not description:
        reader.warnings.add(f"{path}/resourceDesc", "resource without description: ignored")
        return None
    size_text = reader.text(element, "size", path)
    content = None
    if deref := reader.text(element, "derefUri", path):
        try:
            content = base64.b64decode("".join(deref.split()), validate=True)
        except (binascii.Error, ValueError):
            reader.warnings.add(f"{path}/derefUri", "not valid base64: content not kept")
        digest = reader.text(element, "digest", path)
        if content is not None and digest and hashlib.sha1(content).hexdigest() != digest.lower():  # noqa: S324 (CAP's own digest is SHA-1)
            reader.warnings.add(f"{path}/digest", "SHA-1 digest does not match the content")
    return Resource(
        description=description,
        mime_type=reader.text(element, "mimeType", path) or None,
        size=_size(reader, size_text, f"{path}/size"),
        uri=reader.text(element, "uri", path) or None,
        content=content,
    )
