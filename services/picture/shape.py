"""The shape of a crisis' picture, as `fold.new_picture` and the fold's handlers build it.

TypedDicts: at run time the picture stays plain JSON-ready dicts (snapshotted, served and
compared as it is) and they cost nothing; mypy checks every reader against them. A key marked
`NotRequired` may be missing: added to the picture after its first snapshots were taken (the
handlers `setdefault` it), or set only by a later event. Values the events carry as they are
(a location, an attachment, a report's content) keep their wire form: the catalogue's models
declare and validate them.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, Required, TypedDict

# An event, or a value one carries, in its wire (JSON) form: its shape is the catalogue's.
Wire = dict[str, Any]

CrisisState = Literal["unknown", "open", "closed"]
CodState = Literal["not_convened", "convened", "stood_down"]
IncidentState = Literal["open", "closed", "merged", "handed_over"]
PlanState = Literal["none", "proposed", "active", "deactivated"]
ResourceState = Literal["requested", "engaged", "released"]
Basis = Literal["crisis_wide", "sum_of_incidents"]


class Fact(TypedDict):
    """Where a fact of the picture comes from: its event, and when it occurred and was recorded."""

    event_id: str
    occurred_at: str
    recorded_at: str
    # Facts folded before facts kept their position (in older snapshots) have none.
    position: NotRequired[int]
    actor: str


class Outcome(Fact):
    """A follow-up or a task done."""

    outcome: str | None


# -- crisis and COD ------------------------------------------------------------------------------


class CrisisClosure(Fact):
    """The crisis closed."""

    summary: str | None


class Cod(TypedDict, total=False):
    """The COD: not convened (its state alone), convened, or stood down (as convened, and why)."""

    state: Required[CodState]
    location: str
    services_present: list[str]
    convened_by: str
    reason: str | None
    event_id: str
    occurred_at: str
    recorded_at: str
    position: int
    actor: str


# -- incidents and bilan -------------------------------------------------------------------------


class FirstReport(Fact):
    """The first incident reported: what every delay of the crisis is measured from."""

    incident_id: str


class Update(Fact):
    """An incident updated, or merged into (the merge's reason as its note)."""

    note: str | None


class IncidentClosure(Fact):
    """An incident closed."""

    reason: str | None


class HandOver(Fact):
    """An incident handed over to another crisis."""

    to_crisis_id: str
    reason: str | None


class Arrival(Fact):
    """An incident attached to this crisis from another."""

    from_crisis_id: str
    reason: str | None


class Assessed(Fact):
    """One figure assessed, for an incident or for the whole crisis."""

    value: int
    source_of_figures: str


class Incident(TypedDict):
    """An incident; one known by its id before its report has no report and few fields yet."""

    incident_id: str
    kind: str | None
    severity: str | None
    title: str | None
    description: str | None
    location: Wire | None
    sources: list[str]
    external_ids: list[str]
    warnings: list[str]
    expires_at: NotRequired[str | None]
    other_languages: NotRequired[list[Wire]]
    attachments: list[Wire]
    signed: NotRequired[bool]
    status: NotRequired[str]
    state: IncidentState
    reported: Fact | None
    # Its last change: its report (the report's fact), an update, or a merge into it.
    updated: Update | Fact
    bilan: dict[str, Assessed]
    merged_into: NotRequired[str]
    closed: NotRequired[IncidentClosure]
    handed_over: NotRequired[HandOver]
    attached: NotRequired[Arrival]


class Figure(TypedDict):
    """One figure of the overall bilan: its value, how it was reached and the events it says."""

    value: int
    basis: Basis
    # Who said it: {"crisis": event id} for a crisis-wide statement, else incident id: event id.
    events: dict[str, str]
    recorded_at: str


class BilanSum(TypedDict):
    """The running sum of one figure over the incidents that count, and each one's share."""

    total: int
    values: dict[str, int]
    events: dict[str, str]


# -- plans and postures --------------------------------------------------------------------------


class Proposal(Fact):
    """A plan's activation proposed."""

    rule: str | None
    reason: str
    incident_ids: list[str]


class PlanDecision(Fact):
    """A plan activated."""

    decided_by: str
    decided_at: str


class Deactivation(PlanDecision):
    """A plan deactivated."""

    reason: str | None


class Plan(TypedDict):
    """A plan: proposed, active, deactivated (or none, before any of these)."""

    plan_code: str
    plan_name: str | None
    state: PlanState
    category: NotRequired[str]
    proposed: NotRequired[Proposal]
    activated: NotRequired[PlanDecision]
    deactivated: NotRequired[Deactivation]


class Vigipirate(Fact):
    """The Vigipirate posture in force."""

    posture: str
    scope: str | None
    decided_by: str


class VigipirateProposal(Fact):
    """A Vigipirate posture proposed."""

    posture: str
    scope: str | None
    rule: str | None
    reason: str
    incident_ids: list[str]


class Vigilance(Fact):
    """The weather vigilance of one phenomenon."""

    colour: str
    departement: str
    valid_from: str
    valid_until: str | None
    bulletin_ref: str | None


# -- resources -----------------------------------------------------------------------------------


class Resource(TypedDict):
    """A resource, in its last state; each state it went through keeps its fact."""

    resource_id: str
    service: str
    units: int
    personnel: int
    incident_id: str | None
    description: str | None
    mission: str | None
    state: ResourceState
    requested: NotRequired[Fact]
    engaged: NotRequired[Fact]
    released: NotRequired[Fact]


class ServiceTally(TypedDict):
    """The units and people a service has engaged."""

    units: int
    personnel: int


# -- main courante, decisions, tasks -------------------------------------------------------------


class Entry(Fact):
    """An entry of the main courante."""

    number: int
    entry_id: str
    direction: str
    sender: str
    recipient: str | None
    medium: str
    priority: str
    text: str
    follow_up_owner: str | None
    follow_up_due: str | None
    corrects_entry_id: str | None
    follow_up_done: NotRequired[Outcome]


class MainCourante(TypedDict):
    """How many entries the main courante has, and the latest of them."""

    count: int
    latest: list[Entry]


class FollowUp(Fact):
    """An open follow-up (done ones leave the picture)."""

    entry_id: str
    number: int
    owner: str
    due: str | None
    text: str
    state: Literal["open"]


class Decision(Fact):
    """A decision taken."""

    decision_id: str
    text: str
    taken_by: str
    rationale: str | None
    incident_ids: list[str]


class Task(TypedDict, total=False):
    """A task; one completed before it was known to be assigned has its id, state and outcome."""

    task_id: Required[str]
    title: Required[str | None]
    state: Required[Literal["open", "done"]]
    assignee: str
    due_at: str | None
    decision_id: str | None
    completed: Outcome
    event_id: str
    occurred_at: str
    recorded_at: str
    position: int
    actor: str


# -- communication and reports -------------------------------------------------------------------


class Alert(Fact):
    """A public alert issued."""

    alert_id: str
    channel: str
    headline: str
    severity: str
    instructions: str
    issuing_authority: str
    validated_by: str


class AlertDraft(Fact):
    """A public alert drafted, awaiting validation."""

    alert_id: str
    channel: str
    headline: str
    risk: str
    severity: str
    instructions: str
    issuing_authority: str
    area: Wire
    link: str | None
    expires_at: str | None
    incident_ids: list[str]


class PressRelease(Fact):
    """A press release published."""

    release_id: str
    title: str
    validated_by: str


class Sitrep(Fact):
    """The last situation report issued."""

    number: int
    as_of_position: int
    summary: str
    outlook: str | None
    next_report_at: str | None
    validated_by: str


class SitrepDraft(Fact):
    """A situation report drafted; `content` is the report to issue, as drafted."""

    number: int
    as_of_position: int
    summary: str
    outlook: str | None
    next_report_at: str | None
    content: Wire


class Cadence(Fact):
    """The cadence of the situation reports."""

    every_minutes: int
    first_due_at: str


# -- the picture ---------------------------------------------------------------------------------


class Picture(TypedDict):
    """The picture of one crisis at one position of its stream."""

    crisis_id: str
    name: str | None
    kind: str | None
    departement: str | None
    nature: str | None
    state: CrisisState
    exercise: bool
    opened: Fact | None
    closed: CrisisClosure | None
    cod: Cod
    incidents: dict[str, Incident]
    bilan: dict[str, Figure]
    crisis_wide_bilan: dict[str, Assessed]
    bilan_sums: dict[str, BilanSum]
    plans: dict[str, Plan]
    vigipirate: Vigipirate | None
    vigilance: dict[str, Vigilance]
    resources: dict[str, Resource]
    engaged_by_service: dict[str, ServiceTally]
    decisions: dict[str, Decision]
    tasks: dict[str, Task]
    main_courante: MainCourante
    # Keys added after the first snapshots (and the sections of the events added since).
    follow_ups: NotRequired[dict[str, FollowUp]]
    follow_ups_done: NotRequired[int]
    alerts: dict[str, Alert]
    press_releases: dict[str, PressRelease]
    sitrep: Sitrep | None
    sitrep_drafts: NotRequired[dict[str, SitrepDraft]]
    sitrep_cadence: NotRequired[Cadence | None]
    alert_drafts: NotRequired[dict[str, AlertDraft]]
    vigipirate_proposed: NotRequired[VigipirateProposal | None]
    first_report: NotRequired[FirstReport | None]
    rejected_inputs: int
    events: int
    position: int
    recorded_at: str | None
