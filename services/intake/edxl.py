"""What an EDXL-DE 2.0 envelope carries, as the Hub Santé (ANS) sends it, in XML or in JSON.

Shapes read, checked against OASIS EDXL-DE 2.0 (cs02) and the ANS schemas
(ansforge/SAMU-Hub-Modeles, `EDXL-DE-full.xsd` and `EDXL-DE-full.schema.json`):

- XML: `<edxlDistribution xmlns="urn:oasis:names:tc:emergency:EDXL:DE:2.0">` with distributionID,
  senderID, dateTimeSent, dateTimeExpires, distributionStatus, distributionKind, descriptor, then
  `content/contentObject` (OASIS: one or more per content; the Hub Santé: exactly one), each with
  `contentXML/embeddedXMLContent` (one element: a CAP alert, a CISU `message`…) or
  `otherContent` (mimeType, size, digest, uri, base64 contentData).
- JSON (the Hub Santé's encoding): the same envelope members, and
  `content: [{"jsonContent": {"embeddedJsonContent": {"message": {…}}}}]`. An item may also be
  `{"otherContent": {"mimeType": …, "contentData": base64}}`, as in XML.

Paths are XPath-like for both encodings, counted from 0: `/edxlDistribution/content[0]/
contentObject[0]/contentXML/embeddedXMLContent`, `/content[0]/jsonContent/embeddedJsonContent/
message`.

Refused (`Rejection`, nothing of the envelope is read):
- a required member missing or empty: distributionID, senderID, dateTimeSent,
  distributionStatus, distributionKind, content (and at least one content object);
- a required member given twice (XML): which one to believe is not ours to guess;
- distributionStatus not one of Actual, Exercise, System, Test, Unknown, NoAppropriateDefault;
- dateTimeSent not an ISO 8601 date-time with a time zone offset;
- JSON of the wrong type for the envelope itself (a member that is not a string, `content` or
  `descriptor` that is not what the schema says);
- more than 1,000 content objects in one envelope.

Read with a warning (`Warnings.add(path, …)`):
- the EDXL-DE 1.0 namespace on a 2.0-shaped envelope (`content`, `distributionKind`), or no
  namespace at all; the 1.0 root name `EDXLDistribution` or the 1.0 names `xmlContent` /
  `nonXMLContent` inside a 2.0 envelope;
- the earlier Hub Santé JSON form `content: {"contentObject": {…}}`, or one item not in a list;
- a distributionStatus in the wrong case; Unknown or NoAppropriateDefault, taken as Draft so that
  nothing of it is ever taken as Actual; a distributionKind EDXL-DE does not define;
- dateTimeExpires missing or unreadable (EDXL-DE requires it), not after dateTimeSent, or past at
  `now`: the envelope is still read, since the cell keeps what it received;
- more than one `content` (OASIS allows one) or more than one element in one
  embeddedXMLContent: each is read; XML written as escaped text: parsed;
- contentData of no declared type: read as XML or JSON from its first byte; a declared `size`
  the data does not have.

One content unusable (`Carried.error`, the other contents are still returned): a JSON item or
member inside it of the wrong type (jsonContent, embeddedJsonContent, message, otherContent…),
neither embedded XML, embedded JSON nor contentData, an empty embeddedXMLContent, a `uri` only
(never fetched here), contentData that is not base64, over `max_bytes`, of a type that is
neither XML nor JSON, or that does not parse (`xmlsafe.parse_xml`, which refuses DTDs and
entities, or orjson).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.etree.ElementTree import Element

import orjson

from services.intake.errors import Rejection, Warnings
from services.intake.xmlsafe import local, namespace, parse_xml

EDXL_DE_2 = "urn:oasis:names:tc:emergency:EDXL:DE:2.0"
EDXL_DE_1 = "urn:oasis:names:tc:emergency:EDXL:DE:1.0"
MAX_CONTENTS = 1000
DEFAULT_MAX_BYTES = 768 * 1024

_ROOT = "edxlDistribution"
_REQUIRED = ("distributionID", "senderID", "dateTimeSent", "distributionStatus", "distributionKind")
_HEADER = (*_REQUIRED, "dateTimeExpires")
# EDXL-DE 2.0 statuses, as the CAP-like word the cell uses when it is not Actual (None).
_STATUSES: dict[str, str | None] = {
    "Actual": None,
    "Exercise": "Exercise",
    "System": "System",
    "Test": "Test",
    "Unknown": "Draft",
    "NoAppropriateDefault": "Draft",
}
_KINDS = (
    "Report", "Update", "Cancel", "Request", "Response", "Dispatch", "Ack", "Error",
    "SensorConfiguration", "SensorControl", "SensorStatus", "SensorDetection", "Unknown",
    "NoAppropriateDefault",
)  # fmt: skip
_UNTYPED = ("", "application/octet-stream", "text/plain")


@dataclass(frozen=True, slots=True)
class Carried:
    """One content of an envelope: its XML or JSON payload, or why it cannot be used."""

    path: str
    xml: Element | None = None
    json: Any = None
    # The status the envelope imposes when it is not Actual: Exercise, System, Test or Draft.
    status: str | None = None
    sender: str | None = None
    error: Rejection | None = None


@dataclass(frozen=True, slots=True)
class _Envelope:
    """What every content of an envelope inherits; the limit on decoded data; where warnings go."""

    status: str | None
    sender: str
    max_bytes: int
    warnings: Warnings

    def warn(self, path: str, message: str) -> None:
        self.warnings.add(path, message)

    def carried(self, path: str, *, xml: Element | None = None, json: Any = None) -> Carried:
        return Carried(path=path, xml=xml, json=json, status=self.status, sender=self.sender)

    def refused(self, reason: str, path: str) -> Carried:
        error = Rejection(reason, path)
        return Carried(path=path, status=self.status, sender=self.sender, error=error)


# --- XML -----------------------------------------------------------------------------------------


def is_edxl2_xml(root: Element) -> bool:
    """Whether `root` is an EDXL-DE 2.0 envelope, in its namespace, in 1.0's or in none."""
    name, ns = local(root.tag), namespace(root.tag)
    if name not in (_ROOT, "EDXLDistribution"):
        return False
    if ns == EDXL_DE_2:
        return True
    two_shaped = any(local(c.tag) in ("content", "distributionKind") for c in _elements(root))
    return ns in ("", EDXL_DE_1) and (name == _ROOT or two_shaped)


