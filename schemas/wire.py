"""Events as bytes on the bus and in the log, and back."""

from __future__ import annotations

from typing import Any

from schemas.catalogue import EVENT_TYPES
from schemas.envelope import Envelope
from schemas.registry import Registry
from schemas.upcasters import register_upcasters

# The registry of the catalogue, with the upcasters of its older event versions.
REGISTRY = register_upcasters(Registry(EVENT_TYPES))


def encode(event: Envelope) -> bytes:
    """The JSON bytes of an event, as published and stored."""
    return event.model_dump_json().encode()


def decode(raw: bytes | str | dict[str, Any]) -> Envelope:
    """Decode an event of the catalogue, upcasting older versions; raises DecodeError."""
    return REGISTRY.decode(raw)
