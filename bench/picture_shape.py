"""The picture's shape, measured: plain dicts typed by TypedDicts, or frozen dataclasses.

The picture is declared with TypedDicts (`services/picture/shape.py`): at run time it stays the
plain dicts the fold always built. The other choice was frozen dataclasses, a new value for each
change (`dataclasses.replace`). This folds one long crisis (`long_crisis.py`, BENCH_SHAPE_EVENTS
events, default 150,000) in this process:

1. the real fold (`fold.fold`), every event;
2. the real fold, the events of its four hottest types only (incident reported and updated,
   bilan assessed, main-courante entry: nearly nine events in ten of a long crisis);
3. a frozen-dataclass variant of those four handlers, on the same events: each record (fact,
   incident, figure, sum, entry, the main courante and the picture itself) a frozen, slotted
   dataclass replaced on change; the maps of incidents, figures and follow-ups are the picture's
   own and changed in place (copying them at each event would make the fold quadratic);

and then `orjson.dumps` of the two pictures (orjson encodes dataclasses itself). Best of RUNS
runs each, the events made before the clock starts; the two variants are checked to agree.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import orjson

from bench.clock import now
from bench.long_crisis import LongCrisis
from bench.procs import BenchError
from bench.report import Reporter, Row, failure
from services.picture import fold as dict_fold

EVENTS = 150_000
LEAST_EVENTS = 10_000
RUNS = 3
CRISIS = "bench-shape"
HOT = (
    "incident.reported",
    "incident.updated",
    "bilan.assessed",
    "maincourante.entry_recorded",
)
ALL = "picture shape: fold.fold (dicts, TypedDicts), every event"
DICTS = "picture shape: fold.fold (dicts, TypedDicts), the 4 hottest types"
FROZEN = "picture shape: frozen dataclasses + dataclasses.replace, the 4 hottest types"

# As in the fold: the fields an update may change, and how many contributing events a figure
# copies before it shares its sum's map.
INCIDENT_FIELDS = ("kind", "severity", "title", "description", "location")
INLINE_EVENTS = 64

Delivery = tuple[dict[str, Any], int, str]
T = TypeVar("T")


def event_count() -> int:
    """BENCH_SHAPE_EVENTS, or the default."""
    given = os.environ.get("BENCH_SHAPE_EVENTS", "").replace("_", "").replace(",", "").strip()
    count = int(given) if given else EVENTS
    if count < LEAST_EVENTS:
        raise SystemExit(f"BENCH_SHAPE_EVENTS must be at least {LEAST_EVENTS}")
    return count


# -- the frozen-dataclass variant ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fact:
    event_id: str
    occurred_at: str
    recorded_at: str
    position: int
    actor: str


@dataclass(frozen=True, slots=True)
class Assessed:
    value: int
    source_of_figures: str
    fact: Fact


@dataclass(frozen=True, slots=True)
class Incident:
    incident_id: str
    updated: Fact
    kind: str | None = None
    severity: str | None = None
    title: str | None = None
    description: str | None = None
    location: dict[str, Any] | None = None
    sources: tuple[str, ...] = ()
    external_ids: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    expires_at: str | None = None
    other_languages: tuple[dict[str, Any], ...] = ()
    attachments: tuple[dict[str, Any], ...] = ()
    signed: bool = False
    status: str = "Actual"
    state: str = "open"
    reported: Fact | None = None
    note: str | None = None
    bilan: dict[str, Assessed] = field(default_factory=dict)  # replaced, never changed


@dataclass(frozen=True, slots=True)
class Figure:
    value: int
    basis: str
    events: dict[str, str]
    recorded_at: str


@dataclass(frozen=True, slots=True)
class Sum:
    total: int
    values: dict[str, int]  # changed in place: O(1) per assessment, as in the fold
    events: dict[str, str]


@dataclass(frozen=True, slots=True)
class Entry:
    number: int
    entry_id: str
    direction: str
    sender: str
    recipient: str | None
    medium: str
    priority: str
    text: str
    follow_up_owner: str | None
    follow_up_due: str | None
    corrects_entry_id: str | None
    fact: Fact


@dataclass(frozen=True, slots=True)
class FollowUp:
    entry_id: str
    number: int
    owner: str
    due: str | None
    text: str
    fact: Fact


@dataclass(frozen=True, slots=True)
class Journal:
    count: int = 0
    latest: tuple[Entry, ...] = ()


@dataclass(frozen=True, slots=True)
class Picture:
    crisis_id: str
    incidents: dict[str, Incident] = field(default_factory=dict)
    bilan: dict[str, Figure] = field(default_factory=dict)
    crisis_wide_bilan: dict[str, Assessed] = field(default_factory=dict)
    sums: dict[str, Sum] = field(default_factory=dict)
    follow_ups: dict[str, FollowUp] = field(default_factory=dict)
    main_courante: Journal = Journal()
    first_report: Fact | None = None
    exercise: bool = False
    events: int = 0
    position: int = 0
    recorded_at: str | None = None


def _added(values: tuple[str, ...], more: Sequence[str]) -> tuple[str, ...]:
    return values + tuple(v for v in more if v not in values)


def _incident(p: Picture, e: dict[str, Any], fact: Fact) -> Incident:
    found = p.incidents.get(e["incident_id"])
    if found is None:
        found = p.incidents[e["incident_id"]] = Incident(e["incident_id"], updated=fact)
    return found


# Each handler returns what changes in the picture itself: one `replace` of it per event.
Changes = dict[str, Any]


def _reported(p: Picture, e: dict[str, Any], fact: Fact) -> Changes:
    known = p.incidents.get(e["incident_id"])
    p.incidents[e["incident_id"]] = Incident(
        e["incident_id"],
        updated=fact,
        kind=e.get("kind"),
        severity=e.get("severity"),
        title=e.get("title"),
        description=e.get("description"),
        location=e.get("location"),
        sources=_added(known.sources if known else (), e.get("sources", [])),
        external_ids=_added(tuple(e.get("external_ids", [])), known.external_ids if known else ()),
        warnings=_added(tuple(e.get("warnings", [])), known.warnings if known else ()),
        expires_at=e.get("expires_at"),
        other_languages=tuple(e.get("other_languages", [])),
        attachments=tuple(e.get("attachments", [])),
        signed=e.get("signed", False),
        status=e.get("status", "Actual"),
        state=known.state if known else "open",
        reported=fact,
        bilan=known.bilan if known else {},
    )
    return {"first_report": fact} if p.first_report is None else {}


def _updated(p: Picture, e: dict[str, Any], fact: Fact) -> Changes:
    incident = _incident(p, e, fact)
    changed = {name: e[name] for name in INCIDENT_FIELDS if e.get(name) is not None}
    p.incidents[e["incident_id"]] = replace(
        incident,
        **changed,
        sources=_added(incident.sources, e.get("sources", [])),
        external_ids=_added(incident.external_ids, e.get("external_ids", [])),
        warnings=_added(incident.warnings, e.get("warnings", [])),
        attachments=incident.attachments + tuple(e.get("attachments", [])),
        expires_at=e.get("expires_at") or incident.expires_at,
        updated=fact,
        note=e.get("note"),
    )
    return {}


def _assessed(p: Picture, e: dict[str, Any], fact: Fact) -> Changes:
    source, incident_id = e["source_of_figures"], e.get("incident_id")
    assessed = {
        name: Assessed(value, source, fact)
        for name, value in e["figures"].items()
        if value is not None
    }
    if not incident_id:
        p.crisis_wide_bilan.update(assessed)
        for name, a in assessed.items():
            p.bilan[name] = Figure(
                a.value, "crisis_wide", {"crisis": fact.event_id}, fact.recorded_at
            )
        return {}
    incident = _incident(p, e, fact)
    incident = p.incidents[incident_id] = replace(incident, bilan={**incident.bilan, **assessed})
    if incident.state in dict_fold.NOT_COUNTED:
        return {}
    for name, a in assessed.items():
        s = p.sums.get(name) or Sum(0, {}, {})
        total = s.total + a.value - s.values.pop(incident_id, 0)
        s.events.pop(incident_id, None)
        s.values[incident_id], s.events[incident_id] = a.value, fact.event_id
        p.sums[name] = replace(s, total=total)
        events = dict(s.events) if len(s.events) <= INLINE_EVENTS else s.events
        p.bilan[name] = Figure(total, "sum_of_incidents", events, fact.recorded_at)
    return {}


def _entry(p: Picture, e: dict[str, Any], fact: Fact) -> Changes:
    journal = p.main_courante
    number = journal.count + 1
    entry = Entry(
        number,
        e["entry_id"],
        e["direction"],
        e["sender"],
        e.get("recipient"),
        e["medium"],
        e["priority"],
        e["text"],
        e.get("follow_up_owner"),
        e.get("follow_up_due"),
        e.get("corrects_entry_id"),
        fact,
    )
    if e.get("follow_up_owner"):
        p.follow_ups[e["entry_id"]] = FollowUp(
            e["entry_id"],
            number,
            e["follow_up_owner"],
            e.get("follow_up_due"),
            e["text"][:120],
            fact,
        )
    latest = (*journal.latest[-(dict_fold.LATEST_ENTRIES - 1) :], entry)
    return {"main_courante": Journal(number, latest)}


HANDLERS: dict[str, Callable[[Picture, dict[str, Any], Fact], Changes]] = {
    "incident.reported": _reported,
    "incident.updated": _updated,
    "bilan.assessed": _assessed,
    "maincourante.entry_recorded": _entry,
}


def frozen_fold(p: Picture, e: dict[str, Any], position: int, recorded_at: str) -> Picture:
    """`fold.fold`, on the frozen-dataclass picture."""
    if position <= p.position:
        return p
    fact = Fact(e["event_id"], e["occurred_at"], recorded_at, position, e["actor"])
    handler = HANDLERS.get(e["type"])
    changes = handler(p, e, fact) if handler is not None else {}
    return replace(
        p,
        **changes,
        exercise=p.exercise or e.get("status") == "Exercise",
        events=p.events + 1,
        position=position,
        recorded_at=recorded_at,
    )


# -- the measurements ------------------------------------------------------------------------------


def deliveries(count: int) -> list[Delivery]:
    """The long crisis' events as the fold takes them: (wire dict, position, recorded_at)."""
    crisis = LongCrisis(CRISIS, count)
    made = []
    for position in range(1, count + 1):
        _, data = crisis.wire(position)
        wire = orjson.loads(orjson.dumps(data))  # as read from the log: JSON values only
        made.append((wire, position, crisis.recorded_at(position).isoformat()))
    return made