def read_edxl2_xml(
    root: Element, warnings: Warnings, *, max_bytes: int, now: datetime | None = None
) -> list[Carried]:
    """Every content of an XML envelope, in order; `Rejection` when the envelope is unusable.

    `now` (timezone-aware), when given, is when the envelope was received: if it had expired
    by then, a warning says so.
    """
    base = f"/{local(root.tag)}"
    if not is_edxl2_xml(root):
        raise Rejection(f"<{local(root.tag)}> is not an EDXL-DE 2.0 envelope", base)
    _check_generation(root, base, warnings)
    fields = {name: _header_text(root, name, base) for name in _HEADER}
    envelope = _envelope(fields, base, warnings, now, max_bytes)
    objects = _xml_objects(root, base, warnings)
    return [c for path, obj in objects for c in _xml_object(obj, path, envelope)]


def _elements(parent: Element) -> list[Element]:
    return [c for c in parent if isinstance(c.tag, str)]


def _children(parent: Element, *names: str) -> list[Element]:
    return [c for c in _elements(parent) if local(c.tag) in names]


def _text(parent: Element, name: str) -> str:
    found = _children(parent, name)
    return (found[0].text or "").strip() if found else ""


def _check_generation(root: Element, base: str, warnings: Warnings) -> None:
    ns = namespace(root.tag)
    if ns == EDXL_DE_1:
        warnings.add(base, "EDXL-DE 1.0 namespace on an EDXL-DE 2.0 envelope: read as 2.0")
    elif not ns:
        warnings.add(base, "no namespace: read as an EDXL-DE 2.0 envelope")
    if local(root.tag) != _ROOT:
        warnings.add(base, f"root <{local(root.tag)}>: EDXL-DE 2.0 names it <{_ROOT}>")


def _header_text(root: Element, name: str, base: str) -> str | None:
    found = _children(root, name)
    if len(found) > 1:
        raise Rejection(f"{name} appears {len(found)} times; EDXL-DE allows one", f"{base}/{name}")
    return (found[0].text or "").strip() if found else None


