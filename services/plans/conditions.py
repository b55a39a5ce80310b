"""The conditions of a rule (`when`), the PPI sites they can name, and whether they hold.

Every condition given must hold. Incident conditions (`incident_kinds`, `min_severity`,
`on_ppi_site`, `min_incidents`) select the open incidents of the picture; picture conditions
(`vigilance`, `bilan_at_least`) read the vigilance colours and the overall bilan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from schemas.types import Count, InseeCode, ShortText, Token
from schemas.values import (
    Bilan,
    Circle,
    IncidentKind,
    Location,
    Polygon,
    Severity,
    VigilanceColour,
    VigilancePhenomenon,
)
from services.picture.fold import Picture
from services.picture.shape import Figure, Incident
from services.plans import geometry

SEVERITY_RANK: dict[str, int] = {"minor": 0, "moderate": 1, "severe": 2, "extreme": 3}
COLOUR_RANK: dict[str, int] = {"vert": 0, "jaune": 1, "orange": 2, "rouge": 3}
BILAN_FIGURES = tuple(Bilan.model_fields)

# Words of the reasons, as the cell says them.
SEVERITY_LABELS = {"minor": "mineure", "moderate": "modérée", "severe": "grave"}
SEVERITY_LABELS |= {"extreme": "extrême", "unknown": "inconnue"}
KIND_LABELS = {
    "feu_de_foret": "feu de forêt",
    "tmd": "TMD",
    "nrbc": "NRBC",
    "tempete": "tempête",
    "seisme": "séisme",
    "pandemie": "pandémie",
    "seveso": "site SEVESO",
    "panne_de_reseaux": "panne de réseaux",
}
PHENOMENON_LABELS = {
    "pluie_inondation": "pluie-inondation",
    "neige_verglas": "neige-verglas",
    "vagues_submersion": "vagues-submersion",
}
FIGURE_LABELS = {
    "decedes": "décédés",
    "urgences_absolues": "UA",
    "urgences_relatives": "UR",
    "impliques": "impliqués",
    "evacues": "évacués",
    "mis_a_l_abri": "mis à l'abri",
    "heberges": "hébergés",
    "foyers_sans_electricite": "foyers privés d'électricité",
    "foyers_sans_eau": "foyers privés d'eau",
    "routes_coupees": "routes coupées",
}
LISTED_INCIDENTS = 10  # a reason names this many incidents, then counts the others


def _label(labels: dict[str, str], value: str | None) -> str:
    return labels.get(value or "", (value or "?").replace("_", " "))


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VigilanceCondition(_Model):
    """At least one of these phenomena is at this colour or above (vert<jaune<orange<rouge)."""

    phenomena: tuple[VigilancePhenomenon, ...] = Field(min_length=1)
    min_colour: VigilanceColour


class BilanCondition(_Model):
    """The sum of these figures of the overall bilan reaches `total` (unassessed counts 0)."""

    figures: tuple[str, ...] = Field(min_length=1)
    total: Count = Field(ge=1)

    @model_validator(mode="after")
    def _known_figures(self) -> Self:
        unknown = [name for name in self.figures if name not in BILAN_FIGURES]
        if unknown:
            raise ValueError(f"unknown figures {unknown}; known: {', '.join(BILAN_FIGURES)}")
        return self


class PpiSite(_Model):
    """A site with a plan particulier d'intervention, and where it is."""

    id: Token
    name: ShortText
    operator: ShortText
    kind: ShortText = Field(examples=["seveso-seuil-haut", "barrage", "nucléaire"])
    plan_code: Token = Field(examples=["ppi-depot-port-nice"])
    plan_name: ShortText | None = Field(default=None, description="Defaults to 'PPI <name>'.")
    polygon: Polygon | None = None
    circle: Circle | None = None
    insee_codes: tuple[InseeCode, ...] = ()

    @model_validator(mode="after")
    def _is_somewhere(self) -> Self:
        if self.polygon is None and self.circle is None and not self.insee_codes:
            raise ValueError("a site needs a polygon, a circle or insee_codes")
        return self

    @property
    def ppi_name(self) -> str:
        """The name of the site's PPI."""
        return self.plan_name or f"PPI {self.name}"

    def holds(self, location: Location) -> bool:
        """True when the location meets the site: by geometry when both have some, else by a
        shared INSEE code (a commune is too coarse when a point or an area says better)."""
        theirs: list[geometry.Shape] = [s for s in (self.polygon, self.circle) if s is not None]
        mine = geometry.shapes(location)
        if mine and theirs:
            return any(geometry.meet(a, b) for a in mine for b in theirs)
        return not set(location.insee_codes).isdisjoint(self.insee_codes)


