"""The after-action review (RETEX) of a past crisis, from its log records. Pure: no I/O at all.

The events are folded in position order with the picture's own fold, so every figure of the review
is the one the cell saw at that moment, and each names the events it comes from. Delays are
measured on the cell's clock (`recorded_at`) from the first report, the first `incident.reported`
or `incident.attached`; the gap between the world and the cell is `recorded_at - occurred_at`.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from services.picture.fold import BILAN_FIGURES, Picture, fold, new_picture
from services.picture.shape import Fact, ServiceTally
from services.review.model import (
    Crisis,
    Decision,
    Delay,
    FigurePoint,
    FigureSeries,
    KeyEvent,
    KnownGap,
    KnownVsHappened,
    MainCouranteLine,
    ResourcePoint,
    Review,
    ServiceSeries,
    Stamped,
    Timeline,
    stamp_fields,
)
from services.review.timeline import key_event, main_courante_line
from services.sitrep.core import BILAN_LABELS
from services.sitrep.render import SERVICE_LABELS

Event = dict[str, Any]
Entry = tuple[int, str, Event]

FIRST_REPORT_TYPES = ("incident.reported", "incident.attached")
# Measured at their first occurrence: (event type, delay key, French label); the COD before the
# plans, the others after them.
COD_CONVENED = ("cod.convened", "cod_convened", "Réunion du COD")
FIRST_OF = (
    ("comms.public_alert_issued", "first_public_alert", "Première alerte des populations"),
    ("sitrep.issued", "first_sitrep", "Premier point de situation"),
)


def review(crisis_id: str, entries: Iterable[Entry]) -> Review:
    """The review of a crisis from its records: (position, recorded_at, wire event), in order."""
    collector = _Collector(crisis_id)
    for position, recorded_at, event in entries:
        collector.add(position, recorded_at, event)
    return collector.result()


def minutes_between(start: str, end: str) -> float:
    """Minutes from one ISO instant to another, to the hundredth; a naive instant is read as UTC."""
    seconds = (_instant(end) - _instant(start)).total_seconds()
    return round(seconds / 60, 2)


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _stamp(fact: Fact) -> Stamped:
    """A stamp from one of the picture's facts."""
    return Stamped(
        event_id=fact["event_id"],
        position=fact["position"],
        occurred_at=fact["occurred_at"],
        recorded_at=fact["recorded_at"],
        actor=fact["actor"],
    )


