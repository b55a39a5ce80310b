"""Console sessions: log in with a password, an idle and an absolute expiry, a CSRF token each.

Sessions live in the console process: restarting it logs everyone out, which a crisis cell can
live with (logging in again takes seconds) and which keeps no session secret on disk.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from schemas.envelope import utc_now
from services.cell.app import PeopleFile
from services.cell.people import Person

COOKIE = "crisis_session"


@dataclass(slots=True)
class Session:
    """One logged-in person on one browser."""

    token: str
    ident: str
    csrf: str
    started: datetime
    seen: datetime


class Sessions:
    """Logged-in sessions; a person disabled in the people file loses theirs at once."""

    def __init__(
        self,
        people: PeopleFile,
        *,
        idle: timedelta,
        longest: timedelta,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.people = people
        self.idle = idle
        self.longest = longest
        self.clock = clock
        self._sessions: dict[str, Session] = {}

    async def log_in(self, ident: str, password: str) -> Session | None:
        """A new session if the password is right; None (after a pause) otherwise."""
        person = self.people.current().find(ident)
        # Hashing is slow on purpose; run it off the event loop so other requests go on.
        if person is None or not await asyncio.to_thread(person.verify, password):
            await asyncio.sleep(0.5)  # slows guessing down
            return None
        now = self.clock()
        session = Session(secrets.token_urlsafe(32), ident, secrets.token_urlsafe(24), now, now)
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
        if person is None or now - session.seen > self.idle or now - session.started > self.longest:
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