def _best(folding: Callable[[], T]) -> tuple[float, T]:
    """The fastest of RUNS runs, and what the last one built."""
    seconds = []
    for _ in range(RUNS):
        gc.collect()
        started = now()
        built = folding()
        seconds.append(now() - started)
    return min(seconds), built


def _with_dicts(events: Sequence[Delivery]) -> dict_fold.Picture:
    picture = dict_fold.new_picture(CRISIS)
    for wire, position, recorded_at in events:
        dict_fold.fold(picture, wire, position, recorded_at)
    return picture


def _with_dataclasses(events: Sequence[Delivery]) -> Picture:
    picture = Picture(CRISIS)
    for wire, position, recorded_at in events:
        picture = frozen_fold(picture, wire, position, recorded_at)
    return picture


def _agree(dicts: dict_fold.Picture, frozen: Picture) -> None:
    """The two pictures say the same: else the comparison means nothing."""
    said = {
        "bilan": (
            {n: f["value"] for n, f in dicts["bilan"].items()},
            {n: f.value for n, f in frozen.bilan.items()},
        ),
        "incidents": (
            {
                i: (x["severity"], x["state"], tuple(x["sources"]))
                for i, x in dicts["incidents"].items()
            },
            {i: (x.severity, x.state, x.sources) for i, x in frozen.incidents.items()},
        ),
        "entries": (
            [e["entry_id"] for e in dicts["main_courante"]["latest"]],
            [e.entry_id for e in frozen.main_courante.latest],
        ),
        "follow-ups": (sorted(dicts.get("follow_ups", {})), sorted(frozen.follow_ups)),
        "events": (dicts["events"], frozen.events),
    }
    differ = [name for name, (a, b) in said.items() if a != b]
    if differ:
        raise BenchError(f"the dataclass variant disagrees with the fold on {', '.join(differ)}")


