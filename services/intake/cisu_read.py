"""A CISU message read: the RC-DE header and its use case, from JSON or from XML.

What is tolerated and what is refused is listed in `services.intake.cisu`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from xml.etree.ElementTree import Element

from services.intake.cisu_case import Case, read_case
from services.intake.cisu_fields import FieldReader
from services.intake.cisu_resources import Resource, read_resources
from services.intake.cisu_xml import NAMESPACE_FAMILY, xml_dict
from services.intake.errors import Rejection, Warnings
from services.intake.xmlsafe import local, namespace

CONTENTS: dict[str, Literal["createCase", "resourcesInfo"]] = {
    "createCase": "createCase",
    "resourcesInfoCisu": "resourcesInfo",
    "resourcesInfo": "resourcesInfo",
}
STATUSES = ("Actual", "Exercise", "System", "Test")
KINDS = ("Report", "Update", "Cancel", "Ack", "Error")


@dataclass(slots=True)
class CisuMessage:
    """A CISU message as read, with what was tolerated reading it."""

    key: str
    path: str
    warnings: Warnings
    status: str
    kind: Literal["createCase", "resourcesInfo"]
    message_id: str
    sender: str
    sent_at: datetime
    distribution_kind: str
    case_id: str
    content_path: str
    case: Case | None = None
    resources: list[Resource] = field(default_factory=list)

    @property
    def case_key(self) -> str:
        """The case's identity across feeds: `case:<caseId>`."""
        return f"case:{self.case_id}"


def is_cisu_json(document: object) -> bool:
    """True for a parsed JSON object that is a CISU message holding createCase or an RC-RI."""
    message = _unwrapped(document)
    return message is not None and any(name in message for name in CONTENTS)


def is_cisu_xml(root: Element) -> bool:
    """True for a `<message>` (CISU namespace or none) holding createCase or an RC-RI."""
    ns = namespace(root.tag)
    if local(root.tag) != "message" or (ns and not ns.startswith(NAMESPACE_FAMILY)):
        return False
    return any(isinstance(c.tag, str) and local(c.tag) in CONTENTS for c in root)


def read_cisu_json(document: Mapping[str, Any], path: str, warnings: Warnings) -> CisuMessage:
    """Read one CISU message from parsed JSON; `Rejection` names the field at fault."""
    base = path.rstrip("/")
    wrapped = isinstance(document.get("message"), Mapping)
    message = document["message"] if wrapped else document
    return _read_message(message, f"{base}/message" if wrapped else base, Warnings(warnings))


def read_cisu_xml(element: Element, path: str, warnings: Warnings) -> CisuMessage:
    """Read one CISU `<message>` element; `Rejection` names the element at fault."""
    warnings = Warnings(warnings)
    base = path.rstrip("/") or "/message"
    converted = xml_dict(element, base, warnings, contents=CONTENTS)
    if not isinstance(converted, Mapping):
        raise Rejection("<message> holds no element", base)
    return _read_message(converted, base, warnings)


def _unwrapped(document: object) -> Mapping[str, Any] | None:
    if not isinstance(document, Mapping):
        return None
    inner = document.get("message")
    return inner if isinstance(inner, Mapping) else document


def _read_message(message: Mapping[str, Any], path: str, warnings: Warnings) -> CisuMessage:
    reader = FieldReader(warnings)
    name, content = _content(reader, message, path)
    content_path = f"{path}/{name}"
    message_id = reader.identifier(message, "messageId", path)
    sender = reader.obj(message, "sender", path, required=True)
    assert sender is not None  # noqa: S101 (required=True never returns None)
    sender_name = reader.text(sender, "name", f"{path}/sender", required=True)
    reader.tolerated(sender, "URI", f"{path}/sender")
    if not reader.items(message, "recipient", path):
        warnings.add(f"{path}/recipient", "no recipient, which RC-DE requires: not used here")
    kind = CONTENTS[name]
    if name == "resourcesInfo":
        warnings.add(content_path, "resourcesInfo (older RC-RI generation) read as RC-RI")
    cisu = CisuMessage(
        key=f"cisu:{message_id}",
        path=path,
        warnings=warnings,
        status=reader.choice(message, "status", path, STATUSES),
        kind=kind,
        message_id=message_id,
        sender=sender_name or "",
        sent_at=reader.moment(message, "sentAt", path),
        distribution_kind=reader.choice(message, "kind", path, KINDS),
        case_id=reader.identifier(content, "caseId", content_path),
        content_path=content_path,
    )
    if kind == "createCase":
        cisu.case = read_case(
            reader, content, content_path, case_id=cisu.case_id, sent_at=cisu.sent_at
        )
    else:
        cisu.resources = read_resources(reader, content, content_path, sent_at=cisu.sent_at)
    return cisu


def _content(reader: FieldReader, message: Mapping[str, Any], path: str) -> tuple[str, Any]:
    found = [name for name in CONTENTS if name in message]
    if not found:
        raise Rejection(
            "the message holds neither createCase nor resourcesInfoCisu: nothing this intake reads",
            path,
        )
    if len(found) > 1:
        raise Rejection(f"the message holds {' and '.join(found)}: one use case expected", path)
    content = reader.obj(message, found[0], path, required=True)
    return found[0], content
