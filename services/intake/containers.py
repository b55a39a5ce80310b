"""Where the alerts are in a document: a CAP alert, an Atom or RSS feed, an EDXL-DE envelope.

A feed entry either carries its alert inline or links to it; links are returned to be fetched.
A wrapper that is none of these but holds CAP alerts (`<alerts><alert/>…</alerts>`, a common
home-made batch) is read, with a warning. Anything else is refused.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
from dataclasses import dataclass
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element, SubElement

from services.intake.cap import CAP_NAMESPACES, is_cap
from services.intake.errors import Rejection, Warnings
from services.intake.xmlsafe import XmlDocument, local, namespace, parse_xml

ATOM = "http://www.w3.org/2005/Atom"
CAP12 = "urn:oasis:names:tc:emergency:cap:1.2"
EDXL_DE = "urn:oasis:names:tc:emergency:EDXL:DE:1.0"
_CAP_TYPES = ("application/cap+xml", "application/xml", "text/xml")
# Links that are not worth fetching for a CAP alert: web pages, other feeds, media.
_NOT_CAP_TYPES = (
    "text/html", "application/xhtml+xml", "application/atom+xml", "application/rss+xml",
    "application/pdf", "image/png", "image/jpeg", "image/gif", "text/plain", "application/json",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Found:
    """One alert's place in a document: the element, a link to fetch, or why it is unusable."""

    path: str
    element: Element | None = None
    link: str | None = None
    # The status the envelope imposes (EDXL-DE distributionStatus) when it is not Actual.
    status: str | None = None
    error: Rejection | None = None
    # The element is made of a feed entry's `cap:` fields, not a whole alert.
    fields: bool = False


def find_alerts(document: XmlDocument, *, max_bytes: int) -> list[Found]:
    """Every alert `document` holds or links to, in document order."""
    root = document.root
    name, ns = local(root.tag), namespace(root.tag)
    if is_cap(root):
        return [Found(path="/alert", element=root)]
    if name == "alert":
        # Read to get the namespace refusal with its reason.
        return [
            Found(
                path="/alert",
                error=Rejection(
                    f"<alert> is in namespace {ns!r}, which is not CAP 1.0, 1.1 or 1.2", "/alert"
                ),
            )
        ]
    if name == "feed" and ns == ATOM:
        return _atom(root, document.warnings, max_bytes)
    if name == "rss":
        return _rss(root, document.warnings)
    if name == "EDXLDistribution":
        if ns != EDXL_DE:
            document.warnings.add("/EDXLDistribution", f"namespace {ns!r} is not EDXL-DE 1.0")
        return _edxl(root, document.warnings, max_bytes)
    alerts = [child for child in root if isinstance(child.tag, str) and is_cap(child)]
    if alerts:
        document.warnings.add(
            f"/{name}", f"{len(alerts)} alerts in a non-standard <{name}> wrapper: read one by one"
        )
        return [Found(path=f"/{name}/alert[{i}]", element=a) for i, a in enumerate(alerts)]
    raise Rejection(
        f"<{name}> is not a CAP alert, an Atom or RSS feed, or an EDXL-DE envelope"
        + (f" (namespace {ns!r})" if ns else ""),
        f"/{name}",
    )


def _children(parent: Element, name: str) -> list[Element]:
    return [c for c in parent if isinstance(c.tag, str) and local(c.tag) == name]


def _atom(root: Element, warnings: Warnings, max_bytes: int) -> list[Found]:
    entries = _children(root, "entry")
    found = []
    for i, entry in enumerate(entries):
        path = f"/feed/entry[{i}]"
        inline = [
            alert
            for content in _children(entry, "content")
            for alert in _inline(content, f"{path}/content", warnings, max_bytes)
        ]
        if inline:
            found += [Found(path=f"{path}/content/alert", element=alert) for alert in inline]
            continue
        links = [(link.get("type", ""), link.get("href", "")) for link in _children(entry, "link")]
        found.append(_entry(entry, path, "link", links, _updated(entry, root)))
    if not entries:
        warnings.add("/feed", "the feed holds no entry")
    return found


