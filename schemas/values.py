"""Value objects and vocabularies the events are made of (DESIGN.md, "Events" and vocabulary)."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.types import Count, InseeCode, Sha256Hex, ShortText, Text


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GeoPoint(_Value):
    """A point in WGS 84 (the datum of CAP and GeoJSON)."""

    lat: float = Field(ge=-90, le=90, description="Latitude in decimal degrees.", examples=[43.7])
    lon: float = Field(
        ge=-180, le=180, description="Longitude in decimal degrees.", examples=[7.26]
    )


class Polygon(_Value):
    """A closed ring of points, as a CAP `<polygon>`: the first point is repeated last."""

    points: list[GeoPoint] = Field(
        min_length=4, max_length=10_000, description="The ring, first point repeated last."
    )

    @model_validator(mode="after")
    def _ring_is_closed(self) -> Self:
        if self.points[0] != self.points[-1]:
            raise ValueError("a polygon must be closed: its last point must repeat its first")
        return self


class Circle(_Value):
    """A disc around a point, as a CAP `<circle>`."""

    center: GeoPoint = Field(description="Centre of the circle.")
    # Bounded above so that an infinity, which JSON cannot carry, is refused.
    radius_km: float = Field(gt=0, le=20_000, description="Radius in kilometres.", examples=[2.5])


class Location(_Value):
    """Where something is: any mix of a description, a point, areas and communes."""

    description: ShortText | None = Field(
        default=None,
        description="Where, in words.",
        examples=["Vallée de la Vésubie, RD 2565 entre Lantosque et Saint-Martin-Vésubie"],
    )
    point: GeoPoint | None = Field(default=None, description="A representative point.")
    polygons: list[Polygon] = Field(default_factory=list, description="Areas, as closed rings.")
    circles: list[Circle] = Field(default_factory=list, description="Areas, as circles.")
    insee_codes: list[InseeCode] = Field(
        default_factory=list, description="INSEE codes of the communes concerned."
    )
    altitude_m: float | None = Field(
        default=None, ge=-12_000, le=100_000, description="Lower altitude in metres (CAP)."
    )
    ceiling_m: float | None = Field(
        default=None, ge=-12_000, le=100_000, description="Upper altitude in metres (CAP)."
    )

    @model_validator(mode="after")
    def _says_where(self) -> Self:
        if not (
            self.description or self.point or self.polygons or self.circles or self.insee_codes
        ):
            raise ValueError(
                "a location needs at least one of description, point, polygons, circles "
                "or insee_codes"
            )
        if (
            self.altitude_m is not None
            and self.ceiling_m is not None
            and self.ceiling_m < self.altitude_m
        ):
            raise ValueError("ceiling_m must not be below altitude_m")
        return self


class Bilan(_Value):
    """Bilan: the impact figures of an incident or a crisis; None means not assessed."""

    decedes: Count | None = Field(default=None, description="Décédés: people dead.")
    urgences_absolues: Count | None = Field(
        default=None, description="Urgences absolues (UA): casualties needing immediate care."
    )
    urgences_relatives: Count | None = Field(
        default=None, description="Urgences relatives (UR): casualties whose care can wait."
    )
    impliques: Count | None = Field(
        default=None, description="Impliqués: people involved but not injured."
    )
    disparus: Count | None = Field(default=None, description="Disparus: people missing.")
    evacues: Count | None = Field(default=None, description="Évacués: people evacuated.")
    mis_a_l_abri: Count | None = Field(
        default=None, description="Mis à l'abri: people sheltered in place."
    )
    heberges: Count | None = Field(
        default=None, description="Hébergés: people given emergency lodging."
    )
    foyers_sans_electricite: Count | None = Field(
        default=None, description="Foyers privés d'électricité: households without electricity."
    )
    foyers_sans_eau: Count | None = Field(
        default=None, description="Foyers privés d'eau: households without water."
    )
    routes_coupees: Count | None = Field(default=None, description="Routes coupées: roads closed.")

    def assessed(self) -> dict[str, int]:
        """The figures that have been assessed, by field name."""
        return self.model_dump(exclude_none=True)


class IncidentKind(StrEnum):
    """Nature de l'événement: the kind of incident, after the ORSEC risk typology."""

    INONDATION = "inondation"
    FEU = "feu"
    FEU_DE_FORET = "feu_de_foret"
    ACCIDENT_INDUSTRIEL = "accident_industriel"
    SEVESO = "seveso"  # accident on a site classified SEVESO
    TMD = "tmd"  # transport de matières dangereuses
    ACCIDENT_ROUTIER = "accident_routier"
    ACCIDENT_FERROVIAIRE = "accident_ferroviaire"
    ATTENTAT = "attentat"
    TEMPETE = "tempete"
    CANICULE = "canicule"
    GRAND_FROID = "grand_froid"
    NEIGE_VERGLAS = "neige_verglas"
    SEISME = "seisme"
    MOUVEMENT_DE_TERRAIN = "mouvement_de_terrain"
    PANDEMIE = "pandemie"
    NRBC = "nrbc"  # nucléaire, radiologique, biologique, chimique
    ORDRE_PUBLIC = "ordre_public"
    PANNE_DE_RESEAUX = "panne_de_reseaux"
    POLLUTION = "pollution"
    AUTRE = "autre"


