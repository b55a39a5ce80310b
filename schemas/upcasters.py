"""Upcasters of the catalogue's event types, from each old schema version to the next.

Every event type is at version 1 in this first catalogue, so none is registered yet. When an
event type changes shape, raise its `schema_version`, register a function from the old payload
to the new one below, and add a test that decodes a stored old event, e.g.:

    @registry.upcaster("incident.reported", from_version=1)
    def incident_reported_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
        data["severity"] = data.pop("gravity")
        return data
"""

from __future__ import annotations

from schemas.registry import Registry


def register_upcasters(registry: Registry) -> Registry:
    """Register every upcaster of the catalogue on `registry` and return it."""
    return registry
