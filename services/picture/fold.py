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

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, Literal

from services.picture.shape import (
    Entry,
    Fact,
    Incident,
    IncidentState,
    MainCourante,
    Outcome,
    Picture,
    Plan,
    Resource,
    ResourceState,
    Update,
    Wire,
)

__all__ = [
    "BILAN_FIGURES",
    "FOLDS",
    "HANDLERS",
    "LATEST_ENTRIES",
    "NOT_COUNTED",
    "Event",
    "Fold",
    "Handler",
    "Picture",
    "Section",
    "fold",
    "fold_run",
    "new_picture",
]

Event = Wire
Handler = Callable[[Picture, Event, Fact], None]

LATEST_ENTRIES = 50
ENTRY = "maincourante.entry_recorded"
FOLLOW_UP_DONE = "maincourante.follow_up_done"
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
    handler = HANDLERS.get(event["type"])
    if handler is not None:
        handler(picture, event, _fact(event, position, recorded_at))
    if event.get("status") == "Exercise":
        picture["exercise"] = True
    picture["events"] += 1
    picture["position"] = position
    picture["recorded_at"] = recorded_at
    return picture


def fold_run(
    picture: Picture,
    rows: Iterable[tuple[int, str | bytes]],
    decode: Callable[[str | bytes], Event],
    counted: Callable[[str | bytes], bool] | None = None,
) -> Picture:
    """Fold stored events in order (`(position, payload)` rows of the log, each `decode`d to its
    wire dict, with the `recorded_at` the log gave it), as `fold` one by one would.

    The picture keeps the last `LATEST_ENTRIES` main-courante entries; a rebuild is three
    quarters entries, nearly all of them dropped from the latest soon after. Here an entry is
    counted (its follow-up kept) at once, and built only if it is still among the latest when
    the run ends. Where `counted(payload)` says a stored event is an entry that only counts
    (current schema, no follow-up, no exercise), it is not even parsed until then.
    """
    journal = picture["main_courante"]
    # Entries that may be among the latest: their wire dict, or their stored JSON not parsed.
    waiting: deque[tuple[Event | str | bytes, int, int]] = deque(maxlen=LATEST_ENTRIES)
    # Follow-ups done in this run, with the position of the done: marked, when the entries
    # waiting are built, on those of that id recorded before it (a done of an entry already
    # built is marked there by its handler).
    marks: dict[str, tuple[int, Outcome]] = {}
    # No handler reads the picture's position, count or time: they are set once, at the end.
    last, folded, last_recorded = picture["position"], 0, picture["recorded_at"]
    for position, payload in rows:
        if position <= last:
            continue
        last, folded = position, folded + 1
        if counted is not None and counted(payload):
            journal["count"] += 1
            waiting.append((payload, position, journal["count"]))
            last_recorded = None  # known once it is built, at the end: it is the last waiting
            continue
        event = decode(payload)
        last_recorded = event["recorded_at"]
        kind = event["type"]
        if kind == ENTRY:
            journal["count"] += 1
            if event.get("follow_up_owner"):
                _follow_up(picture, event, _fact(event, position, last_recorded), journal["count"])
            waiting.append((event, position, journal["count"]))
        else:
            fact = _fact(event, position, last_recorded)
            if kind == FOLLOW_UP_DONE:
                marks[event["entry_id"]] = (position, _done_mark(event, fact))
            handler = HANDLERS.get(kind)
            if handler is not None:
                handler(picture, event, fact)
        if event.get("status") == "Exercise":
            picture["exercise"] = True
    built = _build_latest(journal, waiting, marks, decode)
    picture["events"] += folded
    picture["position"] = last
    picture["recorded_at"] = built if last_recorded is None else last_recorded
    return picture


def _build_latest(
    journal: MainCourante,
    waiting: deque[tuple[Event | str | bytes, int, int]],
    marks: dict[str, tuple[int, Outcome]],
    decode: Callable[[str | bytes], Event],
) -> str | None:
    """Build the entries waiting into the latest; the recorded instant of the last one built."""
    latest = journal["latest"]
    recorded_at = None
    for item, position, number in waiting:
        event = item if isinstance(item, dict) else decode(item)
        recorded_at = event["recorded_at"]
        entry = _entry_record(event, _fact(event, position, recorded_at), number)
        done_at, mark = marks.get(entry["entry_id"], (0, None))
        if mark is not None and position < done_at:
            entry["follow_up_done"] = mark
        latest.append(entry)
    del latest[:-LATEST_ENTRIES]
    waiting.clear()
    marks.clear()
    return recorded_at


