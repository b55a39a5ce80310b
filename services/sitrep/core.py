"""Points de situation: numbering, the summary, the content of the event and the document shown.

Pure: the picture (as of the report's position) in, plain values out; no clock, no I/O. Everything
is sorted, so the same picture always gives the same report.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from services.picture.fold import BILAN_FIGURES, Picture
from services.picture.shape import Fact, Incident, Plan, Wire

BILAN_LABELS = {
    "decedes": "Décédés",
    "urgences_absolues": "Urgences absolues",
    "urgences_relatives": "Urgences relatives",
    "impliques": "Impliqués",
    "disparus": "Disparus",
    "evacues": "Évacués",
    "mis_a_l_abri": "Mis à l'abri",
    "heberges": "Hébergés",
    "foyers_sans_electricite": "Foyers privés d'électricité",
    "foyers_sans_eau": "Foyers privés d'eau",
    "routes_coupees": "Routes coupées",
}
# The figures about people, which the summary gives; households and roads stay in the table.
KEY_FIGURES = BILAN_FIGURES[:7]
SEVERITY_LABELS = {
    "extreme": "extrême",
    "severe": "grave",
    "moderate": "modérée",
    "minor": "mineure",
    "unknown": "inconnue",
}
SEVERITY_RANK = {"extreme": 4, "severe": 3, "moderate": 2, "minor": 1, "unknown": 0}


@dataclass(frozen=True)
class Figure:
    """One figure of the bilan and where it comes from."""

    name: str
    value: int
    basis: str  # "crisis_wide" or "sum_of_incidents"
    events: tuple[tuple[str, str], ...]  # (incident id, or "crisis"; event id), sorted


@dataclass(frozen=True)
class IncidentLine:
    """An open incident, as listed in the report."""

    incident_id: str
    kind: str | None
    severity: str | None
    title: str | None
    state: str


@dataclass(frozen=True)
class PlanLine:
    """A plan: active (decided by, at) or proposed (reason, at)."""

    code: str
    name: str
    by: str | None
    at: str | None
    reason: str | None = None


@dataclass(frozen=True)
class Tally:
    """What one service has engaged."""

    service: str
    units: int
    personnel: int


@dataclass(frozen=True)
class DecisionLine:
    """A decision taken since the previous report."""

    decision_id: str
    text: str
    taken_by: str | None


@dataclass(frozen=True)
class TaskLine:
    """An open task and when it is due."""

    task_id: str
    title: str
    assignee: str | None
    due_at: str | None


@dataclass(frozen=True)
class Publication:
    """An alert issued to the population or a press release published."""

    ident: str
    title: str
    at: str | None
    channel: str | None = None


@dataclass(frozen=True)
class SitrepDocument:
    """Everything a rendered point de situation shows, draft (not validated) or issued."""

    crisis_id: str
    crisis_name: str | None
    departement: str | None
    exercise: bool
    crisis_state: str
    number: int
    as_of_position: int
    as_of_recorded_at: str | None
    period_start: str | None
    previous_number: int | None
    summary: str
    bilan: tuple[Figure, ...]
    incidents: tuple[IncidentLine, ...]
    active_plans: tuple[PlanLine, ...]
    proposed_plans: tuple[PlanLine, ...]
    vigipirate: str | None
    vigilance: tuple[tuple[str, str], ...]  # (phenomenon, colour)
    resources: tuple[Tally, ...]
    decisions: tuple[DecisionLine, ...]
    open_tasks: tuple[TaskLine, ...]
    alerts: tuple[Publication, ...]
    press_releases: tuple[Publication, ...]
    outlook: str | None
    next_report_at: str | None
    validated_by: str | None
    issued_at: str | None

    @property
    def is_draft(self) -> bool:
        """True while the report has not been validated and issued."""
        return self.validated_by is None


def next_number(picture: Picture) -> int:
    """The number the next report of the crisis takes: one past every issued or drafted one."""
    numbers = [int(n) for n in picture.get("sitrep_drafts", {})]
    issued = picture.get("sitrep")
    if issued is not None:
        numbers.append(issued["number"])
    return max(numbers, default=0) + 1


def summarise(picture: Picture) -> str:
    """A short factual summary, in French: open incidents, key figures, active plans."""
    incidents = _open_incidents(picture)
    if not incidents:
        parts = ["Aucun incident en cours."]
    else:
        worst = incidents[0]
        how_many = f"{len(incidents)} incident{'s' if len(incidents) > 1 else ''} en cours"
        parts = [f"{how_many} ; le plus grave : {_incident_words(worst)}."]
    bilan = picture["bilan"]
    figures = [
        f"{BILAN_LABELS[name].lower()} {count(bilan[name]['value'])}"
        for name in KEY_FIGURES
        if name in bilan and bilan[name].get("value") is not None
    ]
    if figures:
        parts.append(f"Bilan : {', '.join(figures)}.")
    plans = [_plan_name(picture["plans"][code]) for code in active_plan_codes(picture)]
    parts.append(f"Plans activés : {', '.join(plans)}." if plans else "Aucun plan activé.")
    return " ".join(parts)


def count(value: int) -> str:
    """A number as French writes it: thousands set apart by a narrow no-break space."""
    return f"{value:,}".replace(",", "\u202f")


def report_content(
    picture: Picture,
    *,
    number: int,
    as_of_position: int,
    summary: str,
    outlook: str | None,
    next_report_at: datetime | str | None,
    previous_position: int,
) -> Wire:
    """The payload of `SituationReportIssued`, all but `validated_by`, from the picture as of."""
    if picture["position"] > as_of_position:
        raise ValueError(
            f"the picture is at position {picture['position']}, past the report's {as_of_position}"
        )
    return {
        "number": number,
        "as_of_position": as_of_position,
        "summary": summary,
        "bilan": {
            name: figure["value"]
            for name, figure in sorted(picture["bilan"].items())
            if figure.get("value") is not None
        },
        "active_plans": active_plan_codes(picture),
        "resources": [
            {"service": service, "units": tally["units"], "personnel": tally["personnel"]}
            for service, tally in sorted(picture["engaged_by_service"].items())
        ],
        "decision_ids": decisions_since(picture, previous_position),
        "outlook": outlook,
        "next_report_at": _iso(next_report_at),
    }


def active_plan_codes(picture: Picture) -> list[str]:
    """Codes of the plans active in the picture, sorted."""
    return sorted(code for code, plan in picture["plans"].items() if plan.get("state") == "active")


def decisions_since(picture: Picture, previous_position: int) -> list[str]:
    """Ids of the decisions recorded after `previous_position`, in the order they were recorded.

    A decision whose fact carries no position (a picture folded before facts kept theirs) is
    listed: better said twice than left out of the report that should have carried it.
    """
    since = [
        (_position(decision), decision_id)
        for decision_id, decision in picture["decisions"].items()
        if _position(decision) > previous_position
    ]
    return [decision_id for _, decision_id in sorted(since)]


def _position(fact: Fact) -> int:
    position = fact.get("position")
    return position if isinstance(position, int) else 2**63


def document_from(
    picture: Picture,
    content: Wire,
    *,
    validated_by: str | None,
    issued_at: datetime | str | None,
) -> SitrepDocument:
    """The document of a report: its content, and what the picture as of its position shows."""
    previous = picture.get("sitrep")
    if previous is not None and previous["number"] >= content["number"]:
        previous = None
    opened = picture.get("opened")
    vigipirate = picture.get("vigipirate")
    return SitrepDocument(
        crisis_id=picture["crisis_id"],
        crisis_name=picture.get("name"),
        departement=picture.get("departement"),
        exercise=bool(picture.get("exercise")),
        crisis_state=picture.get("state", "unknown"),
        number=content["number"],
        as_of_position=content["as_of_position"],
        as_of_recorded_at=picture.get("recorded_at"),
        period_start=(
            previous["recorded_at"] if previous else opened["occurred_at"] if opened else None
        ),
        previous_number=previous["number"] if previous else None,
        summary=content["summary"],
        bilan=_figures(picture, content["bilan"]),
        incidents=tuple(_incident_line(i) for i in _open_incidents(picture)),
        active_plans=_plans(picture, "active"),
        proposed_plans=_plans(picture, "proposed"),
        vigipirate=vigipirate["posture"] if vigipirate else None,
        vigilance=tuple(sorted((k, v["colour"]) for k, v in picture["vigilance"].items())),
        resources=tuple(Tally(**tally) for tally in content["resources"]),
        decisions=tuple(_decision_line(picture, d) for d in content["decision_ids"]),
        open_tasks=_open_tasks(picture),
        alerts=_published(
            Publication(
                a["alert_id"],
                a.get("headline") or a["alert_id"],
                a.get("occurred_at"),
                a.get("channel"),
            )
            for a in picture["alerts"].values()
        ),
        press_releases=_published(
            Publication(
                r["release_id"], r.get("title") or r["release_id"], r.get("occurred_at"), None
            )
            for r in picture["press_releases"].values()
        ),
        outlook=content.get("outlook"),
        next_report_at=_iso(content.get("next_report_at")),
        validated_by=validated_by,
        issued_at=_iso(issued_at),
    )


def _iso(value: datetime | str | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def _open_incidents(picture: Picture) -> list[Incident]:
    """Open incidents, the most severe first (then by id, so that ties read the same)."""
    incidents = [i for i in picture["incidents"].values() if i.get("state") == "open"]
    return sorted(
        incidents, key=lambda i: (-SEVERITY_RANK.get(i.get("severity") or "", 0), i["incident_id"])
    )


def _incident_words(incident: Incident) -> str:
    title = incident.get("title") or incident["incident_id"]
    severity = SEVERITY_LABELS.get(incident.get("severity") or "unknown", "inconnue")
    return f"{title} (gravité {severity})"


def _incident_line(incident: Incident) -> IncidentLine:
    return IncidentLine(
        incident_id=incident["incident_id"],
        kind=incident.get("kind"),
        severity=incident.get("severity"),
        title=incident.get("title"),
        state=incident["state"],
    )


def _plan_name(plan: Plan) -> str:
    return str(plan.get("plan_name") or plan["plan_code"])


def _figures(picture: Picture, values: dict[str, int]) -> tuple[Figure, ...]:
    order = {name: rank for rank, name in enumerate(BILAN_FIGURES)}
    # A report read back from the log names every figure, the unassessed ones as null.
    values = {name: value for name, value in values.items() if value is not None}
    figures = []
    for name in sorted(values, key=lambda n: (order.get(n, len(order)), n)):
        stated = picture["bilan"].get(name)
        figures.append(
            Figure(
                name=name,
                value=values[name],
                basis=stated.get("basis", "crisis_wide") if stated else "crisis_wide",
                events=tuple(sorted(stated.get("events", {}).items())) if stated else (),
            )
        )
    return tuple(figures)


def _plans(picture: Picture, state: str) -> tuple[PlanLine, ...]:
    return tuple(
        _plan_line(code, plan, state)
        for code, plan in sorted(picture["plans"].items())
        if plan.get("state") == state
    )


def _plan_line(code: str, plan: Plan, state: str) -> PlanLine:
    """An active plan: by whom and when it was decided; another: who proposed it, when, why."""
    name = _plan_name(plan)
    if state == "active":
        activated = plan.get("activated")
        if not activated:
            return PlanLine(code, name, None, None)
        at = activated.get("decided_at") or activated.get("occurred_at")
        return PlanLine(code, name, activated.get("decided_by"), at)
    proposed = plan.get("proposed")
    if not proposed:
        return PlanLine(code, name, None, None)
    return PlanLine(
        code, name, proposed.get("actor"), proposed.get("occurred_at"), proposed.get("reason")
    )


def _decision_line(picture: Picture, decision_id: str) -> DecisionLine:
    decision = picture["decisions"].get(decision_id)
    return DecisionLine(
        decision_id=decision_id,
        text=(decision and decision.get("text")) or "(décision inconnue du tableau de situation)",
        taken_by=decision.get("taken_by") if decision else None,
    )


def _open_tasks(picture: Picture) -> tuple[TaskLine, ...]:
    tasks = [t for t in picture["tasks"].values() if t.get("state") == "open"]
    # Those with a due time first, the soonest first; ISO instants with different offsets do not
    # sort as strings, so they are compared as instants.
    tasks.sort(key=lambda t: (_instant_key(t.get("due_at")), t["task_id"]))
    return tuple(
        TaskLine(
            task_id=t["task_id"],
            title=t.get("title") or t["task_id"],
            assignee=t.get("assignee"),
            due_at=t.get("due_at"),
        )
        for t in tasks
    )


def _instant_key(iso: str | None) -> tuple[int, float]:
    return (1, 0.0) if not iso else (0, datetime.fromisoformat(iso).timestamp())


def _published(publications: Iterable[Publication]) -> tuple[Publication, ...]:
    """Alerts or press releases, in the order they were published (then by id)."""
    return tuple(sorted(publications, key=lambda p: (_instant_key(p.at), p.ident)))
