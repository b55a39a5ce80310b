"""Where the alerts are in a document: a CAP alert, an Atom or RSS feed, an EDXL-DE envelope.

A feed entry either carries its alert inline or links to it; links are returned to be fetched.
A wrapper that is none of these but holds CAP alerts (`<alerts><alert/>…</alerts>`, a common
home-made batch) is read, with a warning. Anything else is refused.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from services.intake.cap import is_cap
from services.intake.errors import Rejection, Warnings
from services.intake.xmlsafe import XmlDocument, local, namespace, parse_xml

ATOM = "http://www.w3.org/2005/Atom"
EDXL_DE = "urn:oasis:names:tc:emergency:EDXL:DE:1.0"
_CAP_TYPES = ("application/cap+xml", "application/xml", "text/xml")


@dataclass(frozen=True, slots=True)
class Found:
    """One alert's place in a document: the element, a link to fetch, or why it is unusable."""

    path: str
    element: Element | None = None
    link: str | None = None
    # The status the envelope imposes (EDXL-DE distributionStatus) when it is not Actual.
    status: str | None = None
    error: Rejection | None = None


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
    found = []
    for i, entry in enumerate(_children(root, "entry")):
        path = f"/feed/entry[{i}]"
        inline = [
            alert
            for content in _children(entry, "content")
            for alert in _inline(content, f"{path}/content", warnings, max_bytes)
        ]
        links = [
            link.get("href", "")
            for link in _children(entry, "link")
            if link.get("type", "").split(";")[0].strip() in _CAP_TYPES and link.get("href")
        ]
        if inline:
            found += [Found(path=f"{path}/content/alert", element=alert) for alert in inline]
        elif links:
            found.append(Found(path=f"{path}/link", link=links[0]))
        else:
            warnings.add(path, "entry carries no CAP alert and links to none: ignored")
    if not found:
        warnings.add("/feed", "the feed holds no CAP alert")
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
    for channel in _children(root, "channel"):
        for i, item in enumerate(_children(channel, "item")):
            path = f"/rss/channel/item[{i}]"
            enclosures = [
                e.get("url", "")
                for e in _children(item, "enclosure")
                if e.get("type", "").split(";")[0].strip() in _CAP_TYPES and e.get("url")
            ]
            links = [(e.text or "").strip() for e in _children(item, "link") if e.text]
            if enclosures:
                found.append(Found(path=f"{path}/enclosure", link=enclosures[0]))
            elif links and links[0]:
                found.append(Found(path=f"{path}/link", link=links[0]))
            else:
                warnings.add(path, "item links to no CAP alert: ignored")
    if not found:
        warnings.add("/rss", "the feed holds no CAP alert")
    return found


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
