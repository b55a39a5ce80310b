"""Which incident an input is about, and which crisis it goes to.

Correlation rules (docs/intake.md):

1. A CAP alert is known by its sender and identifier (`cap:<sender>,<identifier>`). The same alert
   received twice, or through two feeds (an Atom feed and an EDXL-DE envelope, say), is one
   alert: the second copy adds nothing. Event ids are derived from that identity, so even two
   intake processes publish the same ids and JetStream and the log keep one.
2. An Update or a Cancel amends the incident of the alerts it names in `<references>`. A Cancel
   of alerts not received yet is recorded in the main courante with `cancels:<key>` ids; an
   alert it names that arrives later is reported and closed at once.
3. Alerts from one sender naming the same `<incidents>` value are about one incident.
4. A GeoJSON feature is known by its feed and its `id`; the project's own events carry theirs.
5. The resources engaged on an incident are known from its `resource.engaged` and
   `resource.released` events, so that a message re-sending a whole resource list (a CISU RC-RI)
   is turned into what changed.

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
from schemas.values import GeoPoint


@dataclass(frozen=True, slots=True)
class Engaged:
    """A resource engaged on an incident, as its `resource.engaged` event said."""

    resource_id: str
    service: str
    units: int
    personnel: int
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Cancelled:
    """A CAP Cancel received before the alert it withdraws: where it was recorded, and why."""

    cancel_key: str
    crisis_id: str
    entry_id: str
    text: str


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
        # Alert key -> the entry recording the Cancel that withdrew it before it came.
        self._cancelled: dict[str, Cancelled] = {}
        # Incident id -> the point of its location, as last reported (resources far from it warn).
        self._places: dict[str, GeoPoint] = {}
        # Incident id -> resource id -> the resource engaged; None: released (in an overlay).
        self._engaged: dict[str, dict[str, Engaged | None]] = {}

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

    def place_of(self, incident_id: str) -> GeoPoint | None:
        """The point of the incident's location, as last reported, if it had one."""
        return self._places.get(incident_id)

    def cancelled(self, keys: Iterable[str]) -> Cancelled | None:
        """The Cancel that withdrew one of the alerts `keys` before it came, if any."""
        for key in keys:
            if (found := self._cancelled.get(key)) is not None:
                return found
        return None

    def cancel(self, key: str, cancelled: Cancelled) -> None:
        """Record that the alert `key` was withdrawn before it came."""
        self._cancelled[key] = cancelled

    def engaged(self, incident_id: str) -> dict[str, Engaged]:
        """The resources engaged on `incident_id` and not released, by resource id."""
        known = self._engaged.get(incident_id, {})
        return {key: value for key, value in known.items() if value is not None}

    def engage(self, incident_id: str, resource: Engaged) -> None:
        """Record that `resource` is engaged on `incident_id`."""
        self._engaged.setdefault(incident_id, {})[resource.resource_id] = resource

    def release(self, incident_id: str, resource_id: str) -> None:
        """Record that `resource_id` no longer works on `incident_id`."""
        self._engaged.get(incident_id, {}).pop(resource_id, None)

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
            point = (event.get("location") or {}).get("point")
            if point:
                self._places[event["incident_id"]] = GeoPoint(lat=point["lat"], lon=point["lon"])
        elif kind == "maincourante.entry_recorded":
            ids = event.get("external_ids") or []
            withdrawn = [key.removeprefix("cancels:") for key in ids if key.startswith("cancels:")]
            by = next((key for key in ids if not key.startswith("cancels:")), "")
            for key in withdrawn:
                self.cancel(key, Cancelled(by, crisis_id, event["entry_id"], event["text"]))
        elif kind == "resource.engaged" and event.get("incident_id"):
            self.engage(
                event["incident_id"],
                Engaged(
                    event["resource_id"],
                    event["service"],
                    event["units"],
                    event["personnel"],
                    event.get("description"),
                ),
            )
        elif kind == "resource.released" and event.get("incident_id"):
            self.release(event["incident_id"], event["resource_id"])

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

    def place_of(self, incident_id: str) -> GeoPoint | None:
        """Where the incident is, as learnt here or in the base."""
        return super().place_of(incident_id) or self.base.place_of(incident_id)

    def cancelled(self, keys: Iterable[str]) -> Cancelled | None:
        """The Cancel known here or in the base that withdrew one of `keys`."""
        keys = list(keys)
        return super().cancelled(keys) or self.base.cancelled(keys)

    def engaged(self, incident_id: str) -> dict[str, Engaged]:
        """The resources engaged on `incident_id`, as the base knows them with this overlay's
        own engagements and releases on top."""
        known: dict[str, Engaged | None] = {
            **self.base.engaged(incident_id),
            **self._engaged.get(incident_id, {}),
        }
        return {key: value for key, value in known.items() if value is not None}

    def release(self, incident_id: str, resource_id: str) -> None:
        """Record the release here, to be written into the base on `commit`."""
        self._engaged.setdefault(incident_id, {})[resource_id] = None

    def commit(self) -> None:
        """Write what this overlay learnt into its base."""
        for key, ref in self._keys.items():
            self.base.remember([key], ref)
        self._keys.clear()
        for key, cancelled in self._cancelled.items():
            self.base.cancel(key, cancelled)
        self._cancelled.clear()
        self.base._places.update(self._places)
        self._places.clear()
        for incident_id, changes in self._engaged.items():
            for resource_id, resource in changes.items():
                if resource is None:
                    self.base.release(incident_id, resource_id)
                else:
                    self.base.engage(incident_id, resource)
        self._engaged.clear()
