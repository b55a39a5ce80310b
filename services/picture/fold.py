"""The picture of one crisis as a fold of its events: `fold(picture, event, position, recorded_at)`.

The picture is plain JSON-ready data (dicts, lists, strings, numbers) so that it is snapshotted,
served and compared as it is. Events come in as their wire dicts, as the log stores them: the log
only holds events validated against the catalogue, and rebuilding a long crisis must not pay for
validating each one again. The fold is deterministic and changes nothing for a position it has
already folded, so an event delivered twice is harmless.

Every fact keeps where it came from: the event id, when it occurred in the world and when the
cell recorded it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Picture = dict[str, Any]
Event = dict[str, Any]
Handler = Callable[[Picture, Event, dict[str, Any]], None]

LATEST_ENTRIES = 50
BILAN_FIGURES = (
    "decedes",
    "urgences_absolues",
    "urgences_relatives",
    "impliques",
    "disparus",
    "evacues",
    "mis_a_l_abri",
    "heberges",
    "foyers_sans_electricite",
    "foyers_sans_eau",
    "routes_coupees",
)


def new_picture(crisis_id: str) -> Picture:
    """The picture of a crisis before any of its events."""
    return {
        "crisis_id": crisis_id,
        "name": None,
        "kind": None,
        "departement": None,
        "nature": None,
        "state": "unknown",
        "exercise": False,
        "opened": None,
        "closed": None,
        "cod": {"state": "not_convened"},
        "incidents": {},
        "bilan": {},
        "crisis_wide_bilan": {},
        "bilan_sums": {},
        "plans": {},
        "vigipirate": None,
        "vigilance": {},
        "resources": {},
        "engaged_by_service": {},
        "decisions": {},
        "tasks": {},
        "main_courante": {"count": 0, "latest": []},
        "follow_ups": {},
        "alerts": {},
        "press_releases": {},
        "sitrep": None,
        "sitrep_drafts": {},
        "sitrep_cadence": None,
        "alert_drafts": {},
        "vigipirate_proposed": None,
        "first_report": None,
        "rejected_inputs": 0,
        "events": 0,
        "position": 0,
        "recorded_at": None,
    }


def fold(picture: Picture, event: Event, position: int, recorded_at: str) -> Picture:
    """Apply one event (its wire dict, at its stream position) to its crisis' picture."""
    if position <= picture["position"]:
        return picture
    fact = {
        "event_id": event["event_id"],
        "occurred_at": event["occurred_at"],
        "recorded_at": recorded_at,
        "position": position,
        "actor": event["actor"],
    }
    handler = HANDLERS.get(event["type"])
    if handler is not None:
        handler(picture, event, fact)
    if event.get("status") == "Exercise":
        picture["exercise"] = True
    picture["events"] += 1
    picture["position"] = position
    picture["recorded_at"] = recorded_at
    return picture


def _stamped(fact: dict[str, Any], **values: Any) -> dict[str, Any]:
    return {**values, **fact}


# -- crisis and COD ------------------------------------------------------------------------------


def _crisis_opened(p: Picture, e: Event, fact: dict[str, Any]) -> None:
    p.update(
        name=e["name"],
        kind=e["kind"],
        departement=e["departement"],
        nature=e.get("nature"),
        state="open",
        opened=fact,
    )


def _crisis_closed(p: Picture, e: Event, fact: dict[str, Any]) -> None:
    p["state"] = "closed"
    p["closed"] = _stamped(fact, summary=e.get("summary"))


def _cod_convened(p: Picture, e: Event, fact: dict[str, Any]) -> None:
    p["cod"] = _stamped(
        fact,
        state="convened",
        location=e["location"],
        services_present=e.get("services_present", []),
        convened_by=e["convened_by"],
    )


def _cod_stood_down(p: Picture, e: Event, fact: dict[str, Any]) -> None:
    p["cod"] = {**p["cod"], **_stamped(fact, state="stood_down", reason=e.get("reason"))}


# -- incidents and bilan -------------------------------------------------------------------------

_INCIDENT_FIELDS = ("kind", "severity", "title", "description", "location")


