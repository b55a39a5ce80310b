"""Principals: the people and services that act or read, as the system has authenticated them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from schemas import subjects
from services.cell.people import READ_ONLY, Role


class Kind(StrEnum):
    """What kind of principal: a person of the cell, a service, or a feed."""

    PERSON = "person"
    SERVICE = "service"
    FEED = "feed"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated identity: never a name the caller typed, always one a credential proved."""

    ident: str
    role: Role
    kind: Kind = Kind.PERSON

    @property
    def may_read(self) -> bool:
        """Whether this principal may read the crises' pictures (feeds only write)."""
        return self.role is not Role.FEED

    @property
    def may_act(self) -> bool:
        """Whether this principal may ask the cell to act (observers and reviewers read only)."""
        return self.role not in READ_ONLY and self.role is not Role.FEED


class TokenVerifier(Protocol):
    """What an HTTP layer asks about a bearer token: whose it is, if anyone's."""

    async def principal(self, token: str) -> Principal | None:
        """The principal a live token belongs to; None for an unknown, expired or revoked one."""


_SAFE = re.compile(r"[A-Za-z0-9-]")


def subject_token(ident: str) -> str:
    """`ident` as one NATS subject token, reversibly: `op.martin` becomes `op_2emartin`.

    The server's permissions name a principal's own subjects (`cell.act.<token>`), so the token
    must hold no `.`, `*`, `>` or white space, and two idents must never share one.
    """
    if not ident:
        raise ValueError("an empty identity has no subject token")
    return "".join(
        c if _SAFE.fullmatch(c) else "".join(f"_{b:02x}" for b in c.encode()) for c in ident
    )


def ident_of(token: str) -> str:
    """The identity a subject token stands for (the inverse of `subject_token`)."""
    out = bytearray()
    i = 0
    while i < len(token):
        if token[i] == "_":
            out.append(int(token[i + 1 : i + 3], 16))
            i += 3
        else:
            out += token[i].encode()
            i += 1
    return out.decode()


def act_subject(ident: str) -> str:
    """The subject on which `ident`'s acts reach the cell: `cell.act.<token>`."""
    return f"{subjects.CELL_ACTS}.{subject_token(ident)}"
