"""The review as one self-contained, printable HTML page in French, and as JSON bytes.

Deterministic: the same review gives the same bytes (no clock, fixed order and formatting). Every
value is escaped. Times are shown in the offset the crisis was opened in (the cell's local time,
said on the page), UTC when it never was; the JSON keeps them as the log gave them.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime, tzinfo

import orjson

from services.review.charts import PALETTE, Line, delay_bars, step_chart
from services.review.model import Review, Stamped
from services.sitrep.core import count
from services.sitrep.render import KIND_LABELS

EXERCISE_LINE = "EXERCICE — EXERCICE — EXERCICE"
MINUS = "\u2212"  # a typographic minus, as printed delays read
DIRECTION_LABELS = {"received": "reçu", "sent": "émis", "internal": "interne"}
MEDIUM_LABELS = {
    "telephone": "téléphone",
    "radio": "radio",
    "email": "courriel",
    "fax": "fax",
    "sms": "SMS",
    "portal": "portail",
    "in_person": "de visu",
    "other": "autre",
}
CRISIS_KIND_LABELS = {"crise": "crise", "evenement_planifie": "événement planifié"}


def to_json_bytes(review: Review) -> bytes:
    """The review as JSON: keys sorted, indented by two, one final newline."""
    options = orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2
    return orjson.dumps(review.to_json(), option=options) + b"\n"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _lines(text: str) -> str:
    return "<br>\n".join(_e(line) for line in text.splitlines() or [""])


def page_zone(review: Review) -> tzinfo:
    """The offset the page shows times in: that of the crisis' opening, else UTC."""
    opened = review.crisis.opened
    moment = datetime.fromisoformat(opened.occurred_at) if opened else None
    return moment.tzinfo if moment is not None and moment.tzinfo is not None else UTC


def _instant(iso: str) -> datetime:
    moment = datetime.fromisoformat(iso)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _when(iso: str | None, zone: tzinfo) -> str:
    return "—" if not iso else f"{_instant(iso).astimezone(zone):%d/%m/%Y %H:%M}"


def _zone_name(zone: tzinfo) -> str:
    offset = datetime(2000, 1, 1, tzinfo=zone).strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:5]}"


def duration(minutes: float | None) -> str:
    """Minutes as the cell says them: `7 h 50 min`, `1 j 02 h 05 min`, minus `1 h 15 min`."""
    if minutes is None:
        return "—"
    total = round(abs(minutes))
    days, rest = divmod(total, 1440)
    hours, mins = divmod(rest, 60)
    sign = MINUS if minutes < 0 and total else ""
    if days:
        return f"{sign}{days} j {hours:02d} h {mins:02d} min"
    return f"{sign}{hours} h {mins:02d} min" if hours else f"{sign}{mins} min"


def _ref(position: int, event_id: str) -> str:
    return f'<td class="ref">pos. {position}<br><code>{_e(event_id)}</code></td>'


def _table(head: list[str], rows: list[str], empty: str) -> str:
    if not rows:
        return f"<p>{_e(empty)}</p>"
    heads = "".join(f"<th>{_e(h)}</th>" for h in head)
    return (
        f"<table>\n<thead><tr>{heads}</tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + "\n</tbody>\n</table>"
    )


def _section(heading: str, content: str) -> str:
    return f"<section>\n<h2>{_e(heading)}</h2>\n{content}\n</section>"


# -- the page ------------------------------------------------------------------------------------


def title(review: Review) -> str:
    """The page's title: EXERCICE first for an exercise."""
    words = ["EXERCICE"] if review.crisis.exercise else []
    words += ["Retour d'expérience", review.crisis.name or review.crisis.crisis_id]
    return " — ".join(words)


