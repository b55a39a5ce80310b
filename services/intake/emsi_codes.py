"""The profile's codes, in the project's vocabulary: kinds of incident, services, severities.

EVENT/ETYPE to the kind of incident (`_KIND_RULES`, the first match wins):

- ENV TER (terrorism) -> attentat;
- an ACTOR vehicle carrying dangerous goods (VEH/TRK/HZD, VEH/TRN/HZD…) -> tmd;
- CATEGORY FLD -> inondation; GND/EQK -> seisme; GND/AVL, LDS, MUD, SUB -> mouvement_de_terrain;
- CATEGORY EXP/NUK, POL/NUK, POL/RAD, POL/BIO -> nrbc; other POL -> pollution; other EXP ->
  accident_industriel; HLT/EPI -> pandemie; PSW/RIOT, PSW/DEM -> ordre_public;
- CATEGORY FIR with a forest LOCTYPE (a FOREST, FRST, FOR, WOOD or WDL segment) -> feu_de_foret;
  other FIR -> feu;
- CATEGORY TRP with ACTOR VEH/TRN -> accident_ferroviaire; with VEH/AIR or VEH/VES -> autre;
  other TRP -> accident_routier;
- ENV DIS/FLOOD, FIRE, STORM, ERTHQK, TSNAMI, LNDSLD, CBRN, RADCNT, INDHAZ, PWROUT, SNOW, TRSPRT
  -> inondation, feu, tempete, seisme, seisme, mouvement_de_terrain, nrbc, nrbc,
  accident_industriel, panne_de_reseaux, neige_verglas, accident_routier; CDIS/RIOT ->
  ordre_public;
- none of these: the words of EVENT/NAME and FREETEXT, as for CAP (`mapping._KINDS`); else autre.

LOCTYPE is open in the profile: it only tells a forest fire from another fire.
"""

from __future__ import annotations

import re

from schemas.values import IncidentKind, Service, Severity
from services.intake.emsi_read import EmsiEvent, EmsiMessage, Resource
from services.intake.mapping import _KINDS, _folded

SEVERITY_OF_SCALE = {
    "1": Severity.MINOR,
    "2": Severity.MODERATE,
    "3": Severity.SEVERE,
    "4": Severity.EXTREME,
    "5": Severity.EXTREME,
}
OFF_INCIDENT = ("AVAILB", "UNAV", "MAINTC")
NOT_YET = ("RESRVD", "VIRTUAL")
MISSION_ENDED = ("COM", "CANCLD", "ABO")
# EVENT/ETYPE to the kind of incident: each rule is (field, code prefix, kind), tried in order,
# the first match wins. A prefix matches a code equal to it or starting with it and "/".
# LOCTYPE is open in the profile; it only tells a forest fire from another fire.
_K = IncidentKind
_KIND_RULES: tuple[tuple[str, str, IncidentKind], ...] = (
    ("ENV", "TER", _K.ATTENTAT),
    ("ACTOR_HZD", "", _K.TMD),  # a vehicle carrying dangerous goods (VEH/TRK/HZD…)
    ("CATEGORY", "FLD", _K.INONDATION),
    ("CATEGORY", "GND/EQK", _K.SEISME),
    ("CATEGORY", "GND/AVL", _K.MOUVEMENT_DE_TERRAIN),
    ("CATEGORY", "GND/LDS", _K.MOUVEMENT_DE_TERRAIN),
    ("CATEGORY", "GND/MUD", _K.MOUVEMENT_DE_TERRAIN),
    ("CATEGORY", "GND/SUB", _K.MOUVEMENT_DE_TERRAIN),
    ("CATEGORY", "EXP/NUK", _K.NRBC),
    ("CATEGORY", "POL/NUK", _K.NRBC),
    ("CATEGORY", "POL/RAD", _K.NRBC),
    ("CATEGORY", "POL/BIO", _K.NRBC),
    ("CATEGORY", "POL", _K.POLLUTION),
    ("CATEGORY", "EXP", _K.ACCIDENT_INDUSTRIEL),
    ("CATEGORY", "HLT/EPI", _K.PANDEMIE),
    ("CATEGORY", "PSW/RIOT", _K.ORDRE_PUBLIC),
    ("CATEGORY", "PSW/DEM", _K.ORDRE_PUBLIC),
    ("FOREST_FIRE", "", _K.FEU_DE_FORET),  # CATEGORY FIR with a forest LOCTYPE
    ("CATEGORY", "FIR", _K.FEU),
    ("ACTOR_TRP", "VEH/TRN", _K.ACCIDENT_FERROVIAIRE),  # CATEGORY TRP with a train
    ("ACTOR_TRP", "VEH/AIR", _K.AUTRE),
    ("ACTOR_TRP", "VEH/VES", _K.AUTRE),
    ("CATEGORY", "TRP", _K.ACCIDENT_ROUTIER),
    ("ENV", "DIS/FLOOD", _K.INONDATION),
    ("ENV", "DIS/FIRE", _K.FEU),
    ("ENV", "DIS/STORM", _K.TEMPETE),
    ("ENV", "DIS/ERTHQK", _K.SEISME),
    ("ENV", "DIS/TSNAMI", _K.SEISME),
    ("ENV", "DIS/LNDSLD", _K.MOUVEMENT_DE_TERRAIN),
    ("ENV", "DIS/CBRN", _K.NRBC),
    ("ENV", "DIS/RADCNT", _K.NRBC),
    ("ENV", "DIS/INDHAZ", _K.ACCIDENT_INDUSTRIEL),
    ("ENV", "DIS/PWROUT", _K.PANNE_DE_RESEAUX),
    ("ENV", "DIS/SNOW", _K.NEIGE_VERGLAS),
    ("ENV", "DIS/TRSPRT", _K.ACCIDENT_ROUTIER),
    ("ENV", "CDIS/RIOT", _K.ORDRE_PUBLIC),
)


