"""The acts of the cell, as commands: imperative, validated, one model each."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.envelope import STANDING_WATCH
from schemas.types import CrisisId, Departement, Instant, ShortText, Text, Token, WebUrl
from schemas.values import (
    AlertChannel,
    Bilan,
    CrisisKind,
    Direction,
    IncidentKind,
    Location,
    Medium,
    PlanCategory,
    Priority,
    Service,
    Severity,
    VigipiratePosture,
)


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    crisis_id: CrisisId


class OpenCrisis(_Command):
    """Open a crisis (or a planned event run as one), real or exercise."""

    act: Literal["open_crisis"] = "open_crisis"
    name: ShortText
    departement: Departement
    kind: CrisisKind = CrisisKind.CRISE
    nature: IncidentKind | None = None
    exercise: bool = False
    description: Text | None = None


class CloseCrisis(_Command):
    """Close a crisis; its log stays for the review."""

    act: Literal["close_crisis"] = "close_crisis"
    summary: Text | None = None


class ConveneCod(_Command):
    """Convene the COD: where, and which services are present."""

    act: Literal["convene_cod"] = "convene_cod"
    location: ShortText
    services_present: list[ShortText] = Field(default_factory=list)


class StandDownCod(_Command):
    """Stand the COD down."""

    act: Literal["stand_down_cod"] = "stand_down_cod"
    reason: Text | None = None


class ReportIncident(_Command):
    """Report an incident by hand."""

    act: Literal["report_incident"] = "report_incident"
    kind: IncidentKind
    severity: Severity
    title: ShortText
    location: Location
    description: Text | None = None
    sources: list[ShortText] = Field(default_factory=list)
    occurred_at: Instant | None = None


class UpdateIncident(_Command):
    """Change what is known of an incident."""

    act: Literal["update_incident"] = "update_incident"
    incident_id: Token
    kind: IncidentKind | None = None
    severity: Severity | None = None
    title: ShortText | None = None
    description: Text | None = None
    location: Location | None = None
    note: Text | None = None


class CloseIncident(_Command):
    """Close an incident."""

    act: Literal["close_incident"] = "close_incident"
    incident_id: Token
    reason: Text | None = None


class AttachIncident(_Command):
    """Move an incident from the standing watch (or another crisis) into this crisis."""

    act: Literal["attach_incident"] = "attach_incident"
    incident_id: Token
    from_crisis_id: Token = STANDING_WATCH
    reason: Text | None = None


class AssessBilan(_Command):
    """Give impact figures, for an incident or the whole crisis, with their source."""

    act: Literal["assess_bilan"] = "assess_bilan"
    incident_id: Token | None = None
    figures: Bilan
    source_of_figures: ShortText
    note: Text | None = None


class ProposePlan(_Command):
    """Propose a plan to the director."""

    act: Literal["propose_plan"] = "propose_plan"
    plan_code: Token
    plan_name: ShortText
    category: PlanCategory
    reason: Text
    incident_ids: list[Token] = Field(default_factory=list)


class ActivatePlan(_Command):
    """Activate a plan (director); a proposed plan needs no name or category."""

    act: Literal["activate_plan"] = "activate_plan"
    plan_code: Token
    plan_name: ShortText | None = None
    category: PlanCategory | None = None


class DeactivatePlan(_Command):
    """Deactivate an active plan (director)."""

    act: Literal["deactivate_plan"] = "deactivate_plan"
    plan_code: Token
    reason: Text | None = None


class ChangeVigipirate(_Command):
    """Record a new Vigipirate posture (director)."""

    act: Literal["change_vigipirate"] = "change_vigipirate"
    posture: VigipiratePosture
    scope: ShortText | None = None
    decided_by: ShortText = "Premier ministre (SGDSN)"


class EngageResource(_Command):
    """Record resources engaged by a service."""

    act: Literal["engage_resource"] = "engage_resource"
    service: Service
    units: int = Field(ge=0, le=100_000)
    personnel: int = Field(ge=0, le=1_000_000)
    description: ShortText | None = None
    incident_id: Token | None = None


class RecordEntry(_Command):
    """Add an entry to the main courante."""

    act: Literal["record_entry"] = "record_entry"
    direction: Direction
    sender: ShortText
    recipient: ShortText | None = None
    medium: Medium = Medium.TELEPHONE
    priority: Priority = Priority.ROUTINE
    text: Text
    follow_up_owner: ShortText | None = None
    follow_up_due: Instant | None = None


class CloseFollowUp(_Command):
    """Mark done the follow-up a main-courante entry asked for."""

    act: Literal["close_follow_up"] = "close_follow_up"
    entry_id: Token
    outcome: Text | None = None


class TakeDecision(_Command):
    """Record a decision of the authority (director)."""

    act: Literal["take_decision"] = "take_decision"
    text: Text
    rationale: Text | None = None
    incident_ids: list[Token] = Field(default_factory=list)


class AssignTask(_Command):
    """Give someone a task, with a deadline."""

    act: Literal["assign_task"] = "assign_task"
    title: ShortText
    assignee: ShortText
    due_at: Instant | None = None
    decision_id: Token | None = None


class CompleteTask(_Command):
    """Mark a task done."""

    act: Literal["complete_task"] = "complete_task"
    task_id: Token
    outcome: Text | None = None


class DraftSitrep(_Command):
    """Draft the next point de situation from the picture as it stands."""

    act: Literal["draft_sitrep"] = "draft_sitrep"
    summary: Text | None = None
    outlook: Text | None = None
    next_report_at: Instant | None = None


class IssueSitrep(_Command):
    """Validate and issue a drafted point de situation (director)."""

    act: Literal["issue_sitrep"] = "issue_sitrep"
    number: int = Field(ge=1)


class SetSitrepCadence(_Command):
    """Set how often points de situation are due (director)."""

    act: Literal["set_sitrep_cadence"] = "set_sitrep_cadence"
    every_minutes: int = Field(ge=15, le=24 * 60)
    first_due_at: Instant


class DraftAlert(_Command):
    """Draft a public alert with FR-Alert content."""

    act: Literal["draft_alert"] = "draft_alert"
    channel: AlertChannel = AlertChannel.FR_ALERT
    headline: ShortText
    risk: Text
    issuing_authority: ShortText
    area: Location
    instructions: Text
    link: WebUrl | None = None
    severity: Severity
    expires_at: Instant | None = None
    incident_ids: list[Token] = Field(default_factory=list)


class IssueAlert(_Command):
    """Validate and issue a drafted public alert (director)."""

    act: Literal["issue_alert"] = "issue_alert"
    alert_id: Token


class PublishPressRelease(_Command):
    """Publish a press release (director)."""

    act: Literal["publish_press_release"] = "publish_press_release"
    title: ShortText
    body: Text


Command = Annotated[
    OpenCrisis
    | CloseCrisis
    | ConveneCod
    | StandDownCod
    | ReportIncident
    | UpdateIncident
    | CloseIncident
    | AttachIncident
    | AssessBilan
    | ProposePlan
    | ActivatePlan
    | DeactivatePlan
    | ChangeVigipirate
    | EngageResource
    | RecordEntry
    | CloseFollowUp
    | TakeDecision
    | AssignTask
    | CompleteTask
    | DraftSitrep
    | IssueSitrep
    | SetSitrepCadence
    | DraftAlert
    | IssueAlert
    | PublishPressRelease,
    Field(discriminator="act"),
]


class Request(BaseModel):
    """What the command service receives: the act. Who acts is not the body's to say: it is the
    principal the subject names (`cell.act.<token>`), which the NATS server lets only that
    principal (or the console, for its logged-in person) publish. An `actor` in the body is
    checked against it, for the callers that still send one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: ShortText | None = None
    command: Command