def _incident_reported(p: Picture, e: Event, fact: dict[str, Any]) -> None:
    if p.get("first_report") is None:
        # What every delay of the crisis is measured from (proposals, activations, alerts).
        p["first_report"] = _stamped(fact, incident_id=e["incident_id"])
    # An incident known by its id before its report keeps its figures (counted in the bilan sums),
    # its state and its sources.
    known = p["incidents"].get(e["incident_id"], {})
    p["incidents"][e["incident_id"]] = incident = {
        "incident_id": e["incident_id"],
        **{name: e.get(name) for name in _INCIDENT_FIELDS},
        "sources": list(known.get("sources", [])),
        "external_ids": list(e.get("external_ids", [])),
        "warnings": list(e.get("warnings", [])),
        "expires_at": e.get("expires_at"),
        "other_languages": list(e.get("other_languages", [])),
        "attachments": list(e.get("attachments", [])),
        "signed": e.get("signed", False),
        "status": e.get("status", "Actual"),
        "state": known.get("state", "open"),
        "reported": fact,
        "updated": fact,
        "bilan": known.get("bilan", {}),
        **{name: known[name] for name in _LATER_FACTS if name in known},
    }
    _add_new(incident["sources"], e.get("sources", []))
    _add_new(incident["external_ids"], known.get("external_ids", []))
    _add_new(incident["warnings"], known.get("warnings", []))


# What an incident known by its id before its report keeps when the report arrives.
_LATER_FACTS = ("merged_into", "closed", "handed_over", "attached")


def _add_new(values: list[Any], more: list[Any]) -> None:
    values += [v for v in more if v not in values]


def _incident(p: Picture, e: Event, fact: dict[str, Any]) -> dict[str, Any]:
    """The incident an event is about; one reported only later is known by its id meanwhile."""
    incidents: dict[str, dict[str, Any]] = p["incidents"]
    found = incidents.get(e["incident_id"])
    if found is None:
        found = incidents[e["incident_id"]] = {
            "incident_id": e["incident_id"],
            **dict.fromkeys(_INCIDENT_FIELDS),
            "sources": [],
            "external_ids": [],
            "warnings": [],
            "attachments": [],
            "state": "open",
            "reported": None,
            "updated": fact,
            "bilan": {},
        }
    return found


def _incident_updated(p: Picture, e: Event, fact: dict[str, Any]) -> None:
    incident = _incident(p, e, fact)
    for name in _INCIDENT_FIELDS:
        if e.get(name) is not None:
            incident[name] = e[name]
    _add_new(incident["sources"], e.get("sources", []))
    _add_new(incident["external_ids"], e.get("external_ids", []))
    _add_new(incident["warnings"], e.get("warnings", []))
    incident["attachments"] += e.get("attachments", [])
    if e.get("expires_at") is not None:
        incident["expires_at"] = e["expires_at"]
    incident["updated"] = _stamped(fact, note=e.get("note"))


def _incident_merged(p: Picture, e: Event, fact: dict[str, Any]) -> None:
    kept = _incident(p, e, fact)
    for merged_id in e["merged_ids"]:
        merged = _incident(p, {"incident_id": merged_id}, fact)
        merged["state"] = "merged"
        merged["merged_into"] = kept["incident_id"]
        for source in merged["sources"]:
            if source not in kept["sources"]:
                kept["sources"].append(source)
        # A duplicate's figures were the same victims: they stop counting in the overall bilan.
        for name in merged["bilan"]:
            _count_part(p, name, merged_id, None, fact, announce=False)
    kept["updated"] = _stamped(fact, note=e.get("reason"))


def _incident_closed(p: Picture, e: Event, fact: dict[str, Any]) -> None:
    incident = _incident(p, e, fact)
    # A merged duplicate or an incident handed over stays so: its figures count elsewhere.
    if incident["state"] not in NOT_COUNTED:
        incident["state"] = "closed"
    incident["closed"] = _stamped(fact, reason=e.get("reason"))
    _add_new(incident["external_ids"], e.get("external_ids", []))
    _add_new(incident["warnings"], e.get("warnings", []))


# Incidents whose figures do not count in this crisis' bilan.
NOT_COUNTED = ("merged", "handed_over")


def _incident_handed_over(p: Picture, e: Event, fact: dict[str, Any]) -> None:
    incident = _incident(p, e, fact)
    if incident["state"] not in NOT_COUNTED:
        for name in incident["bilan"]:
            _count_part(p, name, incident["incident_id"], None, fact, announce=False)
    incident["state"] = "handed_over"
    incident["handed_over"] = _stamped(fact, to_crisis_id=e["to_crisis_id"], reason=e.get("reason"))


def _incident_attached(p: Picture, e: Event, fact: dict[str, Any]) -> None:
    # Attached with what was known where it came from: reported here, from there. An incident
    # coming back to a crisis it had left is open again, and its figures count again.
    before = p["incidents"].get(e["incident_id"], {}).get("state")
    _incident_reported(p, e, fact)
    incident = p["incidents"][e["incident_id"]]
    incident["state"] = "open"
    if before in NOT_COUNTED:
        for name, figure in incident["bilan"].items():
            _count_part(p, name, incident["incident_id"], figure["value"], fact, announce=False)
    incident["attached"] = _stamped(
        fact, from_crisis_id=e["from_crisis_id"], reason=e.get("reason")
    )


