"""The session store's contract, on SQLite and on PostgreSQL: issued, verified, revoked, ended by
a new password or a disabled person, and never stored as the token itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from services.auth.principals import Kind, Principal
from services.auth.sessions import SessionStore, digest
from services.cell.people import People, Person, Role, hash_password
from services.eventlog.tables import sessions
from tests.store_fixtures import BACKENDS, open_store

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=BACKENDS)
async def context(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[SessionStore, dict[str, Person], Clock]]:
    people = {"dircab": Person("dircab", Role.DIRECTOR, password=hash_password("a" * 16))}
    clock = Clock()
    async with open_store(request.param, tmp_path) as store:
        yield SessionStore(store.engine, lambda: People(people), clock=clock), people, clock


async def test_a_session_names_its_person_until_it_expires(
    context: tuple[SessionStore, dict[str, Person], Clock],
) -> None:
    store, people, clock = context
    token, session = await store.issue_person(people["dircab"], ttl=timedelta(hours=8))
    assert session.expires_at == NOW + timedelta(hours=8)
    assert await store.principal(token) == Principal("dircab", Role.DIRECTOR)
    assert await store.principal(token + "x") is None
    assert await store.principal("not-even-a-session-token") is None
    clock.now = NOW + timedelta(hours=8)
    assert await store.principal(token) is None
    assert await store.list() == []


async def test_the_database_keeps_the_digest_never_the_token(
    context: tuple[SessionStore, dict[str, Person], Clock],
) -> None:
    store, people, _clock = context
    token, _ = await store.issue_person(people["dircab"], ttl=timedelta(hours=1))
    async with store.engine.connect() as conn:
        rows = (await conn.execute(select(sessions))).all()
    assert [row.token_sha256 for row in rows] == [digest(token)]
    assert token not in repr(rows)


async def test_revoking_a_session_or_a_person_ends_it(
    context: tuple[SessionStore, dict[str, Person], Clock],
) -> None:
    store, people, _clock = context
    first, _ = await store.issue_person(people["dircab"], ttl=timedelta(hours=1))
    second, _ = await store.issue_person(people["dircab"], ttl=timedelta(hours=1))
    assert await store.revoke(first)
    assert not await store.revoke(first)
    assert await store.principal(first) is None
    assert await store.principal(second) is not None
    assert await store.revoke_ident("dircab") == 1
    assert await store.principal(second) is None
    assert await store.count_live() == 0


async def test_a_new_password_or_a_disabled_person_ends_their_sessions(
    context: tuple[SessionStore, dict[str, Person], Clock],
) -> None:
    store, people, _clock = context
    token, _ = await store.issue_person(people["dircab"], ttl=timedelta(hours=1))
    people["dircab"] = replace(people["dircab"], password=hash_password("b" * 16))
    assert await store.principal(token) is None
    again, _ = await store.issue_person(people["dircab"], ttl=timedelta(hours=1))
    assert await store.principal(again) is not None
    people["dircab"] = replace(people["dircab"], enabled=False)
    assert await store.principal(again) is None


async def test_a_service_token_reads_as_its_role_and_is_revoked_by_its_id(
    context: tuple[SessionStore, dict[str, Person], Clock],
) -> None:
    store, _people, _clock = context
    token, session = await store.issue_service(
        "service:zone", Role.OBSERVER, ttl=timedelta(days=30)
    )
    assert await store.principal(token) == Principal("service:zone", Role.OBSERVER, Kind.SERVICE)
    assert await store.revoke_prefix(session.token_sha256[:4]) == 0  # too short to be an id
    assert await store.revoke_prefix(session.token_sha256[:12]) == 1
    assert await store.principal(token) is None
