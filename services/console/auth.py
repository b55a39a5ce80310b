"""Console sessions: log in with a password, an idle and an absolute expiry, a CSRF token each.

Sessions live in the console process: restarting it logs everyone out, which a crisis cell can
live with (logging in again takes seconds) and which keeps no session secret on disk.

Guessing is slowed by a throttle per account and per client address, and costs the same whether
the person exists or not (an unknown person's guess is checked against a dummy hash), so neither
the answers nor their timing tell who is in the people file.
"""

from __future__ import annotations

import asyncio
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from schemas.envelope import utc_now
from services.auth.passwords import (
    Refused,
    Throttle,
    Verifier,
    dummy_hash,
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
        self.verify = verify
        self.accounts = accounts or Throttle(free=5)
        # A whole cell may sit behind one address: more room there than for one account.
        self.addresses = addresses or Throttle(free=20)
        self._sessions: dict[str, Session] = {}
        dummy_hash()  # made now, not during the first login of an unknown person

    async def log_in(self, ident: str, password: str, address: str = "") -> Session | Refused:
        """A new session if the password is right; why not otherwise."""
        now = self.clock()
        account = ident.casefold()
        waits = [
            w for w in (self.accounts.wait(account, now), self.addresses.wait(address, now)) if w
        ]
        if waits:  # refused before the password is even looked at
            return Refused(max(1, math.ceil(max(waits).total_seconds())))
        person = self.people.current().find(ident)
        if person is not None and person.role is Role.FEED:
            person = None  # a feed posts to the intake; it never reads the console
        hashed = person.password if person is not None else None
        # Hashing is slow on purpose; run it off the event loop so other requests go on.
        right = await asyncio.to_thread(self.verify, hashed or dummy_hash(), password)
        if person is None or hashed is None or not right:
            self.accounts.failed(account, now)
            self.addresses.failed(address, now)
            return Refused()
        self.accounts.succeeded(account)
        now = self.clock()
        session = Session(
            secrets.token_urlsafe(32),
            ident,
            secrets.token_urlsafe(24),
            now,
            now,
            fingerprint(hashed),
        )
        self._sessions[session.token] = session
        return session

    def find(self, token: str | None) -> tuple[Session, Person] | None:
        """The live session of a cookie and its person, touched; None if expired or unknown."""
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
        session.seen = now
        return session, person

    def expires_at(self, session: Session) -> datetime:
        """When the session ends if left alone."""
        return min(session.seen + self.idle, session.started + self.longest)

    def log_out(self, token: str) -> None:
        """End a session."""
        self._sessions.pop(token, None)
