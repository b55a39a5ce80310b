"""A point de situation as Markdown, as a printable HTML page and as OASIS EDXL-SitRep 1.0 XML.

Deterministic: the same document gives the same bytes (no clock, fixed order and formatting).
An exercise says EXERCICE on its first line, in its title and in a banner; a draft says PROJET.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from xml.etree import ElementTree as ET

from services.sitrep.core import (
    BILAN_LABELS,
    SEVERITY_LABELS,
    SEVERITY_RANK,
    Figure,
    IncidentLine,
    SitrepDocument,
    count,
)

EXERCISE = "EXERCICE"
EXERCISE_LINE = "EXERCICE — EXERCICE — EXERCICE"
KIND_LABELS = {
    "inondation": "inondation",
    "feu": "incendie",
    "feu_de_foret": "feu de forêt",
    "accident_industriel": "accident industriel",
    "seveso": "accident sur site SEVESO",
    "tmd": "transport de matières dangereuses",
    "accident_routier": "accident routier",
    "accident_ferroviaire": "accident ferroviaire",
    "tempete": "tempête",
    "neige_verglas": "neige et verglas",
    "seisme": "séisme",
    "pandemie": "pandémie",
    "mouvement_de_terrain": "mouvement de terrain",
    "panne_de_reseaux": "panne de réseaux",
}
SERVICE_LABELS = {
    "sdis": "SDIS",
    "samu_smur": "SAMU / SMUR",
    "police": "Police nationale",
    "gendarmerie": "Gendarmerie",
    "aasc": "Associations agréées de sécurité civile",
    "renforts": "Renforts nationaux et zonaux",
    "collectivite": "Collectivités",
    "operateur_reseau": "Opérateurs de réseaux",
    "autre": "Autres",
}
VIGIPIRATE_LABELS = {
    "vigilance": "Vigilance",
    "securite_renforcee_risque_attentat": "Sécurité renforcée - risque attentat",
    "urgence_attentat": "Urgence attentat",
}
CHANNEL_LABELS = {
    "fr_alert": "FR-Alert",
    "sirens": "sirènes (SAIP)",
    "media": "médias",
    "social_networks": "réseaux sociaux",
    "other": "autre vecteur",
}
BASIS_LABELS = {"crisis_wide": "déclaration d'ensemble", "sum_of_incidents": "somme des incidents"}


def title(doc: SitrepDocument) -> str:
    """The report's title: EXERCICE first for an exercise, PROJET last for a draft."""
    words = [EXERCISE] if doc.exercise else []
    words.append(f"Point de situation n° {doc.number}")
    if doc.crisis_name:
        words.append(doc.crisis_name)
    if doc.is_draft:
        words.append("PROJET non validé")
    return " — ".join(words)


def when(iso: str | None) -> str:
    """An ISO instant as the cell reads it, `02/10/2020 22:30 (UTC+02:00)`: its offset is kept."""
    if not iso:
        return "non précisé"
    moment = datetime.fromisoformat(iso)
    offset = moment.strftime("%z")
    zone = f"UTC{offset[:3]}:{offset[3:5]}" if offset else "heure locale"
    return f"{moment:%d/%m/%Y %H:%M} ({zone})"


# -- what every output says, as plain text ------------------------------------------------------


def _facts(doc: SitrepDocument) -> list[tuple[str, str]]:
    crisis = f"{doc.crisis_name} ({doc.crisis_id})" if doc.crisis_name else doc.crisis_id
    status = (
        "PROJET, non validé"
        if doc.is_draft
        else f"validé par {doc.validated_by}, émis le {when(doc.issued_at)}"
    )
    since = f"le point n° {doc.previous_number}" if doc.previous_number else "l'ouverture"
    return [
        ("Crise", crisis + (f" — {EXERCISE}" if doc.exercise else "")),
        ("Département", doc.departement or "non précisé"),
        ("Situation arrêtée au", f"{when(doc.as_of_recorded_at)}, position {doc.as_of_position}"),
        ("Période couverte", f"depuis {since}, {when(doc.period_start)}"),
        ("Statut", status),
    ]


