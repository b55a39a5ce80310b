"""Every event type, by class and by wire name, and one adapter that parses any of them."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, TypeAdapter

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

EVENT_TYPES: tuple[type[Envelope], ...] = (
    CrisisOpened,
    CrisisClosed,
    CodConvened,
    CodStoodDown,
    IncidentReported,
    IncidentUpdated,
    IncidentMerged,
    IncidentClosed,
    IncidentHandedOver,
    IncidentAttached,
    BilanAssessed,
    PlanActivationProposed,
    PlanActivated,
    PlanDeactivated,
    VigipiratePostureProposed,
    VigipirateChanged,
    VigilanceChanged,
    ResourceRequested,
    ResourceEngaged,
    ResourceReleased,
    MainCouranteEntryRecorded,
    FollowUpDone,
    DecisionTaken,
    TaskAssigned,
    TaskCompleted,
    PublicAlertDrafted,
    PublicAlertIssued,
    PressReleasePublished,
    SituationReportCadenceSet,
    SituationReportDrafted,
    SituationReportIssued,
    InputRejected,
)

# Written out rather than built from EVENT_TYPES so that mypy knows every member.
AnyEvent = Annotated[
    CrisisOpened
    | CrisisClosed
    | CodConvened
    | CodStoodDown
    | IncidentReported
    | IncidentUpdated
    | IncidentMerged
    | IncidentClosed
    | IncidentHandedOver
    | IncidentAttached
    | BilanAssessed
    | PlanActivationProposed
    | PlanActivated
    | PlanDeactivated
    | VigipiratePostureProposed
    | VigipirateChanged
    | VigilanceChanged
    | ResourceRequested
    | ResourceEngaged
    | ResourceReleased
    | MainCouranteEntryRecorded
    | FollowUpDone
    | DecisionTaken
    | TaskAssigned
    | TaskCompleted
    | PublicAlertDrafted
    | PublicAlertIssued
    | PressReleasePublished
    | SituationReportCadenceSet
    | SituationReportDrafted
    | SituationReportIssued
    | InputRejected,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)


def type_name(cls: type[Envelope]) -> str:
    """The wire name of an event class: the default of its literal `type` field."""
    name = cls.model_fields["type"].default
    if not isinstance(name, str):
        raise TypeError(f"{cls.__name__} does not give its `type` a wire name")
    return name


def index_by_type_name(classes: tuple[type[Envelope], ...]) -> dict[str, type[Envelope]]:
    """Event classes by wire name; RuntimeError if two classes claim the same name."""
    names: dict[str, type[Envelope]] = {}
    for cls in classes:
        name = type_name(cls)
        if name in names:
            # Two classes on one wire name would make the log ambiguous: refuse to start.
            raise RuntimeError(
                f"event type {name!r} is used by both {names[name].__name__} and {cls.__name__}"
            )
        names[name] = cls
    return names


TYPE_NAMES: dict[str, type[Envelope]] = index_by_type_name(EVENT_TYPES)