class Severity(StrEnum):
    """Gravité, as CAP `<severity>`: mineure, modérée, grave, extrême."""

    MINOR = "minor"
    MODERATE = "moderate"
    SEVERE = "severe"
    EXTREME = "extreme"
    UNKNOWN = "unknown"  # CAP `Unknown`, and what an empty <severity> is read as


class CrisisKind(StrEnum):
    """Crise (unplanned) or événement planifié (an official visit, a large gathering)."""

    CRISE = "crise"
    EVENEMENT_PLANIFIE = "evenement_planifie"


class PlanCategory(StrEnum):
    """Part of the ORSEC plan: dispositions générales or dispositions spécifiques."""

    DISPOSITIONS_GENERALES = "dispositions_generales"
    DISPOSITIONS_SPECIFIQUES = "dispositions_specifiques"


class VigipiratePosture(StrEnum):
    """Posture Vigipirate: Vigilance, Sécurité renforcée - risque attentat, Urgence attentat."""

    VIGILANCE = "vigilance"
    SECURITE_RENFORCEE_RISQUE_ATTENTAT = "securite_renforcee_risque_attentat"
    URGENCE_ATTENTAT = "urgence_attentat"


class VigilancePhenomenon(StrEnum):
    """Phénomène de la vigilance météorologique (Météo-France, Vigicrues for inondation)."""

    VENT_VIOLENT = "vent_violent"
    PLUIE_INONDATION = "pluie_inondation"
    INONDATION = "inondation"
    ORAGES = "orages"
    NEIGE_VERGLAS = "neige_verglas"
    CANICULE = "canicule"
    GRAND_FROID = "grand_froid"
    AVALANCHES = "avalanches"
    VAGUES_SUBMERSION = "vagues_submersion"


class VigilanceColour(StrEnum):
    """Couleur de vigilance: vert, jaune, orange, rouge."""

    VERT = "vert"
    JAUNE = "jaune"
    ORANGE = "orange"
    ROUGE = "rouge"


class Service(StrEnum):
    """Service engaged: SDIS, SAMU/SMUR, police, gendarmerie, AASC, renforts, collectivité…"""

    SDIS = "sdis"
    SAMU_SMUR = "samu_smur"
    POLICE = "police"
    GENDARMERIE = "gendarmerie"
    AASC = "aasc"  # associations agréées de sécurité civile
    RENFORTS = "renforts"  # national or zonal reinforcements (UIISC, colonnes)
    COLLECTIVITE = "collectivite"
    OPERATEUR_RESEAU = "operateur_reseau"
    AUTRE = "autre"


class Direction(StrEnum):
    """Sens d'un message de main courante: reçu, envoyé, interne."""

    RECEIVED = "received"
    SENT = "sent"
    INTERNAL = "internal"


class Medium(StrEnum):
    """Moyen de transmission: téléphone, radio, courriel, fax, SMS, portail, de vive voix, autre."""

    TELEPHONE = "telephone"
    RADIO = "radio"
    EMAIL = "email"
    FAX = "fax"
    SMS = "sms"
    PORTAL = "portal"
    IN_PERSON = "in_person"
    OTHER = "other"


class Priority(StrEnum):
    """Priorité d'un message: routine, urgent, flash."""

    ROUTINE = "routine"
    URGENT = "urgent"
    FLASH = "flash"


class AlertChannel(StrEnum):
    """Vecteur d'alerte des populations: FR-Alert, sirènes (SAIP), médias, réseaux sociaux."""

    FR_ALERT = "fr_alert"
    SIRENS = "sirens"
    MEDIA = "media"
    SOCIAL_NETWORKS = "social_networks"
    OTHER = "other"


class ResourceTally(_Value):
    """What one service has engaged, as counted in a situation report."""

    service: Service = Field(description="The service.")
    units: Count = Field(description="Units engaged (vehicles, teams, aircraft).")
    personnel: Count = Field(description="People engaged.")


class LocalizedText(_Value):
    """What a source said in one language: the other `<info>` blocks of a CAP alert."""

    language: ShortText = Field(description="RFC 3066 language tag.", examples=["en-GB"])
    event: ShortText | None = Field(
        default=None, description="Name of the event, as the source says."
    )
    headline: ShortText | None = Field(default=None, description="Headline.")
    description: Text | None = Field(default=None, description="Description.")
    instruction: Text | None = Field(default=None, description="What to do.")


class Attachment(_Value):
    """A document that came with an input, kept by reference rather than inside the event."""

    description: ShortText = Field(description="What it is.", examples=["Carte des zones inondées"])
    mime_type: ShortText | None = Field(
        default=None, description="MIME type.", examples=["image/png"]
    )
    size: Count | None = Field(default=None, description="Size in bytes, when known.")
    sha256: Sha256Hex | None = Field(
        default=None, description="SHA-256 of the content, when the content came with the input."
    )
    uri: ShortText | None = Field(
        default=None,
        description="Where it is: the object store (`nats-object://<bucket>/<sha256>`) or the web.",
        examples=[
            "nats-object://crisis-intake/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        ],
    )
