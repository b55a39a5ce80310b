"""Decide: a command, its actor and the crisis' picture in; the events it gives, or a refusal.

Pure: no bus, no database, no clock (the caller gives `now`). Every refusal says why, and a
refused act gives no event at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from schemas.envelope import STANDING_WATCH, Envelope, Status
from schemas.events import (
    BilanAssessed,
    CodConvened,
    CodStoodDown,
    CrisisClosed,
    CrisisOpened,
    IncidentClosed,
    IncidentReported,
    IncidentUpdated,
)
from schemas.ids import new_event_id
from services.cell import commands as c
from services.cell.attach import AttachRefused, attach_incident
from services.cell.people import Person, Role
from services.picture.fold import Picture, new_picture
from services.picture.shape import Incident

OPERATORS = frozenset({Role.OPERATOR, Role.DIRECTOR})
DIRECTOR = frozenset({Role.DIRECTOR})
REPORTERS = frozenset({Role.OPERATOR, Role.DIRECTOR, Role.FEED})


class Refused(Exception):  # noqa: N818 (a refusal, said to the person who acted)
    """The act is not allowed or makes no sense now; nothing is published."""


class _Act:
    """One act being decided: the command, who does it, the picture, the instant."""

    def __init__(
        self,
        command: Any,
        person: Person,
        picture: Picture | None,
        now: datetime,
        pictures: Mapping[str, Picture] | None = None,
    ):
        self.command = command
        self.person = person
        self.picture = picture
        self.now = now
        self.pictures = pictures or {}

    @property
    def who(self) -> str:
        return self.person.name or self.person.ident

    def envelope(self, **extra: Any) -> dict[str, Any]:
        exercise = bool(self.picture and self.picture["exercise"])
        return {
            "event_id": new_event_id(),
            "crisis_id": self.command.crisis_id,
            "occurred_at": self.now,
            "received_at": self.now,
            "source": "cell",
            "actor": self.person.ident,
            "status": Status.EXERCISE if exercise else Status.ACTUAL,
            **extra,
        }

    def open_picture(self) -> Picture:
        """The picture of an open crisis (the standing watch is always open)."""
        picture = self.picture
        crisis_id = self.command.crisis_id
        if crisis_id == STANDING_WATCH:
            return picture or _watch()
        if picture is None or picture["state"] == "unknown":
            raise Refused(f"crisis {crisis_id} is not open: open it with `crisis open`")
        if picture["state"] != "open":
            raise Refused(f"crisis {crisis_id} is {picture['state']}")
        return picture

    def incident(self, incident_id: str, *, open_only: bool = True) -> Incident:
        found = self.open_picture()["incidents"].get(incident_id)
        if found is None or found.get("reported") is None:
            raise Refused(f"no incident {incident_id} in {self.command.crisis_id}")
        if open_only and found["state"] != "open":
            raise Refused(f"incident {incident_id} is {found['state']}")
        return found


def _watch() -> Picture:
    from services.picture.fold import new_picture  # noqa: PLC0415 (only for the first event)

    return new_picture(STANDING_WATCH)


def _next_id(prefix: str, taken: Mapping[str, Any] | int) -> str:
    count = taken if isinstance(taken, int) else len(taken)
    number = count + 1
    while not isinstance(taken, int) and f"{prefix}-{number:04d}" in taken:
        number += 1
    return f"{prefix}-{number:04d}"


C = TypeVar("C")
Decider = Callable[[_Act], list[Envelope]]
_DECIDERS: dict[str, tuple[frozenset[Role], Decider]] = {}


def _decides(act: str, roles: frozenset[Role]) -> Callable[[Decider], Decider]:
    def register(function: Decider) -> Decider:
        _DECIDERS[act] = (roles, function)
        return function

    return register


def allowed(act: str, role: Role) -> bool:
    """Whether `role` may perform `act`."""
    return act in _DECIDERS and role in _DECIDERS[act][0]


def decide(
    command: Any, person: Person, pictures: Mapping[str, Picture], now: datetime
) -> list[Envelope]:
    """The events `command` by `person` gives; `Refused` says why there are none."""
    roles, decider = _DECIDERS[command.act]
    if person.role not in roles:
        wanted = " or ".join(sorted(r.value for r in roles))
        raise Refused(
            f"{person.ident} is {person.role.value}: {command.act.replace('_', ' ')} needs the "
            f"role {wanted}"
        )
    return decider(_Act(command, person, pictures.get(command.crisis_id), now, pictures))


# -- the crisis and its COD -------------------------------------------------------------------


@_decides("open_crisis", DIRECTOR)
def _open(a: _Act) -> list[Envelope]:
    cmd: c.OpenCrisis = a.command
    if cmd.crisis_id == STANDING_WATCH:
        raise Refused("the standing watch is always open; open a crisis under another id")
    if a.picture is not None and a.picture["state"] != "unknown":
        raise Refused(f"crisis {cmd.crisis_id} already exists ({a.picture['state']})")
    status = Status.EXERCISE if cmd.exercise else Status.ACTUAL
    fields = cmd.model_dump(exclude={"act", "crisis_id", "exercise"})
    return [CrisisOpened(**{**a.envelope(), "status": status}, **fields)]


@_decides("close_crisis", DIRECTOR)
def _close(a: _Act) -> list[Envelope]:
    if a.command.crisis_id == STANDING_WATCH:
        raise Refused("the standing watch is never closed")
    a.open_picture()
    return [CrisisClosed(**a.envelope(), summary=a.command.summary)]


@_decides("convene_cod", DIRECTOR)
def _convene(a: _Act) -> list[Envelope]:
    if a.open_picture()["cod"]["state"] == "convened":
        raise Refused("the COD is already convened")
    cmd: c.ConveneCod = a.command
    return [
        CodConvened(
            **a.envelope(),
            location=cmd.location,
            services_present=cmd.services_present,
            convened_by=a.who,
        )
    ]


@_decides("stand_down_cod", DIRECTOR)
def _stand_down(a: _Act) -> list[Envelope]:
    if a.open_picture()["cod"]["state"] != "convened":
        raise Refused("the COD is not convened")
    return [CodStoodDown(**a.envelope(), reason=a.command.reason)]


# -- incidents and bilan ----------------------------------------------------------------------


@_decides("report_incident", REPORTERS)
def _report(a: _Act) -> list[Envelope]:
    cmd: c.ReportIncident = a.command
    picture = a.open_picture()
    envelope = a.envelope()
    if cmd.occurred_at is not None:
        envelope["occurred_at"] = cmd.occurred_at
    fields = cmd.model_dump(exclude={"act", "crisis_id", "occurred_at"})
    sources = fields.pop("sources") or [a.who]
    incident_id = _next_id("inc", picture["incidents"])
    return [IncidentReported(**envelope, incident_id=incident_id, sources=sources, **fields)]


@_decides("update_incident", REPORTERS)
def _update(a: _Act) -> list[Envelope]:
    cmd: c.UpdateIncident = a.command
    a.incident(cmd.incident_id)
    fields = cmd.model_dump(exclude={"act", "crisis_id"}, exclude_none=True)
    if len(fields) == 1:
        raise Refused("an update must change something: give a new value or a note")
    return [IncidentUpdated(**a.envelope(), sources=[a.who], **fields)]


@_decides("close_incident", OPERATORS)
def _close_incident(a: _Act) -> list[Envelope]:
    a.incident(a.command.incident_id)
    return [
        IncidentClosed(**a.envelope(), incident_id=a.command.incident_id, reason=a.command.reason)
    ]


@_decides("attach_incident", OPERATORS)
def _attach(a: _Act) -> list[Envelope]:
    cmd: c.AttachIncident = a.command
    source = a.pictures.get(cmd.from_crisis_id)
    if source is None:
        raise Refused(f"nothing is known of {cmd.from_crisis_id}")
    target = a.picture or new_picture(cmd.crisis_id)
    try:
        return list(
            attach_incident(
                source, target, cmd.incident_id, actor=a.person.ident, reason=cmd.reason, now=a.now
            )
        )
    except AttachRefused as exc:
        raise Refused(str(exc)) from None


@_decides("assess_bilan", REPORTERS)
def _assess(a: _Act) -> list[Envelope]:
    cmd: c.AssessBilan = a.command
    if cmd.incident_id is not None:
        a.incident(cmd.incident_id, open_only=False)
    else:
        a.open_picture()
    if not cmd.figures.assessed():
        raise Refused("give at least one figure")
    fields = cmd.model_dump(exclude={"act", "crisis_id"})
    return [BilanAssessed(**a.envelope(), **fields)]


# The deciders of the other acts register themselves on import.
from services.cell import core_acts  # noqa: E402, F401
