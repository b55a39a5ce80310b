"""`crisis open|close|bilan|decision`, `crisis cod|incident|plan|task|log add|…`: the cell's acts.

Each command sends one act to the cell service as the person logged in (`crisis login`; `--as`
picks among the sessions held). The cell checks that person's role and publishes the events, or
says why not (exit 1).
"""

from __future__ import annotations

from typing import Annotated

import typer

from schemas.types import TOKEN_PATTERN
from services.cli.cell_client import act
from services.cli.incident_commands import incident_app
from services.cli.log_commands import log_app
from services.cli.picture_commands import parse_instant
from services.cli.point import POINT_HELP, location
from services.picture.fold import BILAN_FIGURES

As = Annotated[
    str | None,
    typer.Option(
        "--as", help="Which of your sessions acts (`crisis login`); needed when you hold several."
    ),
]
Crisis = Annotated[str, typer.Option("--crisis", "-c", help="The crisis.")]
Where = Annotated[str | None, typer.Option("--where", help="Where, in words.")]
Point = Annotated[str | None, typer.Option("--point", help=POINT_HELP)]
Insee = Annotated[list[str] | None, typer.Option("--insee", help="Commune INSEE code (repeat).")]
When = Annotated[str | None, typer.Option(help="An instant, e.g. 2020-10-02T18:00:00+02:00.")]

cod_app = typer.Typer(help="The COD: convened, stood down.", no_args_is_help=True)
plan_app = typer.Typer(
    help="ORSEC plans: list, propose, activate, deactivate.", no_args_is_help=True
)
task_app = typer.Typer(help="Tasks: assign, done.", no_args_is_help=True)


def _instant(text: str | None) -> str | None:
    return parse_instant(text).isoformat() if text else None


def open_command(
    crisis_id: Annotated[str, typer.Argument(help=f"Id of the crisis ({TOKEN_PATTERN}).")],
    name: Annotated[str, typer.Option(help="Name the cell uses.")],
    departement: Annotated[str, typer.Option(help="Département code, e.g. 06.")],
    nature: Annotated[str | None, typer.Option(help="Main nature, e.g. inondation.")] = None,
    planned: Annotated[bool, typer.Option(help="A planned event run as a crisis.")] = False,
    exercise: Annotated[bool, typer.Option(help="An exercise: EXERCICE everywhere.")] = False,
    description: Annotated[str | None, typer.Option(help="What it is about.")] = None,
    actor: As = None,
) -> None:
    """Open a crisis (director)."""
    act(
        actor,
        {
            "act": "open_crisis",
            "crisis_id": crisis_id,
            "name": name,
            "departement": departement,
            "nature": nature,
            "kind": "evenement_planifie" if planned else "crise",
            "exercise": exercise,
            "description": description,
        },
    )


def close_command(
    crisis_id: Annotated[str, typer.Argument(help="The crisis.")],
    summary: Annotated[str | None, typer.Option(help="Closing summary, for the RETEX.")] = None,
    actor: As = None,
) -> None:
    """Close a crisis (director)."""
    act(actor, {"act": "close_crisis", "crisis_id": crisis_id, "summary": summary})


@cod_app.command("convene")
def cod_convene(
    crisis: Crisis,
    location_: Annotated[str, typer.Option("--location", help="Where the COD sits.")],
    service: Annotated[list[str] | None, typer.Option(help="A service present (repeat).")] = None,
    actor: As = None,
) -> None:
    """Convene the COD (director)."""
    act(
        actor,
        {
            "act": "convene_cod",
            "crisis_id": crisis,
            "location": location_,
            "services_present": service or [],
        },
    )


@cod_app.command("stand-down")
def cod_stand_down(
    crisis: Crisis, reason: Annotated[str | None, typer.Option()] = None, actor: As = None
) -> None:
    """Stand the COD down (director)."""
    act(actor, {"act": "stand_down_cod", "crisis_id": crisis, "reason": reason})


@incident_app.command("report")
def incident_report(
    crisis: Crisis,
    kind: Annotated[str, typer.Option(help="inondation, feu, seveso, tmd, attentat…")],
    title: Annotated[str, typer.Option(help="One line the cell will recognise.")],
    severity: Annotated[str, typer.Option(help="minor, moderate, severe, extreme.")] = "moderate",
    where: Where = None,
    point: Point = None,
    insee: Insee = None,
    description: Annotated[str | None, typer.Option()] = None,
    source: Annotated[list[str] | None, typer.Option(help="Who reported it (repeat).")] = None,
    actor: As = None,
) -> None:
    """Report an incident by hand."""
    act(
        actor,
        {
            "act": "report_incident",
            "crisis_id": crisis,
            "kind": kind,
            "title": title,
            "severity": severity,
            "location": location(where, point, insee),
            "description": description,
            "sources": source or [],
        },
    )