def _fact(event: Event, position: int, recorded_at: str) -> Fact:
    return {
        "event_id": event["event_id"],
        "occurred_at": event["occurred_at"],
        "recorded_at": recorded_at,
        "position": position,
        "actor": event["actor"],
    }


# Each fact is stamped with where it comes from: `{**its values, **fact}`, the fact's keys last.

# -- crisis and COD ------------------------------------------------------------------------------


def _crisis_opened(p: Picture, e: Event, fact: Fact) -> None:
    p["name"] = e["name"]
    p["kind"] = e["kind"]
    p["departement"] = e["departement"]
    p["nature"] = e.get("nature")
    p["state"] = "open"
    p["opened"] = fact


def _crisis_closed(p: Picture, e: Event, fact: Fact) -> None:
    p["state"] = "closed"
    p["closed"] = {"summary": e.get("summary"), **fact}


def _cod_convened(p: Picture, e: Event, fact: Fact) -> None:
    p["cod"] = {
        "state": "convened",
        "location": e["location"],
        "services_present": e.get("services_present", []),
        "convened_by": e["convened_by"],
        # The fact's keys named (not `**fact`): mypy cannot tell that a Fact has no "reason".
        "event_id": fact["event_id"],
        "occurred_at": fact["occurred_at"],
        "recorded_at": fact["recorded_at"],
        "position": fact["position"],
        "actor": fact["actor"],
    }


def _cod_stood_down(p: Picture, e: Event, fact: Fact) -> None:
    p["cod"] = {**p["cod"], "state": "stood_down", "reason": e.get("reason"), **fact}


# -- incidents and bilan -------------------------------------------------------------------------

_INCIDENT_FIELDS: Final = ("kind", "severity", "title", "description", "location")


def _incident_reported(p: Picture, e: Event, fact: Fact) -> None:
    if p.get("first_report") is None:
        # What every delay of the crisis is measured from (proposals, activations, alerts).
        p["first_report"] = {"incident_id": e["incident_id"], **fact}
    # An incident known by its id before its report keeps its figures (counted in the bilan sums),
    # its state and its sources.
    known = p["incidents"].get(e["incident_id"])
    incident: Incident = {
        "incident_id": e["incident_id"],
        "kind": e.get("kind"),
        "severity": e.get("severity"),
        "title": e.get("title"),
        "description": e.get("description"),
        "location": e.get("location"),
        "sources": list(known.get("sources", [])) if known is not None else [],
        "external_ids": list(e.get("external_ids", [])),
        "warnings": list(e.get("warnings", [])),
        "expires_at": e.get("expires_at"),
        "other_languages": list(e.get("other_languages", [])),
        "attachments": list(e.get("attachments", [])),
        "signed": e.get("signed", False),
        "status": e.get("status", "Actual"),
        "state": known.get("state", "open") if known is not None else "open",
        "reported": fact,
        "updated": fact,
        "bilan": known.get("bilan", {}) if known is not None else {},
    }
    p["incidents"][e["incident_id"]] = incident
    _add_new(incident["sources"], e.get("sources", []))
    if known is not None:
        _keep_later_facts(incident, known)
        _add_new(incident["external_ids"], known.get("external_ids", []))
        _add_new(incident["warnings"], known.get("warnings", []))


def _keep_later_facts(incident: Incident, known: Incident) -> None:
    """What an incident known by its id before its report keeps when the report arrives."""
    if "merged_into" in known:
        incident["merged_into"] = known["merged_into"]
    if "closed" in known:
        incident["closed"] = known["closed"]
    if "handed_over" in known:
        incident["handed_over"] = known["handed_over"]
    if "attached" in known:
        incident["attached"] = known["attached"]


def _add_new(values: list[str], more: list[str]) -> None:
    values += [v for v in more if v not in values]


