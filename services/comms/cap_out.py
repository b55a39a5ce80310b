"""A public alert as an OASIS CAP 1.2 message with FR-Alert content, and its check by the XSD.

The message is written from the wire dict of a `comms.public_alert_drafted` or
`comms.public_alert_issued` event. Elements come in the order of the XSD's sequences, text is
escaped by ElementTree, and the same alert always gives the same bytes. An exercise says
EXERCICE at the start of its headline and description and in its `<note>`, so that no phone
shows it without the word.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any
from xml.etree.ElementTree import Element, SubElement, indent, tostring

from schemas.values import GeoPoint, Location, Severity

CAP_NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
MSG_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")
EXERCISE_MARK = "EXERCICE"
EXERCISE_NOTE = (
    "EXERCICE : message diffusé dans le cadre d'un exercice, "
    "il ne s'agit pas d'une situation réelle."
)
CHANNEL_PARAMETER = "crisis-cell:channel"
ALERT_ID_PARAMETER = "crisis-cell:alert_id"
INSEE_GEOCODE = "INSEE"

_SEVERITY = {
    Severity.EXTREME: "Extreme",
    Severity.SEVERE: "Severe",
    Severity.MODERATE: "Moderate",
    Severity.MINOR: "Minor",
    Severity.UNKNOWN: "Unknown",
}
# CAP categories, from words of the risk (lower case, accents removed). Every category whose
# words appear is given, in this order; none gives Safety, CAP's general public-safety category.
_CATEGORIES: tuple[tuple[str, str], ...] = (
    (
        "CBRNE",
        r"nrbc|chimiques?|nucleaires?|radioacti\w*|radiolog\w*|toxiques?|biologiques?"
        r"|matieres? dangereuses?",
    ),
    ("Security", r"attentats?|terroris\w*|fusillades?|prises? d.otages?|tireurs?|attaque armee"),
    ("Fire", r"incendies?|feux?|fumees?"),
    (
        "Geo",
        r"seismes?|tremblements? de terre|tsunamis?|glissements? de terrain"
        r"|mouvements? de terrain|eboulements?|effondrements?|avalanches?|eruptions?|volcan\w*",
    ),
    (
        "Met",
        r"inondations?|crues?|submersions?|tempetes?|vents? violents?|orages?|pluies?|neiges?"
        r"|verglas|canicules?|grand froid|cyclones?|ouragans?|greles?|vagues?|houle",
    ),
    ("Health", r"epidemies?|pandemies?|sanitaires?|intoxications?|legionell\w*"),
    ("Env", r"pollutions?|maree noire|hydrocarbures?"),
    ("Infra", r"barrages?|coupures?|pannes?|eau potable|electricite|reseaux?"),
    ("Transport", r"accidents? (?:ferroviaire|routier|aerien)s?|trafic|circulation"),
)
_CATEGORY_PATTERNS = tuple((name, re.compile(rf"\b(?:{words})\b")) for name, words in _CATEGORIES)
_EVENT_MAX = 160
_FEET = 0.3048
# Characters XML 1.0 cannot carry at all: written as they are, they make the document unreadable.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_NOT_IN_TOKEN = re.compile(r"[\s,<&]")
_LANGUAGE = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")
# The validator keeps the errors of its last run in its own log: one run at a time.
_VALIDATING = threading.Lock()


def public_alert_cap(
    alert: Mapping[str, Any],
    *,
    identifier: str,
    sender: str,
    sent: datetime,
    status: str,
    language: str = "fr-FR",
    references: list[str] | None = None,
    msg_type: str = "Alert",
) -> bytes:
    """The CAP 1.2 message of a public alert: UTF-8 bytes with an XML declaration."""
    _check_choice(status, STATUSES, "status")
    _check_choice(msg_type, MSG_TYPES, "msgType")
    _check_token(identifier, "identifier")
    _check_token(sender, "sender")
    if not _LANGUAGE.fullmatch(language):
        raise ValueError(f"language {language!r} is not an RFC 3066 tag like fr-FR")
    for reference in references or []:
        if reference.count(",") != 2 or re.search(r"[\s<&]", reference):
            raise ValueError(f"reference {reference!r} is not 'sender,identifier,sent'")
    incidents = [str(token) for token in alert.get("incident_ids") or []]
    for token in incidents:
        _check_token(token, "incident id")
    exercise = status == "Exercise"
    root = Element(_tag("alert"))
    _child(root, "identifier", identifier)
    _child(root, "sender", sender)
    _child(root, "sent", cap_time(sent, "sent"))
    _child(root, "status", status)
    _child(root, "msgType", msg_type)
    _child(root, "scope", "Public")
    if exercise:
        _child(root, "note", EXERCISE_NOTE)
    if references:
        _child(root, "references", " ".join(references))
    if incidents:
        _child(root, "incidents", " ".join(incidents))
    _info(root, alert, language=language, exercise=exercise)
    indent(root)
    written: bytes = tostring(
        root, encoding="utf-8", xml_declaration=True, default_namespace=CAP_NAMESPACE
    )
    return written


def validate_cap(document: bytes) -> list[str]:
    """What the CAP 1.2 XSD finds wrong with `document`: empty when it is valid (needs lxml)."""
    etree = _lxml()
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    try:
        tree = etree.fromstring(document, parser)
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}"]
    schema = _schema()
    with _VALIDATING:
        if schema.validate(tree):
            return []
        return [f"line {error.line}: {error.message}" for error in schema.error_log]


def categories_of(risk: str) -> list[str]:
    """The CAP categories the words of a risk point to; Safety when none does."""
    words = _folded(risk)
    found = [name for name, pattern in _CATEGORY_PATTERNS if pattern.search(words)]
    return found or ["Safety"]


def cap_time(moment: datetime | str, what: str) -> str:
    """A time as CAP 1.2 writes it: to the second, with its offset, UTC as -00:00."""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            raise ValueError(f"{what} {moment!r} is not an ISO 8601 time") from None
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError(f"{what} has no time zone offset, which CAP requires")
    if offset % timedelta(minutes=1):
        raise ValueError(f"{what} has an offset of {offset}, which CAP cannot write")
    text = moment.replace(microsecond=0).isoformat()
    # CAP 1.2 (3.3.2): the offset of UTC is written -00:00, never Z or +00:00.
    return f"{text[:-6]}-00:00" if offset == timedelta(0) else text


def _lxml() -> Any:
    """lxml's etree, imported on first use: writing CAP needs no lxml, only validating does."""
    # lxml is in the `test` extra only, and ships no type information (lxml-stubs is not pinned).
    from lxml import etree  # type: ignore[import-untyped]  # noqa: PLC0415

    return etree