def to_html(review: Review) -> str:
    """The review as a complete, self-contained HTML5 page with inline SVG charts, for A4."""
    zone = page_zone(review)
    banner = f'<div class="banner exercise" role="note">{_e(EXERCISE_LINE)}</div>'
    body = [
        banner if review.crisis.exercise else "",
        _header(review, zone),
        _section("Délais clés", _delays(review, zone)),
        _section("Chronologie", _timeline(review, zone)),
        _section("Bilan dans le temps", _bilan(review, zone)),
        _section("Moyens engagés", _resources(review, zone)),
        _section("Décisions", _decisions(review, zone)),
        _section("Connu / survenu", _known(review, zone)),
        banner if review.crisis.exercise else "",
        f"<footer>{_e(review.crisis.crisis_id)} — positions {review.crisis.first_position or 0}"
        f" à {review.crisis.last_position or 0} du journal</footer>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="fr">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title(review))}</title>\n"
        f"<style>{CSS}{EXERCISE_CSS if review.crisis.exercise else ''}</style>\n</head>\n<body>\n"
        + "\n".join(part for part in body if part)
        + "\n</body>\n</html>\n"
    )


def _header(review: Review, zone: tzinfo) -> str:
    crisis = review.crisis
    nature = KIND_LABELS.get(crisis.nature or "", crisis.nature or "non précisée")
    facts = [
        ("Crise", f"{crisis.name or 'sans nom'} ({crisis.crisis_id})"),
        ("Type", CRISIS_KIND_LABELS.get(crisis.kind or "", crisis.kind or "non précisé")),
        ("Département", crisis.departement or "non précisé"),
        ("Nature", nature),
        ("Ouverture", _when(crisis.opened.occurred_at if crisis.opened else None, zone)),
        ("Clôture", _when(crisis.closed.occurred_at, zone) if crisis.closed else "non close"),
        ("Heures", f"heure locale de l'ouverture ({_zone_name(zone)})"),
    ]
    if crisis.closing_summary:
        facts.append(("Synthèse de clôture", crisis.closing_summary))
    listed = "\n".join(f"<dt>{_e(k)}</dt><dd>{_lines(v)}</dd>" for k, v in facts)
    return f'<header>\n<h1>{_e(title(review))}</h1>\n<dl class="facts">\n{listed}\n</dl>\n</header>'


def _delays(review: Review, zone: tzinfo) -> str:
    bars = [
        (d.label, d.minutes, duration(d.minutes)) for d in review.delays if d.minutes is not None
    ]
    chart = delay_bars("Délais depuis le premier signalement", bars) if bars else ""
    rows = []
    for d in review.delays:
        if d.recorded_at is None:
            shown = "n'a pas eu lieu"
        else:
            shown = duration(d.minutes) if d.minutes is not None else "sans premier signalement"
        refs = "<br>".join(f"<code>{_e(i)}</code>" for i in d.event_ids) or "—"
        rows.append(
            f"<tr><td>{_e(d.label)}</td><td>{_when(d.recorded_at, zone)}</td>"
            f'<td class="value">{_e(shown)}</td><td class="ref">{refs}</td></tr>'
        )
    head = ["Étape", "Enregistrée le", "Délai", "Événements (1er signalement, étape)"]
    table = _table(head, rows, "Aucun délai.")
    return f'<figure class="chart">{chart}</figure>\n{table}' if chart else table


def _timeline(review: Review, zone: tzinfo) -> str:
    rows: list[tuple[int, str]] = []
    for line in review.timeline.main_courante:
        direction = DIRECTION_LABELS.get(line.direction, line.direction)
        what = f"Main courante n° {line.number} — {direction}, {line.priority}"
        medium = MEDIUM_LABELS.get(line.medium, line.medium)
        where = f"{line.sender} → {line.recipient or '—'} ({medium})"
        detail = f"<strong>{_e(where)}</strong><br>\n{_lines(line.text)}"
        rows.append((line.position, _timeline_row(what, detail, line.priority, zone, line)))
    for event in review.timeline.key_events:
        subject = f" ({event.subject})" if event.subject else ""
        detail = _lines(event.detail or "")
        rows.append(
            (event.position, _timeline_row(event.label + subject, detail, "key", zone, event))
        )
    ordered = [row for _, row in sorted(rows, key=lambda item: item[0])]
    head = ["Survenu", "Enregistré", "Quoi", "Détail", "Par", "Réf."]
    return _table(head, ordered, "Aucun événement.")


def _timeline_row(what: str, detail: str, kind: str, zone: tzinfo, stamp: Stamped) -> str:
    """One row; `detail` is HTML already escaped."""
    return (
        f'<tr class="{_e(kind)}"><td>{_when(stamp.occurred_at, zone)}</td>'
        f"<td>{_when(stamp.recorded_at, zone)}</td><td>{_e(what)}</td><td>{detail}</td>"
        f"<td>{_e(stamp.actor)}</td>{_ref(stamp.position, stamp.event_id)}</tr>"
    )