def _xml_objects(root: Element, base: str, warnings: Warnings) -> list[tuple[str, Element]]:
    contents = _children(root, "content")
    if len(contents) > 1:
        warnings.add(base, f"{len(contents)} <content> elements where EDXL-DE allows one: all read")
    objects = [
        (f"{base}/content[{i}]/contentObject[{j}]", obj)
        for i, content in enumerate(contents)
        for j, obj in enumerate(_children(content, "contentObject"))
    ]
    if not contents:
        raise Rejection("content is required and missing", f"{base}/content")
    _check_count(len(objects), f"{base}/content")
    return objects


def _check_count(count: int, path: str) -> None:
    if count == 0:
        raise Rejection("content holds no content object: the envelope carries nothing", path)
    if count > MAX_CONTENTS:
        raise Rejection(f"{count:,} content objects; at most {MAX_CONTENTS:,} are read", path)


def _xml_object(obj: Element, path: str, envelope: _Envelope) -> list[Carried]:
    carried: list[Carried] = []
    for xml in _children(obj, "contentXML", "xmlContent"):
        where = f"{path}/{local(xml.tag)}"
        if local(xml.tag) != "contentXML":
            envelope.warn(where, "EDXL-DE 1.0 name <xmlContent>: read as <contentXML>")
        carried += _content_xml(xml, where, envelope)
    for other in _children(obj, "otherContent", "nonXMLContent"):
        where = f"{path}/{local(other.tag)}"
        if local(other.tag) != "otherContent":
            envelope.warn(where, "EDXL-DE 1.0 name <nonXMLContent>: read as <otherContent>")
        carried.append(_other_xml(other, where, envelope))
    if not carried:
        reason = "contentObject holds neither contentXML nor otherContent"
        return [envelope.refused(reason, path)]
    return carried


def _content_xml(xml: Element, path: str, envelope: _Envelope) -> list[Carried]:
    embedded = _children(xml, "embeddedXMLContent")
    if not embedded:
        return [envelope.refused("contentXML holds no embeddedXMLContent", path)]
    return [c for e in embedded for c in _embedded(e, f"{path}/embeddedXMLContent", envelope)]


def _embedded(embedded: Element, path: str, envelope: _Envelope) -> list[Carried]:
    payloads = _elements(embedded)
    if len(payloads) == 1:
        return [envelope.carried(path, xml=payloads[0])]
    if payloads:
        envelope.warn(path, f"{len(payloads)} elements where EDXL-DE allows one: read one by one")
        return [
            envelope.carried(f"{path}/{local(p.tag)}[{k}]", xml=p) for k, p in enumerate(payloads)
        ]
    text = (embedded.text or "").strip()
    if not text.startswith("<"):
        return [envelope.refused("embeddedXMLContent holds no XML element", path)]
    envelope.warn(path, "XML written as escaped text: read as XML")
    return [_parsed_xml(text.encode("utf-8"), path, envelope)]


def _other_xml(other: Element, path: str, envelope: _Envelope) -> Carried:
    data = _children(other, "contentData")
    if not data:
        uri = _text(other, "uri")
        reason = "otherContent holds no contentData" + (
            f" (only a uri, not fetched: {uri[:200]})" if uri else ""
        )
        return envelope.refused(reason, path)
    size = _text(other, "size") or None
    return _other(_text(other, "mimeType"), data[0].text or "", size, path, envelope)


# --- JSON ----------------------------------------------------------------------------------------


def is_edxl2_json(document: object) -> bool:
    """Whether `document` is an EDXL-DE envelope in JSON: an object with two of its members.

    Two rather than all, so that an envelope missing one is refused with its reason.
    """
    if not isinstance(document, Mapping):
        return False
    return sum(name in document for name in (*_REQUIRED, "content")) >= 2


