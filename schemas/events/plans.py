"""Events of ORSEC plans, of the Vigipirate posture and of the weather vigilance."""

from __future__ import annotations

from typing import Literal, Self
from uuid import UUID

from pydantic import Field, model_validator

from schemas.envelope import Envelope
from schemas.types import Departement, Instant, ShortText, Text, Token
from schemas.values import PlanCategory, VigilanceColour, VigilancePhenomenon, VigipiratePosture

_PLAN_CODE_EXAMPLES = ["orsec-inondation", "novi", "ppi-arkema-lannemezan"]


class PlanActivationProposed(Envelope):
    """The activation of a plan has been proposed to the authority."""

    type: Literal["plan.activation_proposed"] = "plan.activation_proposed"
    schema_version: Literal[1] = 1
    plan_code: Token = Field(description="Code of the plan.", examples=_PLAN_CODE_EXAMPLES)
    plan_name: ShortText = Field(
        description="Name of the plan.", examples=["ORSEC - dispositions spécifiques inondation"]
    )
    category: PlanCategory = Field(description="Part of ORSEC the plan belongs to.")
    rule: ShortText | None = Field(
        default=None,
        description="The rule that fired, when the proposal is automatic; None when by a person.",
        examples=["inondation-severe-2-communes"],
    )
    reason: Text = Field(
        description="Why the plan should be activated.",
        examples=["Crue rapide en cours sur deux communes, vigilance rouge pluie-inondation"],
    )
    incident_ids: list[Token] = Field(
        default_factory=list, description="Incidents that motivate the proposal."
    )


class PlanActivated(Envelope):
    """A plan has been activated by the authority."""

    type: Literal["plan.activated"] = "plan.activated"
    schema_version: Literal[1] = 1
    plan_code: Token = Field(description="Code of the plan.", examples=_PLAN_CODE_EXAMPLES)
    plan_name: ShortText = Field(description="Name of the plan.", examples=["ORSEC NOVI"])
    category: PlanCategory = Field(description="Part of ORSEC the plan belongs to.")
    decided_by: ShortText = Field(
        description="Authority who decided.", examples=["Préfet des Alpes-Maritimes"]
    )
    decided_at: Instant = Field(
        description="When the decision was taken.", examples=["2020-10-02T15:10:00+02:00"]
    )
    proposal_event_id: UUID | None = Field(
        default=None, description="Event id of the proposal accepted, if there was one."
    )


class PlanDeactivated(Envelope):
    """A plan has been deactivated by the authority."""

    type: Literal["plan.deactivated"] = "plan.deactivated"
    schema_version: Literal[1] = 1
    plan_code: Token = Field(description="Code of the plan.", examples=_PLAN_CODE_EXAMPLES)
    decided_by: ShortText = Field(
        description="Authority who decided.", examples=["Préfet des Alpes-Maritimes"]
    )
    decided_at: Instant = Field(
        description="When the decision was taken.", examples=["2020-10-05T18:00:00+02:00"]
    )
    reason: Text | None = Field(default=None, description="Why the plan is no longer needed.")


class VigipirateChanged(Envelope):
    """The Vigipirate posture has changed."""

    type: Literal["vigipirate.posture_changed"] = "vigipirate.posture_changed"
    schema_version: Literal[1] = 1
    posture: VigipiratePosture = Field(description="The new posture.")
    scope: ShortText | None = Field(
        default=None,
        description="Where the posture applies; None for the whole national territory.",
        examples=["Alpes-Maritimes"],
    )
    decided_by: ShortText = Field(
        description="Authority who decided.", examples=["Premier ministre (SGDSN)"]
    )


class VigipiratePostureProposed(Envelope):
    """A change of the Vigipirate posture has been proposed to the authority."""

    type: Literal["vigipirate.posture_proposed"] = "vigipirate.posture_proposed"
    schema_version: Literal[1] = 1
    posture: VigipiratePosture = Field(description="The posture proposed.")
    scope: ShortText | None = Field(
        default=None, description="Where it would apply.", examples=["Alpes-Maritimes"]
    )
    rule: ShortText | None = Field(
        default=None, description="The rule that fired, when automatic; None when by a person."
    )
    reason: Text = Field(description="Why the posture should change.")
    incident_ids: list[Token] = Field(
        default_factory=list, description="Incidents that motivate the proposal."
    )


class VigilanceChanged(Envelope):
    """The weather vigilance colour of a phenomenon has changed for a département."""

    type: Literal["vigilance.changed"] = "vigilance.changed"
    schema_version: Literal[1] = 1
    departement: Departement = Field(description="Département concerned.")
    phenomenon: VigilancePhenomenon = Field(description="Phenomenon concerned.")
    colour: VigilanceColour = Field(description="The new colour.")
    valid_from: Instant = Field(
        description="Start of validity.", examples=["2020-10-02T06:00:00+02:00"]
    )
    valid_until: Instant | None = Field(
        default=None,
        description="End of validity; None until the next bulletin.",
        examples=["2020-10-03T06:00:00+02:00"],
    )
    bulletin_ref: ShortText | None = Field(
        default=None,
        description="Reference of the bulletin that set it.",
        examples=["Météo-France bulletin du 02/10/2020 06h00"],
    )

    @model_validator(mode="after")
    def _valid_for_some_time(self) -> Self:
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self