def _sections(doc: SitrepDocument) -> list[tuple[str, list[str]]]:
    """The sections after the bilan, as (heading, lines); an empty section is left out."""
    sections = [
        ("Incidents en cours", [_incident(i) for i in doc.incidents] or ["Aucun incident ouvert."]),
        ("Plans activés", [_plan(p.name, p.by, p.at, "activé") for p in doc.active_plans]),
        (
            "Plans proposés, en attente de décision",
            [f"{_plan(p.name, p.by, p.at, 'proposé')} : {p.reason}" for p in doc.proposed_plans],
        ),
        ("Postures et vigilances", _postures(doc)),
        ("Moyens engagés", [_tally(t.service, t.units, t.personnel) for t in doc.resources]),
        ("Décisions", [_decision(d.decision_id, d.text, d.taken_by) for d in doc.decisions]),
        ("Tâches en cours", [_task(t.title, t.assignee, t.due_at) for t in doc.open_tasks]),
        ("Communication", _communication(doc)),
        ("Perspectives", [doc.outlook or "Non renseignées."]),
        ("Prochain point", [when(doc.next_report_at) if doc.next_report_at else "Non fixé."]),
    ]
    if not doc.active_plans:
        sections[1] = ("Plans activés", ["Aucun plan activé."])
    if not doc.decisions:
        sections[5] = ("Décisions", ["Aucune décision depuis le point précédent."])
    return [(heading, lines) for heading, lines in sections if lines]


def _incident(incident: IncidentLine) -> str:
    kind = incident.kind or "nature non précisée"
    severity = SEVERITY_LABELS.get(incident.severity or "unknown", "inconnue")
    return (
        f"{incident.title or '(sans titre)'} — {KIND_LABELS.get(kind, kind.replace('_', ' '))}, "
        f"gravité {severity} ({incident.incident_id})"
    )


def _plan(name: str, by: str | None, at: str | None, verb: str) -> str:
    return f"{name} — {verb} par {by or 'non précisé'} le {when(at)}"


def _postures(doc: SitrepDocument) -> list[str]:
    lines = []
    if doc.vigipirate:
        posture = VIGIPIRATE_LABELS.get(doc.vigipirate, doc.vigipirate)
        lines.append(f"Vigipirate : posture « {posture} »")
    lines += [
        f"Vigilance {phenomenon.replace('_', '-')} : {colour}"
        for phenomenon, colour in doc.vigilance
    ]
    return lines


def _tally(service: str, units: int, personnel: int) -> str:
    label = SERVICE_LABELS.get(service, service)
    return f"{label} — moyens : {count(units)}, personnels : {count(personnel)}"


def _decision(ident: str, text: str, by: str | None) -> str:
    return f"{text} — {by or 'auteur non précisé'} ({ident})"


def _task(task: str, assignee: str | None, due: str | None) -> str:
    return f"{task} — {assignee or 'non attribuée'}, échéance {when(due) if due else 'non fixée'}"


def _communication(doc: SitrepDocument) -> list[str]:
    alerts = [
        f"Alerte {CHANNEL_LABELS.get(a.channel or '', a.channel)} : {a.title} — {when(a.at)}"
        for a in doc.alerts
    ]
    releases = [f"Communiqué de presse : {r.title} — {when(r.at)}" for r in doc.press_releases]
    return alerts + releases or ["Aucune alerte ni aucun communiqué."]


def _provenance(figure: Figure) -> list[tuple[str, str]]:
    """(where, event id) of a figure: the crisis as a whole, or each incident counted."""
    return [
        ("ensemble de la crise" if where == "crisis" else where, event_id)
        for where, event_id in figure.events
    ]


