"""`crisis sitrep|alert|press|vigipirate|resource|user|plan list`: reports and communication.

Drafting and issuing go through the cell service (roles checked there); showing reads the log,
so the same log always gives the same report, byte for byte.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from services.bootstrap import open_store
from services.cli.cell_client import act, fail, out, settings
from services.cli.cell_commands import As, Crisis, Insee, Point, When, Where, _instant, plan_app
from services.cli.point import location
from services.cli.rules_commands import plan_rules
from services.comms.cap_out import public_alert_cap
from services.eventlog.store import EventStore
from services.picture.fold import Picture
from services.picture.snapshots import SnapshotStore, picture_at
from services.sitrep.from_log import render_report

sitrep_app = typer.Typer(
    help="Points de situation: draft, issue, show, cadence.", no_args_is_help=True
)
alert_app = typer.Typer(
    help="Public alerts (FR-Alert, CAP out): draft, issue, show.", no_args_is_help=True
)
FORMATS = ("md", "html", "xml", "json")


async def _events(store: EventStore, crisis_id: str, kind: str) -> list[tuple[int, dict[str, Any]]]:
    return [
        (record.position, orjson.loads(record.payload))
        async for record in store.read(crisis_id)
        if record.type == kind
    ]


def _read(job: Any) -> Any:
    loaded = settings()

    async def run() -> Any:
        async with open_store(loaded) as store:
            return await job(store)

    return asyncio.run(run())


def _write(data: bytes, out_file: Path | None) -> None:
    if out_file is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        out_file.write_bytes(data)
        out.print(f"wrote {out_file}", highlight=False)


@sitrep_app.command("draft")
def sitrep_draft(
    crisis: Crisis,
    outlook: Annotated[str | None, typer.Option(help="Expected evolution.")] = None,
    summary: Annotated[str | None, typer.Option(help="Default: written from the picture.")] = None,
    next_at: When = None,
    actor: As = None,
) -> None:
    """Draft the next point de situation from the picture as it stands now."""
    act(
        actor,
        {
            "act": "draft_sitrep",
            "crisis_id": crisis,
            "outlook": outlook,
            "summary": summary,
            "next_report_at": _instant(next_at),
        },
    )


@sitrep_app.command("issue")
def sitrep_issue(
    number: Annotated[int, typer.Argument(help="Number of the drafted report.")],
    crisis: Crisis,
    actor: As = None,
) -> None:
    """Validate and issue a drafted point de situation (director)."""
    act(actor, {"act": "issue_sitrep", "crisis_id": crisis, "number": number})


@sitrep_app.command("cadence")
def sitrep_cadence(
    crisis: Crisis,
    every: Annotated[int, typer.Option(help="Minutes between two reports (15 to 1440).")],
    first: Annotated[str, typer.Option(help="When the next one is due.")],
    actor: As = None,
) -> None:
    """Set how often points de situation are due (director)."""
    act(
        actor,
        {
            "act": "set_sitrep_cadence",
            "crisis_id": crisis,
            "every_minutes": every,
            "first_due_at": _instant(first),
        },
    )


@sitrep_app.command("show")
def sitrep_show(
    crisis: Crisis,
    number: Annotated[int | None, typer.Argument(help="Default: the last one issued.")] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="md, html, xml (EDXL-SitRep) or json.")
    ] = "md",
    out_file: Annotated[Path | None, typer.Option("--out", help="File to write.")] = None,
    draft: Annotated[bool, typer.Option(help="Show a draft, not an issued report.")] = False,
) -> None:
    """A point de situation from the log: Markdown, HTML or EDXL-SitRep XML, byte for byte."""
    if fmt not in FORMATS:
        raise fail(f"--format must be one of {', '.join(FORMATS)}", 2)

    async def job(store: EventStore) -> bytes | None:
        return await render_report(store, crisis, number, fmt, draft=draft)  # type: ignore[arg-type]

    rendered = _read(job)
    if rendered is None:
        what = f"n° {number}" if number else "yet"
        raise fail(f"no {'draft' if draft else 'issued'} point de situation {what} in {crisis}")
    _write(rendered, out_file)


@alert_app.command("draft")
def alert_draft(
    crisis: Crisis,
    headline: Annotated[str, typer.Option(help="As shown on a phone.")],
    risk: Annotated[str, typer.Option(help="Nature du risque.")],
    instructions: Annotated[str, typer.Option(help="Conduite à tenir.")],
    authority: Annotated[str, typer.Option(help="Issuing authority.")] = "Préfet",
    severity: Annotated[str, typer.Option(help="minor, moderate, severe, extreme.")] = "severe",
    where: Where = None,
    point: Point = None,
    insee: Insee = None,
    link: Annotated[str | None, typer.Option(help="Where to read more (https://…).")] = None,
    expires: When = None,
    incident: Annotated[list[str] | None, typer.Option(help="Incident concerned (repeat).")] = None,
    actor: As = None,
) -> None:
    """Draft a public alert with FR-Alert content."""
    act(
        actor,
        {
            "act": "draft_alert",
            "crisis_id": crisis,
            "headline": headline,
            "risk": risk,
            "instructions": instructions,
            "issuing_authority": authority,
            "severity": severity,
            "area": location(where, point, insee),
            "link": link,
            "expires_at": _instant(expires),
            "incident_ids": incident or [],
        },
    )


@alert_app.command("issue")
def alert_issue(
    alert_id: Annotated[str, typer.Argument()], crisis: Crisis, actor: As = None
) -> None:
    """Validate and issue a drafted public alert (director)."""
    act(actor, {"act": "issue_alert", "crisis_id": crisis, "alert_id": alert_id})


@alert_app.command("show")
def alert_show(
    alert_id: Annotated[str, typer.Argument()],
    crisis: Crisis,
    out_file: Annotated[Path | None, typer.Option("--out", help="File to write.")] = None,
) -> None:
    """The CAP 1.2 document of an issued alert, rebuilt from the log, byte for byte."""

    async def job(store: EventStore) -> tuple[dict[str, Any] | None, str]:
        issued = [e for _, e in await _events(store, crisis, "comms.public_alert_issued")]
        opened = await _events(store, crisis, "crisis.opened")
        departement = opened[0][1]["departement"] if opened else "00"
        return next((e for e in issued if e["alert_id"] == alert_id), None), departement

    alert, departement = _read(job)
    if alert is None:
        raise fail(f"no issued alert {alert_id} in {crisis}")
    _write(alert_cap(alert, departement), out_file)


def alert_cap(alert: dict[str, Any], departement: str) -> bytes:
    """The CAP document of an issued alert, as it went out."""
    from datetime import datetime  # noqa: PLC0415

    return public_alert_cap(
        alert,
        identifier=alert["cap_identifier"],
        sender=f"prefecture-{departement}@crisis-cell.invalid",
        sent=datetime.fromisoformat(alert["occurred_at"]),
        status=alert["status"],
    )


def press_publish(
    crisis: Crisis,
    title: Annotated[str, typer.Option()],
    body: Annotated[str, typer.Option(help="Text of the release.")],
    actor: As = None,
) -> None:
    """Publish a press release (director)."""
    act(actor, {"act": "publish_press_release", "crisis_id": crisis, "title": title, "body": body})


def vigipirate_set(
    crisis: Crisis,
    posture: Annotated[
        str, typer.Argument(help="vigilance, securite_renforcee_risque_attentat, urgence_attentat")
    ],
    scope: Annotated[str | None, typer.Option()] = None,
    actor: As = None,
) -> None:
    """Record a new Vigipirate posture (director)."""
    act(
        actor, {"act": "change_vigipirate", "crisis_id": crisis, "posture": posture, "scope": scope}
    )


def resource_engage(
    crisis: Crisis,
    service: Annotated[str, typer.Option(help="sdis, samu_smur, police, gendarmerie, aasc…")],
    units: Annotated[int, typer.Option()],
    personnel: Annotated[int, typer.Option()],
    incident: Annotated[str | None, typer.Option()] = None,
    description: Annotated[str | None, typer.Option()] = None,
    actor: As = None,
) -> None:
    """Record resources engaged by a service."""
    act(
        actor,
        {
            "act": "engage_resource",
            "crisis_id": crisis,
            "service": service,
            "units": units,
            "personnel": personnel,
            "incident_id": incident,
            "description": description,
        },
    )


@plan_app.command("list")
def plan_list(crisis: Crisis) -> None:
    """Plans of a crisis: proposed, active, deactivated, with the delays from the first report."""

    async def job(store: EventStore) -> Picture:
        return await picture_at(store, SnapshotStore(store.engine), crisis)

    picture: Picture = _read(job)
    if picture["exercise"]:
        out.print("[bold yellow]EXERCICE[/] — exercise crisis, not a real one")
    plans = picture["plans"]
    if not plans:
        out.print(f"no plan proposed or activated in {crisis}")
        return
    first_report = picture.get("first_report")
    first = first_report.get("recorded_at") if first_report else None
    table = Table("plan", "name", "state", "rule / by", "proposed", "activated")
    for code, plan in sorted(plans.items()):
        proposed, activated = plan.get("proposed"), plan.get("activated")
        rule = proposed.get("rule") if proposed else None
        by = activated.get("decided_by") if activated else None
        table.add_row(
            code,
            escape(plan.get("plan_name") or ""),
            plan["state"],
            escape(str(rule or by or "")),
            _delay(first, proposed.get("recorded_at") if proposed else None),
            _delay(first, activated.get("recorded_at") if activated else None),
        )
    out.print(table)
    if first:
        out.print(f"delays from the first report, recorded at {first}")


def _delay(start: str | None, end: str | None) -> str:
    from datetime import datetime  # noqa: PLC0415

    if not end:
        return "—"
    if not start:
        return end
    minutes = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 60
    return f"{end[11:16]} (+{minutes:.0f} min)"


def register(app: typer.Typer) -> None:
    """Put these commands on the main command line."""
    app.add_typer(sitrep_app, name="sitrep")
    app.add_typer(alert_app, name="alert")
    plan_app.command("rules")(plan_rules)
    app.command("press")(press_publish)
    app.command("vigipirate")(vigipirate_set)
    app.command("resource")(resource_engage)
