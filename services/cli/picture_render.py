"""The operational picture, rendered for an operator at a terminal.

Every function takes the view (`services.picture.views.view`) as plain data and returns rich
renderables; nothing here reads the log. Data goes into `Text` objects, never into markup strings,
so a bracket in a main courante entry cannot be taken for a style.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from schemas.envelope import STANDING_WATCH
from services.picture.fold import BILAN_FIGURES

View = dict[str, Any]

LATEST_ENTRIES = 10
MOST_INCIDENTS = 20
MOST_DECISIONS = 10

BILAN_LABELS = {
    "decedes": "Décédés",
    "urgences_absolues": "Urgences absolues (UA)",
    "urgences_relatives": "Urgences relatives (UR)",
    "impliques": "Impliqués",
    "disparus": "Disparus",
    "evacues": "Évacués",
    "mis_a_l_abri": "Mis à l'abri",
    "heberges": "Hébergés",
    "foyers_sans_electricite": "Foyers sans électricité",
    "foyers_sans_eau": "Foyers sans eau",
    "routes_coupees": "Routes coupées",
}
SERVICE_LABELS = {
    "sdis": "SDIS", "samu_smur": "SAMU / SMUR", "police": "Police", "gendarmerie": "Gendarmerie",
    "aasc": "AASC", "renforts": "Renforts", "collectivite": "Collectivité",
    "operateur_reseau": "Opérateur de réseau", "autre": "Autre",
}  # fmt: skip
COLOURS = {"vert": "green", "jaune": "yellow", "orange": "dark_orange", "rouge": "bold red"}
SEVERITIES = {"extreme": "bold red", "severe": "red", "moderate": "yellow", "minor": ""}
NONE = "—"


# -- values --------------------------------------------------------------------------------------


def when(iso: str | None, pattern: str = "%d/%m %H:%M") -> str:
    """An ISO instant in the terminal's local time, or a dash."""
    if not iso:
        return NONE
    return datetime.fromisoformat(iso).astimezone().strftime(pattern)


def clip(value: Any, width: int = 60) -> str:
    """A value on one line, cut to `width` characters."""
    text = " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def short_id(event_id: str) -> str:
    """The first block of an event id: enough to find it in `crisis log export`."""
    return event_id.split("-", 1)[0]


def _table(title: str, *columns: str, caption: str | None = None) -> Table:
    """A table whose columns named with a trailing `~` give way when the terminal is narrow.

    The others (ids, numbers, times) are never cut; the cells of the flexible ones are `cut`
    Text, one line each, ended with an ellipsis where there is no more room.
    """
    table = Table(title=title, title_justify="left", title_style="bold", caption=caption)
    table.caption_justify = "left"
    for column in columns:
        flexible = column.endswith("~")
        table.add_column(column.rstrip("~"), no_wrap=not flexible)
    return table


def cut(value: Any, style: str = "") -> Text:
    """A cell on one line, shortened with an ellipsis to the width its column gets."""
    return Text(clip(value, 200), style, no_wrap=True, overflow="ellipsis")


def _empty(title: str, what: str) -> Text:
    return Text.assemble((title, "bold"), (f"  {what}", "dim"))


# -- the picture ---------------------------------------------------------------------------------


def render_picture(shown: View) -> list[RenderableType]:
    """Every section of the picture, in the order an operator reads a situation."""
    return [
        header(shown),
        incidents(shown),
        bilan(shown),
        plans(shown),
        vigilance(shown),
        resources(shown),
        *decisions_and_tasks(shown),
        main_courante(shown),
        communication(shown),
        sitrep(shown),
    ]


