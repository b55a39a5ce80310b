"""Decide, continued: plans, resources, the main courante, reports and public communication."""

from __future__ import annotations

from typing import Final
from uuid import UUID

from schemas.envelope import Envelope
from schemas.events import (
    DecisionTaken,
    FollowUpDone,
    MainCouranteEntryRecorded,
    PlanActivated,
    PlanActivationProposed,
    PlanDeactivated,
    PressReleasePublished,
    PublicAlertDrafted,
    PublicAlertIssued,
    ResourceEngaged,
    SituationReportCadenceSet,
    SituationReportDrafted,
    SituationReportIssued,
    TaskAssigned,
    TaskCompleted,
    VigipirateChanged,
)
from schemas.values import PlanCategory
from services.cell import commands as c
from services.cell.core import DIRECTOR, OPERATORS, Refused, _Act, _decides, _next_id
from services.picture.shape import Wire
from services.sitrep.core import next_number, report_content, summarise

# -- plans and posture ------------------------------------------------------------------------


@_decides("propose_plan", OPERATORS)
def _propose(a: _Act) -> list[Envelope]:
    cmd: c.ProposePlan = a.command
    plan = a.open_picture()["plans"].get(cmd.plan_code)
    if plan is not None and plan["state"] in ("proposed", "active"):
        raise Refused(f"plan {cmd.plan_code} is already {plan['state']}")
    fields = cmd.model_dump(exclude={"act", "crisis_id"})
    return [PlanActivationProposed(**a.envelope(), rule=None, **fields)]


@_decides("activate_plan", DIRECTOR)
def _activate(a: _Act) -> list[Envelope]:
    cmd: c.ActivatePlan = a.command
    plan = a.open_picture()["plans"].get(cmd.plan_code)
    state = plan.get("state") if plan else None
    if state == "active":
        raise Refused(f"plan {cmd.plan_code} is already active")
    name = cmd.plan_name or (plan.get("plan_name") if plan else None)
    category = cmd.category or (plan.get("category") if plan else None)
    if name is None or category is None:
        raise Refused(f"plan {cmd.plan_code} was not proposed: give its name and category")
    proposed = plan.get("proposed") if plan and state == "proposed" else None
    return [
        PlanActivated(
            **a.envelope(),
            plan_code=cmd.plan_code,
            plan_name=name,
            category=PlanCategory(category),
            decided_by=a.who,
            decided_at=a.now,
            proposal_event_id=UUID(proposed["event_id"]) if proposed else None,
        )
    ]


@_decides("deactivate_plan", DIRECTOR)
def _deactivate(a: _Act) -> list[Envelope]:
    cmd: c.DeactivatePlan = a.command
    plan = a.open_picture()["plans"].get(cmd.plan_code)
    if plan is None or plan["state"] != "active":
        raise Refused(f"plan {cmd.plan_code} is not active")
    return [
        PlanDeactivated(
            **a.envelope(),
            plan_code=cmd.plan_code,
            decided_by=a.who,
            decided_at=a.now,
            reason=cmd.reason,
        )
    ]


@_decides("change_vigipirate", DIRECTOR)
def _vigipirate(a: _Act) -> list[Envelope]:
    cmd: c.ChangeVigipirate = a.command
    a.open_picture()
    fields = cmd.model_dump(exclude={"act", "crisis_id"})
    return [VigipirateChanged(**a.envelope(), **fields)]


@_decides("engage_resource", OPERATORS)
def _engage(a: _Act) -> list[Envelope]:
    cmd: c.EngageResource = a.command
    picture = a.open_picture()
    if cmd.incident_id is not None:
        a.incident(cmd.incident_id, open_only=False)
    fields = cmd.model_dump(exclude={"act", "crisis_id"})
    return [
        ResourceEngaged(**a.envelope(), resource_id=_next_id("res", picture["resources"]), **fields)
    ]


# -- main courante, decisions, tasks ----------------------------------------------------------


@_decides("record_entry", OPERATORS)
def _entry(a: _Act) -> list[Envelope]:
    cmd: c.RecordEntry = a.command
    picture = a.open_picture()
    entry_id = _next_id("mc", picture["main_courante"]["count"])
    fields = cmd.model_dump(exclude={"act", "crisis_id"})
    return [MainCouranteEntryRecorded(**a.envelope(), entry_id=entry_id, **fields)]


@_decides("close_follow_up", OPERATORS)
def _follow_up_done(a: _Act) -> list[Envelope]:
    cmd: c.CloseFollowUp = a.command
    if cmd.entry_id not in a.open_picture().get("follow_ups", {}):
        raise Refused(
            f"entry {cmd.entry_id} has no open follow-up in {cmd.crisis_id} (none asked, or done)"
        )
    return [FollowUpDone(**a.envelope(), entry_id=cmd.entry_id, outcome=cmd.outcome)]


@_decides("take_decision", DIRECTOR)
def _decision(a: _Act) -> list[Envelope]:
    cmd: c.TakeDecision = a.command
    picture = a.open_picture()
    for incident_id in cmd.incident_ids:
        a.incident(incident_id, open_only=False)
    fields = cmd.model_dump(exclude={"act", "crisis_id"})
    decision_id = _next_id("dec", picture["decisions"])
    return [DecisionTaken(**a.envelope(), decision_id=decision_id, taken_by=a.who, **fields)]