def _span(review: Review) -> tuple[datetime, datetime] | None:
    crisis = review.crisis
    if crisis.first_recorded_at is None or crisis.last_recorded_at is None:
        return None
    return _instant(crisis.first_recorded_at), _instant(crisis.last_recorded_at)


def _bilan(review: Review, zone: tzinfo) -> str:
    span = _span(review)
    if not review.bilan or span is None:
        return "<p>Aucun chiffre évalué.</p>"
    figures, rows = [], []
    for series in review.bilan:
        points = tuple((_instant(p.recorded_at), p.value) for p in series.points)
        chart = step_chart(series.label, [Line(series.label, PALETTE[0], points)], *span, zone)
        sources = ", ".join(series.sources) or "—"
        figures.append(
            f'<figure class="chart">\n<figcaption><strong>{_e(series.label)}</strong> — valeur '
            f"finale {_e(count(series.final_value))} (événements : <code>{_e(sources)}</code>)"
            f"</figcaption>\n{chart}\n</figure>"
        )
        rows += [
            f"<tr><td>{_e(series.label)}</td><td>{_when(p.recorded_at, zone)}</td>"
            f'<td class="value">{_e(count(p.value))}</td>{_ref(p.position, p.event_id)}</tr>'
            for p in series.points
        ]
    table = _table(["Chiffre", "Enregistré", "Valeur", "Événement"], rows, "")
    return "\n".join(figures) + "\n" + table


def _resources(review: Review, zone: tzinfo) -> str:
    span = _span(review)
    if not review.resources or span is None:
        return "<p>Aucun moyen engagé.</p>"
    colours = {s.service: PALETTE[i % len(PALETTE)] for i, s in enumerate(review.resources)}
    charts = []
    for label, pick in (("Personnels engagés", 1), ("Moyens engagés (unités)", 0)):
        lines = [
            Line(
                s.label,
                colours[s.service],
                tuple((_instant(p.recorded_at), (p.units, p.personnel)[pick]) for p in s.points),
                from_zero=True,
            )
            for s in review.resources
        ]
        charts.append(
            f'<figure class="chart">\n<figcaption><strong>{_e(label)}</strong>, par service'
            f"</figcaption>\n{step_chart(label, lines, *span, zone)}\n</figure>"
        )
    legend = "".join(
        f'<li><span class="swatch" style="background:{colours[s.service]}"></span>'
        f"{_e(s.label)}</li>"
        for s in review.resources
    )
    rows = [
        f"<tr><td>{_e(s.label)}</td><td>{_when(p.recorded_at, zone)}</td>"
        f'<td class="value">{_e(count(p.units))}</td><td class="value">{_e(count(p.personnel))}'
        f"</td>{_ref(p.position, p.event_id)}</tr>"
        for s in review.resources
        for p in s.points
    ]
    table = _table(["Service", "Enregistré", "Moyens", "Personnels", "Événement"], rows, "")
    return "\n".join(charts) + f'\n<ul class="legend">{legend}</ul>\n' + table


def _decisions(review: Review, zone: tzinfo) -> str:
    rows = []
    for d in review.decisions:
        why = f"<br>\n<em>{_lines(d.rationale)}</em>" if d.rationale else ""
        rows.append(
            f"<tr><td>{_when(d.occurred_at, zone)}</td><td>{_when(d.recorded_at, zone)}</td>"
            f"<td>{_lines(d.text)}{why}</td><td>{_e(d.taken_by)}</td><td>{_e(d.actor)}</td>"
            f'<td class="value">{_e(duration(d.minutes_after_first_report))}</td>'
            f"{_ref(d.position, d.event_id)}</tr>"
        )
    head = ["Prise", "Enregistrée", "Décision", "Prise par", "Saisie par", "Après 1er sig.", "Réf."]
    return _table(head, rows, "Aucune décision.")


