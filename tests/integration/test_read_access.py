"""Reading needs a login, on a real server: no crisis reaches a client that has not logged in."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from services.cell.people import People, Role
from services.demo.scenario import tempete_alex
from services.eventlog.app import EventLogService
from services.eventlog.schema import upgrade
from services.eventlog.store import EventStore
from services.picture.app import PictureService
from services.runtime.bus import Bus
from services.runtime.database import make_engine
from services.runtime.embedded import EmbeddedNatsServer
from services.runtime.publish import publish_event
from services.runtime.settings import Settings
from tests.integration.waiting import until
from tests.unit.test_read_access import FEED, OBSERVER, FakeVerifier, bearer, verifier

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

CRISIS = "alex-secret"
RECHECK_S = 0.2


@dataclass
class Running:
    """A picture service on the test server that has folded the whole scenario."""

    picture: PictureService
    tokens: FakeVerifier
    store: EventStore
    bus: Bus

    @property
    def url(self) -> str:
        return self.picture.url

    def secrets(self) -> list[str]:
        """What must never reach a client without a login: ids, names, what the log says."""
        assert self.picture.live is not None
        held = self.picture.live.pictures[CRISIS]
        said = [entry["text"] for entry in held["main_courante"]["latest"]]
        return [CRISIS, held["name"], *said[-3:]]


@pytest.fixture
async def deployment(
    nats_server: EmbeddedNatsServer, settings: Settings, bus: Bus
) -> AsyncIterator[tuple[Settings, EventStore]]:
    del bus  # asked for the streams it creates
    wired = settings.model_copy(update={"nats_url": nats_server.url, "picture_port": 0})
    engine = make_engine(wired.database_url)
    await upgrade(engine)
    store = EventStore(engine)
    eventlog = EventLogService(wired, EventStore(make_engine(wired.database_url)))
    await eventlog.start(nats_server.url)
    try:
        yield wired, store
    finally:
        await eventlog.stop()
        await store.close()


async def _start(
    settings: Settings, bus: Bus, verifier: Any, *, events: int = 30
) -> PictureService:
    picture = PictureService(settings, verifier=verifier, stream_recheck_s=RECHECK_S)
    await picture.start(settings.nats_url or "")
    for event in tempete_alex(CRISIS)[:events]:
        await publish_event(bus.js, event)
    live = picture.live
    assert live is not None

    async def folded() -> bool:
        return CRISIS in live.pictures and live.pictures[CRISIS]["events"] >= events

    await until(folded)
    return picture


@pytest.fixture
async def running(deployment: tuple[Settings, EventStore], bus: Bus) -> AsyncIterator[Running]:
    settings, store = deployment
    tokens = verifier()
    picture = await _start(settings, bus, tokens)
    try:
        yield Running(picture, tokens, store, bus)
    finally:
        await picture.stop()


PATHS = [
    "/crises",
    f"/crises/{CRISIS}/picture",
    f"/crises/{CRISIS}/picture?position=5",
    f"/crises/{CRISIS}/diff?from=0",
    f"/crises/{CRISIS}/events",
    "/crises/*/events",
]


async def _body(http: httpx.AsyncClient, path: str, headers: dict[str, str]) -> httpx.Response:
    async with http.stream("GET", path, headers=headers) as reply:
        await reply.aread()
    return reply


async def test_without_a_login_nothing_is_read_and_nothing_is_said(running: Running) -> None:
    async with httpx.AsyncClient(base_url=running.url, timeout=10) as http:
        for headers in ({}, bearer("guessed-token"), {"Authorization": "Basic b2JzOm9icw=="}):
            for path in PATHS:
                reply = await _body(http, path, headers)
                assert reply.status_code == 401, (path, headers)
                assert reply.headers["www-authenticate"] == "Bearer"
                assert set(reply.json()) == {"detail"}
                for secret in running.secrets():
                    assert secret not in reply.text, (path, secret)
        health = (await http.get("/health")).json()
    assert set(health) == {"status", "position"}


async def test_an_observer_reads_every_route_and_a_feed_none(running: Running) -> None:
    async with httpx.AsyncClient(base_url=running.url, timeout=10) as http:
        crises = (await http.get("/crises", headers=bearer(OBSERVER))).json()
        assert [c["crisis_id"] for c in crises] == [CRISIS]
        picture = (await http.get(f"/crises/{CRISIS}/picture", headers=bearer(OBSERVER))).json()
        assert picture["name"] == crises[0]["name"]
        assert picture["events"] == 30
        for path in PATHS[:4]:
            await until(lambda: _count(running.store, 30))
            assert (await http.get(path, headers=bearer(OBSERVER))).status_code == 200, path
        for path in PATHS:
            refused = await _body(http, path, bearer(FEED))
            assert refused.status_code == 403, path
            for secret in running.secrets():
                assert secret not in refused.text, (path, secret)


async def _count(store: EventStore, expected: int) -> bool:
    return await store.count() >= expected


async def _changes_until_closed(
    http: httpx.AsyncClient, path: str, token: str, connected: asyncio.Event, seen: list[str]
) -> None:
    async with http.stream("GET", path, headers=bearer(token)) as stream:
        assert stream.status_code == 200
        async for line in stream.aiter_lines():
            seen.append(line)
            if line == ": connected":
                connected.set()


async def test_a_live_stream_closes_once_its_token_is_revoked(running: Running) -> None:
    connected, seen = asyncio.Event(), list[str]()
    async with httpx.AsyncClient(base_url=running.url, timeout=10) as http:
        listener = asyncio.create_task(
            _changes_until_closed(http, "/crises/*/events", OBSERVER, connected, seen)
        )
        await asyncio.wait_for(connected.wait(), 10)
        await publish_event(running.bus.js, tempete_alex(CRISIS)[30])
        await until(lambda: _has_change(seen))
        running.tokens.revoke(OBSERVER)
        await asyncio.wait_for(listener, 10)  # ends by itself: the server closed it
        after = len(seen)
        await publish_event(running.bus.js, tempete_alex(CRISIS)[31])
        assert (await _body(http, "/crises/*/events", bearer(OBSERVER))).status_code == 401
    assert ": token no longer valid" in seen
    assert len(seen) == after
    changes = [json.loads(line.removeprefix("data: ")) for line in seen if line.startswith("data:")]
    assert [c["position"] for c in changes] == [31]


async def _has_change(seen: list[str]) -> bool:
    return any(line.startswith("data: ") for line in seen)


async def test_without_a_verifier_the_service_refuses_every_read(
    deployment: tuple[Settings, EventStore], bus: Bus
) -> None:
    settings, _ = deployment
    picture = await _start(settings, bus, None, events=5)
    try:
        async with httpx.AsyncClient(base_url=picture.url, timeout=10) as http:
            for path in PATHS:
                assert (await _body(http, path, bearer(OBSERVER))).status_code == 401, path
            assert (await http.get("/health")).status_code == 200
    finally:
        await picture.stop()


async def test_a_service_token_from_the_session_store_reads_until_revoked(
    deployment: tuple[Settings, EventStore], bus: Bus
) -> None:
    sessions = pytest.importorskip("services.auth.sessions")
    settings, store = deployment
    tokens = sessions.SessionStore(store.engine, People)
    token, _ = await tokens.issue_service("zone.dashboard", Role.OBSERVER, ttl=timedelta(hours=1))
    feed, _ = await tokens.issue_service("feed.vigicrues", Role.FEED, ttl=timedelta(hours=1))
    picture = await _start(settings, bus, tokens, events=5)
    connected, seen = asyncio.Event(), list[str]()
    try:
        async with httpx.AsyncClient(base_url=picture.url, timeout=10) as http:
            crises = (await http.get("/crises", headers=bearer(token))).json()
            assert [c["crisis_id"] for c in crises] == [CRISIS]
            assert (await http.get("/crises", headers=bearer(feed))).status_code == 403
            listener = asyncio.create_task(
                _changes_until_closed(http, f"/crises/{CRISIS}/events", token, connected, seen)
            )
            await asyncio.wait_for(connected.wait(), 10)
            assert await tokens.revoke(token)
            await asyncio.wait_for(listener, 10)
            assert (await http.get("/crises", headers=bearer(token))).status_code == 401
    finally:
        await picture.stop()
    assert ": token no longer valid" in seen
