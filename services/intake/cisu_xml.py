"""A CISU message in XML as the JSON the schema describes, to be read by the same reader.

The XSDs name elements after the JSON fields; arrays are repeated elements, numbers and booleans
are text. Elements of one part of a message in two CISU namespaces (two generations of the
schema) are read, with a warning."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any
from xml.etree.ElementTree import Element

from services.intake.errors import Rejection, Warnings
from services.intake.xmlsafe import local, namespace

NAMESPACE_FAMILY = "urn:emergency:"
MAX_DEPTH = 64
_XML_ARRAYS = frozenset(
    {"recipient", "newAlert", "riskThreat", "riskThreats", "externalLocationId", "notes",
     "externalAddressId", "accessCode", "attachment", "resource", "customMap", "link"}
)  # fmt: skip
_XML_ARRAY_IN = frozenset({("createCase", "freetext"), ("resource", "freetext")})
_XML_NUMBERS = frozenset({"lat", "lon", "height", "heading", "speed"})
_XML_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def xml_dict(
    element: Element, path: str, warnings: Warnings, *, contents: Collection[str], depth: int = 0
) -> Any:
    """An element as the JSON the schema describes: children by local name, text for leaves."""
    if depth > MAX_DEPTH:
        raise Rejection(f"elements nested deeper than {MAX_DEPTH} levels", path)
    children = [c for c in element if isinstance(c.tag, str)]
    name = local(element.tag)
    if not children:
        return _xml_leaf(name, (element.text or "").strip())
    found: dict[str, Any] = {}
    for child in children:
        child_name = local(child.tag)
        _check_namespace(element, child, f"{path}/{child_name}", warnings, contents)
        value = xml_dict(
            child, f"{path}/{child_name}", warnings, contents=contents, depth=depth + 1
        )
        if child_name in found:
            previous = found[child_name]
            found[child_name] = [*(previous if isinstance(previous, list) else [previous]), value]
        elif child_name in _XML_ARRAYS or (name, child_name) in _XML_ARRAY_IN:
            found[child_name] = [value]
        else:
            found[child_name] = value
    return found


def _xml_leaf(name: str, text: str) -> Any:
    if name in _XML_NUMBERS:
        try:
            return float(text)
        except ValueError:
            return text
    if name == "availability":
        return _XML_BOOLEANS.get(text.lower(), text)
    return text


def _check_namespace(
    parent: Element, child: Element, path: str, warnings: Warnings, contents: Collection[str]
) -> None:
    """Within one part of a message, elements in two CISU namespaces mean two generations."""
    outer, inner = namespace(parent.tag), namespace(child.tag)
    if local(child.tag) in contents and local(parent.tag) == "message":
        return  # each use case has its own namespace
    if outer != inner and outer.startswith(NAMESPACE_FAMILY) and inner.startswith(NAMESPACE_FAMILY):
        warnings.add(
            path,
            f"<{local(child.tag)}> in {inner} inside <{local(parent.tag)}> in {outer}: "
            "two generations of the schema, read as one message",
        )