def cap_xsd() -> Traversable:
    """The OASIS CAP 1.2 XSD, shipped with crisis-cell (schemas/xsd, package data)."""
    return files("schemas") / "xsd" / "CAP-v1.2.xsd"


@cache
def _schema() -> Any:
    """The XSD, read and compiled on first use, from the package and never the network."""
    etree = _lxml()
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    return etree.XMLSchema(etree.fromstring(cap_xsd().read_bytes(), parser))


def _info(root: Element, alert: Mapping[str, Any], *, language: str, exercise: bool) -> None:
    risk = _required(alert, "risk")
    info = _child(root, "info")
    _child(info, "language", language)
    for category in categories_of(risk):
        _child(info, "category", category)
    _child(info, "event", _event(risk))
    _child(info, "urgency", "Immediate")
    _child(info, "severity", _SEVERITY[Severity(_required(alert, "severity"))])
    _child(info, "certainty", "Observed")
    if alert.get("expires_at"):
        _child(info, "expires", cap_time(alert["expires_at"], "expires_at"))
    _child(info, "senderName", _required(alert, "issuing_authority"))
    _child(info, "headline", _marked(_required(alert, "headline"), exercise=exercise))
    _child(info, "description", _marked(risk, exercise=exercise))
    _child(info, "instruction", _required(alert, "instructions"))
    if alert.get("link"):
        _child(info, "web", str(alert["link"]))
    for name, key in ((CHANNEL_PARAMETER, "channel"), (ALERT_ID_PARAMETER, "alert_id")):
        parameter = _child(info, "parameter")
        _child(parameter, "valueName", name)
        _child(parameter, "value", _required(alert, key))
    if "area" not in alert:
        raise ValueError("the public alert has no area")
    _area(info, Location.model_validate(alert["area"]))


