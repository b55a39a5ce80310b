"""The messages the intake reads beside CAP, GeoJSON and its own events: EMSI and the Hub Santé's
CISU messages, in XML or JSON, alone or in an EDXL-DE 2.0 envelope.

Each format is told by its content (`in_xml`, `in_json`), read into a message that knows its
identity (`key`) and what was tolerated (`warnings`), and mapped to events against the
correlation index. `services/intake/core.py` reads every one the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, cast
from xml.etree.ElementTree import Element

from services.intake.cisu import is_cisu_json, is_cisu_xml, map_cisu, read_cisu_json, read_cisu_xml
from services.intake.correlation import CorrelationIndex
from services.intake.emsi import is_emsi, is_emsi_json, map_emsi, read_emsi, read_emsi_json
from services.intake.errors import Warnings
from services.intake.mapping import Context, Mapped
from services.intake.xmlsafe import local


class Message(Protocol):
    """A message read: its identity across feeds and what was tolerated reading it."""

    @property
    def key(self) -> str:
        """`emsi:…`, `cisu:…`: a copy received again adds nothing."""

    @property
    def warnings(self) -> Warnings:
        """What was tolerated, kept on the events."""


@dataclass(frozen=True, slots=True)
class Format:
    """How one kind of message is told, read and mapped."""

    name: str
    is_xml: Callable[[Element], bool]
    is_json: Callable[[object], bool]
    read_xml: Callable[[Element, str, Warnings], Any]
    read_json: Callable[[Mapping[str, Any], str, Warnings], Any]
    map: Callable[[Any, CorrelationIndex, Context], Mapped]

    def read(self, payload: Element | Mapping[str, Any], path: str, warnings: Warnings) -> Message:
        """The message `payload` holds; `Rejection` names what is wrong."""
        if isinstance(payload, Element):
            message: Message = self.read_xml(payload, path, warnings)
        else:
            message = self.read_json(payload, path, warnings)
        return message


FORMATS = (
    Format("EMSI", is_emsi, is_emsi_json, read_emsi, read_emsi_json, map_emsi),
    Format("CISU", is_cisu_xml, is_cisu_json, read_cisu_xml, read_cisu_json, map_cisu),
)


@dataclass(frozen=True, slots=True)
class Found:
    """A message found in a payload: its format, the part to read, and where that part is."""

    kind: Format
    payload: Element | Mapping[str, Any]
    path: str


def in_xml(root: Element, path: str) -> Found | None:
    """The message `root` is, or the EMSI a Hub Santé `<message>` wraps; None if neither."""
    for kind in FORMATS:
        if kind.is_xml(root):
            return Found(kind, root, path)
    if local(root.tag) == "message":
        for child in root:
            if isinstance(child.tag, str) and is_emsi(child):
                return Found(FORMATS[0], child, f"{path}/{local(child.tag)}")
    return None


def in_json(document: object, path: str) -> Found | None:
    """The message `document` is, or the EMSI a Hub Santé message object carries beside its
    header (`{"messageId": …, "emsi": {…}}`); None if neither."""
    for kind in FORMATS:
        if kind.is_json(document):
            return Found(kind, cast("Mapping[str, Any]", document), path)
    if isinstance(document, Mapping):
        for key, value in document.items():
            if str(key).lower() == "emsi" and isinstance(value, Mapping):
                return Found(FORMATS[0], {key: value}, path)
    return None
