"""One valid instance of every event type, for tests that need events of any kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar
from uuid import uuid4

from schemas.envelope import Envelope
from schemas.events import (
    BilanAssessed,
    CodConvened,
    CodStoodDown,
    CrisisClosed,
    CrisisOpened,
    DecisionTaken,
    FollowUpDone,
    IncidentAttached,
    IncidentClosed,
    IncidentHandedOver,
    IncidentMerged,
    IncidentReported,
    IncidentUpdated,
    InputRejected,
    MainCouranteEntryRecorded,
    PlanActivated,
    PlanActivationProposed,
    PlanDeactivated,
    PressReleasePublished,
    PublicAlertDrafted,
    PublicAlertIssued,
    ResourceEngaged,
    ResourceReleased,
    ResourceRequested,
    SituationReportCadenceSet,
    SituationReportDrafted,
    SituationReportIssued,
    TaskAssigned,
    TaskCompleted,
    VigilanceChanged,
    VigipirateChanged,
    VigipiratePostureProposed,
)

E = TypeVar("E", bound=Envelope)

PARIS_SUMMER = timezone(timedelta(hours=2))
OCCURRED_AT = datetime(2020, 10, 2, 14, 32, tzinfo=PARIS_SUMMER)
LATER = OCCURRED_AT + timedelta(hours=4)

ENVELOPE: dict[str, Any] = {
    "crisis_id": "alex-06-2020",
    "occurred_at": OCCURRED_AT,
    "source": "console",
    "actor": "op.dupont",
}

SAINT_MARTIN = {"lat": 44.0689, "lon": 7.2553}
VESUBIE_RING = [
    {"lat": 44.10, "lon": 7.20},
    {"lat": 44.10, "lon": 7.30},
    {"lat": 44.00, "lon": 7.30},
    {"lat": 44.10, "lon": 7.20},
]
LOCATION: dict[str, Any] = {
    "description": "Saint-Martin-Vésubie, bord de la Vésubie",
    "point": SAINT_MARTIN,
    "polygons": [{"points": VESUBIE_RING}],
    "circles": [{"center": SAINT_MARTIN, "radius_km": 2.5}],
    "insee_codes": ["06127"],
}

PAYLOADS: dict[type[Envelope], dict[str, Any]] = {
    CrisisOpened: {
        "name": "Tempête Alex",
        "kind": "crise",
        "departement": "06",
        "nature": "inondation",
        "description": "Crues torrentielles de la Vésubie et de la Roya.",
    },
    CrisisClosed: {"summary": "Retour à la normale, fin de la phase d'urgence."},
    CodConvened: {
        "location": "Préfecture des Alpes-Maritimes, salle COD",
        "services_present": ["SDIS 06", "DDSP", "Gendarmerie", "DDTM", "ARS"],
        "convened_by": "Directeur de cabinet",
    },
    CodStoodDown: {"reason": "Fin de la phase d'urgence."},
    IncidentReported: {
        "incident_id": "inc-0001",
        "kind": "inondation",
        "severity": "extreme",
        "title": "Crue de la Vésubie à Saint-Martin-Vésubie",
        "location": LOCATION,
        "sources": ["Vigicrues", "CTA-CODIS 06"],
        "external_ids": ["urn:oid:2.49.0.1.250.0.2020.10.02.1"],
        "warnings": ["<expires> missing"],
    },
    IncidentUpdated: {"incident_id": "inc-0001", "severity": "severe", "note": "Décrue amorcée."},
    IncidentMerged: {
        "incident_id": "inc-0001",
        "merged_ids": ["inc-0004"],
        "reason": "Même crue signalée deux fois.",
    },
    IncidentClosed: {"incident_id": "inc-0001", "reason": "Décrue terminée."},
    IncidentHandedOver: {
        "incident_id": "cap-0001",
        "to_crisis_id": "inondation-06-2020-10",
        "reason": "Rattaché à la crise en cours.",
    },
    IncidentAttached: {
        "incident_id": "cap-0001",
        "from_crisis_id": "veille",
        "kind": "inondation",
        "severity": "severe",
        "title": "Vigilance rouge crues sur la Vésubie",
        "location": {"description": "Vésubie", "insee_codes": ["06127"]},
        "sources": ["Vigicrues"],
        "external_ids": ["cap:vigicrues@example.fr,FR-VC-2020-10-02-001"],
    },
    BilanAssessed: {
        "incident_id": "inc-0001",
        "figures": {"decedes": 0, "disparus": 8, "evacues": 120},
        "source_of_figures": "SDIS 06",
    },
    PlanActivationProposed: {
        "plan_code": "orsec-inondation",
        "plan_name": "ORSEC inondation",
        "category": "dispositions_specifiques",
        "rule": "inondation-extreme",
        "reason": "Crue extrême en cours.",
        "incident_ids": ["inc-0001"],
    },
    PlanActivated: {
        "plan_code": "orsec-inondation",
        "plan_name": "ORSEC inondation",
        "category": "dispositions_specifiques",
        "decided_by": "Préfet des Alpes-Maritimes",
        "decided_at": OCCURRED_AT,
        "proposal_event_id": "5f0c7a4e-3b7e-4c38-9d7a-0b1a2c3d4e5f",
    },
    PlanDeactivated: {
        "plan_code": "orsec-inondation",
        "decided_by": "Préfet des Alpes-Maritimes",
        "decided_at": LATER,
    },
    VigipirateChanged: {"posture": "urgence_attentat", "decided_by": "Premier ministre"},
    VigilanceChanged: {
        "departement": "06",
        "phenomenon": "pluie_inondation",
        "colour": "rouge",
        "valid_from": OCCURRED_AT,
        "valid_until": LATER,
        "bulletin_ref": "Bulletin du 02/10/2020 06h00",
    },
    ResourceRequested: {
        "resource_id": "res-ccf-83",
        "service": "sdis",
        "units": 4,
        "personnel": 16,
        "requested_from": "COZ Sud",
    },
    ResourceEngaged: {
        "resource_id": "res-ccf-83",
        "service": "sdis",
        "units": 4,
        "personnel": 16,
        "incident_id": "inc-0001",
        "mission": "Protection de Lantosque",
    },
    ResourceReleased: {
        "resource_id": "res-ccf-83",
        "service": "sdis",
        "units": 4,
        "personnel": 16,
    },
    MainCouranteEntryRecorded: {
        "entry_id": "mc-0001",
        "direction": "received",
        "sender": "CODIS 06",
        "medium": "telephone",
        "priority": "flash",
        "text": "RD 2565 coupée au pont de Saint-Martin-Vésubie.",
        "follow_up_owner": "Cellule moyens",
        "follow_up_due": LATER,
    },
    FollowUpDone: {"entry_id": "mc-0001", "outcome": "Pont fermé par la DIR Méditerranée."},
    DecisionTaken: {
        "decision_id": "dec-0001",
        "text": "Fermeture des écoles de la vallée.",
        "taken_by": "Directeur de cabinet",
        "incident_ids": ["inc-0001"],
    },
    TaskAssigned: {
        "task_id": "task-0001",
        "title": "Ouvrir un centre d'hébergement",
        "assignee": "Mairie de Lantosque",
        "due_at": LATER,
        "decision_id": "dec-0001",
    },
    TaskCompleted: {"task_id": "task-0001", "outcome": "Centre ouvert, 40 places."},
    PublicAlertIssued: {
        "alert_id": "alert-0001",
        "channel": "fr_alert",
        "headline": "Alerte inondation : crue de la Vésubie",
        "risk": "Montée rapide des eaux.",
        "issuing_authority": "Préfet des Alpes-Maritimes",
        "area": {"insee_codes": ["06127"]},
        "instructions": "Rejoignez les étages.",
        "link": "https://www.alpes-maritimes.gouv.fr",
        "severity": "extreme",
        "expires_at": LATER,
        "validated_by": "Directeur de cabinet",
    },
    PublicAlertDrafted: {
        "alert_id": "alert-0001",
        "channel": "fr_alert",
        "headline": "Alerte inondation : crue de la Vésubie",
        "risk": "Montée rapide des eaux.",
        "issuing_authority": "Préfet des Alpes-Maritimes",
        "area": {"insee_codes": ["06127"]},
        "instructions": "Rejoignez les étages.",
        "severity": "extreme",
    },
    SituationReportDrafted: {
        "number": 1,
        "as_of_position": 42,
        "summary": "Crue extrême, 8 disparus.",
        "outlook": "Décrue attendue dans la nuit.",
    },
    SituationReportCadenceSet: {"every_minutes": 240, "first_due_at": LATER},
    VigipiratePostureProposed: {
        "posture": "urgence_attentat",
        "scope": "Alpes-Maritimes",
        "rule": "attentat-urgence",
        "reason": "Attentat en cours à Nice.",
        "incident_ids": ["inc-0001"],
    },
    PressReleasePublished: {
        "release_id": "cp-0001",
        "title": "Point de situation de 18h00",
        "body": "Le préfet appelle à la plus grande prudence.",
        "validated_by": "Directeur de cabinet",
    },
    SituationReportIssued: {
        "number": 1,
        "as_of_position": 42,
        "summary": "Crue extrême, 8 disparus.",
        "bilan": {"disparus": 8},
        "active_plans": ["orsec-inondation"],
        "resources": [{"service": "sdis", "units": 4, "personnel": 16}],
        "next_report_at": LATER,
        "validated_by": "Directeur de cabinet",
    },
    InputRejected: {
        "input_source": "cap-meteo-france",
        "reason": "<area> missing",
        "detail_path": "/alert/info[0]/area",
        "content_type": "application/cap+xml",
        "raw_size": 3,
        "raw_sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "raw_excerpt": "abc",
    },
}


def sample_event(cls: type[E], **changes: Any) -> E:
    """A valid `cls` event, with `changes` applied to its envelope or payload fields."""
    return cls.model_validate({**ENVELOPE, **PAYLOADS[cls], **changes})


def naive(moment: datetime) -> datetime:
    """The same wall-clock time without its time zone, which events must refuse."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def incident_reported(**changes: Any) -> IncidentReported:
    """A fresh incident report (a new event id each call) with `changes` applied."""
    return sample_event(IncidentReported, event_id=uuid4(), **changes)
