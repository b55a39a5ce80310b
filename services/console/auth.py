"""Console sessions: log in with a password, an idle and an absolute expiry, a CSRF token each.

Sessions live in the console process: restarting it logs everyone out, which a crisis cell can
live with (logging in again takes seconds) and which keeps no session secret on disk.

Guessing is slowed by a throttle per account and per client address, and costs the same whether
the person exists or not (an unknown person's guess is checked against a dummy hash), so neither
the answers nor their timing tell who is in the people file.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from schemas.envelope import utc_now
from services.auth.passwords import (
    PasswordCheck,
    Refused,
    Throttle,
    Verifier,
    fingerprint,
    verify_password,
)
from services.cell.app import PeopleFile
from services.cell.people import Person, Role

COOKIE = "crisis_session"


@dataclass(slots=True)
class Session:
    """One logged-in person on one browser."""

    token: str
    ident: str
    csrf: str
    started: datetime
    seen: datetime
    fingerprint: str


class Sessions:
    """Logged-in sessions; a person disabled, or whose password changed, loses theirs at once."""

    def __init__(
        self,
        people: PeopleFile,
        *,
        idle: timedelta,
        longest: timedelta,
        clock: Callable[[], datetime] = utc_now,
        verify: Verifier = verify_password,
        accounts: Throttle | None = None,
        addresses: Throttle | None = None,
    ) -> None:
        self.people = people
        self.idle = idle
        self.longest = longest
        self.clock = clock
        self.passwords = PasswordCheck(
            people.current, verify=verify, accounts=accounts, addresses=addresses
        )
        self._sessions: dict[str, Session] = {}

    async def log_in(self, ident: str, password: str, address: str = "") -> Session | Refused:
        """A new session if the password is right; why not otherwise."""
        # A feed posts to the intake; it never reads the console.
        person = await self.passwords.check(
            ident, password, address, self.clock(), admits=lambda p: p.role is not Role.FEED
        )
        if isinstance(person, Refused):
            return person
        now = self.clock()
        session = Session(
            secrets.token_urlsafe(32),
            ident,
            secrets.token_urlsafe(24),
            now,
            now,
            fingerprint(person.password),
        )
        self._sessions[session.token] = session
        return session

    def find(self, token: str | None) -> tuple[Session, Person] | None:
        """The live session of a cookie and its person, touched; None if expired or unknown."""
        found = self.holds(token)
        if found is not None:
            found[0].seen = self.clock()
        return found

    def holds(self, token: str | None) -> tuple[Session, Person] | None:
        """As `find`, without touching the session: an open live stream must not keep it from
        ending when idle (logout, a new password or a disabled person end it as well)."""
        if not token:
            return None
        session = self._sessions.get(token)
        if session is None:
            return None
        now = self.clock()
        person = self.people.current().find(session.ident)
        if (
            person is None
            or fingerprint(person.password) != session.fingerprint
            or now - session.seen > self.idle
            or now - session.started > self.longest
        ):
            self._sessions.pop(token, None)
            return None
        return session, person

    def expires_at(self, session: Session) -> datetime:
        """When the session ends if left alone."""
        return min(session.seen + self.idle, session.started + self.longest)

    def log_out(self, token: str) -> None:
        """End a session."""
        self._sessions.pop(token, None)
