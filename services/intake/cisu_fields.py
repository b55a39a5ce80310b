"""Fields of a parsed CISU message (JSON, or XML made JSON): refused when the mapping cannot use
them, noted when only tolerated. Times, offsets and points are read here too."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from schemas.values import GeoPoint
from services.intake.errors import Rejection, Warnings
from services.intake.traps import SENDER_ZONE, offset_trap

# How far a message may be from its case before a warning.
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
_MAX_ID = 200


class FieldReader:
    """Reads fields of parsed JSON, refusing what the mapping cannot use, noting what it bears."""

    def __init__(self, warnings: Warnings) -> None:
        self.warnings = warnings

    def obj(
        self, parent: Mapping[str, Any], name: str, path: str, *, required: bool = False
    ) -> Mapping[str, Any] | None:
        value = parent.get(name)
        if value is None:
            if required:
                raise Rejection(f"{name} is missing and the schema requires it", f"{path}/{name}")
            return None
        if not isinstance(value, Mapping):
            raise Rejection(f"{name} must be an object, not {type_name(value)}", f"{path}/{name}")
        return value

    def text(
        self, parent: Mapping[str, Any], name: str, path: str, *, required: bool = False
    ) -> str | None:
        value = parent.get(name)
        at = f"{path}/{name}"
        if value is not None and not isinstance(value, str):
            raise Rejection(f"{name} must be a string, not {type_name(value)}", at)
        if value is None or not value.strip():
            if required:
                said = "missing" if value is None else "empty"
                raise Rejection(f"{name} is {said} and the schema requires a value", at)
            return None
        return value.strip()

    def identifier(self, parent: Mapping[str, Any], name: str, path: str) -> str:
        value = self.text(parent, name, path, required=True) or ""
        if len(value) > _MAX_ID or any(c.isspace() for c in value):
            raise Rejection(
                f"{value[:60]!r} is not an identifier (spaces, or too long)", f"{path}/{name}"
            )
        return value

    def tolerated(self, parent: Mapping[str, Any], name: str, path: str) -> None:
        """A field the schema requires and the mapping does not use: missing, it is noted."""
        if parent.get(name) in (None, ""):
            self.warnings.add(
                f"{path}/{name}", f"{name} missing, which the schema requires: not used here"
            )

    def items(self, parent: Mapping[str, Any], name: str, path: str) -> list[Any]:
        value = parent.get(name)
        if value is None:
            return []
        if isinstance(value, list):
            return value
        self.warnings.add(f"{path}/{name}", f"{name} is not an array: read as an array of one")
        return [value]

    def texts(self, parent: Mapping[str, Any], name: str, path: str) -> list[str]:
        found = []
        for i, item in enumerate(self.items(parent, name, path)):
            if not isinstance(item, str):
                raise Rejection(
                    f"{name} must hold strings, not {type_name(item)}", f"{path}/{name}/{i}"
                )
            if item.strip():
                found.append(item.strip())
        return found

    def choice(
        self, parent: Mapping[str, Any], name: str, path: str, allowed: Iterable[str]
    ) -> str:
        value = self.text(parent, name, path, required=True) or ""
        return self.enumerated(value, f"{path}/{name}", tuple(allowed))

    def enumerated(self, value: str, path: str, allowed: tuple[str, ...]) -> str:
        for option in allowed:
            if value == option:
                return option
        for option in allowed:
            if value.lower() == option.lower():
                self.warnings.add(path, f"{value!r} read as {option!r}")
                return option
        shown = ", ".join(allowed) if len(allowed) < 20 else ", ".join(allowed[:18]) + "…"
        raise Rejection(f"{value[:60]!r} is not one of {shown}", path)

    def instant(
        self, parent: Mapping[str, Any], name: str, path: str, *, required: bool
    ) -> datetime | None:
        value = self.text(parent, name, path, required=required)
        if value is None:
            return None
        at = f"{path}/{name}"
        moment = _parsed(value, at)
        if value.endswith("Z"):
            self.warnings.add(at, "'Z' is not allowed by CISU (UTC is written -00:00): read as UTC")
        if (trap := offset_trap(moment)) is not None:
            self.warnings.add(at, trap)
        return moment

    def moment(self, parent: Mapping[str, Any], name: str, path: str) -> datetime:
        """A required date-time."""
        found = self.instant(parent, name, path, required=True)
        assert found is not None  # noqa: S101 (required=True never returns None)
        return found

    def number(self, parent: Mapping[str, Any], name: str, path: str, bound: float) -> float:
        value = parent.get(name)
        at = f"{path}/{name}"
        if value is None:
            raise Rejection(f"{name} is missing and the schema requires it", at)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Rejection(f"{name} must be a number, not {type_name(value)}", at)
        if not -bound <= value <= bound:  # also refuses NaN
            shown = str(value)[:40] if not isinstance(value, int) or value < 10**9 else "huge"
            raise Rejection(f"{name} {shown} is out of range (±{bound:g})", at)
        return float(value)


def type_name(value: object) -> str:
    """How a JSON value's type is named in a refusal."""
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    for kind, said in names.items():
        if isinstance(value, kind):
            return said
    return "a number" if isinstance(value, int | float) else type(value).__name__


def _parsed(value: str, path: str) -> datetime:
    if not _INSTANT.match(value):
        raise Rejection(
            f"{value[:60]!r} is not a date-time with an offset (like 2024-07-12T14:05:00+02:00)",
            path,
        )
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        moment.astimezone(SENDER_ZONE)  # refuses what cannot be placed in UTC (year 1 or 9999)
    except (ValueError, OverflowError):
        raise Rejection(f"{value[:60]!r} is not a valid date-time", path) from None
    return moment


def point_at(reader: FieldReader, parent: Mapping[str, Any] | None, path: str) -> GeoPoint | None:
    """`coord` of a point or position: lat and lon are required, precision is tolerated."""
    if parent is None:
        return None
    coord = reader.obj(parent, "coord", path, required=True)
    assert coord is not None  # noqa: S101 (required=True never returns None)
    at = f"{path}/coord"
    return GeoPoint(
        lat=reader.number(coord, "lat", at, 90), lon=reader.number(coord, "lon", at, 180)
    )


def days_apart(delta: timedelta) -> str:
    """`N days after` or `N days before`, for a warning."""
    days = abs(delta).days
    return f"{days} days {'after' if delta >= timedelta() else 'before'}"


def short_text(text: str | None) -> str | None:
    """Text cut to what a short event field holds, None when empty."""
    return (text.strip()[:500].strip() or None) if text else None