_FOREST = {"FOREST", "FRST", "FOR", "WOOD", "WDL"}
# The organisation's domain in an ORG_ID (`fr.fire.sdis06`), then the resource class.
_DOMAIN_SERVICES = {
    "fire": Service.SDIS,
    "health": Service.SAMU_SMUR,
    "police": Service.POLICE,
    "gendarmerie": Service.GENDARMERIE,
    "gend": Service.GENDARMERIE,
}
_CLASS_SERVICES: tuple[tuple[str, Service], ...] = (
    ("ORG/FIRFS", Service.SDIS),
    ("HUM/CAPAB/FIR", Service.SDIS),
    ("MAT/VEH/ROADVE/FRFGTN", Service.SDIS),
    ("MAT/VEH/VESSEL/FIRBOT", Service.SDIS),
    ("ORG/AMBUL", Service.SAMU_SMUR),
    ("ORG/HOSP", Service.SAMU_SMUR),
    ("ORG/DOCTOR", Service.SAMU_SMUR),
    ("HUM/CAPAB/MED", Service.SAMU_SMUR),
    ("HUM/CAPAB/AMB", Service.SAMU_SMUR),
    ("HUM/UNIT/MEDCL", Service.SAMU_SMUR),
    ("MAT/VEH/ROADVE/AMBUL", Service.SAMU_SMUR),
    ("MAT/VEH/AIRCRF/HELMED", Service.SAMU_SMUR),
    ("MAT/VEH/AIRCRF/MEDEVC", Service.SAMU_SMUR),
    ("ORG/POLICE", Service.POLICE),
    ("HUM/CAPAB/POL", Service.POLICE),
    ("HUM/UNIT/POL", Service.POLICE),
    ("MAT/VEH/ROADVE/POLICE", Service.POLICE),
    ("MAT/VEH/AIRCRF/POLHEL", Service.POLICE),
    ("ORG/GEND", Service.GENDARMERIE),
    ("ORG/NGO", Service.AASC),
    ("ORG/LOCAUT", Service.COLLECTIVITE),
    ("ORG/CIVP", Service.RENFORTS),
    ("ORG/MIL", Service.RENFORTS),
)


def kind_of(event: EmsiEvent) -> IncidentKind:
    """The kind of incident an EVENT describes: its ETYPE codes, else the words of its name."""
    for rule, prefix, kind in _KIND_RULES:
        if _rule_matches(event, rule, prefix):
            return kind
    words = _folded(f"{event.name or ''} {event.text or ''}")
    for kind, needles in _KINDS:
        if any(re.search(rf"\b{re.escape(n)}", words) for n in needles):
            return kind
    return IncidentKind.AUTRE


def _rule_matches(event: EmsiEvent, rule: str, prefix: str) -> bool:
    if rule == "ENV":
        return matches(event.environment or "", prefix)
    if rule == "CATEGORY":
        return any(matches(c, prefix) for c in event.categories)
    if rule == "ACTOR_HZD":
        return any(a.startswith("VEH/") and "HZD" in a.split("/") for a in event.actors)
    if rule == "FOREST_FIRE":
        fire = any(matches(c, "FIR") for c in event.categories)
        return fire and any(_FOREST & set(t.split("/")) for t in event.loctypes)
    transport = any(matches(c, "TRP") for c in event.categories)  # ACTOR_TRP
    return transport and any(matches(a, prefix) for a in event.actors)


def matches(code: str, prefix: str) -> bool:
    return code == prefix or code.startswith(f"{prefix}/")


def service_of(resource: Resource, message: EmsiMessage) -> Service:
    """The service a resource belongs to: its organisation's domain, else its class."""
    if (service := _domain_service(resource.org_id)) is not None:
        return service
    for prefix, service in _CLASS_SERVICES:
        if any(matches(c, prefix) for c in resource.classes):
            return service
    return _domain_service(message.origin_org) or Service.AUTRE


def _domain_service(org_id: str | None) -> Service | None:
    parts = (org_id or "").lower().split(".")
    return _DOMAIN_SERVICES.get(parts[1]) if len(parts) > 1 else None