# -- Markdown ------------------------------------------------------------------------------------

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def _md(text: str) -> str:
    """Free text made literal in Markdown: its markup characters backslash-escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def to_markdown(doc: SitrepDocument) -> str:
    """The report as Markdown, every figure with the events it comes from."""
    lines = [f"# {_md(title(doc))}", ""]
    if doc.exercise:
        lines += [f"> **{EXERCISE_LINE}**", ""]
    lines += [f"- **{label}** : {_md(value)}" for label, value in _facts(doc)]
    lines += ["", "## Situation", "", _md(doc.summary), "", "## Bilan", ""]
    if doc.bilan:
        lines += ["| Chiffre | Valeur | Base | Événements sources |", "|---|---:|---|---|"]
        for figure in doc.bilan:
            sources = ", ".join(f"{_md(where)} : `{ident}`" for where, ident in _provenance(figure))
            basis = BASIS_LABELS.get(figure.basis, figure.basis)
            label = BILAN_LABELS.get(figure.name, figure.name)
            lines.append(f"| {label} | {count(figure.value)} | {basis} | {sources or '—'} |")
    else:
        lines.append("Aucun chiffre évalué.")
    for heading, items in _sections(doc):
        lines += ["", f"## {heading}", ""]
        lines += [f"- {_md(' '.join(item.split()))}" for item in items]
    if doc.exercise:
        lines += ["", f"**{EXERCISE_LINE}**"]
    return "\n".join(lines) + "\n"


# -- HTML ----------------------------------------------------------------------------------------

_CSS = """
@page { size: A4; margin: 15mm 15mm 18mm 15mm;
  @bottom-right { content: counter(page) " / " counter(pages); font: 8pt Arial, sans-serif; } }