def _inline(content: Element, path: str, warnings: Warnings, max_bytes: int) -> list[Element]:
    """Alerts inside an Atom `<content>`: as XML, or as escaped XML text."""
    alerts = [child for child in content if isinstance(child.tag, str) and is_cap(child)]
    text = (content.text or "").strip()
    if not alerts and text.startswith("<") and "alert" in text[:500]:
        try:
            inner = parse_xml(text.encode("utf-8"), max_bytes=max_bytes)
        except Rejection as exc:
            warnings.add(path, f"escaped CAP that cannot be read: {exc.reason}")
            return []
        warnings.add(path, "CAP alert written as escaped text: read as XML")
        alerts = [inner.root] if is_cap(inner.root) else []
    return alerts


def _rss(root: Element, warnings: Warnings) -> list[Found]:
    found = []
    items = 0
    for channel in _children(root, "channel"):
        for i, item in enumerate(_children(channel, "item")):
            items += 1
            path = f"/rss/channel/item[{i}]"
            links = [(e.get("type", ""), e.get("url", "")) for e in _children(item, "enclosure")]
            links += [("", (e.text or "").strip()) for e in _children(item, "link")]
            found.append(_entry(item, path, "enclosure", links, _updated(item, channel)))
    if not items:
        warnings.add("/rss", "the feed holds no item")
    return found


def _entry(
    entry: Element, path: str, linked: str, links: list[tuple[str, str]], updated: str | None
) -> Found:
    """What one feed entry (or RSS item) gives, its full alert being elsewhere: the link to it,
    else the alert its `cap:` fields summarise, else why it gives nothing."""
    kinds = [kind.split(";")[0].strip().lower() for kind, href in links if href]
    hrefs = [href for _, href in links if href]
    for kind, href in zip(kinds, hrefs, strict=True):
        if kind in _CAP_TYPES:
            return Found(path=f"{path}/{linked}", link=href)
    if _has_cap_fields(entry):
        return Found(path=f"{path}/cap", element=_alert_of_fields(entry, updated), fields=True)
    for kind, href in zip(kinds, hrefs, strict=True):
        if kind not in _NOT_CAP_TYPES:
            return Found(path=f"{path}/{linked}", link=href)
    said = ", ".join(sorted(set(kinds))) if hrefs else "none"
    return Found(
        path=path,
        error=Rejection(
            f"the entry carries no CAP alert and no CAP fields, and links to no CAP document "
            f"(its links' types: {said})",
            path,
        ),
    )


def _updated(entry: Element, parent: Element) -> str | None:
    for element in (entry, parent):
        for name in ("updated", "published", "pubDate", "lastBuildDate"):
            for child in _children(element, name):
                if text := (child.text or "").strip():
                    return _iso_instant(text)
    return None


def _iso_instant(text: str) -> str:
    """An Atom instant as it is; an RSS one (RFC 822) as ISO 8601."""
    try:
        return email.utils.parsedate_to_datetime(text).isoformat()
    except (TypeError, ValueError, IndexError):
        return text


def _has_cap_fields(entry: Element) -> bool:
    return any(
        isinstance(child.tag, str)
        and namespace(child.tag) in CAP_NAMESPACES
        and local(child.tag) == "event"
        for child in entry
    )


# The CAP fields an entry may carry inline, and where they go in the alert they summarise.
_ALERT_FIELDS = ("identifier", "sender", "sent", "status", "msgType", "scope", "references")
_INFO_FIELDS = (
    "language", "category", "event", "urgency", "severity", "certainty",
    "effective", "onset", "expires", "senderName", "headline", "description", "instruction",
)  # fmt: skip
_AREA_FIELDS = ("areaDesc", "polygon", "circle", "geocode")


