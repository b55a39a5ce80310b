"""Events of incidents and of their bilan (impact figures)."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from schemas.envelope import Envelope
from schemas.types import CrisisId, Instant, ShortText, Text, Token
from schemas.values import Attachment, Bilan, IncidentKind, LocalizedText, Location, Severity


class IncidentReported(Envelope):
    """An incident has been reported to the cell."""

    type: Literal["incident.reported"] = "incident.reported"
    schema_version: Literal[1] = 1
    incident_id: Token = Field(description="Id of the new incident.", examples=["inc-0001"])
    kind: IncidentKind = Field(description="Nature of the incident.")
    severity: Severity = Field(description="Severity as first reported.")
    title: ShortText = Field(
        description="One line the cell will recognise.",
        examples=["Crue de la Vésubie à Saint-Martin-Vésubie"],
    )
    description: Text | None = Field(default=None, description="What is known so far.")
    location: Location = Field(description="Where it is.")
    sources: list[ShortText] = Field(
        default_factory=list,
        description="Feeds or people who reported it.",
        examples=[["Vigicrues", "CTA-CODIS 06"]],
    )
    external_ids: list[ShortText] = Field(
        default_factory=list,
        description="Identifiers of the report in its source systems, such as CAP identifiers.",
        examples=[["urn:oid:2.49.0.1.250.0.FR-METEOFRANCE.2020.10.02.06"]],
    )
    warnings: list[ShortText] = Field(
        default_factory=list,
        description="What the intake tolerated in the input, for an operator to check.",
        examples=[["<expires> missing: no expiry set"]],
    )
    expires_at: Instant | None = Field(
        default=None, description="When the source's information stops being valid, if it says."
    )
    other_languages: list[LocalizedText] = Field(
        default_factory=list, description="The same report in the source's other languages."
    )
    attachments: list[Attachment] = Field(
        default_factory=list, description="Documents that came with the report, by reference."
    )
    signed: bool = Field(
        default=False, description="The input carried a digital signature (present, not verified)."
    )


class IncidentUpdated(Envelope):
    """What is known of an incident has changed; fields left None are unchanged."""

    type: Literal["incident.updated"] = "incident.updated"
    schema_version: Literal[1] = 1
    incident_id: Token = Field(description="Id of the incident updated.", examples=["inc-0001"])
    kind: IncidentKind | None = Field(default=None, description="New nature, if it changed.")
    severity: Severity | None = Field(default=None, description="New severity, if it changed.")
    title: ShortText | None = Field(default=None, description="New title, if it changed.")
    description: Text | None = Field(default=None, description="New description, if it changed.")
    location: Location | None = Field(
        default=None, description="New location, replacing the old one, if it changed."
    )
    sources: list[ShortText] = Field(
        default_factory=list, description="Sources of this update, added to the incident's."
    )
    note: Text | None = Field(default=None, description="What changed and why, in words.")
    external_ids: list[ShortText] = Field(
        default_factory=list,
        description="Identifiers of the update in its source systems, added to the incident's.",
    )
    warnings: list[ShortText] = Field(
        default_factory=list,
        description="What the intake tolerated in the input, for an operator to check.",
    )
    expires_at: Instant | None = Field(
        default=None, description="New end of validity of the source's information, if given."
    )
    attachments: list[Attachment] = Field(
        default_factory=list, description="Documents that came with the update, by reference."
    )

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        changes = (self.kind, self.severity, self.title, self.description, self.location)
        if all(value is None for value in changes) and not self.sources and self.note is None:
            raise ValueError("an incident update must change or add something")
        return self


class IncidentMerged(Envelope):
    """Duplicate incidents have been merged into one, which is kept."""

    type: Literal["incident.merged"] = "incident.merged"
    schema_version: Literal[1] = 1
    incident_id: Token = Field(description="Id of the incident kept.", examples=["inc-0001"])
    merged_ids: list[Token] = Field(
        min_length=1,
        description="Ids of the duplicates merged into it; they are closed by the merge.",
        examples=[["inc-0004", "inc-0007"]],
    )
    reason: Text | None = Field(
        default=None,
        description="Why they are the same incident.",
        examples=["Même crue signalée par Vigicrues et par le maire"],
    )

    @model_validator(mode="after")
    def _merges_others(self) -> Self:
        if self.incident_id in self.merged_ids:
            raise ValueError("merged_ids must not contain the incident kept")
        if len(set(self.merged_ids)) != len(self.merged_ids):
            raise ValueError("merged_ids must not repeat an id")
        return self


class IncidentClosed(Envelope):
    """An incident has been closed."""

    type: Literal["incident.closed"] = "incident.closed"
    schema_version: Literal[1] = 1
    incident_id: Token = Field(description="Id of the incident closed.", examples=["inc-0001"])
    reason: Text | None = Field(default=None, description="Why it was closed.")
    external_ids: list[ShortText] = Field(
        default_factory=list,
        description="Identifiers of the closing message in its source systems (a CAP Cancel).",
    )
    warnings: list[ShortText] = Field(
        default_factory=list,
        description="What the intake tolerated in the input, for an operator to check.",
    )


class IncidentHandedOver(Envelope):
    """An incident has left this crisis (or the standing watch) for another crisis."""

    type: Literal["incident.handed_over"] = "incident.handed_over"
    schema_version: Literal[1] = 1
    incident_id: Token = Field(description="Id of the incident handed over.", examples=["cap-1f2e"])
    to_crisis_id: CrisisId = Field(description="Crisis it now belongs to.")
    reason: Text | None = Field(default=None, description="Why, in words.")


class IncidentAttached(Envelope):
    """An incident first known elsewhere (often the standing watch) now belongs to this crisis."""

    # It carries what was known of the incident, so that this crisis' picture needs no other one.

    type: Literal["incident.attached"] = "incident.attached"
    schema_version: Literal[1] = 1
    incident_id: Token = Field(description="Id of the incident, the same as where it came from.")
    from_crisis_id: CrisisId = Field(description="Crisis it came from.", examples=["veille"])
    kind: IncidentKind = Field(description="Nature of the incident.")
    severity: Severity = Field(description="Severity as last known.")
    title: ShortText = Field(description="Title as last known.")
    description: Text | None = Field(default=None, description="Description as last known.")
    location: Location = Field(description="Location as last known.")
    sources: list[ShortText] = Field(default_factory=list, description="Its sources so far.")
    external_ids: list[ShortText] = Field(
        default_factory=list, description="Its identifiers in source systems so far."
    )
    reason: Text | None = Field(default=None, description="Why it was attached, in words.")


class BilanAssessed(Envelope):
    """New impact figures have been given for an incident or for the whole crisis."""

    type: Literal["bilan.assessed"] = "bilan.assessed"
    schema_version: Literal[1] = 1
    incident_id: Token | None = Field(
        default=None,
        description="Incident the figures are for; None for the whole crisis.",
        examples=["inc-0001"],
    )
    # Figures left None keep their previous value: each count is traceable to the event that set it.
    figures: Bilan = Field(description="The figures assessed; the others are left as they were.")
    source_of_figures: ShortText = Field(
        description="Who gave the figures.", examples=["SDIS 06", "SAMU 06"]
    )
    note: Text | None = Field(default=None, description="Context of the figures.")
    warnings: list[ShortText] = Field(
        default_factory=list,
        description="What the intake tolerated in the input, for an operator to check.",
        examples=[["message sent 7 months after its case was created: kept as sent"]],
    )

    @model_validator(mode="after")
    def _assesses_something(self) -> Self:
        if not self.figures.assessed():
            raise ValueError("a bilan assessment must give at least one figure")
        return self
