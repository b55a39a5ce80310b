"""EMSI (ISO/TR 22351) messages, as the SAMU and the fire services' NexSIS exchange them through
the Hub Santé, into incident, bilan and resource events.

An EMSI comes as XML (namespace `urn:emergency:eda:1.9:emsi`, or another generation) or in the
Hub's JSON encoding (`{"emsi": {...}}` or the bare object). Both are first turned into one tree
of element names, then read by one reader, so the same content gives the same `EmsiMessage`.
This module is the interface; `emsi_tree` reads values, `emsi_read` the sections, `emsi_codes`
holds the profile's codes and `emsi_events` writes the events.

Identity and correlation:

- a message is known by `emsi:<origin org>,<CONTEXT/ID>`: a copy adds nothing;
- its EVENT by `emsi-event:<origin org>,<EVENT/ID>`: a later message on it updates the incident;
- the shared case id (EVENT/MAIN_EVENT_ID, the RC-EDA `caseId`) by `case:<id>`, the key CISU
  messages use, so that CISU messages and EMSI about the same case meet. A new incident is named
  `incident_id_for("case:<id>")` as CISU names it, else `incident_id_for("emsi-event:…")`;
- a resource by `emsi-resource:<its ORG_ID, else the origin org>,<RESOURCE/ID>`. A resource
  already engaged on the incident is not engaged again; one that the message says is available
  (AVAILB), unavailable (UNAV) or in maintenance (MAINTC), or whose missions have all ended (COM,
  CANCLD, ABO), is released. A resource left out of a later message is unchanged: EMSI messages
  may carry only what changed.

Tolerated, with a warning kept on every event of the message:

1. a UTC offset that is not Europe/Paris's on that date (`+01:00` in July): the instant is kept
   as given (`Z` and `+00:00` are UTC and accepted as such);
2. a message created more than `traps.STALE_AFTER` (90 days) from its case (EVENT/DECL_DATIME, else
   OCC_DATIME);
3. a resource positioned more than `traps.FAR_KM` (100 km) from the event's position: kept as sent;
4. no namespace, the namespace of another EMSI generation, or two generations in one message:
   read by local name;
5. lesser strays: a value in the wrong case or an alias (`EXERCISE`), several elements where one
   is expected (the first is used), an unknown SCALE, STATUS or resource STATUS (left out or taken
   as in use), no ORIGIN/ORG_ID (the sender is `unknown`), an unreadable HEIGHT or QUANTITY.

Refused (`Rejection`, naming the element at fault):

- no CONTEXT, CONTEXT/ID, CONTEXT/MODE, CONTEXT/MSGTYPE or CONTEXT/CREATION; no EVENT or
  EVENT/ID in an ALERT, UPDATE or CANCEL;
- a time that does not parse, has no UTC offset or lies outside 1900-2200;
- a coordinate that is not a number or lies outside -90..90 / -180..180;
- a casualty or evacuee count that is not a whole number, is negative or over `MAX_COUNT`;
- a MODE, MSGTYPE or LEVEL that is not one of the profile's values;
- (mapping) a new incident with neither position nor place name, a CANCEL of an event this
  intake has not received, an exercise amending a real incident or the reverse.

What each element gives (mapping), EMSI -> event field:

- CONTEXT/MODE ACTUAL, EXERCS, SYSTEM, TEST -> envelope `status` Actual, Exercise, System, Test
  (an envelope's imposed status wins over ACTUAL, with a warning);
- CONTEXT/MSGTYPE ALERT or UPDATE -> IncidentReported, or IncidentUpdated when the EVENT or the
  case is known; CANCEL -> IncidentClosed (`reason` from EVENT/FREETEXT); ACK, ERROR -> a note;
- CONTEXT/ORIGIN/NAME, else ORG_ID -> `sources`, BilanAssessed `source_of_figures`;
- EVENT/ETYPE CATEGORY, ACTOR, LOCTYPE, ENV -> `kind` (table in `emsi_codes`);
- EVENT/SCALE 1, 2, 3, 4, 5 -> `severity` minor, moderate, severe, extreme, extreme; else unknown;
- EVENT/NAME, else the first line of EVENT/FREETEXT -> `title`;
- EVENT/FREETEXT, STATUS, RISK_ASSESMENT, the ETYPE codes, EVAC/DISPLACED -> `description`;
- EVENT/EGEO/POSITION (else the MISSIONs'): the first COORD -> `location.point` (its HEIGHT ->
  `altitude_m`), POLYGON positions -> `polygons`, NAME, ADDRESS, EGEO/FREETEXT -> `description`;
- EVENT/OCC_DATIME, else DECL_DATIME, else CONTEXT/CREATION -> IncidentReported `occurred_at`;
  EVENT/OBS_DATIME, else CONTEXT/CREATION -> IncidentUpdated and IncidentClosed `occurred_at`;
- the latest CASUALTIES (by DATIME) TRIAGEBLACK, TRIAGERED, TRIAGEYELLOW, TRIAGEGREEN, MISSING ->
  BilanAssessed `decedes`, `urgences_absolues`, `urgences_relatives`, `impliques`, `disparus`;
  the latest EVAC/EVACUATED -> `evacues`. The French profile's green triage counts the people
  involved, uninjured or lightly hurt: the bilan's `impliques`;
- RESOURCE/ORG_ID's domain (`fr.fire.…` sdis, `fr.health.…` samu_smur, police, gendarmerie),
  else RTYPE/RCLASS, else the origin's domain -> `service`;
- RESOURCE -> `units` 1; `personnel` its QUANTITY when its class is HUM (else 1), 0 otherwise;
- RESOURCE/NAME, else ID -> `description`; FREETEXT, else TYPE, of the MISSION naming it in
  RESOURCE_ID -> `mission`;
- CONTEXT/CREATION -> `occurred_at` of the resource events; CASUALTIES/DATIME, else
  EVENT/OBS_DATIME, else CONTEXT/CREATION -> BilanAssessed `occurred_at`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from xml.etree.ElementTree import Element

from pydantic import ValidationError

from services.intake.correlation import CorrelationIndex, Engaged
from services.intake.emsi_events import Writer
from services.intake.emsi_read import (
    Casualties,
    Coordinate,
    EmsiEvent,
    EmsiMessage,
    Evacuation,
    Mission,
    Place,
    Resource,
    read_tree,
)
from services.intake.emsi_tree import MAX_COUNT, json_values, xml_tree
from services.intake.errors import Rejection, Warnings
from services.intake.mapping import Context, Mapped, status_of
from services.intake.xmlsafe import local, namespace

__all__ = [
    "EMSI_NAMESPACES",
    "MAX_COUNT",
    "PROFILE_GENERATION",
    "Casualties",
    "Coordinate",
    "EmsiEvent",
    "EmsiMessage",
    "Evacuation",
    "Mission",
    "Place",
    "Resource",
    "is_emsi",
    "is_emsi_json",
    "map_emsi",
    "read_emsi",
    "read_emsi_json",
]

EMSI_NAMESPACES: dict[str, str] = {
    "urn:emergency:eda:1.9:emsi": "1.9",
    "urn:emergency:cisu:2.0:emsi": "2.0",
    "urn:emergency:cisu:2.0:EMSI": "2.0",
}
# The generation this intake's profile is written for: any other is read by local name.
PROFILE_GENERATION = "1.9"
_EMSI_NAMESPACE = re.compile(r"^urn:emergency:[a-z]+:[0-9.]+:emsi$", re.IGNORECASE)


def is_emsi(root: Element) -> bool:
    """True for an `<emsi>` (or `<EMSI>`) element in an EMSI namespace or in none."""
    if not isinstance(root.tag, str) or local(root.tag).lower() != "emsi":
        return False
    ns = namespace(root.tag)
    return not ns or ns in EMSI_NAMESPACES or bool(_EMSI_NAMESPACE.match(ns))


def is_emsi_json(document: object) -> bool:
    """True for `{"emsi": {...}}` or a bare object with CONTEXT and EVENT, as the JSON schema."""
    if not isinstance(document, Mapping):
        return False
    wrapped = [v for k, v in document.items() if str(k).lower() == "emsi"]
    if len(document) == 1 and wrapped:
        return isinstance(wrapped[0], Mapping)
    return "CONTEXT" in document and "EVENT" in document


def read_emsi(element: Element, path: str, warnings: Warnings) -> EmsiMessage:
    """Read one `<emsi>` element; `Rejection` names the element at fault."""
    warnings = Warnings(warnings)
    if not is_emsi(element):
        raise Rejection(f"<{local(str(element.tag))[:60]}> is not an EMSI message", path)
    generation = _generation(element, path, warnings)
    tree = xml_tree(element, 0)
    return read_tree(tree if isinstance(tree, dict) else {}, path, generation, warnings)


def read_emsi_json(document: Mapping[str, Any], path: str, warnings: Warnings) -> EmsiMessage:
    """Read an EMSI in its JSON encoding; JSON paths name elements as in XML."""
    warnings = Warnings(warnings)
    base = path.rstrip("/")
    body: object = document
    wrapper = next((k for k in document if str(k).lower() == "emsi"), None)
    if wrapper is not None:
        body, base = document[wrapper], f"{base}/{wrapper}"
    if not isinstance(body, Mapping):
        raise Rejection("the EMSI is not a JSON object", base or "/")
    values = json_values(body, 0)
    tree = values[0] if values and isinstance(values[0], dict) else {}
    return read_tree(tree, base, PROFILE_GENERATION, warnings)


def _generation(element: Element, path: str, warnings: Warnings) -> str:
    """The EMSI generation of the root's namespace; warns of any other, or of a mix."""
    root_ns = namespace(element.tag)
    label = EMSI_NAMESPACES.get(root_ns, "")
    if not root_ns:
        warnings.add(path, f"no EMSI namespace: read by local name as EMSI {PROFILE_GENERATION}")
    elif not label:
        warnings.add(
            path, f"namespace {root_ns[:80]!r} is not a known EMSI generation: read by local name"
        )
    elif label != PROFILE_GENERATION:
        warnings.add(
            path, f"EMSI {label} namespace: read by local name as the {PROFILE_GENERATION} profile"
        )
    others = {
        namespace(e.tag)
        for e in element.iter()
        if isinstance(e.tag, str) and namespace(e.tag) != root_ns
    }
    mixed = sorted(ns or "(none)" for ns in others if not ns or _EMSI_NAMESPACE.match(ns))
    if mixed:
        warnings.add(
            path,
            f"elements in other EMSI namespace generations ({', '.join(mixed)[:200]}): "
            "read by local name as one message",
        )
    return label or PROFILE_GENERATION


def map_emsi(message: EmsiMessage, index: CorrelationIndex, context: Context) -> Mapped:
    """The events `message` gives; `Rejection` when it cannot be applied."""
    mapped = Mapped()
    if (known := index.find([message.key])) is not None:
        mapped.notes.append(
            f"already received (same origin and CONTEXT/ID), in {known.crisis_id} as "
            f"{known.incident_id}: nothing new"
        )
        return mapped
    if message.event is None or message.msg_type in ("ACK", "ERROR"):
        mapped.notes.append(f"EMSI {message.msg_type} carries no incident: nothing to record")
        return mapped
    writer = Writer(
        message,
        message.event,
        status_of(message.status, context, message.warnings, f"{message.path}/CONTEXT/MODE"),
        context,
    )
    try:
        ref, changes = writer.write(index, mapped)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise Rejection(
            f"the message gives an event the schemas refuse: {first['msg']} "
            f"({'.'.join(str(p) for p in first['loc'])})"[:500],
            message.path,
        ) from None
    for change in changes:
        if isinstance(change, Engaged):
            index.engage(ref.incident_id, change)
        else:
            index.release(ref.incident_id, change)
    return mapped
