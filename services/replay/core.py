"""The pure part of a replay: which events, when (their original spacing over the speed), and
how a past crisis becomes a new exercise crisis.
"""

from __future__ import annotations

import bisect
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

FORK_NAMESPACE = uuid.UUID("0d7bb7c4-58a5-4c53-a2a9-6c1f7d3c2e55")
EXERCISE_MARK = "EXERCICE"


@dataclass(frozen=True, slots=True)
class Recorded:
    """One event of the log: its position, when the cell recorded it, and its wire dict."""

    position: int
    recorded_at: datetime
    event: dict[str, Any]


class Timeline:
    """The events of a replay, in order, with their instants for pacing and seeking."""

    def __init__(self, events: list[Recorded]) -> None:
        self.events = events
        self.instants = [e.recorded_at for e in events]

    def __len__(self) -> int:
        return len(self.events)

    @property
    def start(self) -> datetime | None:
        """The instant of the first event."""
        return self.instants[0] if self.instants else None

    def index_at(self, instant: datetime) -> int:
        """The index of the first event recorded at or after `instant` (len when none)."""
        return bisect.bisect_left(self.instants, instant)

    def delay(self, index: int, speed: float) -> float:
        """Seconds from the previous event to event `index`, divided by the speed."""
        if index == 0 or speed <= 0:
            return 0.0
        gap = (self.instants[index] - self.instants[index - 1]).total_seconds()
        return max(0.0, gap / speed)


def window(events: list[Recorded], start: datetime | None, end: datetime | None) -> list[Recorded]:
    """The events recorded from `start` (inclusive) to `end` (inclusive)."""
    return [
        e
        for e in events
        if (start is None or e.recorded_at >= start) and (end is None or e.recorded_at <= end)
    ]


def _forked_id(new_crisis: str, old: str) -> str:
    return str(uuid.uuid5(FORK_NAMESPACE, f"{new_crisis}/{old}"))


_ID_FIELDS = ("event_id", "correlation_id", "causation_id", "proposal_event_id")


def fork_event(event: dict[str, Any], new_crisis: str) -> dict[str, Any]:
    """The event as it happens again in exercise crisis `new_crisis`: marked Exercise, new ids.

    Ids are derived from the new crisis and the old ids, so a fork run twice publishes the same
    events (deduplicated), and the links between events (correlation, causation, the proposal
    an activation accepts) still hold inside the fork.
    """
    forked = {**event, "crisis_id": new_crisis, "status": "Exercise", "recorded_at": None}
    for name in _ID_FIELDS:
        if forked.get(name):
            forked[name] = _forked_id(new_crisis, str(forked[name]))
    if forked.get("type") == "crisis.opened" and not forked["name"].startswith(EXERCISE_MARK):
        forked["name"] = f"{EXERCISE_MARK} - {forked['name']}"[:500]
    return forked