@incident_app.command("update")
def incident_update(
    incident_id: Annotated[str, typer.Argument()],
    crisis: Crisis,
    severity: Annotated[str | None, typer.Option()] = None,
    title: Annotated[str | None, typer.Option()] = None,
    description: Annotated[str | None, typer.Option()] = None,
    note: Annotated[str | None, typer.Option(help="What changed and why.")] = None,
    actor: As = None,
) -> None:
    """Change what is known of an incident."""
    act(
        actor,
        {
            "act": "update_incident",
            "crisis_id": crisis,
            "incident_id": incident_id,
            "severity": severity,
            "title": title,
            "description": description,
            "note": note,
        },
    )


@incident_app.command("close")
def incident_close(
    incident_id: Annotated[str, typer.Argument()],
    crisis: Crisis,
    reason: Annotated[str | None, typer.Option()] = None,
    actor: As = None,
) -> None:
    """Close an incident."""
    act(
        actor,
        {
            "act": "close_incident",
            "crisis_id": crisis,
            "incident_id": incident_id,
            "reason": reason,
        },
    )


# The bilan figures, in the order of the options below.
FIGURES = BILAN_FIGURES


def bilan_command(
    crisis: Crisis,
    source: Annotated[str, typer.Option(help="Who gave the figures (SDIS 06, SAMU 06…).")],
    incident: Annotated[str | None, typer.Option(help="Incident; none for the crisis.")] = None,
    decedes: Annotated[int | None, typer.Option(help="Décédés.")] = None,
    ua: Annotated[int | None, typer.Option("--ua", help="Urgences absolues.")] = None,
    ur: Annotated[int | None, typer.Option("--ur", help="Urgences relatives.")] = None,
    impliques: Annotated[int | None, typer.Option(help="Impliqués.")] = None,
    disparus: Annotated[int | None, typer.Option(help="Disparus.")] = None,
    evacues: Annotated[int | None, typer.Option(help="Évacués.")] = None,
    abrites: Annotated[int | None, typer.Option("--mis-a-l-abri", help="Mis à l'abri.")] = None,
    heberges: Annotated[int | None, typer.Option(help="Hébergés.")] = None,
    sans_electricite: Annotated[
        int | None, typer.Option(help="Foyers privés d'électricité.")
    ] = None,
    sans_eau: Annotated[int | None, typer.Option(help="Foyers privés d'eau.")] = None,
    routes_coupees: Annotated[int | None, typer.Option(help="Routes coupées.")] = None,
    note: Annotated[str | None, typer.Option()] = None,
    actor: As = None,
) -> None:
    """Give bilan figures, with their source, for an incident or the whole crisis."""
    values = (
        decedes,
        ua,
        ur,
        impliques,
        disparus,
        evacues,
        abrites,
        heberges,
        sans_electricite,
        sans_eau,
        routes_coupees,
    )
    figures = {n: v for n, v in zip(FIGURES, values, strict=True) if v is not None}
    act(
        actor,
        {
            "act": "assess_bilan",
            "crisis_id": crisis,
            "incident_id": incident,
            "figures": figures,
            "source_of_figures": source,
            "note": note,
        },
    )


@plan_app.command("propose")
def plan_propose(
    plan_code: Annotated[str, typer.Argument()],
    crisis: Crisis,
    name: Annotated[str, typer.Option(help="Name of the plan.")],
    reason: Annotated[str, typer.Option(help="Why.")],
    general: Annotated[
        bool, typer.Option(help="Dispositions générales (else spécifiques).")
    ] = False,
    actor: As = None,
) -> None:
    """Propose a plan to the director."""
    category = "dispositions_generales" if general else "dispositions_specifiques"
    act(
        actor,
        {
            "act": "propose_plan",
            "crisis_id": crisis,
            "plan_code": plan_code,
            "plan_name": name,
            "category": category,
            "reason": reason,
        },
    )