def _known(review: Review, zone: tzinfo) -> str:
    known = review.known_vs_happened
    rows = [
        f"<tr><td>{_e(g.title or '(sans titre)')}<br><code>{_e(g.incident_id)}</code></td>"
        f"<td>{_when(g.occurred_at, zone)}</td><td>{_when(g.recorded_at, zone)}</td>"
        f'<td class="value">{_e(duration(g.gap_minutes))}</td>{_ref(g.position, g.event_id)}</tr>'
        for g in known.incidents
    ]
    if not rows:
        return "<p>Aucun incident signalé.</p>"
    summary = (
        f"<p>Écart entre le moment où un incident est survenu et celui où la cellule l'a "
        f"enregistré : médian {_e(duration(known.median_minutes))}, maximal "
        f"{_e(duration(known.max_minutes))} (événement <code>{_e(known.max_event_id)}</code>).</p>"
    )
    head = ["Incident", "Survenu", "Enregistré", "Écart", "Réf."]
    return summary + "\n" + _table(head, rows, "")


CSS = """
@page { size: A4; margin: 14mm 12mm 16mm 12mm;
  @bottom-right { content: counter(page) " / " counter(pages); font: 8pt Arial, sans-serif; } }
* { box-sizing: border-box; }
body { font-family: "Marianne", "Helvetica Neue", Arial, sans-serif; font-size: 10.5pt;
  line-height: 1.35; color: #1e1e1e; margin: 0 auto; max-width: 190mm; padding: 8mm 6mm; }
h1 { font-size: 17pt; color: #000091; margin: 0 0 4mm; }
h2 { font-size: 13pt; color: #000091; border-bottom: 1px solid #000091; padding-bottom: 1mm;
  margin: 7mm 0 2mm; break-after: avoid; page-break-after: avoid; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 1mm 4mm; margin: 0; }
dl.facts dt { font-weight: bold; }
dl.facts dd { margin: 0; }
table { border-collapse: collapse; width: 100%; font-size: 8.5pt; margin-top: 2mm; }
thead { display: table-header-group; }
th, td { border: 1px solid #9a9a9a; padding: 1mm 1.5mm; text-align: left; vertical-align: top; }
th { background: #e3e3fd; }
td.value { text-align: right; font-weight: bold; white-space: nowrap; }
td.ref { font-size: 7pt; color: #555; width: 24mm; }
tr { break-inside: avoid; page-break-inside: avoid; }
tr.key td { background: #f5f5fe; }
tr.flash td { background: #fee9e7; }
code { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 7pt;
  word-break: break-all; }
figure.chart { margin: 3mm 0; break-inside: avoid; page-break-inside: avoid; }
figure.chart figcaption { font-size: 9pt; margin-bottom: 1mm; }
svg.chart { display: block; width: 100%; height: auto; }
svg.chart .axis { stroke: #1e1e1e; stroke-width: 1; }
svg.chart .tick { stroke: #1e1e1e; }
svg.chart .grid { stroke: #dddddd; stroke-width: 0.6; }
svg.chart .zero { stroke: #1e1e1e; stroke-width: 1.2; stroke-dasharray: 3 2; }
svg.chart .label { font: 9px Arial, sans-serif; fill: #333333; }
svg.chart .value { font: bold 9px Arial, sans-serif; fill: #1e1e1e; }
svg.chart path.step { fill: none; stroke-width: 2; }
ul.legend { list-style: none; padding: 0; margin: 1mm 0 2mm; font-size: 9pt; }
ul.legend li { display: inline-block; margin-right: 5mm; }
.swatch { display: inline-block; width: 4mm; height: 2.5mm; margin-right: 1.5mm; }
.banner { text-align: center; font-weight: bold; letter-spacing: 0.2em; padding: 2mm;
  margin: 4mm 0; }
.exercise { background: #ce0500; color: #fff; font-size: 14pt; }
* { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
footer { margin-top: 8mm; font-size: 8.5pt; color: #555; border-top: 1px solid #ccc;
  padding-top: 2mm; }
@media print { body { padding: 0; max-width: none; } }
"""
# Printed, an exercise says so at the top of every page, not only on the first.
EXERCISE_CSS = """
@page { @top-center { content: "EXERCICE — EXERCICE — EXERCICE"; color: #ce0500;
  font: bold 10pt Arial, sans-serif; } }
"""
