"""Every NATS subject the system uses is built and parsed here, and nowhere else.

Live events:    crisis.<crisis_id>.<aggregate>.<event>
Dead letters:   deadletter.<source>
Replays:        replay.<session>.<crisis_id>.<aggregate>.<event>
Cell acts:      cell.act (request-reply, not stored: the events an act gives are)
Replay control: replayctl.<session> (pause, resume, seek; not stored)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from schemas.types import TOKEN_PATTERN

LIVE_ROOT = "crisis"
DEADLETTER_ROOT = "deadletter"
REPLAY_ROOT = "replay"

CELL_ACTS = "cell.act"
REPLAY_CONTROL_ROOT = "replayctl"

LIVE_ALL = f"{LIVE_ROOT}.>"
DEADLETTER_ALL = f"{DEADLETTER_ROOT}.>"
REPLAY_ALL = f"{REPLAY_ROOT}.>"

_TOKEN = re.compile(TOKEN_PATTERN)
# Event parts of a type name are lower snake case: `incident.reported`, `plan.activation_proposed`.
_TYPE_PART = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class SubjectError(ValueError):
    """A subject or one of its tokens is not acceptable."""


def token(value: str, *, what: str = "token") -> str:
    """Return `value` if it is a safe subject token; refuse `.`, `*`, `>`, white space and more."""
    if not _TOKEN.fullmatch(value):
        raise SubjectError(
            f"{what} {value!r} cannot be used in a subject: only letters, digits, '_' and '-' "
            "are allowed (at most 64, starting with a letter or digit)"
        )
    return value


def split_type(event_type: str) -> tuple[str, str]:
    """Split a wire type name `aggregate.event` into its two subject tokens."""
    parts = event_type.split(".")
    if len(parts) != 2 or not all(_TYPE_PART.fullmatch(p) for p in parts):
        raise SubjectError(f"event type {event_type!r} is not of the form 'aggregate.event'")
    return parts[0], parts[1]


def live(crisis_id: str, event_type: str) -> str:
    """Subject of a live event: `crisis.<crisis_id>.<aggregate>.<event>`."""
    aggregate, event = split_type(event_type)
    return f"{LIVE_ROOT}.{token(crisis_id, what='crisis id')}.{aggregate}.{event}"


def live_filter(crisis_id: str | None = None) -> str:
    """Filter for the live events of one crisis, or of every crisis."""
    if crisis_id is None:
        return LIVE_ALL
    return f"{LIVE_ROOT}.{token(crisis_id, what='crisis id')}.>"


def deadletter(source: str) -> str:
    """Subject where the inputs rejected from `source` are kept: `deadletter.<source>`."""
    return f"{DEADLETTER_ROOT}.{token(source, what='source')}"


def replay(session: str, crisis_id: str, event_type: str) -> str:
    """Subject of a replayed event, under the replay session's own prefix."""
    return f"{REPLAY_ROOT}.{token(session, what='replay session')}.{live(crisis_id, event_type)}"


def replay_filter(session: str) -> str:
    """Filter for every event of one replay session."""
    return f"{REPLAY_ROOT}.{token(session, what='replay session')}.>"


@dataclass(frozen=True, slots=True)
class LiveSubject:
    """The parts of a parsed live-event subject."""

    crisis_id: str
    event_type: str


@lru_cache(maxsize=8192)
def parse_live(subject: str) -> LiveSubject:
    """Parse `crisis.<crisis_id>.<aggregate>.<event>`; a replay prefix is stripped first."""
    parts = subject.split(".")
    if len(parts) == 6 and parts[0] == REPLAY_ROOT:
        token(parts[1], what="replay session")
        parts = parts[2:]
    if len(parts) != 4 or parts[0] != LIVE_ROOT:
        raise SubjectError(f"{subject!r} is not a live event subject")
    crisis_id = token(parts[1], what="crisis id")
    event_type = f"{parts[2]}.{parts[3]}"
    split_type(event_type)
    return LiveSubject(crisis_id=crisis_id, event_type=event_type)


def replay_control(session: str) -> str:
    """Subject where a running replay takes pause, resume and seek: `replayctl.<session>`."""
    return f"{REPLAY_CONTROL_ROOT}.{token(session, what='replay session')}"
