"""The project's own JSON events from a feed: validated, and only those a feed may send."""

from __future__ import annotations

from typing import Any

import orjson

from schemas.envelope import STANDING_WATCH, Envelope
from schemas.registry import DecodeError
from schemas.wire import REGISTRY
from services.intake.correlation import CorrelationIndex
from services.intake.errors import Rejection
from services.intake.text import has_markup, one_line, plain
from services.intake.xmlsafe import check_size

# What an automated feed may state; plans, decisions and communication are the cell's own acts.
FEED_EVENT_TYPES = frozenset(
    {
        "incident.reported",
        "incident.updated",
        "incident.closed",
        "bilan.assessed",
        "vigilance.changed",
    }
)
# The members that hold words, at any depth (a location's or an attachment's description too);
# ids, codes and enumerations are checked by the schemas and never hold markup that survives.
_TEXT_MEMBERS = frozenset(
    {"description", "note", "reason", "instruction", "bulletin_ref", "source_of_figures"}
)
_LINE_MEMBERS = frozenset({"title", "headline", "event", "warnings", "sources"})


def read_events(raw: bytes, *, max_bytes: int) -> list[tuple[str, Any]]:
    """The JSON objects of a body: one event, or a list of them, each with its JSON path."""
    check_size(raw, max_bytes)
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Rejection(f"not JSON: {exc}", "$") from None
    if isinstance(document, list):
        return [(f"$[{i}]", item) for i, item in enumerate(document)]
    return [("$", document)]


def check_event(
    data: Any, path: str, index: CorrelationIndex, *, feed: str, check_crisis: bool
) -> Envelope:
    """The event `data` holds, if feed `feed` may send it; `Rejection` otherwise."""
    if not isinstance(data, dict):
        raise Rejection("an event is a JSON object", path)
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in FEED_EVENT_TYPES:
        allowed = ", ".join(sorted(FEED_EVENT_TYPES))
        shown = repr(kind)[:60]
        raise Rejection(
            f"a feed may not send {shown} events; it may send {allowed}", f"{path}.type"
        )
    if data.get("recorded_at") is not None:
        raise Rejection(
            "recorded_at is set by the system, never by a sender", f"{path}.recorded_at"
        )
    data = without_markup(data)
    try:
        event = REGISTRY.decode(data)
    except DecodeError as exc:
        raise Rejection(exc.reason, f"{path}.{exc.field}" if exc.field else path) from None
    if event.source != feed or event.actor != f"feed:{feed}":
        raise Rejection(
            f"feed {feed} sends as source {feed!r} and actor 'feed:{feed}', not "
            f"{event.source!r} and {event.actor!r}",
            f"{path}.source",
        )
    if (
        check_crisis
        and event.crisis_id != STANDING_WATCH
        and event.crisis_id not in index.open_crises
    ):
        raise Rejection(
            f"crisis {event.crisis_id} is not open; send to {STANDING_WATCH!r} or an open crisis",
            f"{path}.crisis_id",
        )
    return event


def without_markup(data: Any, member: str | None = None) -> Any:
    """`data` with the HTML markup taken out of its text members, as CAP text loses it."""
    if isinstance(data, dict):
        return {key: without_markup(value, key) for key, value in data.items()}
    if isinstance(data, list):
        return [without_markup(item, member) for item in data]
    if isinstance(data, str) and has_markup(data):
        if member in _LINE_MEMBERS:
            return one_line(data)
        if member in _TEXT_MEMBERS:
            # Only markup: as if not given (the schema says whether it may be missing).
            return plain(data) or None
    return data