@plan_app.command("activate")
def plan_activate(
    plan_code: Annotated[str, typer.Argument()],
    crisis: Crisis,
    name: Annotated[str | None, typer.Option(help="Needed if it was not proposed.")] = None,
    general: Annotated[bool | None, typer.Option(help="Dispositions générales?")] = None,
    actor: As = None,
) -> None:
    """Activate a plan (director)."""
    category = (
        None
        if general is None
        else ("dispositions_generales" if general else "dispositions_specifiques")
    )
    act(
        actor,
        {
            "act": "activate_plan",
            "crisis_id": crisis,
            "plan_code": plan_code,
            "plan_name": name,
            "category": category,
        },
    )


@plan_app.command("deactivate")
def plan_deactivate(
    plan_code: Annotated[str, typer.Argument()],
    crisis: Crisis,
    reason: Annotated[str | None, typer.Option()] = None,
    actor: As = None,
) -> None:
    """Deactivate a plan (director)."""
    act(
        actor,
        {"act": "deactivate_plan", "crisis_id": crisis, "plan_code": plan_code, "reason": reason},
    )


def entry_add(
    crisis: Crisis,
    text: Annotated[str, typer.Argument(help="The message.")],
    sender: Annotated[str, typer.Option("--from", help="Who it is from.")],
    recipient: Annotated[str | None, typer.Option("--to", help="Who it is to.")] = None,
    sent: Annotated[bool, typer.Option(help="Sent by the cell (else received).")] = False,
    medium: Annotated[str, typer.Option(help="telephone, radio, email, fax, sms…")] = "telephone",
    priority: Annotated[str, typer.Option(help="routine, urgent, flash.")] = "routine",
    follow_up: Annotated[str | None, typer.Option(help="Who must follow it up.")] = None,
    due: When = None,
    actor: As = None,
) -> None:
    """Add an entry to the main courante."""
    act(
        actor,
        {
            "act": "record_entry",
            "crisis_id": crisis,
            "text": text,
            "sender": sender,
            "recipient": recipient,
            "direction": "sent" if sent else "received",
            "medium": medium,
            "priority": priority,
            "follow_up_owner": follow_up,
            "follow_up_due": _instant(due),
        },
    )


def entry_done(
    entry_id: Annotated[str, typer.Argument(help="The entry whose follow-up is done.")],
    crisis: Crisis,
    outcome: Annotated[str | None, typer.Option(help="What came of it.")] = None,
    actor: As = None,
) -> None:
    """Mark done the follow-up a main-courante entry asked for."""
    act(
        actor,
        {"act": "close_follow_up", "crisis_id": crisis, "entry_id": entry_id, "outcome": outcome},
    )


@task_app.command("assign")
def task_assign(
    crisis: Crisis,
    title: Annotated[str, typer.Argument(help="What is to be done.")],
    assignee: Annotated[str, typer.Option("--to", help="Who must do it.")],
    due: When = None,
    decision: Annotated[str | None, typer.Option(help="Decision it carries out.")] = None,
    actor: As = None,
) -> None:
    """Assign a task."""
    act(
        actor,
        {
            "act": "assign_task",
            "crisis_id": crisis,
            "title": title,
            "assignee": assignee,
            "due_at": _instant(due),
            "decision_id": decision,
        },
    )


@task_app.command("done")
def task_done(
    task_id: Annotated[str, typer.Argument()],
    crisis: Crisis,
    outcome: Annotated[str | None, typer.Option()] = None,
    actor: As = None,
) -> None:
    """Mark a task done."""
    act(
        actor, {"act": "complete_task", "crisis_id": crisis, "task_id": task_id, "outcome": outcome}
    )


def decision_command(
    crisis: Crisis,
    text: Annotated[str, typer.Argument(help="The decision.")],
    rationale: Annotated[str | None, typer.Option()] = None,
    incident: Annotated[list[str] | None, typer.Option(help="Incident concerned (repeat).")] = None,
    actor: As = None,
) -> None:
    """Record a decision (director)."""
    act(
        actor,
        {
            "act": "take_decision",
            "crisis_id": crisis,
            "text": text,
            "rationale": rationale,
            "incident_ids": incident or [],
        },
    )


def register(app: typer.Typer) -> None:
    """Put the cell's commands on the main command line."""
    app.command("open")(open_command)
    app.command("close")(close_command)
    app.command("bilan")(bilan_command)
    app.command("decision")(decision_command)
    log_app.command("add")(entry_add)
    log_app.command("done")(entry_done)
    app.add_typer(cod_app, name="cod")
    app.add_typer(plan_app, name="plan")
    app.add_typer(task_app, name="task")