@_decides("assign_task", OPERATORS)
def _assign(a: _Act) -> list[Envelope]:
    cmd: c.AssignTask = a.command
    picture = a.open_picture()
    if cmd.decision_id is not None and cmd.decision_id not in picture["decisions"]:
        raise Refused(f"no decision {cmd.decision_id} in {cmd.crisis_id}")
    fields = cmd.model_dump(exclude={"act", "crisis_id"})
    return [TaskAssigned(**a.envelope(), task_id=_next_id("task", picture["tasks"]), **fields)]


@_decides("complete_task", OPERATORS)
def _complete(a: _Act) -> list[Envelope]:
    cmd: c.CompleteTask = a.command
    task = a.open_picture()["tasks"].get(cmd.task_id)
    if task is None:
        raise Refused(f"no task {cmd.task_id} in {cmd.crisis_id}")
    if task.get("state") == "done":
        raise Refused(f"task {cmd.task_id} is already done")
    return [TaskCompleted(**a.envelope(), task_id=cmd.task_id, outcome=cmd.outcome)]


# -- situation reports ------------------------------------------------------------------------


@_decides("draft_sitrep", OPERATORS)
def _draft_sitrep(a: _Act) -> list[Envelope]:
    cmd: c.DraftSitrep = a.command
    picture = a.open_picture()
    previous = picture["sitrep"]["as_of_position"] if picture["sitrep"] else 0
    content = report_content(
        picture,
        number=next_number(picture),
        as_of_position=picture["position"],
        summary=cmd.summary or summarise(picture),
        outlook=cmd.outlook,
        next_report_at=cmd.next_report_at,
        previous_position=previous,
    )
    if cmd.next_report_at is not None and cmd.next_report_at <= a.now:
        raise Refused("the next report must be due after now")
    return [SituationReportDrafted(**a.envelope(), **content)]


@_decides("issue_sitrep", DIRECTOR)
def _issue_sitrep(a: _Act) -> list[Envelope]:
    cmd: c.IssueSitrep = a.command
    picture = a.open_picture()
    draft = picture.get("sitrep_drafts", {}).get(str(cmd.number))
    if draft is None:
        issued = picture["sitrep"]
        if issued is not None and issued["number"] >= cmd.number:
            raise Refused(f"point de situation n° {cmd.number} is already issued")
        raise Refused(f"no draft of point de situation n° {cmd.number}: draft it first")
    content = draft["content"]
    return [SituationReportIssued(**a.envelope(), **content, validated_by=a.who)]


@_decides("set_sitrep_cadence", DIRECTOR)
def _cadence(a: _Act) -> list[Envelope]:
    cmd: c.SetSitrepCadence = a.command
    a.open_picture()
    return [
        SituationReportCadenceSet(
            **a.envelope(), every_minutes=cmd.every_minutes, first_due_at=cmd.first_due_at
        )
    ]


# -- public communication ---------------------------------------------------------------------


@_decides("draft_alert", OPERATORS)
def _draft_alert(a: _Act) -> list[Envelope]:
    cmd: c.DraftAlert = a.command
    picture = a.open_picture()
    for incident_id in cmd.incident_ids:
        a.incident(incident_id, open_only=False)
    taken = {**picture["alerts"], **picture.get("alert_drafts", {})}
    fields = cmd.model_dump(exclude={"act", "crisis_id"})
    return [PublicAlertDrafted(**a.envelope(), alert_id=_next_id("alert", taken), **fields)]


@_decides("issue_alert", DIRECTOR)
def _issue_alert(a: _Act) -> list[Envelope]:
    cmd: c.IssueAlert = a.command
    picture = a.open_picture()
    if cmd.alert_id in picture["alerts"]:
        raise Refused(f"alert {cmd.alert_id} is already issued")
    draft = picture.get("alert_drafts", {}).get(cmd.alert_id)
    if draft is None:
        raise Refused(f"no draft alert {cmd.alert_id} in {cmd.crisis_id}")
    expires_at = draft.get("expires_at")
    if expires_at and expires_at <= a.now.isoformat():
        raise Refused(f"alert {cmd.alert_id} expired at {expires_at}: draft it again")
    # As drafted, for the event to validate again.
    fields: Wire = {k: draft[k] for k in _ALERT_FIELDS if draft.get(k) is not None}
    identifier = f"FR-{picture.get('departement') or 'XX'}-{cmd.crisis_id}-{cmd.alert_id}"
    return [
        PublicAlertIssued(**a.envelope(), **fields, cap_identifier=identifier, validated_by=a.who)
    ]


_ALERT_FIELDS: Final = (
    "alert_id",
    "channel",
    "headline",
    "risk",
    "issuing_authority",
    "area",
    "instructions",
    "link",
    "severity",
    "expires_at",
    "incident_ids",
)


@_decides("publish_press_release", DIRECTOR)
def _press(a: _Act) -> list[Envelope]:
    cmd: c.PublishPressRelease = a.command
    picture = a.open_picture()
    return [
        PressReleasePublished(
            **a.envelope(),
            release_id=_next_id("cp", picture["press_releases"]),
            title=cmd.title,
            body=cmd.body,
            validated_by=a.who,
        )
    ]
