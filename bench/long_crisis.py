"""One long crisis, as the picture benchmark folds it: a realistic mix of every kind of event.

A storm crisis as the cell lives it: opened, COD convened, vigilance and plans, then mostly
main-courante entries, with incidents reported (a few hundred to a few thousand) and updated,
bilans assessed on incidents and crisis-wide, resources requested, engaged and released, tasks,
decisions and situation reports. Reproducible from a seed, and cheap to generate a million of:
each kind is validated once as a template (in the wire form `publish_event` sends, null fields
included), then varied as a dict; the recorder's own `decode_delivery` validates every one.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from bench.procs import BenchError, die_with_parent
from bench.workload import LOCATION, MEDIA, PRIORITIES, ROADS, SEED, SENDERS, SEVERITIES
from schemas import subjects
from schemas.envelope import Envelope
from schemas.ids import event_id_at
from schemas.wire import REGISTRY, encode
from services.eventlog.core import (
    ChainHead,
    Decoded,
    Delivery,
    LogRecord,
    chain,
    decode_delivery,
)

START = datetime(2020, 10, 2, 12, 32, tzinfo=UTC)
# Stream time between two events: a million events span about a week, as a long storm crisis.
STEP_MS = 600
# A follow-up asked for in the main courante is reported done by its owner, as in a real one:
# most within hours, a few never (forgotten, or still open when the crisis ends). Stream time
# between the entry and its follow-up done, at least and at most, in events; the share never done.
FOLLOW_UP_DELAY = (1_500, 48_000)  # 15 min to 8 h at STEP_MS
FOLLOW_UP_NEVER_DONE = 0.05
# How many incidents, resources, tasks and decisions the crisis has: (events per one, least, most).
# Once a crisis has its share, requests and assignments name one it already has (re-tasking).
SCALE: dict[str, tuple[int, int, int]] = {
    "incident": (500, 300, 3000),
    "resource": (500, 200, 2000),
    "task": (250, 300, 5000),
    "decision": (1000, 100, 2000),
}
# Per mille of the events after the opening ones; incident reports come on top, spread evenly.
MIX: dict[str, float] = {
    "maincourante.entry_recorded": 720,
    "incident.updated": 60,
    "bilan.assessed": 70,
    "bilan.assessed/crisis": 5,
    "resource.requested": 25,
    "resource.engaged": 22,
    "resource.released": 14,
    "task.assigned": 20,
    "task.completed": 14,
    "decision.taken": 10,
    "incident.closed": 4,
    "incident.merged": 0.5,
    "vigilance.changed": 1,
    "plan.activation_proposed": 0.5,
    "plan.activated": 0.5,
    "plan.deactivated": 0.2,
    "sitrep.issued": 0.5,
}
PLANS = (
    ("orsec-inondation", "ORSEC inondation", "dispositions_specifiques"),
    ("orsec-novi", "ORSEC NOVI", "dispositions_specifiques"),
    ("orsec-hebergement", "ORSEC hébergement", "dispositions_generales"),
    ("orsec-rtn", "ORSEC rétablissement des réseaux", "dispositions_specifiques"),
)
PHENOMENA = ("pluie_inondation", "inondation", "orages", "vent_violent")
COLOURS = ("jaune", "orange", "rouge")
SERVICES = ("sdis", "samu_smur", "gendarmerie", "police", "aasc", "renforts", "collectivite")
INCIDENT_KINDS = ("inondation", "mouvement_de_terrain", "panne_de_reseaux", "accident_routier")
COMMUNES = ("Saint-Martin-Vésubie", "Breil-sur-Roya", "Tende", "Roquebillière", "Lantosque")
FIGURES = ("decedes", "disparus", "evacues", "heberges", "foyers_sans_electricite")

_BASE: dict[str, Any] = {"source": "console", "actor": "op.dupont"}
_TEMPLATES: dict[str, dict[str, Any]] = {
    "crisis.opened": {
        "name": "Tempête Alex",
        "kind": "crise",
        "departement": "06",
        "nature": "inondation",
        "description": "Crues torrentielles de la Vésubie et de la Roya.",
    },
    "cod.convened": {
        "location": "Préfecture des Alpes-Maritimes, salle COD",
        "services_present": ["SDIS 06", "DDSP", "Gendarmerie", "DDTM", "ARS"],
        "convened_by": "Directeur de cabinet",
    },
    "incident.reported": {
        "incident_id": "inc-00000",
        "kind": "inondation",
        "severity": "extreme",
        "title": "Crue de la Vésubie",
        "location": LOCATION,
        "sources": ["Vigicrues", "CTA-CODIS 06"],
        "external_ids": ["urn:oid:2.49.0.1.250.0.2020.10.02.1"],
        "warnings": ["<expires> missing"],
    },
    "incident.updated": {"incident_id": "inc-00000", "severity": "severe", "note": "Évolution."},
    "incident.closed": {"incident_id": "inc-00000", "reason": "Situation stabilisée."},
    "incident.merged": {
        "incident_id": "inc-00000",
        "merged_ids": ["inc-00001"],
        "reason": "Même événement signalé deux fois.",
    },
    "bilan.assessed": {
        "incident_id": "inc-00000",
        "figures": {"decedes": 0, "disparus": 1},
        "source_of_figures": "SDIS 06",
    },
    "resource.requested": {
        "resource_id": "res-00000",
        "service": "sdis",
        "units": 4,
        "personnel": 16,
        "description": "Colonne de renfort feux de forêt",
        "requested_from": "COZ Sud",
    },
    "resource.engaged": {
        "resource_id": "res-00000",
        "service": "sdis",
        "units": 4,
        "personnel": 16,
        "incident_id": "inc-00000",
        "mission": "Reconnaissance et sauvetage",
    },
    "resource.released": {
        "resource_id": "res-00000",
        "service": "sdis",
        "units": 4,
        "personnel": 16,
        "reason": "Mission terminée",
    },
    "maincourante.entry_recorded": {
        "entry_id": "mc-0000000",
        "direction": "received",
        "sender": "CODIS 06",
        "medium": "telephone",
        "priority": "urgent",
        "text": "RD 2565 coupée au pont de Saint-Martin-Vésubie.",
        "follow_up_owner": "Cellule moyens",
        "follow_up_due": START + timedelta(hours=4),
    },
    "decision.taken": {
        "decision_id": "dec-00000",
        "text": "Fermeture des écoles de la vallée.",
        "taken_by": "Directeur de cabinet",
        "rationale": "Routes coupées, transports scolaires impossibles.",
        "incident_ids": ["inc-00000"],
    },
    "task.assigned": {
        "task_id": "task-00000",
        "title": "Ouvrir un centre d'hébergement",
        "assignee": "Mairie de Lantosque",
        "due_at": START + timedelta(hours=4),
        "decision_id": "dec-00000",
    },
    "task.completed": {"task_id": "task-00000", "outcome": "Fait."},
    "maincourante.follow_up_done": {"entry_id": "mc-0000000", "outcome": "Rappel effectué."},
    "plan.activation_proposed": {
        "plan_code": "orsec-inondation",
        "plan_name": "ORSEC inondation",
        "category": "dispositions_specifiques",
        "rule": "inondation-extreme",
        "reason": "Crue extrême en cours.",
        "incident_ids": ["inc-00000"],
    },
    "plan.activated": {
        "plan_code": "orsec-inondation",
        "plan_name": "ORSEC inondation",
        "category": "dispositions_specifiques",
        "decided_by": "Préfet des Alpes-Maritimes",
        "decided_at": START,
    },
    "plan.deactivated": {
        "plan_code": "orsec-inondation",
        "decided_by": "Préfet des Alpes-Maritimes",
        "decided_at": START,
        "reason": "Fin de la phase d'urgence.",
    },
    "vigilance.changed": {
        "departement": "06",
        "phenomenon": "pluie_inondation",
        "colour": "rouge",
        "valid_from": START,
        "valid_until": START + timedelta(hours=24),
        "bulletin_ref": "Bulletin du 02/10/2020 06h00",
    },
    "sitrep.issued": {
        "number": 1,
        "as_of_position": 1,
        "summary": "Crue extrême, routes coupées, recherches en cours.",
        "bilan": {"disparus": 8, "evacues": 120},
        "active_plans": ["orsec-inondation"],
        "resources": [{"service": "sdis", "units": 40, "personnel": 160}],
        "decision_ids": ["dec-00000"],
        "outlook": "Décrue attendue dans la nuit.",
        "next_report_at": START + timedelta(hours=4),
        "validated_by": "Directeur de cabinet",
    },
}
# The first events of the crisis, in this order; then the mix.
OPENING = (
    "crisis.opened",
    "cod.convened",
    "vigilance.changed",
    "plan.activation_proposed",
    "plan.activated",
    "incident.reported",
)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _template(event_type: str, crisis_id: str) -> dict[str, Any]:
    """The event of `event_type` validated, in the wire form a sender publishes (nulls kept)."""
    data = {**_BASE, "crisis_id": crisis_id, "occurred_at": START, **_TEMPLATES[event_type]}
    event = REGISTRY.types[event_type].model_validate({"type": event_type, **data})
    wire: dict[str, Any] = orjson.loads(encode(event))
    return wire


class LongCrisis:
    """The events of one crisis, position by position, from 1 (its opening) to `count`."""

    def __init__(self, crisis_id: str, count: int, seed: int = SEED) -> None:
        self.crisis_id = crisis_id
        self.count = count
        self.rng = random.Random(seed)
        self.templates = {name: _template(name, crisis_id) for name in _TEMPLATES}
        self.subject = {name: subjects.live(crisis_id, name) for name in _TEMPLATES}
        kinds = list(MIX)
        self._kinds = kinds
        self._cumulative = list(itertools.accumulate(MIX[k] for k in kinds))
        self.most = {
            name: min(max(count // per, least), most) for name, (per, least, most) in SCALE.items()
        }
        self.counters = dict.fromkeys(
            ("incident", "entry", "follow_up_done", "resource", "task", "decision", "sitrep"), 0
        )
        # The follow-ups to report done: (position due, entry id), soonest first.
        self._follow_ups: list[tuple[int, str]] = []
        self._builders: dict[str, Callable[[dict[str, Any], int], None]] = {
            "incident.reported": self._incident_reported,
            "incident.updated": self._incident_updated,
            "incident.closed": self._incident_closed,
            "incident.merged": self._incident_merged,
            "bilan.assessed": self._bilan,
            "bilan.assessed/crisis": self._bilan_crisis,
            "resource.requested": self._resource_requested,
            "resource.engaged": self._resource,
            "resource.released": self._resource,
            "maincourante.entry_recorded": self._entry,
            "maincourante.follow_up_done": self._follow_up_done,
            "decision.taken": self._decision,
            "task.assigned": self._task_assigned,
            "task.completed": self._task_completed,
            "plan.activation_proposed": self._plan,
            "plan.activated": self._plan,
            "plan.deactivated": self._plan,
            "vigilance.changed": self._vigilance,
            "sitrep.issued": self._sitrep,
        }

    @staticmethod
    def recorded_at(position: int) -> datetime:
        """The stream time of the event at `position`."""
        return START + timedelta(milliseconds=STEP_MS * position)

    def _kind(self, position: int) -> str:
        if position <= len(OPENING):
            return OPENING[position - 1]
        if self._follow_ups and self._follow_ups[0][0] <= position:
            return "maincourante.follow_up_done"
        reported = self.counters["incident"]
        # Incident reports spread evenly over the crisis, to their share in all.
        if reported < self.most["incident"] * position / self.count:
            return "incident.reported"
        pick = self.rng.random() * self._cumulative[-1]
        kind = self._kinds[bisect.bisect_right(self._cumulative, pick)]
        if kind == "incident.merged" and reported < 2:
            return "maincourante.entry_recorded"
        return kind

    def wire(self, position: int) -> tuple[str, dict[str, Any]]:
        """The subject and wire dict of the event at `position`, as its sender publishes it."""
        kind = self._kind(position)
        event_type = kind.split("/", 1)[0]
        recorded = self.recorded_at(position)
        data = dict(self.templates[event_type])
        # Time-ordered, as every publisher's ids are (schemas.ids), seeded.
        data["event_id"] = str(
            event_id_at(int(recorded.timestamp() * 1000) - 800, self.rng.getrandbits(74))
        )
        data["occurred_at"] = _iso(recorded - timedelta(seconds=45))
        data["received_at"] = _iso(recorded - timedelta(milliseconds=800))
        builder = self._builders.get(kind)
        if builder is not None:
            builder(data, position)
        return self.subject[event_type], data

    def delivery(self, position: int) -> Delivery:
        """The event at `position` as the bus delivers it to the recorder."""
        subject, data = self.wire(position)
        return Delivery(position, self.recorded_at(position), subject, orjson.dumps(data))

    def records(
        self, first: int, last: int, heads: Mapping[str, ChainHead]
    ) -> tuple[list[LogRecord], dict[str, ChainHead]]:
        """Positions `first` to `last` as the recorder makes them: decoded, validated, chained."""
        decoded = []
        for position in range(first, last + 1):
            item = decode_delivery(self.delivery(position))
            if not isinstance(item, Decoded):
                raise BenchError(f"generated event {position} did not decode: {item.reason}")
            decoded.append(item)
        return chain(decoded, heads)

    def envelope(self, position: int) -> Envelope:
        """The event at `position` as a sender holds it, for `publish_event`."""
        _, data = self.wire(position)
        return REGISTRY.decode(data)

    # -- the variations ------------------------------------------------------------------------

    def _new(self, name: str) -> int:
        """The number of a new incident, resource, task or decision; an existing one past its
        share."""
        number = self.counters[name]
        if number >= self.most[name]:
            return self.rng.randrange(number)
        self.counters[name] += 1
        return number

    def _some_incident(self) -> str:
        return f"inc-{self.rng.randrange(max(self.counters['incident'], 1)):05d}"

    def _incident_reported(self, data: dict[str, Any], position: int) -> None:
        number = self.counters["incident"]
        self.counters["incident"] += 1
        rng = self.rng
        data["incident_id"] = f"inc-{number:05d}"
        data["kind"] = rng.choice(INCIDENT_KINDS)
        data["severity"] = rng.choice(SEVERITIES)
        data["title"] = f"{data['kind'].replace('_', ' ').capitalize()} à {rng.choice(COMMUNES)}"
        data["external_ids"] = [f"urn:oid:2.49.0.1.250.0.2020.10.02.{position}"]

    def _incident_updated(self, data: dict[str, Any], position: int) -> None:
        data["incident_id"] = self._some_incident()
        data["severity"] = self.rng.choice(SEVERITIES)
        data["note"] = f"Point {position} : évolution de la situation sur place."

    def _incident_closed(self, data: dict[str, Any], _position: int) -> None:
        data["incident_id"] = self._some_incident()

    def _incident_merged(self, data: dict[str, Any], _position: int) -> None:
        known = self.counters["incident"]
        kept = self.rng.randrange(known)
        merged = (kept + 1 + self.rng.randrange(known - 1)) % known
        data["incident_id"], data["merged_ids"] = f"inc-{kept:05d}", [f"inc-{merged:05d}"]

    def _bilan(self, data: dict[str, Any], position: int) -> None:
        rng = self.rng
        data["incident_id"] = self._some_incident()
        data["figures"] = {
            **data["figures"],
            **{name: rng.randrange(position % 50 + 1) for name in rng.sample(FIGURES, 2)},
        }

    def _bilan_crisis(self, data: dict[str, Any], position: int) -> None:
        data["incident_id"] = None
        data["figures"] = {
            **data["figures"],
            "evacues": position // 100,
            "heberges": position // 300,
        }
        data["source_of_figures"] = "COD 06"

    def _resource_requested(self, data: dict[str, Any], _position: int) -> None:
        number = self._new("resource")
        rng = self.rng
        data["resource_id"] = f"res-{number:05d}"
        data["service"] = SERVICES[number % len(SERVICES)]
        data["units"] = rng.randrange(1, 8)
        data["personnel"] = data["units"] * 4

    def _resource(self, data: dict[str, Any], _position: int) -> None:
        number = self.rng.randrange(max(self.counters["resource"], 1))
        data["resource_id"] = f"res-{number:05d}"
        data["service"] = SERVICES[number % len(SERVICES)]
        data["units"] = number % 7 + 1
        data["personnel"] = data["units"] * 4
        if "incident_id" in data:
            data["incident_id"] = self._some_incident()

    def _entry(self, data: dict[str, Any], position: int) -> None:
        number = self.counters["entry"]
        self.counters["entry"] += 1
        rng = self.rng
        data["entry_id"] = f"mc-{number:07d}"
        data["sender"] = rng.choice(SENDERS)
        data["medium"] = rng.choice(MEDIA)
        data["priority"] = rng.choice(PRIORITIES)
        road, commune = rng.choice(ROADS), rng.choice(COMMUNES)
        data["text"] = f"{road} : point de situation de {commune} (message {number})."
        # One message in twenty asks for a follow-up, as in a real main courante: the picture
        # keeps every open follow-up, and a crisis of 740,000 open ones is not a crisis.
        if number % 20 == 0:
            data["follow_up_due"] = _iso(self.recorded_at(position) + timedelta(hours=4))
            if rng.random() >= FOLLOW_UP_NEVER_DONE:
                done = position + rng.randint(*FOLLOW_UP_DELAY)
                heapq.heappush(self._follow_ups, (done, data["entry_id"]))
        else:
            del data["follow_up_owner"], data["follow_up_due"]

    def _follow_up_done(self, data: dict[str, Any], _position: int) -> None:
        self.counters["follow_up_done"] += 1
        data["entry_id"] = heapq.heappop(self._follow_ups)[1]

    def _decision(self, data: dict[str, Any], _position: int) -> None:
        number = self._new("decision")
        data["decision_id"] = f"dec-{number:05d}"
        data["incident_ids"] = [self._some_incident()]

    def _task_assigned(self, data: dict[str, Any], position: int) -> None:
        number = self._new("task")
        data["task_id"] = f"task-{number:05d}"
        data["due_at"] = _iso(self.recorded_at(position) + timedelta(hours=2))
        data["decision_id"] = f"dec-{max(self.counters['decision'] - 1, 0):05d}"

    def _task_completed(self, data: dict[str, Any], _position: int) -> None:
        data["task_id"] = f"task-{self.rng.randrange(max(self.counters['task'], 1)):05d}"

    def _plan(self, data: dict[str, Any], _position: int) -> None:
        code, name, category = self.rng.choice(PLANS)
        data["plan_code"] = code
        if "plan_name" in data:
            data["plan_name"], data["category"] = name, category
        if "decided_at" in data:
            data["decided_at"] = data["occurred_at"]

    def _vigilance(self, data: dict[str, Any], position: int) -> None:
        data["phenomenon"] = self.rng.choice(PHENOMENA)
        data["colour"] = self.rng.choice(COLOURS)
        data["valid_from"] = _iso(self.recorded_at(position))
        data["valid_until"] = _iso(self.recorded_at(position) + timedelta(hours=24))

    def _sitrep(self, data: dict[str, Any], position: int) -> None:
        self.counters["sitrep"] += 1
        data["number"] = self.counters["sitrep"]
        data["as_of_position"] = position - 1
        data["next_report_at"] = _iso(self.recorded_at(position) + timedelta(hours=4))


# -- in a worker process: the records made there while the bench process writes them -----------

_WORKER: dict[str, Any] = {}


def start_worker(crisis_id: str, count: int, seed: int) -> None:
    """Initialise the worker process: the crisis it generates, and its chain heads so far."""
    die_with_parent()
    _WORKER.update(crisis=LongCrisis(crisis_id, count, seed), heads={})


def worker_records(first: int, last: int) -> list[LogRecord]:
    """In the worker: positions `first` to `last`, decoded and chained onto the previous ones."""
    crisis: LongCrisis = _WORKER["crisis"]
    records, _WORKER["heads"] = crisis.records(first, last, _WORKER["heads"])
    return records


def worker_counters() -> dict[str, int]:
    """In the worker: how many incidents, entries, resources… it has made so far."""
    crisis: LongCrisis = _WORKER["crisis"]
    return dict(crisis.counters)
