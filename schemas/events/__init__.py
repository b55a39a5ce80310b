"""The event models, one per event type; `schemas.catalogue` lists them and parses any of them."""

from schemas.events.comms import (
    PressReleasePublished,
    PublicAlertDrafted,
    PublicAlertIssued,
    SituationReportCadenceSet,
    SituationReportDrafted,
    SituationReportIssued,
)
from schemas.events.crisis import CodConvened, CodStoodDown, CrisisClosed, CrisisOpened
from schemas.events.incidents import (
    BilanAssessed,
    IncidentAttached,
    IncidentClosed,
    IncidentHandedOver,
    IncidentMerged,
    IncidentReported,
    IncidentUpdated,
)
from schemas.events.maincourante import (
    DecisionTaken,
    FollowUpDone,
    MainCouranteEntryRecorded,
    TaskAssigned,
    TaskCompleted,
)
from schemas.events.plans import (
    PlanActivated,
    PlanActivationProposed,
    PlanDeactivated,
    VigilanceChanged,
    VigipirateChanged,
    VigipiratePostureProposed,
)
from schemas.events.resources import ResourceEngaged, ResourceReleased, ResourceRequested
from schemas.events.system import InputRejected

__all__ = [
    "BilanAssessed",
    "CodConvened",
    "CodStoodDown",
    "CrisisClosed",
    "CrisisOpened",
    "DecisionTaken",
    "FollowUpDone",
    "IncidentAttached",
    "IncidentClosed",
    "IncidentHandedOver",
    "IncidentMerged",
    "IncidentReported",
    "IncidentUpdated",
    "InputRejected",
    "MainCouranteEntryRecorded",
    "PlanActivated",
    "PlanActivationProposed",
    "PlanDeactivated",
    "PressReleasePublished",
    "PublicAlertDrafted",
    "PublicAlertIssued",
    "ResourceEngaged",
    "ResourceReleased",
    "ResourceRequested",
    "SituationReportCadenceSet",
    "SituationReportDrafted",
    "SituationReportIssued",
    "TaskAssigned",
    "TaskCompleted",
    "VigilanceChanged",
    "VigipirateChanged",
    "VigipiratePostureProposed",
]
