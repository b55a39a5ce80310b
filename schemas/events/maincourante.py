"""Events of the main courante: its entries, the decisions taken and the tasks given."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from schemas.envelope import Envelope
from schemas.types import Instant, ShortText, Text, Token
from schemas.values import Direction, Medium, Priority


class MainCouranteEntryRecorded(Envelope):
    """An entry has been recorded in the main courante."""

    # No entry number here: the event log numbers entries, gapless per crisis, as it stores them.
    type: Literal["maincourante.entry_recorded"] = "maincourante.entry_recorded"
    schema_version: Literal[1] = 1
    entry_id: Token = Field(description="Id of the entry.", examples=["mc-7f3a9c"])
    direction: Direction = Field(description="Received by the cell, sent by it, or internal.")
    sender: ShortText = Field(description="Who the message is from.", examples=["CODIS 06"])
    recipient: ShortText | None = Field(
        default=None, description="Who the message is to.", examples=["COD 06"]
    )
    medium: Medium = Field(description="How the message came or went.")
    priority: Priority = Field(description="Priority of the message.")
    text: Text = Field(
        description="The message.",
        examples=["Pont de la Vésubie emporté à Saint-Martin-Vésubie, RD 2565 coupée"],
    )
    follow_up_owner: ShortText | None = Field(
        default=None, description="Who must follow it up, if anyone.", examples=["Cellule moyens"]
    )
    follow_up_due: Instant | None = Field(
        default=None,
        description="When the follow-up is due.",
        examples=["2020-10-02T18:00:00+02:00"],
    )
    corrects_entry_id: Token | None = Field(
        default=None,
        description="Entry this one corrects: a correction is a new entry, never an edit.",
    )
    external_ids: list[ShortText] = Field(
        default_factory=list,
        description=(
            "Identifiers of the message in its source systems, for an entry the intake records "
            "(`cap:<sender>,<identifier>`); `cancels:<id>` names an alert a CAP Cancel withdrew "
            "before this intake received it."
        ),
        examples=[["cap:vigicrues@developpement-durable.gouv.fr,VC-2020-118"]],
    )

    @model_validator(mode="after")
    def _is_consistent(self) -> Self:
        if self.follow_up_due is not None and self.follow_up_owner is None:
            raise ValueError("a follow-up deadline needs a follow-up owner")
        if self.corrects_entry_id == self.entry_id:
            raise ValueError("an entry cannot correct itself")
        return self


class FollowUpDone(Envelope):
    """The follow-up an entry of the main courante asked for has been done."""

    type: Literal["maincourante.follow_up_done"] = "maincourante.follow_up_done"
    schema_version: Literal[1] = 1
    entry_id: Token = Field(description="The entry whose follow-up is done.", examples=["mc-0004"])
    outcome: Text | None = Field(default=None, description="What came of it.")


class DecisionTaken(Envelope):
    """A decision has been taken by the authority or the cell."""

    type: Literal["decision.taken"] = "decision.taken"
    schema_version: Literal[1] = 1
    decision_id: Token = Field(description="Id of the decision.", examples=["dec-0003"])
    text: Text = Field(
        description="The decision.",
        examples=["Fermeture des établissements scolaires de la vallée de la Vésubie"],
    )
    taken_by: ShortText = Field(description="Who took it.", examples=["Directeur de cabinet"])
    rationale: Text | None = Field(default=None, description="Why it was taken.")
    incident_ids: list[Token] = Field(
        default_factory=list, description="Incidents the decision is about."
    )


class TaskAssigned(Envelope):
    """A task has been assigned to someone."""

    type: Literal["task.assigned"] = "task.assigned"
    schema_version: Literal[1] = 1
    task_id: Token = Field(description="Id of the task.", examples=["task-0012"])
    title: ShortText = Field(
        description="What is to be done.",
        examples=["Ouvrir un centre d'hébergement à Lantosque"],
    )
    assignee: ShortText = Field(description="Who must do it.", examples=["Mairie de Lantosque"])
    due_at: Instant | None = Field(
        default=None, description="When it is due.", examples=["2020-10-02T20:00:00+02:00"]
    )
    decision_id: Token | None = Field(
        default=None, description="Decision the task carries out, if any.", examples=["dec-0003"]
    )


class TaskCompleted(Envelope):
    """A task has been completed."""

    type: Literal["task.completed"] = "task.completed"
    schema_version: Literal[1] = 1
    task_id: Token = Field(description="Id of the task.", examples=["task-0012"])
    outcome: Text | None = Field(default=None, description="What came of it.")