* { box-sizing: border-box; }
body { font-family: "Marianne", "Helvetica Neue", Arial, sans-serif; font-size: 11pt;
  line-height: 1.4; color: #1e1e1e; margin: 0 auto; max-width: 190mm; padding: 8mm 6mm; }
h1 { font-size: 17pt; color: #000091; margin: 0 0 4mm; }
h2 { font-size: 12.5pt; color: #000091; border-bottom: 1px solid #000091; padding-bottom: 1mm;
  margin: 6mm 0 2mm; break-after: avoid; page-break-after: avoid; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 1mm 4mm; margin: 0; }
dl.facts dt { font-weight: bold; }
dl.facts dd { margin: 0; }
table { border-collapse: collapse; width: 100%; font-size: 10pt; }
th, td { border: 1px solid #9a9a9a; padding: 1.2mm 2mm; text-align: left; vertical-align: top; }
th { background: #e3e3fd; }
td.value { text-align: right; font-weight: bold; white-space: nowrap; }
tr { break-inside: avoid; page-break-inside: avoid; }
code { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 8pt;
  word-break: break-all; }
ul { margin: 0; padding-left: 6mm; }
li { margin: 0.5mm 0; break-inside: avoid; }
.banner { text-align: center; font-weight: bold; letter-spacing: 0.2em; padding: 2mm;
  margin: 4mm 0; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.exercise { background: #ce0500; color: #fff; font-size: 14pt; }
.draft { background: #fff4d6; color: #7a4b00; border: 2px dashed #b34000; }
footer { margin-top: 8mm; font-size: 8.5pt; color: #555; border-top: 1px solid #ccc;
  padding-top: 2mm; }
@media print { body { padding: 0; max-width: none; } }
"""
# Printed, an exercise says so at the top of every page, not only on the first.
_EXERCISE_CSS = """
@page { @top-center { content: "EXERCICE — EXERCICE — EXERCICE"; color: #ce0500;
  font: bold 10pt Arial, sans-serif; } }
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def to_html(doc: SitrepDocument) -> str:
    """The report as a complete, self-contained HTML5 page that prints on A4."""
    banners = []
    if doc.exercise:
        banners.append(f'<div class="banner exercise" role="note">{_e(EXERCISE_LINE)}</div>')
    if doc.is_draft:
        banners.append('<div class="banner draft" role="note">PROJET — non validé</div>')
    facts = "\n".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in _facts(doc))
    body = [
        *banners,
        f'<header>\n<h1>{_e(title(doc))}</h1>\n<dl class="facts">\n{facts}\n</dl>\n</header>',
        _html_section("Situation", f"<p>{_paragraphs(doc.summary)}</p>"),
        _html_section("Bilan", _html_bilan(doc)),
    ]
    for heading, items in _sections(doc):
        listed = "\n".join(f"<li>{_paragraphs(item)}</li>" for item in items)
        body.append(_html_section(heading, f"<ul>\n{listed}\n</ul>"))
    if doc.exercise:
        body.append(f'<div class="banner exercise" role="note">{_e(EXERCISE_LINE)}</div>')
    footer = f"{_e(doc.crisis_id)} — point n° {doc.number} — position {doc.as_of_position}"
    body.append(f"<footer>{footer}</footer>")
    return (
        '<!DOCTYPE html>\n<html lang="fr">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title(doc))}</title>\n"
        f"<style>{_CSS}{_EXERCISE_CSS if doc.exercise else ''}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _paragraphs(text: str) -> str:
    return "<br>\n".join(_e(line) for line in text.splitlines() or [""])


def _html_section(heading: str, content: str) -> str:
    return f"<section>\n<h2>{_e(heading)}</h2>\n{content}\n</section>"


def _html_bilan(doc: SitrepDocument) -> str:
    if not doc.bilan:
        return "<p>Aucun chiffre évalué.</p>"
    rows = []
    for figure in doc.bilan:
        sources = "<br>".join(
            f"{_e(where)} : <code>{_e(ident)}</code>" for where, ident in _provenance(figure)
        )
        rows.append(
            f'<tr><th scope="row">{_e(BILAN_LABELS.get(figure.name, figure.name))}</th>'
            f'<td class="value">{count(figure.value)}</td>'
            f"<td>{_e(BASIS_LABELS.get(figure.basis, figure.basis))}</td>"
            f"<td>{sources or '—'}</td></tr>"
        )
    head = "<tr><th>Chiffre</th><th>Valeur</th><th>Base</th><th>Événements sources</th></tr>"
    return f"<table>\n<thead>{head}</thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>"


# -- EDXL-SitRep 1.0 -----------------------------------------------------------------------------

SITREP_NS = "urn:oasis:names:tc:emergency:EDXL:SitRep:1.0"
CT_NS = "urn:oasis:names:tc:emergency:edxl:ct:1.0"
XNL_NS = "urn:oasis:names:tc:emergency:edxl:ciq:1.0:xnl"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
# Bilan figures with an EDXL-SitRep casualty category; the others go in the remarks.
_CASUALTY_CATEGORIES = {
    "decedes": "fatalities",
    "disparus": "missing",
    "evacues": "evacuated",
    "mis_a_l_abri": "shelteringInPlace",
    "heberges": "inTemporaryShelters",
}
_INJURED = ("urgences_absolues", "urgences_relatives")
_CAP_SEVERITY = {"extreme": "Extreme", "severe": "Severe", "moderate": "Moderate", "minor": "Minor"}
_URGENCY = {
    "extreme": "Immediate",
    "severe": "Immediate",
    "moderate": "Expected",
    "minor": "Future",
}
# Characters XML 1.0 cannot carry, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def to_edxl_sitrep(doc: SitrepDocument) -> bytes:
    """The report as an EDXL-SitRep 1.0 `sitRep` (UTF-8, with its XML declaration)."""
    # Prefixes are a process-wide table in ElementTree; these two are set to the same value on
    # every call, so the output never depends on what else was serialised before.
    ET.register_namespace("ct", CT_NS)
    ET.register_namespace("xnl", XNL_NS)
    root = ET.Element(_q("sitRep"))
    _identify(root, doc)
    _assess(root, doc)
    root.append(_casualty_report(doc))
    ET.indent(root, space="  ")
    xml: bytes = ET.tostring(
        root, encoding="UTF-8", xml_declaration=True, default_namespace=SITREP_NS
    )
    return xml + b"\n"


def _identify(root: ET.Element, doc: SitrepDocument) -> None:
    """Which report this is: who prepared and authorised it, its number, period and incident."""
    _add(root, "messageID", _message_id(doc, doc.number, draft=doc.is_draft))
    root.append(_person_time("preparedBy", _preparer(doc), doc.as_of_recorded_at))
    authority = doc.validated_by or "Non validé (projet)"
    root.append(_person_time("authorizedBy", authority, doc.issued_at or doc.as_of_recorded_at))
    _add(root, "reportPurpose", _purpose(doc))
    _add(root, "reportNumber", str(doc.number))
    _add(root, "reportVersion", _version(doc))
    period = ET.SubElement(root, _q("forTimePeriod"))
    _add(period, f"{{{CT_NS}}}fromDateTime", _edxl_time(doc.period_start or doc.as_of_recorded_at))
    _add(period, f"{{{CT_NS}}}toDateTime", _edxl_time(doc.as_of_recorded_at))
    _add(root, "reportTitle", title(doc))
    _add(root, "incidentID", doc.crisis_id)
    _add(root, "incidentLifecyclePhase", "Recovery" if doc.crisis_state == "closed" else "Response")
    _add(root, "originatingMessageID", _message_id(doc, 1, draft=False))
    if doc.number > 1:
        _add(root, "precedingMessageID", _message_id(doc, doc.number - 1, draft=False))


def _assess(root: ET.Element, doc: SitrepDocument) -> None:
    """How urgent and severe, how sure, what comes next."""
    worst = _worst_severity(doc)
    urgency = "Past" if doc.crisis_state == "closed" else _URGENCY.get(worst, "Unknown")
    _add(root, "urgency", urgency)
    _add(root, "reportConfidence", "SomewhatConfident" if doc.is_draft else "HighlyConfident")
    _add(root, "severity", _CAP_SEVERITY.get(worst, "Unknown"))
    if doc.outlook:
        _add(root, "actionPlan", doc.outlook)
    if doc.next_report_at:
        _add(root, "nextContact", _edxl_time(doc.next_report_at))


def _q(name: str) -> str:
    return name if name.startswith("{") else f"{{{SITREP_NS}}}{name}"


def _add(parent: ET.Element, name: str, text: str | None) -> ET.Element:
    element = ET.SubElement(parent, _q(name))
    element.text = _NOT_XML.sub("", text) if text is not None else None
    return element


def _message_id(doc: SitrepDocument, number: int, *, draft: bool) -> str:
    return f"{doc.crisis_id}-pds-{number}" + ("-projet" if draft else "")


def _preparer(doc: SitrepDocument) -> str:
    return f"Centre opérationnel départemental (COD) {doc.departement or ''}".strip()


def _person_time(name: str, who: str, at: str | None) -> ET.Element:
    pair = ET.Element(_q(name))
    details = ET.SubElement(pair, f"{{{CT_NS}}}personDetails")
    person = ET.SubElement(details, f"{{{XNL_NS}}}personName")
    _add(person, f"{{{XNL_NS}}}nameElement", who)
    if at:
        _add(pair, f"{{{CT_NS}}}timeValue", _edxl_time(at))
    return pair


def _purpose(doc: SitrepDocument) -> str:
    lead = f"{EXERCISE_LINE}. " if doc.exercise else ""
    draft = " PROJET non validé." if doc.is_draft else ""
    return f"{lead}Point de situation n° {doc.number} de la cellule de crise.{draft} {doc.summary}"


def _version(doc: SitrepDocument) -> str:
    if doc.crisis_state == "closed":
        return "Final"
    return "Initial" if doc.number == 1 else "Update"


def _edxl_time(iso: str | None) -> str | None:
    """EDXL date-times carry an offset and no fraction of a second."""
    if not iso:
        return None
    return datetime.fromisoformat(iso).replace(microsecond=0).isoformat()


def _worst_severity(doc: SitrepDocument) -> str:
    severities = [incident.severity or "unknown" for incident in doc.incidents]
    return max(severities, key=lambda s: SEVERITY_RANK.get(s, 0), default="unknown")


def _casualty_report(doc: SitrepDocument) -> ET.Element:
    values = {figure.name: figure.value for figure in doc.bilan}
    report = ET.Element(_q("report"), {f"{{{XSI_NS}}}type": "CasualtyAndIllnessSummaryType"})
    by_period = ET.SubElement(report, _q("casualtyAndIllnessSummaryByPeriod"))
    totals = ET.SubElement(by_period, _q("totalNumberToDate"))
    if "decedes" in values:
        _add(totals, "fatalities", str(values["decedes"]))
    if any(name in values for name in _INJURED):
        _add(totals, "withInjuryOrIllness", str(sum(values.get(name, 0) for name in _INJURED)))
    for name, category in _CASUALTY_CATEGORIES.items():
        if name in values and name != "decedes":
            _add(totals, category, str(values[name]))
    _add(report, "remarks", _remarks(doc, values))
    return report


def _remarks(doc: SitrepDocument, values: dict[str, int]) -> str:
    others = [
        f"{BILAN_LABELS[name]} : {value}"
        for name, value in values.items()
        if name not in _CASUALTY_CATEGORIES and name in BILAN_LABELS
    ]
    lead = f"{EXERCISE}. " if doc.exercise else ""
    return lead + ("Bilan : " + " ; ".join(others) + "." if others else "Aucun autre chiffre.")
