"""What an after-action review (RETEX) holds: frozen values, each naming the events it comes from.

Instants stay ISO text as the log gave them: `occurred_at` as the event says (in the world, with
its offset), `recorded_at` as the stream stamped it (when the cell knew). Minutes are floats
rounded to the hundredth, negative when something came before the first report.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Stamped:
    """Where a fact comes from: its event, its position in the log, its two times and its actor."""

    event_id: str
    position: int
    occurred_at: str
    recorded_at: str
    actor: str


def stamp_fields(stamp: Stamped) -> dict[str, Any]:
    """The fields of a stamp, to build a stamped value from it."""
    return {
        "event_id": stamp.event_id,
        "position": stamp.position,
        "occurred_at": stamp.occurred_at,
        "recorded_at": stamp.recorded_at,
        "actor": stamp.actor,
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class Crisis:
    """The crisis reviewed: what it was, whether it was an exercise, when it opened and closed."""

    crisis_id: str
    name: str | None
    kind: str | None
    departement: str | None
    nature: str | None
    exercise: bool
    opened: Stamped | None
    closed: Stamped | None
    closing_summary: str | None
    first_position: int | None
    last_position: int | None
    first_recorded_at: str | None
    last_recorded_at: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MainCouranteLine(Stamped):
    """One main-courante entry, numbered as the picture numbers them."""

    number: int
    entry_id: str
    direction: str
    sender: str
    recipient: str | None
    medium: str
    priority: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyEvent(Stamped):
    """A turning point of the crisis, with a one-line French label."""

    type: str
    label: str
    subject: str | None
    detail: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeline:
    """The main courante and the key events, each in position order."""

    main_courante: tuple[MainCouranteLine, ...]
    key_events: tuple[KeyEvent, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Delay:
    """How long after the first report something happened; None when it did not (or no report).

    `event_ids` are the first report's and the event's own, in that order."""

    key: str
    label: str
    recorded_at: str | None
    minutes: float | None
    event_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class FigurePoint:
    """A bilan figure's overall value from `recorded_at` on, and the event that set it."""

    recorded_at: str
    value: int
    event_id: str
    position: int


@dataclass(frozen=True, slots=True, kw_only=True)
class FigureSeries:
    """How one bilan figure changed; `sources` are the events its final value comes from."""

    name: str
    label: str
    points: tuple[FigurePoint, ...]
    final_value: int
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourcePoint:
    """A service's engaged units and people from `recorded_at` on, and the event that set them."""

    recorded_at: str
    units: int
    personnel: int
    event_id: str
    position: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceSeries:
    """How one service's engaged resources changed."""

    service: str
    label: str
    points: tuple[ResourcePoint, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision(Stamped):
    """A decision, who took it (`taken_by`) and who recorded it (`actor`)."""

    decision_id: str
    text: str
    taken_by: str
    rationale: str | None
    incident_ids: tuple[str, ...]
    minutes_after_first_report: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class KnownGap(Stamped):
    """An incident: when it occurred in the world, when the cell recorded it, the gap between."""

    incident_id: str
    title: str | None
    gap_minutes: float


@dataclass(frozen=True, slots=True, kw_only=True)
class KnownVsHappened:
    """The gaps of every incident, with their median and their largest (and its event)."""

    incidents: tuple[KnownGap, ...]
    median_minutes: float | None
    max_minutes: float | None
    max_event_id: str | None
    event_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Review:
    """The after-action review of one crisis."""

    crisis: Crisis
    timeline: Timeline
    delays: tuple[Delay, ...]
    bilan: tuple[FigureSeries, ...]
    resources: tuple[ServiceSeries, ...]
    decisions: tuple[Decision, ...]
    known_vs_happened: KnownVsHappened

    def to_json(self) -> dict[str, Any]:
        """The review as plain JSON data (dicts, lists, strings, numbers, booleans, None)."""
        plain: dict[str, Any] = _lists(asdict(self))
        return plain


def _lists(value: Any) -> Any:
    """`asdict` keeps tuples as tuples; JSON has only lists."""
    if isinstance(value, dict):
        return {key: _lists(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_lists(item) for item in value]
    return value
