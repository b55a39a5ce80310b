"""Decode any stored or received event by its `type` and `schema_version`, upcasting old versions.

A new schema version of an event type comes with an upcaster from the version before, registered
with `@registry.upcaster(type, from_version=N)`, and a test that decodes a stored version-N event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson
from pydantic import ValidationError

from schemas.envelope import Envelope

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class DecodeError(ValueError):
    """Input that is not a valid event of the catalogue; `field` names the part at fault."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.reason = message


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(event)"


def describe_validation_error(error: ValidationError) -> DecodeError:
    """The first problem of a validation error, as a DecodeError naming its field."""
    first = error.errors()[0]
    more = error.error_count() - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return DecodeError(f"{first['msg']}{suffix}", field=_field_path(first["loc"]))


class Registry:
    """The event types a process understands, with the upcasters of their older versions."""

    def __init__(self, event_types: Iterable[type[Envelope]]) -> None:
        self._classes: dict[str, type[Envelope]] = {}
        self._versions: dict[str, int] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        for cls in event_types:
            name = cls.model_fields["type"].default
            version = cls.model_fields["schema_version"].default
            if not isinstance(name, str) or not isinstance(version, int):
                raise TypeError(f"{cls.__name__} must give `type` and `schema_version` defaults")
            if name in self._classes:
                raise ValueError(f"event type {name!r} registered twice")
            self._classes[name] = cls
            self._versions[name] = version

    @property
    def types(self) -> Mapping[str, type[Envelope]]:
        """Wire name to event class."""
        return self._classes

    @property
    def versions(self) -> Mapping[str, int]:
        """Wire name to the schema version the code writes today (the registry's own map)."""
        return self._versions

    def current_version(self, event_type: str) -> int:
        """The schema version the code writes today for `event_type`."""
        return self._versions[event_type]

    def upcaster(self, event_type: str, *, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register a function turning a `from_version` payload into the next version's."""

        def register(function: Upcaster) -> Upcaster:
            key = (event_type, from_version)
            if key in self._upcasters:
                raise ValueError(f"upcaster for {event_type} v{from_version} registered twice")
            self._upcasters[key] = function
            return function

        return register

    def upcast(self, data: dict[str, Any]) -> dict[str, Any]:
        """Bring a payload of any known older version up to the current one."""
        event_type = data["type"]
        version = data.get("schema_version", 1)
        current = self._versions[event_type]
        if not isinstance(version, int) or version < 1:
            raise DecodeError("must be a positive integer", field="schema_version")
        if version > current:
            raise DecodeError(
                f"{event_type} v{version} is newer than this system knows (v{current}): upgrade",
                field="schema_version",
            )
        while version < current:
            step = self._upcasters.get((event_type, version))
            if step is None:
                raise DecodeError(
                    f"no upcaster from {event_type} v{version} to v{version + 1}",
                    field="schema_version",
                )
            data = step(dict(data))
            version += 1
            data["schema_version"] = version
        return data

    def decode(self, raw: bytes | str | Mapping[str, Any]) -> Envelope:
        """Parse and validate one event of any known type and version."""
        if isinstance(raw, bytes | str):
            try:
                data = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise DecodeError(f"not valid JSON: {exc}") from None
        else:
            data = dict(raw)
        if not isinstance(data, dict):
            raise DecodeError("an event must be a JSON object")
        event_type = data.get("type")
        if not isinstance(event_type, str):
            raise DecodeError("missing or not a string", field="type")
        cls = self._classes.get(event_type)
        if cls is None:
            raise DecodeError(f"unknown event type {event_type!r}", field="type")
        data = self.upcast(data)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise describe_validation_error(exc) from None