class When(_Model):
    """The conditions of a rule; all those given must hold, and at least one must be given."""

    incident_kinds: tuple[IncidentKind, ...] | None = Field(default=None, min_length=1)
    min_severity: Severity | None = None
    min_incidents: int | None = Field(default=None, ge=1)
    on_ppi_site: bool = False
    vigilance: VigilanceCondition | None = None
    bilan_at_least: BilanCondition | None = None

    @model_validator(mode="after")
    def _says_something(self) -> Self:
        if self.min_severity is Severity.UNKNOWN:
            raise ValueError("min_severity 'unknown' is not a threshold: unknown never qualifies")
        if not (self.about_incidents or self.vigilance or self.bilan_at_least):
            raise ValueError(
                "a rule needs at least one condition: incident_kinds, min_severity, "
                "min_incidents, on_ppi_site, vigilance or bilan_at_least"
            )
        return self

    @property
    def about_incidents(self) -> bool:
        """True when the rule selects incidents (and so names some when it fires)."""
        return bool(
            self.incident_kinds or self.min_severity or self.min_incidents or self.on_ppi_site
        )


@dataclass(frozen=True)
class Hit:
    """Conditions that hold: why, on which incidents, and on which site for `on_ppi_site`."""

    reasons: tuple[str, ...]
    incident_ids: tuple[str, ...]
    site: PpiSite | None = None


def hits(picture: Picture, when: When, sites: Sequence[PpiSite]) -> list[Hit]:
    """Where the conditions hold in the picture: none, one, or one per PPI site hit."""
    found = [_vigilance(picture, when.vigilance), _bilan(picture, when.bilan_at_least)]
    if None in found:
        return []
    reasons = tuple(r for r in found if r)
    if not when.about_incidents:
        return [Hit(reasons, ())]
    incidents = _selected(picture, when)
    groups: list[tuple[PpiSite | None, list[Incident]]] = [(None, incidents)]
    if when.on_ppi_site:
        groups = [(site, [i for i in incidents if _on(i, site)]) for site in sites]
    return [
        Hit(
            (_incidents_reason(group, site), *reasons), tuple(i["incident_id"] for i in group), site
        )
        for site, group in groups
        if group and len(group) >= (when.min_incidents or 1)
    ]


def _selected(picture: Picture, when: When) -> list[Incident]:
    """The open incidents of the kinds and severity asked for, by id."""
    floor = SEVERITY_RANK[when.min_severity] if when.min_severity else None
    selected = []
    for incident_id in sorted(picture["incidents"]):
        incident = picture["incidents"][incident_id]
        if incident.get("state") != "open":
            continue
        if when.incident_kinds and incident.get("kind") not in when.incident_kinds:
            continue
        if floor is not None and SEVERITY_RANK.get(incident.get("severity") or "", -1) < floor:
            continue
        selected.append(incident)
    return selected


def _on(incident: Incident, site: PpiSite) -> bool:
    if not incident.get("location"):
        return False
    try:
        location = Location.model_validate(incident["location"])
    except ValidationError:
        return False  # the log holds validated events only; a picture made by hand may not
    return site.holds(location)


def _incidents_reason(incidents: list[Incident], site: PpiSite | None) -> str:
    named = [
        f"{i['incident_id']} ({_label(KIND_LABELS, i.get('kind'))}, "
        f"gravité {_label(SEVERITY_LABELS, i.get('severity'))})"
        for i in incidents[:LISTED_INCIDENTS]
    ]
    more = len(incidents) - len(named)
    listed = ", ".join(named) + (f" et {more} autre(s)" if more else "")
    said = (
        f"incident ouvert {listed}"
        if len(incidents) == 1
        else f"{len(incidents)} incidents ouverts : {listed}"
    )
    if site is not None:
        said += f", sur le site {site.name} ({site.kind}, exploitant {site.operator})"
    return said


def _vigilance(picture: Picture, condition: VigilanceCondition | None) -> str | None:
    """'' when not asked, None when not met, else the colours that meet it."""
    if condition is None:
        return ""
    floor = COLOUR_RANK[condition.min_colour]
    met = []
    for phenomenon in condition.phenomena:
        known = picture["vigilance"].get(phenomenon)
        colour = known.get("colour") if known else None
        if COLOUR_RANK.get(colour or "", -1) >= floor:
            met.append(f"vigilance {colour} {_label(PHENOMENON_LABELS, phenomenon)}")
    return ", ".join(met) or None


def _bilan(picture: Picture, condition: BilanCondition | None) -> str | None:
    """'' when not asked, None when not met, else the figures and their sum."""
    if condition is None:
        return ""
    bilan = picture["bilan"]
    values = [(name, _value(bilan.get(name))) for name in condition.figures]
    total = sum(value for _, value in values)
    if total < condition.total:
        return None
    terms = " + ".join(f"{_label(FIGURE_LABELS, name)} {value}" for name, value in values)
    summed = f" = {total}" if len(values) > 1 else ""
    return f"bilan {terms}{summed} (seuil {condition.total})"


def _value(figure: Figure | None) -> int:
    """A figure's value; 0 when not assessed."""
    return (figure.get("value") or 0) if figure else 0
