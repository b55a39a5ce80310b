"""Events of the resources (moyens) requested, engaged and released by the services."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from schemas.envelope import Envelope
from schemas.types import Count, ShortText, Token
from schemas.values import Service

# The three events share their field types so that a resource reads the same all along.
_ResourceId = Annotated[
    Token, Field(description="Id of the resource.", examples=["res-sdis83-ccf-01"])
]
_ServiceOf = Annotated[Service, Field(description="Service the resource belongs to.")]
_Units = Annotated[Count, Field(description="Units (vehicles, teams, aircraft).", examples=[4])]
_Personnel = Annotated[Count, Field(description="People.", examples=[16])]
_IncidentId = Annotated[
    Token | None,
    Field(description="Incident the resource is for; None for the crisis as a whole."),
]
_Description = Annotated[
    ShortText | None,
    Field(
        description="What the resource is.",
        examples=["Groupe d'intervention feux de forêts du Var (4 CCF)"],
    ),
]
_Mission = Annotated[
    ShortText | None,
    Field(description="What it is asked to do.", examples=["Protection de Lantosque"]),
]


def _check_not_empty(units: int, personnel: int) -> None:
    if units == 0 and personnel == 0:
        raise ValueError("a resource must count at least one unit or one person")


class ResourceRequested(Envelope):
    """A resource has been requested from a service or a higher echelon."""

    type: Literal["resource.requested"] = "resource.requested"
    schema_version: Literal[1] = 1
    resource_id: _ResourceId
    service: _ServiceOf
    units: _Units
    personnel: _Personnel
    incident_id: _IncidentId = None
    description: _Description = None
    mission: _Mission = None
    requested_from: ShortText | None = Field(
        default=None,
        description="Who the request went to.",
        examples=["COZ Sud (zone de défense)", "CODIS 83"],
    )

    warnings: list[ShortText] = Field(
        default_factory=list,
        description="What the intake tolerated in the input, for an operator to check.",
        examples=[["position 212 km from its case: kept as sent"]],
    )

    @model_validator(mode="after")
    def _counts_something(self) -> Self:
        _check_not_empty(self.units, self.personnel)
        return self


class ResourceEngaged(Envelope):
    """A resource has been engaged."""

    type: Literal["resource.engaged"] = "resource.engaged"
    schema_version: Literal[1] = 1
    resource_id: _ResourceId
    service: _ServiceOf
    units: _Units
    personnel: _Personnel
    incident_id: _IncidentId = None
    description: _Description = None
    mission: _Mission = None

    warnings: list[ShortText] = Field(
        default_factory=list,
        description="What the intake tolerated in the input, for an operator to check.",
        examples=[["position 212 km from its case: kept as sent"]],
    )

    @model_validator(mode="after")
    def _counts_something(self) -> Self:
        _check_not_empty(self.units, self.personnel)
        return self


class ResourceReleased(Envelope):
    """A resource has been released (désengagé)."""

    type: Literal["resource.released"] = "resource.released"
    schema_version: Literal[1] = 1
    resource_id: _ResourceId
    service: _ServiceOf
    units: Count = Field(description="Units released.", examples=[4])
    personnel: Count = Field(description="People released.", examples=[16])
    incident_id: _IncidentId = None
    description: _Description = None
    reason: ShortText | None = Field(
        default=None, description="Why it was released.", examples=["Feu fixé"]
    )

    warnings: list[ShortText] = Field(
        default_factory=list,
        description="What the intake tolerated in the input, for an operator to check.",
        examples=[["position 212 km from its case: kept as sent"]],
    )

    @model_validator(mode="after")
    def _counts_something(self) -> Self:
        _check_not_empty(self.units, self.personnel)
        return self
