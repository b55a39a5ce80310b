"""One-line and tabular renderings of events for a terminal."""

from __future__ import annotations

from typing import Any

from schemas.envelope import Envelope

_ENVELOPE_FIELDS = frozenset(Envelope.model_fields)


def payload(event: Envelope) -> dict[str, Any]:
    """The fields an event type adds to the envelope, JSON-ready, unset ones left out."""
    data = event.model_dump(mode="json", exclude_none=True, exclude=set(_ENVELOPE_FIELDS))
    return {k: v for k, v in data.items() if v not in ([], {}, "")}


def _short(value: Any, width: int = 40) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def one_line(event: Envelope, *, seq: int | None = None, width: int = 160) -> str:
    """`#seq time crisis type [EXERCICE] key=value …` on a single line."""
    when = (event.recorded_at or event.received_at).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    marker = f" [{event.status.value.upper()}]" if event.status.value != "Actual" else ""
    if event.is_exercise:
        marker = " [EXERCICE]"
    fields = " ".join(f"{k}={_short(v)}" for k, v in payload(event).items())
    head = f"#{seq} " if seq is not None else ""
    line = f"{head}{when} {event.crisis_id} {event.type}{marker} {fields}"
    return line if len(line) <= width else line[: width - 1] + "…"