def _incident(p: Picture, e: Event, fact: Fact) -> Incident:
    """The incident an event is about; one reported only later is known by its id meanwhile."""
    incidents = p["incidents"]
    found = incidents.get(e["incident_id"])
    if found is None:
        found = incidents[e["incident_id"]] = {
            "incident_id": e["incident_id"],
            "kind": None,
            "severity": None,
            "title": None,
            "description": None,
            "location": None,
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


def _incident_updated(p: Picture, e: Event, fact: Fact) -> None:
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
    updated: Update = {"note": e.get("note"), **fact}
    incident["updated"] = updated


def _incident_merged(p: Picture, e: Event, fact: Fact) -> None:
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
    updated: Update = {"note": e.get("reason"), **fact}
    kept["updated"] = updated


def _incident_closed(p: Picture, e: Event, fact: Fact) -> None:
    incident = _incident(p, e, fact)
    # A merged duplicate or an incident handed over stays so: its figures count elsewhere.
    if incident["state"] not in NOT_COUNTED:
        incident["state"] = "closed"
    incident["closed"] = {"reason": e.get("reason"), **fact}
    _add_new(incident["external_ids"], e.get("external_ids", []))
    _add_new(incident["warnings"], e.get("warnings", []))


# Incidents whose figures do not count in this crisis' bilan.
NOT_COUNTED: tuple[IncidentState, ...] = ("merged", "handed_over")


def _incident_handed_over(p: Picture, e: Event, fact: Fact) -> None:
    incident = _incident(p, e, fact)
    if incident["state"] not in NOT_COUNTED:
        for name in incident["bilan"]:
            _count_part(p, name, incident["incident_id"], None, fact, announce=False)
    incident["state"] = "handed_over"
    incident["handed_over"] = {"to_crisis_id": e["to_crisis_id"], "reason": e.get("reason"), **fact}


def _incident_attached(p: Picture, e: Event, fact: Fact) -> None:
    # Attached with what was known where it came from: reported here, from there. An incident
    # coming back to a crisis it had left is open again, and its figures count again.
    known = p["incidents"].get(e["incident_id"])
    before = known.get("state") if known is not None else None
    _incident_reported(p, e, fact)
    incident = p["incidents"][e["incident_id"]]
    incident["state"] = "open"
    if before in NOT_COUNTED:
        for name, figure in incident["bilan"].items():
            _count_part(p, name, incident["incident_id"], figure["value"], fact, announce=False)
    incident["attached"] = {
        "from_crisis_id": e["from_crisis_id"],
        "reason": e.get("reason"),
        **fact,
    }


def _bilan_assessed(p: Picture, e: Event, fact: Fact) -> None:
    """Figures of one incident, or of the whole crisis. For each figure of the overall bilan the
    last word stands: a crisis-wide statement, or else the sum of the incidents' latest figures
    (merged duplicates left out); either way it names the events it comes from."""
    source = e["source_of_figures"]
    incident_id = e.get("incident_id")
    target = _incident(p, e, fact)["bilan"] if incident_id else p["crisis_wide_bilan"]
    for name, value in e["figures"].items():
        if value is None:
            continue
        target[name] = {"value": value, "source_of_figures": source, **fact}
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
    fact: Fact,
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
    if not announce:
        stated = p["bilan"].get(name)
        if stated is not None and stated.get("basis") == "crisis_wide":
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


def _plan(p: Picture, e: Event) -> Plan:
    return p["plans"].setdefault(
        e["plan_code"],
        {"plan_code": e["plan_code"], "plan_name": e.get("plan_name"), "state": "none"},
    )


def _plan_proposed(p: Picture, e: Event, fact: Fact) -> None:
    plan = _plan(p, e)
    plan["plan_name"] = e["plan_name"]
    plan["category"] = e["category"]
    if plan["state"] != "active":
        plan["state"] = "proposed"
    plan["proposed"] = {
        "rule": e.get("rule"),
        "reason": e["reason"],
        "incident_ids": e.get("incident_ids", []),
        **fact,
    }


def _plan_activated(p: Picture, e: Event, fact: Fact) -> None:
    plan = _plan(p, e)
    plan["plan_name"] = e["plan_name"]
    plan["category"] = e["category"]
    plan["state"] = "active"
    plan["activated"] = {"decided_by": e["decided_by"], "decided_at": e["decided_at"], **fact}
    plan.pop("deactivated", None)


def _plan_deactivated(p: Picture, e: Event, fact: Fact) -> None:
    plan = _plan(p, e)
    plan["state"] = "deactivated"
    plan["deactivated"] = {
        "decided_by": e["decided_by"],
        "decided_at": e["decided_at"],
        "reason": e.get("reason"),
        **fact,
    }


def _vigipirate(p: Picture, e: Event, fact: Fact) -> None:
    p["vigipirate"] = {
        "posture": e["posture"],
        "scope": e.get("scope"),
        "decided_by": e["decided_by"],
        **fact,
    }


def _vigilance(p: Picture, e: Event, fact: Fact) -> None:
    p["vigilance"][e["phenomenon"]] = {
        "colour": e["colour"],
        "departement": e["departement"],
        "valid_from": e["valid_from"],
        "valid_until": e.get("valid_until"),
        "bulletin_ref": e.get("bulletin_ref"),
        **fact,
    }


# -- resources -----------------------------------------------------------------------------------


def _resource(state: ResourceState) -> Handler:
    def apply(p: Picture, e: Event, fact: Fact) -> None:
        resources = p["resources"]
        resource = resources.get(e["resource_id"])
        if resource is None:
            resource = resources[e["resource_id"]] = {
                "resource_id": e["resource_id"],
                "service": e["service"],
                "units": e["units"],
                "personnel": e["personnel"],
                "incident_id": e.get("incident_id") or None,
                "description": e.get("description") or None,
                "mission": e.get("mission") or None,
                "state": state,
            }
        else:
            _tally(p, resource, -1)
            resource["service"] = e["service"]
            resource["units"] = e["units"]
            resource["personnel"] = e["personnel"]
            resource["incident_id"] = e.get("incident_id") or resource.get("incident_id")
            resource["description"] = e.get("description") or resource.get("description")
            resource["mission"] = e.get("mission") or resource.get("mission")
            resource["state"] = state
        resource[state] = fact
        _tally(p, resource, +1)

    return apply


def _tally(p: Picture, resource: Resource, sign: int) -> None:
    """Add (or take away) an engaged resource's units and people to its service's total."""
    if resource.get("state") != "engaged":
        return
    by_service = p["engaged_by_service"]
    tally = by_service.setdefault(resource["service"], {"units": 0, "personnel": 0})
    tally["units"] += sign * resource["units"]
    tally["personnel"] += sign * resource["personnel"]
    if tally["units"] == 0 and tally["personnel"] == 0:
        del by_service[resource["service"]]


# -- main courante, decisions, tasks -------------------------------------------------------------


def _entry(p: Picture, e: Event, fact: Fact) -> None:
    journal = p["main_courante"]
    journal["count"] += 1
    latest = journal["latest"]
    latest.append(_entry_record(e, fact, journal["count"]))
    if len(latest) > LATEST_ENTRIES:
        del latest[0]
    if e.get("follow_up_owner"):
        _follow_up(p, e, fact, journal["count"])


def _entry_record(e: Event, fact: Fact, number: int) -> Entry:
    return {
        "number": number,
        "entry_id": e["entry_id"],
        "direction": e["direction"],
        "sender": e["sender"],
        "recipient": e.get("recipient"),
        "medium": e["medium"],
        "priority": e["priority"],
        "text": e["text"],
        "follow_up_owner": e.get("follow_up_owner"),
        "follow_up_due": e.get("follow_up_due"),
        "corrects_entry_id": e.get("corrects_entry_id"),
        # Named, not `**fact`: mypy cannot tell that a Fact has no "follow_up_done".
        "event_id": fact["event_id"],
        "occurred_at": fact["occurred_at"],
        "recorded_at": fact["recorded_at"],
        "position": fact["position"],
        "actor": fact["actor"],
    }


def _follow_up(p: Picture, e: Event, fact: Fact, number: int) -> None:
    # Follow-ups are all kept until done: the latest entries are only the last 50.
    p.setdefault("follow_ups", {})[e["entry_id"]] = {
        "entry_id": e["entry_id"],
        "number": number,
        "owner": e["follow_up_owner"],
        "due": e.get("follow_up_due"),
        "text": e["text"][:120],
        "state": "open",
        **fact,
    }


def _follow_up_done(p: Picture, e: Event, fact: Fact) -> None:
    # A follow-up done leaves the picture (the log keeps it): the picture of a long crisis
    # holds the open ones only, and a count of the others.
    if p.setdefault("follow_ups", {}).pop(e["entry_id"], None) is not None:
        p["follow_ups_done"] = p.get("follow_ups_done", 0) + 1
    for entry in p["main_courante"]["latest"]:
        if entry["entry_id"] == e["entry_id"]:
            entry["follow_up_done"] = _done_mark(e, fact)


def _done_mark(e: Event, fact: Fact) -> Outcome:
    return {"outcome": e.get("outcome"), **fact}


def _decision(p: Picture, e: Event, fact: Fact) -> None:
    p["decisions"][e["decision_id"]] = {
        "decision_id": e["decision_id"],
        "text": e["text"],
        "taken_by": e["taken_by"],
        "rationale": e.get("rationale"),
        "incident_ids": e.get("incident_ids", []),
        **fact,
    }


def _task_assigned(p: Picture, e: Event, fact: Fact) -> None:
    p["tasks"][e["task_id"]] = {
        "task_id": e["task_id"],
        "title": e["title"],
        "assignee": e["assignee"],
        "due_at": e.get("due_at"),
        "decision_id": e.get("decision_id"),
        "state": "open",
        # Named, not `**fact`: mypy cannot tell that a Fact has no "completed".
        "event_id": fact["event_id"],
        "occurred_at": fact["occurred_at"],
        "recorded_at": fact["recorded_at"],
        "position": fact["position"],
        "actor": fact["actor"],
    }


def _task_completed(p: Picture, e: Event, fact: Fact) -> None:
    tasks = p["tasks"]
    task = tasks.get(e["task_id"])
    if task is None:
        task = tasks[e["task_id"]] = {"task_id": e["task_id"], "title": None, "state": "done"}
    task["state"] = "done"
    task["completed"] = {"outcome": e.get("outcome"), **fact}


# -- communication and reports -------------------------------------------------------------------


def _alert(p: Picture, e: Event, fact: Fact) -> None:
    p.get("alert_drafts", {}).pop(e["alert_id"], None)
    p["alerts"][e["alert_id"]] = {
        "alert_id": e["alert_id"],
        "channel": e["channel"],
        "headline": e["headline"],
        "severity": e["severity"],
        "instructions": e["instructions"],
        "issuing_authority": e["issuing_authority"],
        "validated_by": e["validated_by"],
        **fact,
    }


def _press_release(p: Picture, e: Event, fact: Fact) -> None:
    p["press_releases"][e["release_id"]] = {
        "release_id": e["release_id"],
        "title": e["title"],
        "validated_by": e["validated_by"],
        **fact,
    }


def _sitrep(p: Picture, e: Event, fact: Fact) -> None:
    p.get("sitrep_drafts", {}).pop(str(e["number"]), None)
    current = p["sitrep"]
    if current is None or e["number"] >= current["number"]:
        p["sitrep"] = {
            "number": e["number"],
            "as_of_position": e["as_of_position"],
            "summary": e["summary"],
            "outlook": e.get("outlook"),
            "next_report_at": e.get("next_report_at"),
            "validated_by": e["validated_by"],
            **fact,
        }


# Handlers of events added after the first catalogue use setdefault: snapshots taken before
# them have no such keys.


def _alert_drafted(p: Picture, e: Event, fact: Fact) -> None:
    p.setdefault("alert_drafts", {})[e["alert_id"]] = {
        "alert_id": e["alert_id"],
        "channel": e["channel"],
        "headline": e["headline"],
        "risk": e["risk"],
        "severity": e["severity"],
        "instructions": e["instructions"],
        "issuing_authority": e["issuing_authority"],
        "area": e["area"],
        "link": e.get("link"),
        "expires_at": e.get("expires_at"),
        "incident_ids": e.get("incident_ids", []),
        **fact,
    }


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


def _sitrep_drafted(p: Picture, e: Event, fact: Fact) -> None:
    # The draft keeps its whole content: the report issued is the report drafted, validated.
    p.setdefault("sitrep_drafts", {})[str(e["number"])] = {
        "number": e["number"],
        "as_of_position": e["as_of_position"],
        "summary": e["summary"],
        "outlook": e.get("outlook"),
        "next_report_at": e.get("next_report_at"),
        "content": {name: e.get(name) for name in _SITREP_CONTENT},
        **fact,
    }


def _sitrep_cadence(p: Picture, e: Event, fact: Fact) -> None:
    p["sitrep_cadence"] = {
        "every_minutes": e["every_minutes"],
        "first_due_at": e["first_due_at"],
        **fact,
    }


def _vigipirate_proposed(p: Picture, e: Event, fact: Fact) -> None:
    p["vigipirate_proposed"] = {
        "posture": e["posture"],
        "scope": e.get("scope"),
        "rule": e.get("rule"),
        "reason": e["reason"],
        "incident_ids": e.get("incident_ids", []),
        **fact,
    }


def _rejected(p: Picture, _e: Event, _fact: Fact) -> None:
    p["rejected_inputs"] += 1


# -- one table: what each event type of the catalogue does ---------------------------------------

# The part of the picture a live client is told an event changed ("crisis": its header).
Section = Literal[
    "crisis",
    "cod",
    "incidents",
    "bilan",
    "plans",
    "vigipirate_proposed",
    "vigipirate",
    "vigilance",
    "resources",
    "main_courante",
    "follow_ups",
    "decisions",
    "tasks",
    "alert_drafts",
    "alerts",
    "press_releases",
    "sitrep_drafts",
    "sitrep_cadence",
    "sitrep",
    "rejected_inputs",
]


@dataclass(frozen=True, slots=True)
class Fold:
    """What an event type does: its handler, the section of the picture it changes, and the field
    of the event naming the key it changes in that section (None: the section as a whole)."""

    handler: Handler
    section: Section
    key_field: str | None = None


# Every type of the catalogue has its fold, and no other type does (a test says so).
FOLDS: dict[str, Fold] = {
    "crisis.opened": Fold(_crisis_opened, "crisis"),
    "crisis.closed": Fold(_crisis_closed, "crisis"),
    "cod.convened": Fold(_cod_convened, "cod"),
    "cod.stood_down": Fold(_cod_stood_down, "cod"),
    "incident.reported": Fold(_incident_reported, "incidents", "incident_id"),
    "incident.updated": Fold(_incident_updated, "incidents", "incident_id"),
    "incident.merged": Fold(_incident_merged, "incidents", "incident_id"),
    "incident.closed": Fold(_incident_closed, "incidents", "incident_id"),
    "incident.handed_over": Fold(_incident_handed_over, "incidents", "incident_id"),
    "incident.attached": Fold(_incident_attached, "incidents", "incident_id"),
    "bilan.assessed": Fold(_bilan_assessed, "bilan"),
    "plan.activation_proposed": Fold(_plan_proposed, "plans", "plan_code"),
    "plan.activated": Fold(_plan_activated, "plans", "plan_code"),
    "plan.deactivated": Fold(_plan_deactivated, "plans", "plan_code"),
    "vigipirate.posture_proposed": Fold(_vigipirate_proposed, "vigipirate_proposed"),
    "vigipirate.posture_changed": Fold(_vigipirate, "vigipirate"),
    "vigilance.changed": Fold(_vigilance, "vigilance", "phenomenon"),
    "resource.requested": Fold(_resource("requested"), "resources", "resource_id"),
    "resource.engaged": Fold(_resource("engaged"), "resources", "resource_id"),
    "resource.released": Fold(_resource("released"), "resources", "resource_id"),
    "maincourante.entry_recorded": Fold(_entry, "main_courante"),
    # A follow-up done leaves the picture: its value is then null.
    "maincourante.follow_up_done": Fold(_follow_up_done, "follow_ups", "entry_id"),
    "decision.taken": Fold(_decision, "decisions", "decision_id"),
    "task.assigned": Fold(_task_assigned, "tasks", "task_id"),
    "task.completed": Fold(_task_completed, "tasks", "task_id"),
    "comms.public_alert_drafted": Fold(_alert_drafted, "alert_drafts", "alert_id"),
    "comms.public_alert_issued": Fold(_alert, "alerts", "alert_id"),
    "comms.press_release_published": Fold(_press_release, "press_releases", "release_id"),
    "sitrep.drafted": Fold(_sitrep_drafted, "sitrep_drafts", "number"),
    "sitrep.cadence_set": Fold(_sitrep_cadence, "sitrep_cadence"),
    "sitrep.issued": Fold(_sitrep, "sitrep"),
    "input.rejected": Fold(_rejected, "rejected_inputs"),
}
# The handlers alone, for the fold's one look-up per event.
HANDLERS: dict[str, Handler] = {name: entry.handler for name, entry in FOLDS.items()}