def _bilan_assessed(p: Picture, e: Event, fact: dict[str, Any]) -> None:
    """Figures of one incident, or of the whole crisis. For each figure of the overall bilan the
    last word stands: a crisis-wide statement, or else the sum of the incidents' latest figures
    (merged duplicates left out); either way it names the events it comes from."""
    source = e["source_of_figures"]
    incident_id = e.get("incident_id")
    target = _incident(p, e, fact)["bilan"] if incident_id else p["crisis_wide_bilan"]
    for name, value in e["figures"].items():
        if value is None:
            continue
        target[name] = _stamped(fact, value=value, source_of_figures=source)
        if incident_id and p["incidents"][incident_id]["state"] in NOT_COUNTED:
            # A merged duplicate's figures are the kept incident's: not counted twice. An
            # incident handed over to another crisis counts there, not here.
            continue
        if incident_id:
            _count_part(p, name, incident_id, value, fact)
        else:
            p["bilan"][name] = {
                "value": value,
                "basis": "crisis_wide",
                "events": {"crisis": fact["event_id"]},
                "recorded_at": fact["recorded_at"],
            }


def _count_part(
    p: Picture,
    name: str,
    incident_id: str,
    value: int | None,
    fact: dict[str, Any],
    *,
    announce: bool = True,
) -> None:
    """Move one incident's share of a figure, keeping the running sum (O(1) per figure).

    A merge (`announce=False`) moves the sum but leaves a crisis-wide statement standing."""
    sums = p["bilan_sums"].setdefault(name, {"total": 0, "values": {}, "events": {}})
    sums["total"] += (value or 0) - sums["values"].pop(incident_id, 0)
    sums["events"].pop(incident_id, None)
    if value is not None:
        sums["values"][incident_id] = value
        sums["events"][incident_id] = fact["event_id"]
    if not announce and p["bilan"].get(name, {}).get("basis") == "crisis_wide":
        return
    p["bilan"][name] = {
        "value": sums["total"],
        "basis": "sum_of_incidents",
        "events": dict(sums["events"]) if len(sums["events"]) <= _INLINE_EVENTS else sums["events"],
        "recorded_at": fact["recorded_at"],
    }


# Up to this many contributing events are copied into the figure; beyond, it shares the sum's map
# (a copy per assessment would make a crisis with thousands of incidents quadratic).
_INLINE_EVENTS = 64


# -- plans and postures --------------------------------------------------------------------------


def _plan(p: Picture, e: Event) -> dict[str, Any]:
    plans: dict[str, dict[str, Any]] = p["plans"]
    return plans.setdefault(
        e["plan_code"],
        {"plan_code": e["plan_code"], "plan_name": e.get("plan_name"), "state": "none"},
    )


def _plan_proposed(p: Picture, e: Event, fact: dict[str, Any]) -> None:
    plan = _plan(p, e)
    plan.update(plan_name=e["plan_name"], category=e["category"])
    if plan["state"] != "active":
        plan["state"] = "proposed"
    plan["proposed"] = _stamped(
        fact, rule=e.get("rule"), reason=e["reason"], incident_ids=e.get("incident_ids", [])
    )


def _plan_activated(p: Picture, e: Event, fact: dict[str, Any]) -> None:
    plan = _plan(p, e)
    plan.update(plan_name=e["plan_name"], category=e["category"], state="active")
    plan["activated"] = _stamped(fact, decided_by=e["decided_by"], decided_at=e["decided_at"])
    plan.pop("deactivated", None)


def _plan_deactivated(p: Picture, e: Event, fact: dict[str, Any]) -> None:
    plan = _plan(p, e)
    plan["state"] = "deactivated"
    plan["deactivated"] = _stamped(
        fact, decided_by=e["decided_by"], decided_at=e["decided_at"], reason=e.get("reason")
    )


def _vigipirate(p: Picture, e: Event, fact: dict[str, Any]) -> None:
    p["vigipirate"] = _stamped(
        fact, posture=e["posture"], scope=e.get("scope"), decided_by=e["decided_by"]
    )


def _vigilance(p: Picture, e: Event, fact: dict[str, Any]) -> None:
    p["vigilance"][e["phenomenon"]] = _stamped(
        fact,
        colour=e["colour"],
        departement=e["departement"],
        valid_from=e["valid_from"],
        valid_until=e.get("valid_until"),
        bulletin_ref=e.get("bulletin_ref"),
    )


