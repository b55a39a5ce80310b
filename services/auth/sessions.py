"""Sessions: short-lived, revocable credentials for people and services, kept by digest in SQL.

`crisis login` asks the auth service for one after the person's password was checked; a service
gets one from an administrator (`crisis token issue`). The token itself is shown once and never
stored: the table keeps its SHA-256, so a copy of the database logs no one in. A person's
session also keeps a stamp of their password hash: a new password, or a disabled person, ends
every session they hold.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from schemas.envelope import utc_now
from services.auth.principals import Kind, Principal
from services.cell.people import People, Person, Role
from services.eventlog.tables import sessions as table

TOKEN_PREFIX = "ccs_"  # noqa: S105 (a prefix, not a secret): crisis-cell session: recognisable in a leak report, never in a log


def digest(token: str) -> str:
    """The SHA-256 a token is kept and looked up by."""
    return hashlib.sha256(token.encode()).hexdigest()


def password_stamp(person: Person) -> str:
    """A stamp of the person's current password hash: it changes when the password does."""
    return hashlib.sha256((person.password or "").encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    """One issued credential, as the table keeps it."""

    token_sha256: str
    ident: str
    kind: Kind
    role: Role
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    client: str

    def live(self, now: datetime) -> bool:
        """Neither expired nor revoked at `now`."""
        return self.revoked_at is None and now < self.expires_at


class SessionStore:
    """Issue, verify, list and revoke sessions in the event log's database."""

    def __init__(
        self,
        engine: AsyncEngine,
        people: Callable[[], People],
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.engine = engine
        self.people = people
        self.clock = clock

    async def issue_person(
        self, person: Person, *, ttl: timedelta, client: str = ""
    ) -> tuple[str, Session]:
        """A new session for an authenticated person; the token is returned once."""
        return await self._issue(
            person.ident, Kind.PERSON, person.role, password_stamp(person), ttl=ttl, client=client
        )

    async def issue_service(
        self, ident: str, role: Role, *, ttl: timedelta, client: str = ""
    ) -> tuple[str, Session]:
        """A token for a service (a reader such as a zone's dashboard), given by an admin."""
        return await self._issue(ident, Kind.SERVICE, role, "", ttl=ttl, client=client)

    async def _issue(
        self, ident: str, kind: Kind, role: Role, stamp: str, *, ttl: timedelta, client: str
    ) -> tuple[str, Session]:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self.clock()
        session = Session(digest(token), ident, kind, role, now, now + ttl, None, client[:200])
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(table).values(
                    token_sha256=session.token_sha256,
                    ident=ident,
                    kind=kind.value,
                    role=role.value,
                    password_stamp=stamp,
                    created_at=now,
                    expires_at=session.expires_at,
                    revoked_at=None,
                    client=session.client,
                )
            )
        return token, session

    async def find(self, token: str) -> tuple[Session, str] | None:
        """The session of a token and its password stamp, live or not; None if unknown."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(table).where(table.c.token_sha256 == digest(token)))
            ).first()
        if row is None:
            return None
        return _session(row), row.password_stamp

    async def principal(self, token: str) -> Principal | None:
        """Whose live token this is; None when unknown, expired, revoked, or its person is
        disabled, gone, or has a new password since it was issued."""
        admitted = await self.admit(token)
        return admitted[0] if admitted is not None else None

    async def admit(self, token: str) -> tuple[Principal, datetime] | None:
        """Whose live token this is and when its session ends, in one look-up (the auth
        callout's question at every connection); None as for `principal`."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        found = await self.find(token)
        if found is None:
            return None
        session, stamp = found
        if not session.live(self.clock()):
            return None
        if session.kind is Kind.SERVICE:
            return Principal(session.ident, session.role, Kind.SERVICE), session.expires_at
        person = self.people().find(session.ident)
        if person is None or password_stamp(person) != stamp:
            return None
        return Principal(person.ident, person.role, Kind.PERSON), session.expires_at

    async def revoke(self, token: str) -> bool:
        """End one session; whether it was live."""
        return await self._revoke(table.c.token_sha256 == digest(token)) > 0

    async def revoke_ident(self, ident: str) -> int:
        """End every live session of a person or service; how many."""
        return await self._revoke(table.c.ident == ident)

    async def revoke_prefix(self, sha_prefix: str) -> int:
        """End the live session whose digest starts with `sha_prefix` (as `list` shows it)."""
        if len(sha_prefix) < 8:
            return 0
        return await self._revoke(table.c.token_sha256.startswith(sha_prefix, autoescape=True))

    async def _revoke(self, which: object) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(table)
                .where(which, table.c.revoked_at.is_(None))  # type: ignore[arg-type]
                .values(revoked_at=self.clock())
            )
        return int(result.rowcount or 0)

    async def list(self, *, include_ended: bool = False) -> list[Session]:
        """Sessions, newest first; the live ones unless `include_ended`."""
        query = select(table).order_by(table.c.created_at.desc())
        if not include_ended:
            query = query.where(table.c.revoked_at.is_(None), table.c.expires_at > self.clock())
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_session(row) for row in rows]

    async def count_live(self) -> int:
        """How many sessions are live now."""
        query = select(func.count()).where(
            table.c.revoked_at.is_(None), table.c.expires_at > self.clock()
        )
        async with self.engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())


def _session(row: object) -> Session:
    return Session(
        row.token_sha256,  # type: ignore[attr-defined]
        row.ident,  # type: ignore[attr-defined]
        Kind(row.kind),  # type: ignore[attr-defined]
        Role(row.role),  # type: ignore[attr-defined]
        row.created_at,  # type: ignore[attr-defined]
        row.expires_at,  # type: ignore[attr-defined]
        row.revoked_at,  # type: ignore[attr-defined]
        row.client,  # type: ignore[attr-defined]
    )