def _area(info: Element, location: Location) -> None:
    area = _child(info, "area")
    _child(area, "areaDesc", _area_description(location))
    for polygon in location.polygons:
        _child(area, "polygon", " ".join(_pair(point) for point in polygon.points))
    for circle in location.circles:
        _child(area, "circle", f"{_pair(circle.center)} {_number(circle.radius_km)}")
    # A point no circle is centred on is a circle of radius 0 (CAP 1.2 has no point element):
    # without it an alert placed by a point alone would carry no machine-readable area.
    point = location.point
    if point is not None and all(circle.center != point for circle in location.circles):
        _child(area, "circle", f"{_pair(point)} 0")
    for code in location.insee_codes:
        geocode = _child(area, "geocode")
        _child(geocode, "valueName", INSEE_GEOCODE)
        _child(geocode, "value", code)
    # CAP gives altitudes in feet, and a ceiling only above an altitude.
    if location.altitude_m is not None:
        _child(area, "altitude", f"{location.altitude_m / _FEET:.3f}")
        if location.ceiling_m is not None:
            _child(area, "ceiling", f"{location.ceiling_m / _FEET:.3f}")


def _area_description(location: Location) -> str:
    if location.description:
        return location.description
    if location.insee_codes:
        return f"Communes (code INSEE) : {', '.join(location.insee_codes)}"
    if location.point is not None:
        return f"Autour du point {_pair(location.point)}"
    return "Zone définie par sa géométrie"


def _event(risk: str) -> str:
    """The first line of the risk, short enough to name the event."""
    line = risk.strip().splitlines()[0].strip()
    if len(line) <= _EVENT_MAX:
        return line
    return line[: _EVENT_MAX - 1].rsplit(" ", 1)[0] + "…"


def _marked(text: str, *, exercise: bool) -> str:
    if not exercise or text.startswith(EXERCISE_MARK):
        return text
    return f"{EXERCISE_MARK} - {text}"


def _pair(point: GeoPoint) -> str:
    return f"{_number(point.lat)},{_number(point.lon)}"


def _number(value: float) -> str:
    """Shortest decimal that reads back as the same float, never in exponent form."""
    text = repr(float(value))
    if "e" in text:
        text = f"{value:.12f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0.0", "-0") else text


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _required(alert: Mapping[str, Any], key: str) -> str:
    value = alert.get(key)
    text = "" if value is None else str(value).strip()
    if not text:
        raise ValueError(f"the public alert has no {key}")
    return text


def _check_choice(value: str, allowed: tuple[str, ...], name: str) -> None:
    if value not in allowed:
        raise ValueError(f"{name} {value!r} is not one of {', '.join(allowed)}")


def _check_token(value: str, name: str) -> None:
    if not value or _NOT_IN_TOKEN.search(value):
        raise ValueError(f"{name} {value!r} is empty or holds a space, comma, < or &")


def _tag(name: str) -> str:
    return f"{{{CAP_NAMESPACE}}}{name}"


def _child(parent: Element, name: str, text: str | None = None) -> Element:
    element = SubElement(parent, _tag(name))
    if text is not None:
        element.text = _NOT_XML.sub("", text)
    return element