def _alert_of_fields(entry: Element, updated: str | None) -> Element:
    """A CAP 1.2 `<alert>` made of an entry's `cap:` fields (with the entry's id, title, summary
    and date where a field is missing), for `read_alert` to check as any alert."""
    fields: dict[str, list[Element]] = {}
    for child in entry:
        if isinstance(child.tag, str) and namespace(child.tag) in CAP_NAMESPACES:
            fields.setdefault(local(child.tag), []).append(child)

    def text(name: str, *others: str) -> str | None:
        for child in fields.get(name, []):
            if value := (child.text or "").strip():
                return value
        for other in others:
            for child in _children(entry, other):
                if value := (child.text or "").strip():
                    return value
        return None

    alert = Element(f"{{{CAP12}}}alert")
    identifier = text("identifier", "id", "guid")
    values = {
        "identifier": identifier,
        "sender": text("sender") or _sender_of(identifier),
        "sent": text("sent") or updated,
        "status": text("status"),
        "msgType": text("msgType"),
        "scope": text("scope") or "Public",  # what a public feed publishes is public
        "references": text("references"),
    }
    for name in _ALERT_FIELDS:
        if values[name] is not None:
            SubElement(alert, f"{{{CAP12}}}{name}").text = values[name]
    info = SubElement(alert, f"{{{CAP12}}}info")
    defaults = {
        "headline": text("headline", "title"),
        "description": text("description", "summary"),
    }
    for name in _INFO_FIELDS:
        value = text(name) or defaults.get(name)
        if value is None and name in ("urgency", "severity", "certainty"):
            value = ""  # read as Unknown, with a warning
        if value is not None:
            SubElement(info, f"{{{CAP12}}}{name}").text = value
    area = SubElement(info, f"{{{CAP12}}}area")
    for name in _AREA_FIELDS:
        for child in fields.get(name, []):
            area.append(_in_cap12(child))
    return alert


def _sender_of(identifier: str | None) -> str | None:
    """The host of an entry whose id is a URL (`https://api.weather.gov/alerts/…`)."""
    host = urlsplit(identifier or "").hostname
    return host or None


def _in_cap12(element: Element) -> Element:
    """A copy of `element` and its children with their tags in the CAP 1.2 namespace."""
    copy = Element(f"{{{CAP12}}}{local(element.tag)}")
    copy.text = element.text
    for child in element:
        if isinstance(child.tag, str):
            copy.append(_in_cap12(child))
    return copy


def _edxl(root: Element, warnings: Warnings, max_bytes: int) -> list[Found]:
    status = (
        next((c.text or "").strip() for c in _children(root, "distributionStatus"))
        if (_children(root, "distributionStatus"))
        else None
    )
    imposed = status if status in ("Exercise", "System", "Test") else None
    found: list[Found] = []
    for i, content in enumerate(_children(root, "contentObject")):
        path = f"/EDXLDistribution/contentObject[{i}]"
        for xml_content in _children(content, "xmlContent"):
            for embedded in _children(xml_content, "embeddedXMLContent"):
                alerts = [c for c in embedded if isinstance(c.tag, str) and is_cap(c)]
                if not alerts:
                    warnings.add(path, "embedded XML content is not CAP: ignored")
                found += [
                    Found(
                        path=f"{path}/xmlContent/embeddedXMLContent/alert[{j}]",
                        element=alert,
                        status=imposed,
                    )
                    for j, alert in enumerate(alerts)
                ]
        for non_xml in _children(content, "nonXMLContent"):
            found.append(_non_xml(non_xml, f"{path}/nonXMLContent", imposed, max_bytes, warnings))
    if not found:
        warnings.add("/EDXLDistribution", "the envelope holds no CAP alert")
    return [f for f in found if f.element is not None or f.error is not None]


def _non_xml(
    element: Element, path: str, imposed: str | None, max_bytes: int, warnings: Warnings
) -> Found:
    """A base64 `<contentData>` holding a CAP document."""
    mime = " ".join((e.text or "").strip() for e in _children(element, "mimeType"))
    data = "".join((e.text or "") for e in _children(element, "contentData"))
    if "cap" not in mime and "xml" not in mime:
        warnings.add(path, f"content of type {mime or 'unknown'!r} is not CAP: ignored")
        return Found(path=path)
    try:
        raw = base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        return Found(path=path, error=Rejection("<contentData> is not valid base64", path))
    try:
        inner = parse_xml(raw, max_bytes=max_bytes)
    except Rejection as exc:
        return Found(path=path, error=Rejection(exc.reason, f"{path}/contentData"))
    for warning in inner.warnings:
        warnings.add(path, warning)
    if not is_cap(inner.root):
        return Found(
            path=path,
            error=Rejection(f"<{local(inner.root.tag)}> is not a CAP alert", f"{path}/contentData"),
        )
    return Found(path=f"{path}/contentData/alert", element=inner.root, status=imposed)
