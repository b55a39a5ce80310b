"""The picture service on a real nats-server: live, rebuilt, resumed, served over HTTP and SSE."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest

from schemas import subjects
from schemas.envelope import Envelope
from schemas.wire import encode
from services.demo.scenario import tempete_alex
from services.eventlog.app import EventLogService
from services.eventlog.schema import upgrade
from services.eventlog.store import EventStore
from services.picture.app import PictureService
from services.picture.snapshots import SnapshotStore, picture_at
from services.runtime.bus import Bus
from services.runtime.database import make_engine
from services.runtime.embedded import EmbeddedNatsServer
from services.runtime.publish import MSG_ID, headers_for, publish_event
from services.runtime.settings import Settings
from tests.integration.waiting import until
from tests.unit.test_read_access import OBSERVER, bearer, verifier

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

CRISIS = "alex-live"


@pytest.fixture
async def deployment(
    nats_server: EmbeddedNatsServer, settings: Settings, bus: Bus
) -> AsyncIterator[tuple[Settings, EventStore]]:
    """Settings for services on the test server, a migrated SQLite log, the event log running."""
    del bus
    wired = settings.model_copy(
        update={"nats_url": nats_server.url, "picture_port": 0, "picture_snapshot_every": 20}
    )
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


async def publish_all(bus: Bus, events: list[Envelope]) -> None:
    for event in events:
        await publish_event(bus.js, event)


def _json(picture: dict[str, object]) -> object:
    return orjson.loads(orjson.dumps(picture))


async def test_the_live_picture_equals_the_picture_rebuilt_from_the_log(
    deployment: tuple[Settings, EventStore], bus: Bus
) -> None:
    settings, store = deployment
    events = tempete_alex(CRISIS)
    picture = PictureService(settings)
    await picture.start(settings.nats_url or "")
    try:
        await publish_all(bus, events)
        assert picture.live is not None
        live = picture.live

        async def folded() -> bool:
            found = live.pictures.get(CRISIS)
            return found is not None and found["events"] == len(events)

        await until(folded)
        await until(lambda: _count(store, len(events)))
        rebuilt = await picture_at(store, SnapshotStore(store.engine), CRISIS)
        assert _json(rebuilt) == _json(live.pictures[CRISIS])
        assert rebuilt["exercise"] is True
        assert "orsec-inondation" in rebuilt["plans"]
    finally:
        await picture.stop()


async def _count(store: EventStore, expected: int) -> bool:
    return await store.count() >= expected


async def test_a_restarted_service_resumes_from_its_snapshots_not_from_the_start(
    deployment: tuple[Settings, EventStore], bus: Bus
) -> None:
    settings, store = deployment
    events = tempete_alex(CRISIS)
    first = PictureService(settings)
    await first.start(settings.nats_url or "")
    await publish_all(bus, events[:40])
    assert first.live is not None
    live = first.live
    await until(lambda: _folded(live, 40))
    await until(lambda: _count(store, 40))
    await first.stop()

    await publish_all(bus, events[40:])
    await until(lambda: _count(store, len(events)))
    second = PictureService(settings)
    await second.start(settings.nats_url or "")
    try:
        assert second.started_from == 41, "resumes after the snapshot taken at shutdown"
        assert second.live is not None
        resumed = second.live
        await until(lambda: _folded(resumed, len(events)))
        rebuilt = await picture_at(store, SnapshotStore(store.engine), CRISIS)
        assert _json(resumed.pictures[CRISIS]) == _json(rebuilt)
    finally:
        await second.stop()


async def _folded(live: object, count: int) -> bool:
    pictures = getattr(live, "pictures", {})
    return CRISIS in pictures and pictures[CRISIS]["events"] >= count


async def test_an_event_republished_with_another_message_id_changes_nothing(
    deployment: tuple[Settings, EventStore], bus: Bus
) -> None:
    settings, _ = deployment
    events = tempete_alex(CRISIS)[:10]
    picture = PictureService(settings)
    await picture.start(settings.nats_url or "")
    try:
        await publish_all(bus, events)
        assert picture.live is not None
        live = picture.live
        await until(lambda: _folded(live, 10))
        before = _json(live.pictures[CRISIS])
        # As after JetStream's duplicate window: the same event under a new message id.
        again = events[3]
        headers = {**headers_for(again), MSG_ID: "republished-later"}
        await bus.js.publish(subjects.live(CRISIS, again.type), encode(again), headers=headers)
        await publish_all(bus, [tempete_alex(CRISIS)[10]])
        await until(lambda: _position_at_least(live, 12))
        after = _json(live.pictures[CRISIS])
        assert isinstance(after, dict)
        assert isinstance(before, dict)
        assert after["events"] == before["events"] + 1
    finally:
        await picture.stop()


async def _position_at_least(live: object, position: int) -> bool:
    pictures = getattr(live, "pictures", {})
    return CRISIS in pictures and pictures[CRISIS]["position"] >= position - 1


async def test_http_serves_the_picture_now_as_of_and_the_changes_live(
    deployment: tuple[Settings, EventStore], bus: Bus
) -> None:
    settings, store = deployment
    events = tempete_alex(CRISIS)
    picture = PictureService(settings, verifier=verifier())
    await picture.start(settings.nats_url or "")
    try:
        async with httpx.AsyncClient(
            base_url=picture.url, timeout=10, headers=bearer(OBSERVER)
        ) as http:
            received: list[dict[str, object]] = []

            async def listen() -> None:
                async with http.stream("GET", f"/crises/{CRISIS}/events") as stream:
                    async for line in stream.aiter_lines():
                        if line.startswith("data: "):
                            received.append(json.loads(line.removeprefix("data: ")))
                            if len(received) == len(events):
                                return

            listener = asyncio.create_task(listen())
            await asyncio.sleep(0.3)
            await publish_all(bus, events)
            await asyncio.wait_for(listener, 30)
            assert [change["event_id"] for change in received] == [str(e.event_id) for e in events]
            assert received[0]["section"] == "crisis"

            await until(lambda: _count(store, len(events)))
            crises = (await http.get("/crises")).json()
            assert [c["crisis_id"] for c in crises] == [CRISIS]
            now = (await http.get(f"/crises/{CRISIS}/picture")).json()
            assert now["events"] == len(events)
            assert now["bilan"]["disparus"]["value"] == 8
            early = (await http.get(f"/crises/{CRISIS}/picture", params={"position": 10})).json()
            assert early["events"] == 10
            as_of = early["recorded_at"]
            same = (await http.get(f"/crises/{CRISIS}/picture", params={"as_of": as_of})).json()
            assert same["position"] == early["position"]
            naive = await http.get(
                f"/crises/{CRISIS}/picture", params={"as_of": "2020-10-02T14:32:00"}
            )
            assert naive.status_code == 422
            diff_url = f"/crises/{CRISIS}/diff"
            since = (await http.get(diff_url, params={"from": "last-sitrep"})).json()
            assert since["from"]["position"] == len(events), "the scenario ends on its sitrep"
            assert since["changes"] == []
            changed = (await http.get(diff_url, params={"from": "10", "to": "30"})).json()
            paths = {change["path"] for change in changed["changes"]}
            assert "events" in paths
            assert any(path.startswith("incidents.") for path in paths)
            assert (await http.get("/crises/unknown/picture")).status_code == 404
            openapi = (await http.get("/openapi.json")).json()
            assert "/crises/{crisis_id}/picture" in openapi["paths"]
    finally:
        await picture.stop()
