"""Bytes to an XML tree, safely: no DTD, no entity, no network or file access, a size limit.

Real feeds get encodings wrong in a few known ways; what is tolerated and what is refused:

- a byte-order mark (UTF-8 or UTF-16): read, no warning (XML allows it);
- no XML declaration: read as UTF-8, no warning (XML allows it);
- an encoding other than UTF-8 declared (ISO-8859-1, windows-1252…): read in it, with a warning;
- no declaration and bytes that are not UTF-8: read as ISO-8859-1, with a warning (the usual
  cause is a Latin-1 system that writes no declaration);
- a declared encoding the bytes do not follow, an unknown encoding, or control bytes: refused,
  naming the byte offset;
- any DOCTYPE: refused. CAP, Atom, RSS and EDXL need none, and DTDs carry the entity attacks
  (billion laughs, external entities, parameter entities). The parser never fetches anything.

A document whose text holds no `<!DOCTYPE` cannot declare a DTD or an entity (XML allows both
only inside a DOCTYPE), so it is read by the standard library's C parser: the same expat, the
same tree and the same errors as defusedxml's, at a third of the cost (defusedxml hooks expat
from Python, one call per element). Any text that holds `<!DOCTYPE`, even in a comment, goes
through defusedxml, which refuses a real one. lxml (entities not resolved, no network, no DTD
loaded) was measured too: no faster than the C parser on these documents, its elements three to
six times slower to walk, and of another type than the code reading them expects.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError, XMLParser

from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden
from defusedxml import ElementTree as SafeTree

from services.intake.errors import Rejection, Warnings

_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*?\?>", re.DOTALL)
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# The same characters as bytes: UTF-8 writes them as these bytes and never uses these bytes
# otherwise, so UTF-8 input without them holds none (bytes.translate is five times faster
# than the regular expression).
_CONTROL_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
_UTF8 = {"utf-8", "utf8"}


@dataclass(frozen=True, slots=True)
class XmlDocument:
    """A parsed document and what was tolerated reading it."""

    root: Element
    encoding: str
    warnings: Warnings


_PASSWORD = re.compile(
    rb"(<(?:[A-Za-z_][\w.-]*:)?password\b[^>]*>)(.*?)(</(?:[A-Za-z_][\w.-]*:)?password\s*>)",
    re.DOTALL,
)


def without_secrets(raw: bytes) -> bytes:
    """The input as kept: a CAP 1.0 `<password>` blanked, everything else byte for byte."""
    if b"password" not in raw:
        return raw
    return _PASSWORD.sub(rb"\1(removed)\3", raw)


def local(tag: str) -> str:
    """The local name of an element tag: `{urn:…}alert` -> `alert`."""
    return tag.rpartition("}")[2]


def namespace(tag: str) -> str:
    """The namespace of an element tag, or "" when it has none."""
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def check_size(raw: bytes, max_bytes: int) -> None:
    """Refuse an input over the configured limit before anything reads it."""
    if len(raw) > max_bytes:
        raise Rejection(
            f"input of {len(raw):,} bytes is over the limit of {max_bytes:,} bytes "
            "(CRISIS_INTAKE_MAX_BYTES)",
            "/",
        )


def parse_xml(raw: bytes, *, max_bytes: int) -> XmlDocument:
    """Parse `raw` as XML under the rules above; `Rejection` says why not."""
    check_size(raw, max_bytes)
    warnings = Warnings()
    whole, encoding, bom = _decode(raw, warnings)
    _check_control(raw, whole, encoding, bom)
    text = _strip_declaration(whole)
    if not text.strip():
        raise Rejection("the input is empty", "/")
    return XmlDocument(root=_tree(text), encoding=encoding, warnings=warnings)


def _check_control(raw: bytes, whole: str, encoding: str, bom: int) -> None:
    """Refuse a control character, naming its byte offset."""
    if encoding == "utf-8" and len(raw.translate(None, _CONTROL_BYTES)) == len(raw):
        return
    if (bad := _CONTROL.search(whole)) is not None:
        offset = bom + len(whole[: bad.start()].encode(encoding, "replace"))
        raise Rejection(
            f"control byte 0x{ord(bad.group()):02x} at byte {offset}: not a text document", "/"
        )


def _tree(text: str) -> Element:
    """The tree of `text` (decoded, its declaration removed); `Rejection` says why not."""
    try:
        if "<!DOCTYPE" not in text:
            # No DOCTYPE, so no DTD and no entity declaration: nothing for defusedxml to refuse.
            parser = XMLParser()  # noqa: S314 (no DOCTYPE: no DTD, no entity to expand or fetch)
            parser.feed(text)
            return parser.close()
        return SafeTree.fromstring(
            text, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DTDForbidden:
        raise Rejection(
            "a DOCTYPE is not accepted: CAP, Atom, RSS and EDXL need no DTD, and DTDs carry "
            "entity-expansion and external-entity attacks",
            "DOCTYPE",
        ) from None
    except EntitiesForbidden as exc:
        raise Rejection(f"entity declaration {exc.name!r} is not accepted", "DOCTYPE") from None
    except DefusedXmlException as exc:
        raise Rejection(f"refused XML construct: {exc}", "DOCTYPE") from None
    except ParseError as exc:
        line, column = exc.position
        raise Rejection(
            f"not well-formed XML: {_expat_message(exc)} at line {line}, column {column + 1}", "/"
        ) from None


def _decode(raw: bytes, warnings: Warnings) -> tuple[str, str, int]:
    """The document as text, the encoding it was read in, and the length of its byte-order mark."""
    if raw.startswith(codecs.BOM_UTF8):
        return _strict(raw[3:], "utf-8"), "utf-8", 3
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(raw, "utf-16"), "utf-16", 0
    declaration = _DECLARATION.match(raw)
    declared = _ENCODING.search(declaration.group()) if declaration else None
    if declared is None:
        try:
            return raw.decode("utf-8"), "utf-8", 0
        except UnicodeDecodeError as exc:
            warnings.add(
                "/",
                f"no encoding declared and byte 0x{raw[exc.start]:02x} at byte {exc.start} is not "
                "UTF-8: read as ISO-8859-1",
            )
            return raw.decode("iso-8859-1"), "iso-8859-1", 0
    name = declared.group(1).decode("ascii").lower()
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        raise Rejection(f"declared encoding {name!r} is unknown", "/?xml") from None
    if codec.replace("_", "-") not in _UTF8:
        warnings.add("/?xml", f"encoding {name} declared: CAP expects UTF-8")
    return _strict(raw, codec), codec, 0


def _strict(raw: bytes, codec: str) -> str:
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise Rejection(
            f"byte 0x{raw[exc.start]:02x} at byte {exc.start} (line {line}) is not valid {codec}, "
            "the encoding the document declares",
            "/",
        ) from None


def _strip_declaration(text: str) -> str:
    # The text is already decoded: a declaration naming another encoding must not be obeyed again.
    match = re.match(r"^\s*<\?xml[^>]*?\?>", text, re.DOTALL)
    return text[match.end() :] if match else text


def _expat_message(exc: ParseError) -> str:
    return str(exc).split(":")[0]
