"""What the NATS auth callout decides: who a connecting client is, and what the server lets it do.

The services, the administrator and the feeds are the server's own users (static, bcrypt
passwords) and never reach this code. Every other client is a person of the cell: nats-server
hands us what it presented, and we answer with a user JWT (subject permissions and an expiry)
or an error. A person presents either their password (`crisis login`, checked against the
argon2id hash of the people file, throttled, an unknown name costing the same as a known one)
or a session token that `crisis login` obtained.

A person's permissions name their own subjects: they may publish their acts only on
`cell.act.<their token>`, and read replies only under `_INBOX.p.<their token>.>`. The cell takes
the actor from the subject, so the server itself guarantees that nobody acts as someone else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from schemas import subjects
from services.auth.passwords import PasswordCheck, Refused, Throttle, verify_password
from services.auth.principals import Principal, act_subject, subject_token
from services.auth.sessions import TOKEN_PREFIX
from services.cell.people import People

LOGIN_ROOT = "auth.session"
LOGOUT_ROOT = "auth.logout"
INBOX_ROOT = "_INBOX.p"
# A connection made with a password only lives long enough to ask for a session.
PASSWORD_CONNECTION = timedelta(minutes=5)


def inbox_prefix(ident: str) -> str:
    """The inbox prefix a person's connection must use (its replies arrive only there)."""
    return f"{INBOX_ROOT}.{subject_token(ident)}"


def login_subject(ident: str) -> str:
    """The subject on which `ident`, connected with their password, asks for a session."""
    return f"{LOGIN_ROOT}.{subject_token(ident)}"


def logout_subject(ident: str) -> str:
    """The subject on which `ident` ends the session it connected with."""
    return f"{LOGOUT_ROOT}.{subject_token(ident)}"


def person_permissions(principal: Principal, *, by_password: bool = False) -> dict[str, Any]:
    """The `pub` and `sub` rules of a person's user JWT.

    No JetStream API at all: a consumer's creator chooses where the server delivers it, and
    could delete or replace the event log's. A person reads the live events as they are
    published (`crisis tail`), on the core subjects. Only a connection made with the password
    may open a session, so a stolen session token cannot renew itself.
    """
    publish = [act_subject(principal.ident), logout_subject(principal.ident)]
    if by_password:
        publish.append(login_subject(principal.ident))
    subscribe = [f"{inbox_prefix(principal.ident)}.>"]
    if principal.may_read:
        subscribe.append(f"{subjects.LIVE_ROOT}.>")
    return {"pub": {"allow": publish}, "sub": {"allow": subscribe}}


@dataclass(frozen=True, slots=True)
class Admitted:
    """A client let in: who, until when."""

    principal: Principal
    expires_at: datetime
    by_password: bool = False


@dataclass(frozen=True, slots=True)
class Turned:
    """A client refused; the reason goes to the server's log, never to the client."""

    reason: str


SessionLookup = Callable[[str], Awaitable[tuple[Principal, datetime] | None]]


class Gate:
    """Decides each connection; keeps the password throttle between them."""

    def __init__(
        self,
        people: Callable[[], People],
        sessions: SessionLookup,
        *,
        connection: timedelta = timedelta(minutes=10),
        throttle: Throttle | None = None,
        verify: Callable[[str, str], bool] = verify_password,
    ) -> None:
        self.people = people
        self.sessions = sessions
        self.connection = connection
        self.passwords = PasswordCheck(people, verify=verify, accounts=throttle)

    async def decide(
        self, options: dict[str, Any], address: str, now: datetime
    ) -> Admitted | Turned:
        """Admit or turn away a client from its CONNECT options and its address."""
        token = options.get("auth_token")
        if isinstance(token, str) and token.startswith(TOKEN_PREFIX):
            found = await self.sessions(token)
            if found is None:
                return Turned("session token unknown, expired or revoked")
            principal, ends = found
            return Admitted(principal, min(ends, now + self.connection))
        ident, password = options.get("user"), options.get("pass")
        if not isinstance(ident, str) or not isinstance(password, str) or not ident:
            return Turned("no credential")
        person = await self.passwords.check(ident, password, address, now)
        if isinstance(person, Refused):
            if person.retry_after:
                return Turned(f"too many failed logins for {ident!r} or from {address}")
            return Turned(f"wrong password for {ident!r}")
        return Admitted(
            Principal(person.ident, person.role), now + PASSWORD_CONNECTION, by_password=True
        )