class _Collector:
    """What the review needs, gathered while the events are folded one by one."""

    def __init__(self, crisis_id: str) -> None:
        self.picture: Picture = new_picture(crisis_id)
        self.first: Stamped | None = None
        self.last: Stamped | None = None
        self.first_report: Stamped | None = None
        self.firsts: dict[str, Stamped] = {}
        self.lines: list[MainCouranteLine] = []
        self.key_events: list[KeyEvent] = []
        self.decisions: list[tuple[Stamped, Event]] = []
        self.reports: dict[str, tuple[Stamped, Event]] = {}
        self.plans = _Plans()
        self.figures: dict[str, list[FigurePoint]] = {}
        self.engaged = _Engaged()

    def add(self, position: int, recorded_at: str, event: Event) -> None:
        """Fold one record and note what it tells the review."""
        if position <= self.picture["position"]:
            return  # the fold leaves it out too: a position already folded
        fold(self.picture, event, position, recorded_at)
        stamp = Stamped(
            event_id=str(event["event_id"]),
            position=position,
            occurred_at=event["occurred_at"],
            recorded_at=recorded_at,
            actor=event["actor"],
        )
        self.first = self.first or stamp
        self.last = stamp
        self._note(event, stamp)
        self._track_figures(stamp)
        self.engaged.track(self.picture["engaged_by_service"], stamp)

    def _note(self, event: Event, stamp: Stamped) -> None:
        kind = event["type"]
        if kind == "maincourante.entry_recorded":
            number = self.picture["main_courante"]["count"]
            self.lines.append(main_courante_line(event, stamp, number))
        told = key_event(event, stamp)
        if told is not None:
            self.key_events.append(told)
        if kind in FIRST_REPORT_TYPES and self.first_report is None:
            self.first_report = stamp
        if kind == "incident.reported":
            self.reports.setdefault(event["incident_id"], (stamp, event))
        elif kind == "decision.taken":
            self.decisions.append((stamp, event))
        elif kind.startswith("plan."):
            self.plans.note(event, stamp)
        self.firsts.setdefault(kind, stamp)

    def _track_figures(self, stamp: Stamped) -> None:
        """A point for each overall figure whose value this event changed."""
        for name, figure in self.picture["bilan"].items():
            points = self.figures.setdefault(name, [])
            if not points or points[-1].value != figure["value"]:
                points.append(
                    FigurePoint(
                        recorded_at=stamp.recorded_at,
                        value=figure["value"],
                        event_id=stamp.event_id,
                        position=stamp.position,
                    )
                )

    def result(self) -> Review:
        """The review of what was folded."""
        return Review(
            crisis=self._crisis(),
            timeline=Timeline(main_courante=tuple(self.lines), key_events=tuple(self.key_events)),
            delays=self._delays(),
            bilan=self._bilan(),
            resources=self.engaged.series(),
            decisions=tuple(self._decision(stamp, event) for stamp, event in self.decisions),
            known_vs_happened=self._known_vs_happened(),
        )

    def _crisis(self) -> Crisis:
        p = self.picture
        return Crisis(
            crisis_id=p["crisis_id"],
            name=p["name"],
            kind=p["kind"],
            departement=p["departement"],
            nature=p["nature"],
            exercise=bool(p["exercise"]),
            opened=_stamp(p["opened"]) if p["opened"] else None,
            closed=_stamp(p["closed"]) if p["closed"] else None,
            closing_summary=p["closed"].get("summary") if p["closed"] else None,
            first_position=self.first.position if self.first else None,
            last_position=self.last.position if self.last else None,
            first_recorded_at=self.first.recorded_at if self.first else None,
            last_recorded_at=self.last.recorded_at if self.last else None,
        )

    def _delays(self) -> tuple[Delay, ...]:
        first = self.first_report
        delays = [
            Delay(
                key="first_report",
                label="Premier signalement",
                recorded_at=first.recorded_at if first else None,
                minutes=0.0 if first else None,
                event_ids=(first.event_id,) if first else (),
            )
        ]
        kind, key, label = COD_CONVENED
        delays.append(delay(key, label, first, self.firsts.get(kind)))
        delays += self.plans.delays(first)
        delays += [delay(key, label, first, self.firsts.get(kind)) for kind, key, label in FIRST_OF]
        return tuple(delays)

    def _bilan(self) -> tuple[FigureSeries, ...]:
        known = [name for name in BILAN_FIGURES if name in self.figures]
        others = sorted(set(self.figures) - set(BILAN_FIGURES))
        series = []
        for name in known + others:
            figure = self.picture["bilan"][name]
            series.append(
                FigureSeries(
                    name=name,
                    label=BILAN_LABELS.get(name, name),
                    points=tuple(self.figures[name]),
                    final_value=figure["value"],
                    sources=tuple(sorted({str(e) for e in figure["events"].values()})),
                )
            )
        return tuple(series)

    def _decision(self, stamp: Stamped, event: Event) -> Decision:
        first = self.first_report
        return Decision(
            **stamp_fields(stamp),
            decision_id=event["decision_id"],
            text=event["text"],
            taken_by=event["taken_by"],
            rationale=event.get("rationale"),
            incident_ids=tuple(event.get("incident_ids", [])),
            minutes_after_first_report=(
                minutes_between(first.recorded_at, stamp.recorded_at) if first else None
            ),
        )

    def _known_vs_happened(self) -> KnownVsHappened:
        gaps = tuple(
            KnownGap(
                **stamp_fields(stamp),
                incident_id=incident_id,
                title=event.get("title"),
                gap_minutes=minutes_between(stamp.occurred_at, stamp.recorded_at),
            )
            for incident_id, (stamp, event) in self.reports.items()
        )
        if not gaps:
            return KnownVsHappened(
                incidents=(), median_minutes=None, max_minutes=None, max_event_id=None, event_ids=()
            )
        largest = max(gaps, key=lambda gap: gap.gap_minutes)  # the first of equals
        return KnownVsHappened(
            incidents=gaps,
            median_minutes=round(statistics.median(g.gap_minutes for g in gaps), 2),
            max_minutes=largest.gap_minutes,
            max_event_id=largest.event_id,
            event_ids=tuple(gap.event_id for gap in gaps),
        )


