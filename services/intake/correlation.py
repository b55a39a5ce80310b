"""Which incident an input is about, and which crisis it goes to.

Correlation rules (docs/intake.md):

1. A CAP alert is known by its sender and identifier (`cap:<sender>,<identifier>`). The same alert
   received twice, or through two feeds (an Atom feed and an EDXL-DE envelope, say), is one
   alert: the second copy adds nothing. Event ids are derived from that identity, so even two
   intake processes publish the same ids and JetStream and the log keep one.
2. An Update or a Cancel amends the incident of the alerts it names in `<references>`.
3. Alerts from one sender naming the same `<incidents>` value are about one incident.
4. A GeoJSON feature is known by its feed and its `id`; the project's own events carry theirs.

Routing: an input that amends a known incident goes where that incident is. A new one goes to
the crisis open for its status: Actual alerts to the most recently opened real crisis, Exercise
alerts to the most recently opened exercise; Test, System and Draft alerts, and any alert when no
such crisis is open, go to the département's standing watch (`veille`), which is always open.
Exercise and real never mix: an alert never lands in a crisis of the other kind.

The index is rebuilt from the stream (crisis and incident events) when the intake starts, and
kept current from it; what the intake publishes itself is remembered once JetStream has it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from schemas.envelope import STANDING_WATCH


@dataclass(frozen=True, slots=True)
class IncidentRef:
    """Where an incident lives."""

    crisis_id: str
    incident_id: str
    # The CAP status of the incident's report, when known: exercise and real never mix.
    status: str | None = None


class CorrelationIndex:
    """External identities to incidents, and the crises open for new ones."""

    def __init__(self) -> None:
        self._keys: dict[str, IncidentRef] = {}
        # Open crises, oldest first; True for an exercise.
        self.open_crises: dict[str, bool] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def find(self, keys: Iterable[str]) -> IncidentRef | None:
        """The incident of the first key known, if any."""
        for key in keys:
            if (ref := self._keys.get(key)) is not None:
                return ref
        return None

    def remember(self, keys: Iterable[str], ref: IncidentRef) -> None:
        """Record that `keys` identify the incident `ref`."""
        for key in keys:
            self._keys[key] = ref

    def route(self, status: str) -> str:
        """The crisis a new incident of CAP `status` goes to."""
        if status in ("Actual", "Exercise"):
            exercise = status == "Exercise"
            for crisis_id in reversed(self.open_crises):
                if self.open_crises[crisis_id] == exercise:
                    return crisis_id
        return STANDING_WATCH

    def is_exercise(self, crisis_id: str) -> bool | None:
        """Whether an open crisis is an exercise; None for the standing watch or a closed one."""
        return self.open_crises.get(crisis_id)

    def observe(self, event: dict[str, Any]) -> None:
        """Learn from one event of the stream, as its wire dict."""
        kind, crisis_id = event.get("type"), event.get("crisis_id", "")
        if kind == "crisis.opened":
            self.open_crises.pop(crisis_id, None)
            self.open_crises[crisis_id] = event.get("status") == "Exercise"
        elif kind == "crisis.closed":
            self.open_crises.pop(crisis_id, None)
        elif kind in (
            "incident.reported",
            "incident.updated",
            "incident.closed",
            "incident.attached",
        ):
            ref = IncidentRef(crisis_id, event["incident_id"], event.get("status"))
            self.remember(event.get("external_ids", []), ref)

    def overlay(self) -> Overlay:
        """A scratch copy for one input: what it learns is committed only once published."""
        return Overlay(self)


class Overlay(CorrelationIndex):
    """Reads through to its base; keeps its own writes until `commit`."""

    def __init__(self, base: CorrelationIndex) -> None:
        super().__init__()
        self.base = base
        self.open_crises = base.open_crises

    def __len__(self) -> int:
        return len(self.base) + len(self._keys)

    def find(self, keys: Iterable[str]) -> IncidentRef | None:
        """The incident of the first key known here or in the base."""
        keys = list(keys)
        return super().find(keys) or self.base.find(keys)

    def commit(self) -> None:
        """Write what this overlay learnt into its base."""
        for key, ref in self._keys.items():
            self.base.remember([key], ref)
        self._keys.clear()
