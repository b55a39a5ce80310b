"""The envelope every event carries (DESIGN.md, "Events")."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from schemas.ids import new_event_id
from schemas.types import CrisisId, Instant, ShortText, Token

# The département's standing watch: always open, it receives what arrives outside any crisis.
STANDING_WATCH: str = "veille"


def utc_now() -> datetime:
    """The current instant, timezone-aware, in UTC."""
    return datetime.now(UTC)


class Status(StrEnum):
    """Handling status of an event, as in CAP 1.2 `<status>`."""

    ACTUAL = "Actual"
    EXERCISE = "Exercise"
    SYSTEM = "System"
    TEST = "Test"
    DRAFT = "Draft"


class Envelope(BaseModel):
    """Fields common to every event; each event type adds its own after them."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)

    # Each concrete event narrows these two to literals: its stable wire name and current version.
    type: str = Field(description="Stable wire name of the event type: `<aggregate>.<event>`.")
    schema_version: int = Field(description="Version of this event type's schema.")
    event_id: UUID = Field(
        default_factory=new_event_id,
        description="Unique id of the event (UUID version 7: time-ordered); sent as `Nats-Msg-Id`, "
        "so JetStream drops duplicates.",
    )
    crisis_id: CrisisId
    occurred_at: Instant = Field(
        description="When it happened in the world, as far as the source knows.",
        examples=["2020-10-02T14:32:00+02:00"],
    )
    received_at: Instant = Field(
        default_factory=utc_now, description="When the system received it from its source."
    )
    recorded_at: Instant | None = Field(
        default=None,
        description="Stream time: when JetStream stored it. Set by the system, never by a sender.",
    )
    source: Token = Field(
        description="The feed or service that produced the event.",
        examples=["console", "meteo-france"],
    )
    actor: ShortText = Field(
        description="The person or feed identity responsible for it.",
        examples=["op.dupont", "feed:meteo-france"],
    )
    correlation_id: UUID | None = Field(
        default=None, description="Groups the events of one conversation or workflow."
    )
    causation_id: UUID | None = Field(
        default=None, description="The event that caused this one, when there is one."
    )
    status: Status = Field(
        default=Status.ACTUAL,
        description="CAP status; Exercise events are marked as such everywhere they are shown.",
    )

    @property
    def is_exercise(self) -> bool:
        """True when the event belongs to an exercise rather than a real crisis."""
        return self.status is Status.EXERCISE

    def with_recorded_at(self, recorded_at: datetime) -> Envelope:
        """A copy carrying the stream time at which JetStream stored it."""
        return self.model_copy(update={"recorded_at": recorded_at})

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready mapping sent on the bus and kept in the log."""
        return self.model_dump(mode="json")
