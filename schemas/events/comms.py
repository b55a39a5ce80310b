"""Events of what the cell tells the public and its partners: alerts, press, situation reports."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from schemas.envelope import Envelope
from schemas.types import Instant, Position, ShortText, Text, Token, WebUrl
from schemas.values import AlertChannel, Bilan, Location, ResourceTally, Severity


class PublicAlertIssued(Envelope):
    """An alert has been issued to the population (FR-Alert style, CAP out)."""

    type: Literal["comms.public_alert_issued"] = "comms.public_alert_issued"
    schema_version: Literal[1] = 1
    alert_id: Token = Field(description="Id of the alert.", examples=["alert-0002"])
    channel: AlertChannel = Field(description="Channel the alert went out on.")
    headline: ShortText = Field(
        description="Headline, as shown on a phone.",
        examples=["Alerte inondation : crue torrentielle de la Vésubie"],
    )
    risk: Text = Field(
        description="Nature du risque: what the danger is.",
        examples=["Crue violente de la Vésubie, montée rapide des eaux"],
    )
    issuing_authority: ShortText = Field(
        description="Authority the alert is issued by.", examples=["Préfet des Alpes-Maritimes"]
    )
    area: Location = Field(description="Area the alert is broadcast to.")
    instructions: Text = Field(
        description="Conduite à tenir: what people must do.",
        examples=["Rejoignez les étages, ne prenez pas votre véhicule, suivez les consignes."],
    )
    link: WebUrl | None = Field(default=None, description="Where to read more.")
    severity: Severity = Field(description="Severity of the danger.")
    cap_identifier: ShortText | None = Field(
        default=None, description="Identifier of the CAP message sent, if one was."
    )
    expires_at: Instant | None = Field(
        default=None,
        description="When the alert stops applying, if known.",
        examples=["2020-10-03T06:00:00+02:00"],
    )
    incident_ids: list[Token] = Field(
        default_factory=list, description="Incidents the alert is about."
    )
    validated_by: ShortText = Field(
        description="Who validated the alert before it went out.",
        examples=["Directeur de cabinet"],
    )

    @model_validator(mode="after")
    def _expires_after_issue(self) -> Self:
        if self.expires_at is not None and self.expires_at <= self.occurred_at:
            raise ValueError("expires_at must be after occurred_at")
        return self


class PressReleasePublished(Envelope):
    """A press release has been published."""

    type: Literal["comms.press_release_published"] = "comms.press_release_published"
    schema_version: Literal[1] = 1
    release_id: Token = Field(description="Id of the press release.", examples=["cp-0004"])
    title: ShortText = Field(
        description="Title.", examples=["Tempête Alex : point de situation de 18h00"]
    )
    body: Text = Field(description="Text of the release.")
    validated_by: ShortText = Field(
        description="Who validated it.", examples=["Directeur de cabinet"]
    )


class SituationReportIssued(Envelope):
    """A situation report (point de situation) has been issued."""

    type: Literal["sitrep.issued"] = "sitrep.issued"
    schema_version: Literal[1] = 1
    number: int = Field(
        ge=1, description="Number of the report, from 1 in each crisis.", examples=[3]
    )
    as_of_position: Position = Field(
        description="Stream position of the last event the report takes into account."
    )
    summary: Text = Field(description="The situation, in words.")
    bilan: Bilan = Field(description="Impact figures at that position.")
    active_plans: list[Token] = Field(
        default_factory=list,
        description="Codes of the plans active at that position.",
        examples=[["orsec-inondation", "novi"]],
    )
    resources: list[ResourceTally] = Field(
        default_factory=list, description="Resources engaged at that position, by service."
    )
    decision_ids: list[Token] = Field(
        default_factory=list, description="Decisions taken since the previous report."
    )
    outlook: Text | None = Field(default=None, description="Expected evolution.")
    next_report_at: Instant | None = Field(
        default=None,
        description="When the next report is due.",
        examples=["2020-10-02T22:00:00+02:00"],
    )
    validated_by: ShortText = Field(
        description="Who validated the report.", examples=["Directeur de cabinet"]
    )

    @model_validator(mode="after")
    def _next_report_is_later(self) -> Self:
        if self.next_report_at is not None and self.next_report_at <= self.occurred_at:
            raise ValueError("next_report_at must be after occurred_at")
        return self


class PublicAlertDrafted(Envelope):
    """A public alert has been drafted; it goes out only once the director validates it."""

    type: Literal["comms.public_alert_drafted"] = "comms.public_alert_drafted"
    schema_version: Literal[1] = 1
    alert_id: Token = Field(description="Id of the alert.", examples=["alert-0002"])
    channel: AlertChannel = Field(description="Channel the alert is to go out on.")
    headline: ShortText = Field(
        description="Headline, as shown on a phone.",
        examples=["Alerte inondation : crue torrentielle de la Vésubie"],
    )
    risk: Text = Field(description="Nature du risque: what the danger is.")
    issuing_authority: ShortText = Field(
        description="Authority the alert is issued by.", examples=["Préfet des Alpes-Maritimes"]
    )
    area: Location = Field(description="Area the alert is to be broadcast to.")
    instructions: Text = Field(description="Conduite à tenir: what people must do.")
    link: WebUrl | None = Field(default=None, description="Where to read more.")
    severity: Severity = Field(description="Severity of the danger.")
    expires_at: Instant | None = Field(default=None, description="When the alert stops applying.")
    incident_ids: list[Token] = Field(
        default_factory=list, description="Incidents the alert is about."
    )


class SituationReportDrafted(Envelope):
    """A situation report has been drafted from the picture at a stated position."""

    type: Literal["sitrep.drafted"] = "sitrep.drafted"
    schema_version: Literal[1] = 1
    number: int = Field(ge=1, description="Number the report will carry.", examples=[3])
    as_of_position: Position = Field(
        description="Stream position of the last event the report takes into account."
    )
    summary: Text = Field(description="The situation, in words.")
    bilan: Bilan = Field(default_factory=Bilan, description="Impact figures at that position.")
    active_plans: list[Token] = Field(
        default_factory=list, description="Codes of the plans active at that position."
    )
    resources: list[ResourceTally] = Field(
        default_factory=list, description="Resources engaged at that position, by service."
    )
    decision_ids: list[Token] = Field(
        default_factory=list, description="Decisions taken since the previous report."
    )
    outlook: Text | None = Field(default=None, description="Expected evolution.")
    next_report_at: Instant | None = Field(default=None, description="When the next is due.")


class SituationReportCadenceSet(Envelope):
    """The cadence of a crisis' situation reports has been set."""

    type: Literal["sitrep.cadence_set"] = "sitrep.cadence_set"
    schema_version: Literal[1] = 1
    every_minutes: int = Field(
        ge=15, le=24 * 60, description="Minutes between two reports.", examples=[240]
    )
    first_due_at: Instant = Field(
        description="When the next report is due.", examples=["2020-10-02T18:00:00+02:00"]
    )