def header(shown: View) -> Text:
    """Name, id, state, département, EXERCICE, position and the instant it stands at."""
    if shown["crisis_id"] == STANDING_WATCH:
        line = Text("Veille (standing watch: what arrives outside any crisis)", "bold")
        line.append(f"  {shown['crisis_id']} · always open · département ")
    else:
        line = Text(shown["name"] or "(crisis not opened yet)", "bold")
        line.append(f"  {shown['crisis_id']} · {shown['state']} · département ")
    line.append(shown["departement"] or NONE)
    if shown["exercise"]:
        line.append("  ")
        line.append("EXERCICE", "bold reverse yellow")
    full = "%Y-%m-%d %H:%M:%S %Z"
    line.append(
        f"\nposition {shown['position']} ({shown['events']} events)"
        f" · as of {when(shown['recorded_at'], full)} · shown at {when(shown['shown_at'], full)}"
    )
    cod = shown["cod"]
    if cod["state"] != "not_convened":
        line.append(f"\nCOD {cod['state'].replace('_', ' ')} {when(cod.get('occurred_at'))}")
        line.append(f" at {cod.get('location') or NONE}")
    line.append(
        f"\n{shown['open_incidents']} open incidents · {shown['open_tasks']} open tasks"
        f" ({shown['overdue_tasks']} overdue) · times in {when(shown['shown_at'], '%Z')}:"
        " occurred = in the world, recorded = by the cell"
    )
    return line


def _severity_rank(incident: dict[str, Any]) -> tuple[bool, int]:
    order = list(SEVERITIES)
    severity = incident.get("severity")
    return incident["state"] != "open", order.index(severity) if severity in order else len(order)


def _title(incident: dict[str, Any]) -> Text:
    """The title, marked when it is not a real report, with the count of intake warnings."""
    title = cut(incident.get("title") or NONE)
    status = incident.get("status") or "Actual"
    if status == "Exercise":
        title.append(" EXERCICE", "bold yellow")
    elif status != "Actual":
        title.append(f" ({status})", "dim")
    if warnings := incident.get("warnings"):
        title.append(f" ⚠ {len(warnings)}", "yellow")
    return title


def incidents(shown: View) -> RenderableType:
    """Incidents, open and most severe first."""
    found = sorted(shown["incidents"].values(), key=_severity_rank)
    if not found:
        return _empty("Incidents", "none reported")
    hidden = len(found) - MOST_INCIDENTS
    caption = f"{hidden} more not shown (--json shows all)" if hidden > 0 else None
    table = _table("Incidents", "id", "kind", "severity", "title~", "state", "occurred",
                   "recorded", caption=caption)  # fmt: skip
    for incident in found[:MOST_INCIDENTS]:
        reported = incident.get("reported") or {}
        severity = incident.get("severity") or NONE
        table.add_row(
            incident["incident_id"],
            incident.get("kind") or NONE,
            Text(severity, SEVERITIES.get(severity, "")),
            _title(incident),
            Text(incident["state"], "" if incident["state"] == "open" else "dim"),
            when(reported.get("occurred_at")),
            when(reported.get("recorded_at")),
        )
    return table


def _bilan_facts(shown: View, name: str, figure: dict[str, Any]) -> list[dict[str, Any]]:
    """The statements a figure of the bilan comes from (crisis-wide, or one per incident)."""
    if figure["basis"] == "crisis_wide":
        return [shown["crisis_wide_bilan"].get(name, {})]
    return [
        shown["incidents"].get(incident_id, {}).get("bilan", {}).get(name, {})
        for incident_id in figure["events"]
    ]


def _bilan_events(figure: dict[str, Any]) -> str:
    events = [
        short_id(event_id) if where == "crisis" else f"{where}:{short_id(event_id)}"
        for where, event_id in figure["events"].items()
    ]
    return ", ".join(events[:3]) + (f" +{len(events) - 3}" if len(events) > 3 else "")