def _us(seconds: float, events: int) -> str:
    return f"{seconds / events * 1e6:,.2f} µs/event"


def _encoded(picture: object) -> tuple[float, int]:
    seconds, encoded = _best(lambda: orjson.dumps(picture))
    return seconds, len(encoded)


def measure(count: int, reporter: Reporter) -> list[Row]:
    """The three folds and the two encodings, in this process."""
    with reporter.step(f"picture shape: {count:,} events of one long crisis made"):
        every = deliveries(count)
    hot = [d for d in every if d[0]["type"] in HOT]
    with reporter.step(f"{ALL} x {RUNS}"):
        all_s, _ = _best(lambda: _with_dicts(every))
    with reporter.step(f"{DICTS} x {RUNS}"):
        dicts_s, dicts = _best(lambda: _with_dicts(hot))
    with reporter.step(f"{FROZEN} x {RUNS}"):
        frozen_s, frozen = _best(lambda: _with_dataclasses(hot))
    _agree(dicts, frozen)
    dumps_dicts, size_dicts = _encoded(dicts)
    dumps_frozen, size_frozen = _encoded(frozen)
    share = f"{len(hot) / len(every):.0%} of the events"
    return [
        Row(ALL, "in memory", len(every), all_s, f"{_us(all_s, len(every))}; best of {RUNS}"),
        Row(
            DICTS,
            "in memory",
            len(hot),
            dicts_s,
            f"{_us(dicts_s, len(hot))} ({share}); best of {RUNS}; orjson.dumps of the picture "
            f"{dumps_dicts * 1000:,.1f} ms ({size_dicts:,} bytes)",
        ),
        Row(
            FROZEN,
            "in memory",
            len(hot),
            frozen_s,
            f"{_us(frozen_s, len(hot))}, {frozen_s / dicts_s:.2f}x the dicts' time; best of "
            f"{RUNS}; orjson.dumps of the picture {dumps_frozen * 1000:,.1f} ms "
            f"({size_frozen:,} bytes, {dumps_frozen / dumps_dicts:.2f}x)",
            ratio=frozen_s / dicts_s,
        ),
    ]


async def run(count: int, *, reporter: Reporter) -> dict[str, Any]:
    """The picture's two shapes folded and encoded; a failure becomes a row."""
    try:
        rows = measure(count, reporter)
    except Exception as exc:  # noqa: BLE001
        rows = [failure("picture shape", "in memory", exc)]
    for row in rows:
        reporter.result(row)
    return {
        "rows": rows,
        "remarks": [
            f"**picture shape**: one long crisis (`long_crisis.py`) of {count:,} events made "
            "before the clock starts, folded in this process, best of "
            f"{RUNS} runs each; the hottest types are {', '.join(HOT)}. The frozen-dataclass "
            "variant (`picture_shape.py`) replaces each record it changes and the picture at "
            "each event (`dataclasses.replace`), keeping the maps of incidents, figures and "
            "follow-ups in place; it is checked to give the same figures, incidents, entries "
            "and follow-ups as the fold. Its ratio is its time over the dicts' on the same events.",
        ],
    }
