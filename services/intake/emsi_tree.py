"""EMSI's two encodings, XML and JSON, as one tree, and the reader of its values.

Each element becomes its name and its values, a value being a sub-tree or a text: an XML element
repeated and a JSON array read the same, and so do a JSON number and its XML text. Values are
named by their path (`/emsi/EVENT/CASUALTIES[0]/TRIAGERED`) in warnings and refusals.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TypeAlias
from xml.etree.ElementTree import Element

from services.intake.errors import Rejection, Warnings
from services.intake.traps import offset_trap
from services.intake.xmlsafe import local

MAX_COUNT = 1_000_000
_MAX_DEPTH = 12
_WHOLE = re.compile(r"^\+?[0-9]{1,15}(\.0*)?$")
_NEGATIVE = re.compile(r"^-[0-9]{1,15}(\.0*)?$")
# One tree for XML and JSON alike: element name -> its values, each a sub-tree or a text.
Tree: TypeAlias = "dict[str, list[Tree | str]]"


def xml_tree(element: Element, depth: int = 0) -> Tree | str:
    """An XML element as a tree, or as its text when it has no child element."""
    children = [c for c in element if isinstance(c.tag, str)]
    if not children:
        return element.text or ""
    tree: Tree = {}
    if depth < _MAX_DEPTH:  # EMSI is six levels deep: anything deeper is not EMSI content
        for child in children:
            tree.setdefault(local(child.tag), []).append(xml_tree(child, depth + 1))
    return tree


def json_values(value: object, depth: int = 0) -> list[Tree | str]:
    """A JSON value as the values of one element: arrays repeat it, null leaves it out."""
    if value is None or depth >= _MAX_DEPTH:
        return []
    if isinstance(value, list):
        return [v for item in value for v in json_values(item, depth + 1)]
    if isinstance(value, Mapping):
        return [{str(k): json_values(v, depth + 1) for k, v in value.items()}]
    return [_json_text(value)]


def _json_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    try:
        return str(value)
    except ValueError:  # an integer too long to write out
        return "(a number too large)"


class Reader:
    """Reads the values of a tree; each is named by its path, for warnings and refusals."""

    def __init__(self, warnings: Warnings) -> None:
        self.warnings = warnings

    def all(self, tree: Tree, name: str, path: str) -> list[tuple[Tree, str]]:
        """Each value of a repeated element, with its path `…/NAME[i]`."""
        return [
            (self._tree(value, f"{path}/{name}[{i}]"), f"{path}/{name}[{i}]")
            for i, value in enumerate(tree.get(name, []))
        ]

    def one(self, tree: Tree, name: str, path: str) -> Tree | None:
        """The element expected once; the first when there are several."""
        value = self._first(tree, name, path)
        return None if value is None else self._tree(value, f"{path}/{name}")

    def text(self, tree: Tree, name: str, path: str) -> str | None:
        """The text of an element expected once; None when absent or empty."""
        value = self._first(tree, name, path)
        if isinstance(value, dict):
            self.warnings.add(f"{path}/{name}", "elements where a value was expected: ignored")
            return None
        return (value or "").strip() or None

    def texts(self, tree: Tree, name: str, path: str) -> list[str]:
        """The texts of a repeated element, empty ones left out."""
        found = []
        for i, value in enumerate(tree.get(name, [])):
            if isinstance(value, dict):
                self.warnings.add(f"{path}/{name}[{i}]", "elements where a value was expected")
            elif value.strip():
                found.append(value.strip())
        return found

    def required(self, tree: Tree, name: str, path: str) -> str:
        """The text of a mandatory element."""
        value = self.text(tree, name, path)
        if value is None:
            raise Rejection(f"{name} is missing or empty and EMSI requires it", f"{path}/{name}")
        return value

    def choice(
        self,
        value: str,
        path: str,
        allowed: Iterable[str],
        aliases: Mapping[str, str] | None = None,
    ) -> str:
        """`value` as one of `allowed`; another case or an alias is read with a warning."""
        options = tuple(allowed)
        if value in options:
            return value
        wanted = (aliases or {}).get(value.upper(), value.upper())
        if wanted in options:
            self.warnings.add(path, f"{value[:40]!r} read as {wanted!r}")
            return wanted
        raise Rejection(f"{value[:60]!r} is not one of {', '.join(options)}", path)

    def option(self, tree: Tree, name: str, path: str, allowed: Iterable[str]) -> str | None:
        """An optional coded value; one outside `allowed` is left out with a warning."""
        value = self.text(tree, name, path)
        if value is None:
            return None
        try:
            return self.choice(value, f"{path}/{name}", allowed)
        except Rejection:
            self.warnings.add(f"{path}/{name}", f"{value[:40]!r} is not a known code: left out")
            return None

    def instant(
        self, tree: Tree, name: str, path: str, *, required: bool = False
    ) -> datetime | None:
        """A date-time with its UTC offset; refused when it does not parse."""
        value = self.required(tree, name, path) if required else self.text(tree, name, path)
        if value is None:
            return None
        at = f"{path}/{name}"
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise Rejection(
                f"{value[:60]!r} is not a date-time (like 2020-10-02T14:00:00+02:00)", at
            ) from None
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise Rejection(f"{value[:60]!r} has no UTC offset, which EMSI requires", at)
        if not 1900 <= moment.year <= 2200:
            raise Rejection(f"{value[:60]!r} is not a plausible date", at)
        if (trap := offset_trap(moment)) is not None:
            self.warnings.add(at, trap)
        return moment

    def number(self, tree: Tree, name: str, path: str, *, required: bool) -> float | None:
        """A decimal number; refused when required and unreadable, else left out with a warning."""
        value = self.required(tree, name, path) if required else self.text(tree, name, path)
        if value is None:
            return None
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if math.isfinite(number):
            return number
        if required:
            raise Rejection(f"{value[:40]!r} is not a number", f"{path}/{name}")
        self.warnings.add(f"{path}/{name}", f"{value[:40]!r} is not a number: left out")
        return None

    def count(self, tree: Tree, name: str, path: str) -> int | None:
        """A count of people: a whole number from 0 to `MAX_COUNT`, else refused."""
        value = self.text(tree, name, path)
        if value is None:
            return None
        at = f"{path}/{name}"
        if _NEGATIVE.match(value):
            raise Rejection(f"{value[:40]} is negative: not a count of people", at)
        if not _WHOLE.match(value):
            raise Rejection(f"{value[:40]!r} is not a whole number of people", at)
        number = int(value.lstrip("+").split(".")[0])
        if number > MAX_COUNT:
            raise Rejection(f"{number:,} is over {MAX_COUNT:,}: not a plausible count", at)
        return number

    def _first(self, tree: Tree, name: str, path: str) -> Tree | str | None:
        values = tree.get(name, [])
        if len(values) > 1:
            self.warnings.add(f"{path}/{name}", f"{len(values)} {name}: the first one used")
        return values[0] if values else None

    def _tree(self, value: Tree | str, path: str) -> Tree:
        if isinstance(value, dict):
            return value
        if value.strip():
            self.warnings.add(path, "text where elements were expected: ignored")
        return {}