def bilan(shown: View) -> RenderableType:
    """The overall bilan: each figure with its basis, source and the events it comes from."""
    figures = shown["bilan"]
    if not figures:
        return _empty("Bilan", "no figure yet")
    table = _table("Bilan", "figure", "value", "basis", "source~", "occurred", "recorded",
                   "events~")  # fmt: skip
    names = [n for n in BILAN_FIGURES if n in figures] + sorted(set(figures) - set(BILAN_FIGURES))
    for name in names:
        figure = figures[name]
        facts = _bilan_facts(shown, name, figure)
        sources = sorted({f["source_of_figures"] for f in facts if f.get("source_of_figures")})
        occurred = max((f["occurred_at"] for f in facts if f.get("occurred_at")), default=None)
        crisis_wide = figure["basis"] == "crisis_wide"
        table.add_row(
            BILAN_LABELS.get(name, name),
            Text(str(figure["value"]), "bold"),
            "crisis-wide" if crisis_wide else f"Σ {len(facts)} incidents",
            cut(", ".join(sources) or NONE),
            when(occurred),
            when(figure["recorded_at"]),
            cut(_bilan_events(figure)),
        )
    return table


def plans(shown: View) -> RenderableType:
    """Plans active or proposed, with who decided (or proposed) them and when."""
    found = [p for p in shown["plans"].values() if p["state"] in ("active", "proposed")]
    if not found:
        return _empty("Plans", "none active or proposed")
    table = _table("Plans", "plan", "name~", "state", "decided by~", "decided", "recorded")
    for plan in found:
        step = (plan.get("activated") if plan["state"] == "active" else plan.get("proposed")) or {}
        by = step.get("decided_by") or f"proposed by {step.get('actor', NONE)}"
        table.add_row(
            plan["plan_code"],
            cut(plan.get("plan_name") or NONE),
            Text(plan["state"], "bold green" if plan["state"] == "active" else "yellow"),
            cut(by),
            when(step.get("decided_at") or step.get("occurred_at")),
            when(step.get("recorded_at")),
        )
    return table


def vigilance(shown: View) -> RenderableType:
    """Weather vigilance by phenomenon, coloured, and the Vigipirate posture."""
    if not shown["vigilance"]:
        return _empty("Vigilance / Vigipirate", f"no vigilance; {_vigipirate(shown['vigipirate'])}")
    table = _table("Vigilance / Vigipirate", "phenomenon", "colour", "valid", "bulletin~",
                   "occurred", "recorded", caption=_vigipirate(shown["vigipirate"]))  # fmt: skip
    for phenomenon, state in shown["vigilance"].items():
        until = when(state["valid_until"]) if state.get("valid_until") else "…"
        table.add_row(
            phenomenon.replace("_", "-"),
            Text(state["colour"].upper(), COLOURS.get(state["colour"], "")),
            f"{when(state['valid_from'])} → {until}",
            cut(state.get("bulletin_ref") or NONE),
            when(state["occurred_at"]),
            when(state["recorded_at"]),
        )
    return table


def _vigipirate(posture: dict[str, Any] | None) -> str:
    if posture is None:
        return "Vigipirate: no posture recorded for this crisis"
    scope = f" ({posture['scope']})" if posture.get("scope") else ""
    return (
        f"Vigipirate: {posture['posture'].replace('_', ' ')}{scope}, decided by "
        f"{posture['decided_by']} {when(posture['occurred_at'])}"
        f" (recorded {when(posture['recorded_at'])})"
    )


def resources(shown: View) -> RenderableType:
    """Units and people engaged, by service."""
    engaged = shown["engaged_by_service"]
    waiting = sum(1 for r in shown["resources"].values() if r.get("state") == "requested")
    caption = f"{waiting} more requested, not engaged yet" if waiting else None
    if not engaged:
        return _empty("Moyens engagés", caption or "none")
    table = _table("Moyens engagés", "service", "units", "personnel", caption=caption)
    for service, tally in engaged.items():
        table.add_row(SERVICE_LABELS.get(service, service), str(tally["units"]),
                      str(tally["personnel"]))  # fmt: skip
    table.add_row(
        Text("total", "bold"),
        Text(str(sum(t["units"] for t in engaged.values())), "bold"),
        Text(str(sum(t["personnel"] for t in engaged.values())), "bold"),
    )
    return table