# -- resources -----------------------------------------------------------------------------------


def _resource(state: str) -> Handler:
    def apply(p: Picture, e: Event, fact: dict[str, Any]) -> None:
        resources: dict[str, dict[str, Any]] = p["resources"]
        resource = resources.setdefault(e["resource_id"], {"resource_id": e["resource_id"]})
        _tally(p, resource, -1)
        resource.update(
            service=e["service"],
            units=e["units"],
            personnel=e["personnel"],
            incident_id=e.get("incident_id") or resource.get("incident_id"),
            description=e.get("description") or resource.get("description"),
            mission=e.get("mission") or resource.get("mission"),
            state=state,
        )
        resource[state] = fact
        _tally(p, resource, +1)

    return apply


def _tally(p: Picture, resource: dict[str, Any], sign: int) -> None:
    """Add (or take away) an engaged resource's units and people to its service's total."""
    if resource.get("state") != "engaged":
        return
    by_service: dict[str, dict[str, int]] = p["engaged_by_service"]
    tally = by_service.setdefault(resource["service"], {"units": 0, "personnel": 0})
    tally["units"] += sign * resource["units"]
    tally["personnel"] += sign * resource["personnel"]
    if tally == {"units": 0, "personnel": 0}:
        del by_service[resource["service"]]


# -- main courante, decisions, tasks -------------------------------------------------------------


def _entry(p: Picture, e: Event, fact: dict[str, Any]) -> None:
    journal = p["main_courante"]
    journal["count"] += 1
    entry = _stamped(
        fact,
        number=journal["count"],
        entry_id=e["entry_id"],
        direction=e["direction"],
        sender=e["sender"],
        recipient=e.get("recipient"),
        medium=e["medium"],
        priority=e["priority"],
        text=e["text"],
        follow_up_owner=e.get("follow_up_owner"),
        follow_up_due=e.get("follow_up_due"),
        corrects_entry_id=e.get("corrects_entry_id"),
    )
    latest: list[dict[str, Any]] = journal["latest"]
    latest.append(entry)
    if len(latest) > LATEST_ENTRIES:
        del latest[0]
    if e.get("follow_up_owner"):
        # Follow-ups are all kept, open or done: the latest entries are only the last 50.
        p.setdefault("follow_ups", {})[e["entry_id"]] = _stamped(
            fact,
            entry_id=e["entry_id"],
            number=journal["count"],
            owner=e["follow_up_owner"],
            due=e.get("follow_up_due"),
            text=e["text"][:120],
            state="open",
        )


def _follow_up_done(p: Picture, e: Event, fact: dict[str, Any]) -> None:
    # A follow-up done leaves the picture (the log keeps it): the picture of a long crisis
    # holds the open ones only, and a count of the others.
    if p.setdefault("follow_ups", {}).pop(e["entry_id"], None) is not None:
        p["follow_ups_done"] = p.get("follow_ups_done", 0) + 1
    for entry in p["main_courante"]["latest"]:
        if entry["entry_id"] == e["entry_id"]:
            entry["follow_up_done"] = _stamped(fact, outcome=e.get("outcome"))


def _decision(p: Picture, e: Event, fact: dict[str, Any]) -> None:
    p["decisions"][e["decision_id"]] = _stamped(
        fact,
        decision_id=e["decision_id"],
        text=e["text"],
        taken_by=e["taken_by"],
        rationale=e.get("rationale"),
        incident_ids=e.get("incident_ids", []),
    )


def _task_assigned(p: Picture, e: Event, fact: dict[str, Any]) -> None:
    p["tasks"][e["task_id"]] = _stamped(
        fact,
        task_id=e["task_id"],
        title=e["title"],
        assignee=e["assignee"],
        due_at=e.get("due_at"),
        decision_id=e.get("decision_id"),
        state="open",
    )


def _task_completed(p: Picture, e: Event, fact: dict[str, Any]) -> None:
    tasks: dict[str, dict[str, Any]] = p["tasks"]
    task = tasks.setdefault(e["task_id"], {"task_id": e["task_id"], "title": None})
    task["state"] = "done"
    task["completed"] = _stamped(fact, outcome=e.get("outcome"))


# -- communication and reports -------------------------------------------------------------------


def _alert(p: Picture, e: Event, fact: dict[str, Any]) -> None:
    p.get("alert_drafts", {}).pop(e["alert_id"], None)
    p["alerts"][e["alert_id"]] = _stamped(
        fact,
        alert_id=e["alert_id"],
        channel=e["channel"],
        headline=e["headline"],
        severity=e["severity"],
        instructions=e["instructions"],
        issuing_authority=e["issuing_authority"],
        validated_by=e["validated_by"],
    )


