"""Events of the crisis itself and of the COD that runs it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.envelope import Envelope
from schemas.types import Departement, ShortText, Text
from schemas.values import CrisisKind, IncidentKind


class CrisisOpened(Envelope):
    """A crisis, or a planned event run as one, has been opened."""

    type: Literal["crisis.opened"] = "crisis.opened"
    schema_version: Literal[1] = 1
    name: ShortText = Field(
        description="Name the cell uses for the crisis.",
        examples=["Tempête Alex - crues de la Vésubie et de la Roya"],
    )
    kind: CrisisKind = Field(description="Unplanned crisis or planned event.")
    departement: Departement = Field(description="Département whose prefecture runs the crisis.")
    nature: IncidentKind | None = Field(
        default=None, description="Main nature of the crisis, when known; None for a planned event."
    )
    description: Text | None = Field(default=None, description="What the crisis is about.")


class CrisisClosed(Envelope):
    """The crisis has been closed; its events stay in the log for the review."""

    type: Literal["crisis.closed"] = "crisis.closed"
    schema_version: Literal[1] = 1
    summary: Text | None = Field(default=None, description="Closing summary, for the RETEX.")


class CodConvened(Envelope):
    """The centre opérationnel départemental (COD) has been convened."""

    type: Literal["cod.convened"] = "cod.convened"
    schema_version: Literal[1] = 1
    location: ShortText = Field(
        description="Where the COD sits.",
        examples=["Préfecture des Alpes-Maritimes, salle COD"],
    )
    services_present: list[ShortText] = Field(
        default_factory=list,
        description="Services represented in the room.",
        examples=[["SDIS 06", "DDSP", "Groupement de gendarmerie", "DDTM", "ARS", "Enedis"]],
    )
    convened_by: ShortText = Field(
        description="Authority who convened it.", examples=["Directeur de cabinet"]
    )


class CodStoodDown(Envelope):
    """The COD has been stood down."""

    type: Literal["cod.stood_down"] = "cod.stood_down"
    schema_version: Literal[1] = 1
    reason: Text | None = Field(default=None, description="Why it was stood down.")