def decisions_and_tasks(shown: View) -> list[RenderableType]:
    """Open tasks with their due times (OVERDUE flagged), then the latest decisions."""
    title = "Décisions et tâches"
    tasks = [t for t in shown["tasks"].values() if t.get("state") == "open"]
    done = len(shown["tasks"]) - len(tasks)
    if tasks:
        table = _table(f"{title}: open tasks ({done} done)", "task", "title~", "assignee~",
                       "due", "")  # fmt: skip
        for task in tasks:
            table.add_row(
                task["task_id"],
                cut(task.get("title") or NONE),
                cut(task.get("assignee") or NONE),
                when(task.get("due_at")),
                Text("OVERDUE", "bold red") if task["overdue"] else "",
            )
        found: list[RenderableType] = [table]
    else:
        found = [_empty(title, f"no open task ({done} done)")]
    decisions = list(shown["decisions"].values())
    if decisions:
        table = _table(f"{title}: decisions, {min(len(decisions), MOST_DECISIONS)} latest of "
                       f"{len(decisions)}", "decision", "taken by~", "text~", "occurred",
                       "recorded")  # fmt: skip
        for decision in decisions[-MOST_DECISIONS:]:
            table.add_row(
                decision["decision_id"],
                cut(decision["taken_by"]),
                cut(decision["text"]),
                when(decision["occurred_at"]),
                when(decision["recorded_at"]),
            )
        found.append(table)
    return found


def main_courante(shown: View) -> RenderableType:
    """The latest entries of the main courante."""
    journal = shown["main_courante"]
    latest = journal["latest"][-LATEST_ENTRIES:]
    if not latest:
        return _empty("Main courante", "no entry")
    overdue = sum(1 for entry in latest if entry["overdue"])
    caption = f"OVERDUE: the follow-up asked for is past due ({overdue})" if overdue else None
    table = _table(f"Main courante: {len(latest)} latest of {journal['count']}", "n°",
                   "occurred", "recorded", "from → to", "text~", "", caption=caption)  # fmt: skip
    for entry in latest:
        flags = Text(entry["priority"].upper() if entry["priority"] != "routine" else "")
        if entry["overdue"]:
            flags.append(" OVERDUE", "bold red")
        table.add_row(
            str(entry["number"]),
            when(entry["occurred_at"]),
            when(entry["recorded_at"]),
            f"{clip(entry['sender'], 14)} → {clip(entry.get('recipient') or NONE, 14)}",
            cut(entry["text"]),
            flags,
        )
    return table


def communication(shown: View) -> RenderableType:
    """Public alerts and press releases, in the order they were recorded."""
    items = [(f"alert ({a['channel']})", a["headline"], a) for a in shown["alerts"].values()]
    items += [("press release", p["title"], p) for p in shown["press_releases"].values()]
    if not items:
        return _empty("Communication", "no alert, no press release")
    items.sort(key=lambda item: item[2]["recorded_at"])
    table = _table("Communication", "kind", "headline / title~", "validated by~", "occurred",
                   "recorded")  # fmt: skip
    for kind, title, fact in items:
        table.add_row(
            kind.replace("_", " "),
            cut(title),
            cut(fact["validated_by"]),
            when(fact["occurred_at"]),
            when(fact["recorded_at"]),
        )
    return table


def sitrep(shown: View) -> Text:
    """The last situation report: number, when, and when the next one is due."""
    report = shown["sitrep"]
    if report is None:
        return _empty("Point de situation", "none issued yet")
    line = Text.assemble(("Point de situation", "bold"), f"  n°{report['number']}")
    line.append(
        f" · issued {when(report['occurred_at'])} (recorded {when(report['recorded_at'])})"
        f" · validated by {report['validated_by']}"
        f" · covers the log up to position {report['as_of_position']}"
    )
    due = report.get("next_report_at")
    if due:
        line.append(f" · next due {when(due)}")
        if datetime.fromisoformat(due) < datetime.fromisoformat(shown["shown_at"]):
            line.append(" OVERDUE", "bold red")
    line.append(f"\n{clip(report['summary'], 400)}", "dim")
    return line