def read_edxl2_json(
    document: Mapping[str, Any],
    warnings: Warnings,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    now: datetime | None = None,
) -> list[Carried]:
    """Every content of a JSON envelope, in order; `Rejection` when the envelope is unusable."""
    if not isinstance(document, Mapping):
        raise Rejection(f"an EDXL-DE envelope is a JSON object, not {_kind(document)}", "/")
    fields = {name: _json_string(document, name) for name in _HEADER}
    descriptor = document.get("descriptor")
    if descriptor is not None and not isinstance(descriptor, Mapping):
        raise Rejection(f"descriptor must be an object, not {_kind(descriptor)}", "/descriptor")
    envelope = _envelope(fields, "", warnings, now, max_bytes)
    items = _json_items(document.get("content"), warnings)
    return [_json_item(item, path, envelope) for path, item in items]


def _kind(value: object) -> str:
    names = {Mapping: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return next((n for t, n in names.items() if isinstance(value, t)), "a number")


def _json_string(document: Mapping[str, Any], name: str) -> str | None:
    value = document.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Rejection(f"{name} must be a string, not {_kind(value)}", f"/{name}")
    return value.strip()


def _json_items(content: object, warnings: Warnings) -> list[tuple[str, Any]]:
    if content is None:
        raise Rejection("content is required and missing", "/content")
    if isinstance(content, Mapping) and "contentObject" in content:
        warnings.add(
            "/content", "content as one object with contentObject (earlier Hub Santé form)"
        )
        return [("/content/contentObject", content["contentObject"])]
    if isinstance(content, Mapping) and {"jsonContent", "otherContent"} & content.keys():
        warnings.add("/content", "content is one content object, not a list of them")
        return [("/content", content)]
    if not isinstance(content, list):
        raise Rejection(
            f"content must be a list of content objects, not {_kind(content)}", "/content"
        )
    _check_count(len(content), "/content")
    return [(f"/content[{i}]", item) for i, item in enumerate(content)]


def _json_item(item: object, path: str, envelope: _Envelope) -> Carried:
    if isinstance(item, Mapping) and isinstance(item.get("contentObject"), Mapping):
        envelope.warn(path, "content object wrapped in contentObject: read inside it")
        item, path = item["contentObject"], f"{path}/contentObject"
    if not isinstance(item, Mapping):
        return envelope.refused(f"a content object is an object, not {_kind(item)}", path)
    if "jsonContent" in item:
        return _json_content(item["jsonContent"], f"{path}/jsonContent", envelope)
    if "otherContent" in item:
        return _other_json(item["otherContent"], f"{path}/otherContent", envelope)
    return envelope.refused("content object holds neither jsonContent nor otherContent", path)


def _json_content(value: object, path: str, envelope: _Envelope) -> Carried:
    if not isinstance(value, Mapping):
        return envelope.refused(f"jsonContent must be an object, not {_kind(value)}", path)
    embedded = value.get("embeddedJsonContent")
    path = f"{path}/embeddedJsonContent"
    if not isinstance(embedded, Mapping):
        return envelope.refused(
            f"embeddedJsonContent must be an object, not {_kind(embedded)}", path
        )
    message = embedded.get("message")
    if not isinstance(message, Mapping):
        reason = f"embeddedJsonContent.message must be an object, not {_kind(message)}"
        return envelope.refused(reason, f"{path}/message")
    return envelope.carried(f"{path}/message", json=message)


def _other_json(value: object, path: str, envelope: _Envelope) -> Carried:
    if not isinstance(value, Mapping):
        return envelope.refused(f"otherContent must be an object, not {_kind(value)}", path)
    mime, data, size = value.get("mimeType", ""), value.get("contentData"), value.get("size")
    if not isinstance(mime, str):
        return envelope.refused(f"mimeType must be a string, not {_kind(mime)}", f"{path}/mimeType")
    if not isinstance(data, str):
        reason = f"contentData must be a base64 string, not {_kind(data)}"
        return envelope.refused(reason, f"{path}/contentData")
    declared = str(size) if isinstance(size, int | str) and not isinstance(size, bool) else None
    return _other(mime.strip(), data, declared, path, envelope)


# --- Shared: the envelope's header, base64 content -----------------------------------------------


def _envelope(
    fields: Mapping[str, str | None],
    base: str,
    warnings: Warnings,
    now: datetime | None,
    max_bytes: int,
) -> _Envelope:
    for name in _REQUIRED:
        if not fields.get(name):
            raise Rejection(f"{name} is required and missing or empty", f"{base}/{name}")
    sent = _sent(fields["dateTimeSent"] or "", f"{base}/dateTimeSent")
    status = _status(fields["distributionStatus"] or "", f"{base}/distributionStatus", warnings)
    kind = fields["distributionKind"] or ""
    if kind not in _KINDS:
        warnings.add(f"{base}/distributionKind", f"{kind[:60]!r} is not an EDXL-DE 2.0 kind")
    _check_expiry(fields.get("dateTimeExpires"), sent, now, f"{base}/dateTimeExpires", warnings)
    sender = fields["senderID"] or ""
    return _Envelope(status=status, sender=sender, max_bytes=max_bytes, warnings=warnings)


def _instant(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _sent(value: str, path: str) -> datetime:
    sent = _instant(value)
    if sent is None:
        raise Rejection(
            f"{value[:60]!r} is not a date-time with a time zone offset "
            "(like 2020-10-02T14:00:00+02:00)",
            path,
        )
    return sent


def _status(value: str, path: str, warnings: Warnings) -> str | None:
    known = next((s for s in _STATUSES if s.lower() == value.lower()), None)
    if known is None:
        raise Rejection(f"{value[:60]!r} is not one of {', '.join(_STATUSES)}", path)
    if known != value:
        warnings.add(path, f"{value!r} read as {known!r}")
    if _STATUSES[known] == "Draft":
        warnings.add(path, f"{known}: taken as Draft, never as Actual")
    return _STATUSES[known]


def _check_expiry(
    value: str | None, sent: datetime, now: datetime | None, path: str, warnings: Warnings
) -> None:
    expires = _instant(value) if value else None
    if expires is None:
        shown = f"{value[:60]!r} is not a date-time with an offset" if value else "missing"
        warnings.add(path, f"{shown} (EDXL-DE requires it): read with no expiry")
    elif expires <= sent:
        warnings.add(path, f"expires {value} at or before it was sent: read anyway")
    elif now is not None and expires < now:
        warnings.add(path, f"expired {value}, before it was received: read anyway")


def _other(mime: str, data: str, size: str | None, path: str, envelope: _Envelope) -> Carried:
    """A base64 `contentData`: decoded, size-checked, then read as XML or JSON by its type."""
    at = f"{path}/contentData"
    try:
        raw = base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        return envelope.refused("contentData is not valid base64", at)
    if len(raw) > envelope.max_bytes:
        reason = f"{len(raw):,} bytes decoded, over the limit of {envelope.max_bytes:,} bytes"
        return envelope.refused(reason, at)
    if size is not None and size != str(len(raw)):
        envelope.warn(f"{path}/size", f"size says {size[:30]} bytes; the data has {len(raw)}")
    media = mime.split(";", maxsplit=1)[0].strip().lower()
    form = _form(media, raw)
    if form is None:
        return envelope.refused(f"content of type {mime[:80]!r} is neither XML nor JSON", at)
    if media in _UNTYPED:
        envelope.warn(path, f"content of type {mime[:80] or 'unknown'!r} read as {form}")
    if form == "XML":
        return _parsed_xml(raw, at, envelope)
    return _parsed_json(raw, at, envelope)


def _form(mime: str, raw: bytes) -> str | None:
    if "json" in mime:
        return "JSON"
    if "xml" in mime:
        return "XML"
    if mime not in _UNTYPED:
        return None
    first = raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return {b"<": "XML", b"{": "JSON"}.get(first)


def _parsed_xml(raw: bytes, path: str, envelope: _Envelope) -> Carried:
    try:
        document = parse_xml(raw, max_bytes=envelope.max_bytes)
    except Rejection as exc:
        return envelope.refused(exc.reason, path)
    for warning in document.warnings:
        envelope.warn(path, warning)
    return envelope.carried(path, xml=document.root)


def _parsed_json(raw: bytes, path: str, envelope: _Envelope) -> Carried:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return envelope.refused(f"contentData is not JSON: {exc}", path)
    if not isinstance(value, dict):
        return envelope.refused(f"contentData holds {_kind(value)}, not a JSON object", path)
    return envelope.carried(path, json=value)