def _press_release(p: Picture, e: Event, fact: dict[str, Any]) -> None:
    p["press_releases"][e["release_id"]] = _stamped(
        fact, release_id=e["release_id"], title=e["title"], validated_by=e["validated_by"]
    )


def _sitrep(p: Picture, e: Event, fact: dict[str, Any]) -> None:
    p.get("sitrep_drafts", {}).pop(str(e["number"]), None)
    current = p["sitrep"]
    if current is None or e["number"] >= current["number"]:
        p["sitrep"] = _stamped(
            fact,
            number=e["number"],
            as_of_position=e["as_of_position"],
            summary=e["summary"],
            outlook=e.get("outlook"),
            next_report_at=e.get("next_report_at"),
            validated_by=e["validated_by"],
        )


# Handlers of events added after the first catalogue use setdefault: snapshots taken before
# them have no such keys.


def _alert_drafted(p: Picture, e: Event, fact: dict[str, Any]) -> None:
    p.setdefault("alert_drafts", {})[e["alert_id"]] = _stamped(
        fact,
        alert_id=e["alert_id"],
        channel=e["channel"],
        headline=e["headline"],
        risk=e["risk"],
        severity=e["severity"],
        instructions=e["instructions"],
        issuing_authority=e["issuing_authority"],
        area=e["area"],
        link=e.get("link"),
        expires_at=e.get("expires_at"),
        incident_ids=e.get("incident_ids", []),
    )


_SITREP_CONTENT = (
    "number",
    "as_of_position",
    "summary",
    "bilan",
    "active_plans",
    "resources",
    "decision_ids",
    "outlook",
    "next_report_at",
)


def _sitrep_drafted(p: Picture, e: Event, fact: dict[str, Any]) -> None:
    # The draft keeps its whole content: the report issued is the report drafted, validated.
    p.setdefault("sitrep_drafts", {})[str(e["number"])] = _stamped(
        fact,
        number=e["number"],
        as_of_position=e["as_of_position"],
        summary=e["summary"],
        outlook=e.get("outlook"),
        next_report_at=e.get("next_report_at"),
        content={name: e.get(name) for name in _SITREP_CONTENT},
    )


def _sitrep_cadence(p: Picture, e: Event, fact: dict[str, Any]) -> None:
    p["sitrep_cadence"] = _stamped(
        fact, every_minutes=e["every_minutes"], first_due_at=e["first_due_at"]
    )


def _vigipirate_proposed(p: Picture, e: Event, fact: dict[str, Any]) -> None:
    p["vigipirate_proposed"] = _stamped(
        fact,
        posture=e["posture"],
        scope=e.get("scope"),
        rule=e.get("rule"),
        reason=e["reason"],
        incident_ids=e.get("incident_ids", []),
    )


def _rejected(p: Picture, _e: Event, _fact: dict[str, Any]) -> None:
    p["rejected_inputs"] += 1


HANDLERS: dict[str, Handler] = {
    "crisis.opened": _crisis_opened,
    "crisis.closed": _crisis_closed,
    "cod.convened": _cod_convened,
    "cod.stood_down": _cod_stood_down,
    "incident.reported": _incident_reported,
    "incident.updated": _incident_updated,
    "incident.merged": _incident_merged,
    "incident.closed": _incident_closed,
    "incident.handed_over": _incident_handed_over,
    "incident.attached": _incident_attached,
    "bilan.assessed": _bilan_assessed,
    "plan.activation_proposed": _plan_proposed,
    "plan.activated": _plan_activated,
    "plan.deactivated": _plan_deactivated,
    "vigipirate.posture_changed": _vigipirate,
    "vigilance.changed": _vigilance,
    "resource.requested": _resource("requested"),
    "resource.engaged": _resource("engaged"),
    "resource.released": _resource("released"),
    "maincourante.entry_recorded": _entry,
    "maincourante.follow_up_done": _follow_up_done,
    "decision.taken": _decision,
    "task.assigned": _task_assigned,
    "task.completed": _task_completed,
    "comms.public_alert_issued": _alert,
    "comms.press_release_published": _press_release,
    "sitrep.issued": _sitrep,
    "sitrep.drafted": _sitrep_drafted,
    "sitrep.cadence_set": _sitrep_cadence,
    "comms.public_alert_drafted": _alert_drafted,
    "vigipirate.posture_proposed": _vigipirate_proposed,
    "input.rejected": _rejected,
}