def delay(key: str, label: str, first_report: Stamped | None, stamp: Stamped | None) -> Delay:
    """The delay from the first report to `stamp`; None minutes when either is missing."""
    if stamp is None:
        return Delay(key=key, label=label, recorded_at=None, minutes=None, event_ids=())
    if first_report is None:
        return Delay(
            key=key,
            label=label,
            recorded_at=stamp.recorded_at,
            minutes=None,
            event_ids=(stamp.event_id,),
        )
    return Delay(
        key=key,
        label=label,
        recorded_at=stamp.recorded_at,
        minutes=minutes_between(first_report.recorded_at, stamp.recorded_at),
        event_ids=(first_report.event_id, stamp.event_id),
    )


class _Plans:
    """Each plan's proposals and first activation, in the order the plans appeared."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.proposals: dict[str, list[Stamped]] = {}
        self.activations: dict[str, tuple[Stamped, str | None]] = {}

    def note(self, event: Event, stamp: Stamped) -> None:
        """Keep a plan event's name, proposal or first activation."""
        code = event["plan_code"]
        self.names[code] = event.get("plan_name") or self.names.get(code) or code
        if event["type"] == "plan.activation_proposed":
            self.proposals.setdefault(code, []).append(stamp)
        elif event["type"] == "plan.activated" and code not in self.activations:
            proposal_id = event.get("proposal_event_id")
            self.activations[code] = (stamp, None if proposal_id is None else str(proposal_id))

    def delays(self, first_report: Stamped | None) -> list[Delay]:
        """Proposal and activation delays of each plan proposed or activated."""
        delays = []
        for code, name in self.names.items():
            activation = self.activations.get(code)
            proposal = self._proposal_of(code, activation)
            if proposal is None and activation is None:
                continue  # only ever deactivated: nothing to measure
            activated = activation[0] if activation else None
            delays.append(
                delay(f"plan_proposed:{code}", f"Proposition : {name}", first_report, proposal)
            )
            delays.append(
                delay(f"plan_activated:{code}", f"Activation : {name}", first_report, activated)
            )
        return delays

    def _proposal_of(
        self, code: str, activation: tuple[Stamped, str | None] | None
    ) -> Stamped | None:
        """The proposal an activation answered: the one it names, else the last before it; for a
        plan never activated, its first proposal."""
        proposals = self.proposals.get(code, [])
        if activation is None:
            return proposals[0] if proposals else None
        stamp, proposal_id = activation
        named = [p for p in proposals if p.event_id == proposal_id]
        earlier = [p for p in proposals if p.position < stamp.position]
        found = named or earlier
        return found[-1] if found else None


class _Engaged:
    """Each service's engaged units and people, a point whenever they changed."""

    def __init__(self) -> None:
        self.points: dict[str, list[ResourcePoint]] = {}
        self.now: dict[str, tuple[int, int]] = {}

    def track(self, by_service: Mapping[str, ServiceTally], stamp: Stamped) -> None:
        """A point for each service whose tally this event changed (to 0, 0 when all left)."""
        current = {name: (t["units"], t["personnel"]) for name, t in by_service.items()}
        if current == self.now:
            return
        for service in sorted(current.keys() | self.now.keys()):
            units, personnel = current.get(service, (0, 0))
            if self.now.get(service, (0, 0)) != (units, personnel):
                self.points.setdefault(service, []).append(
                    ResourcePoint(
                        recorded_at=stamp.recorded_at,
                        units=units,
                        personnel=personnel,
                        event_id=stamp.event_id,
                        position=stamp.position,
                    )
                )
        self.now = current

    def series(self) -> tuple[ServiceSeries, ...]:
        """The series, services in the usual order (SDIS first), unknown ones after, sorted."""
        order = [s for s in SERVICE_LABELS if s in self.points]
        order += sorted(set(self.points) - set(SERVICE_LABELS))
        return tuple(
            ServiceSeries(
                service=service,
                label=SERVICE_LABELS.get(service, service),
                points=tuple(self.points[service]),
            )
            for service in order
        )
