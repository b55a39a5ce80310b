"""Wiring of the picture service's live-event subscriber on FastStream's in-memory broker.

The in-memory broker does not emulate ack, redelivery or dedup, nor the ordered consumer's
start position or stream order: what depends on them is tested on a real server
(tests/integration/test_picture_service.py). A JetStream delivery's metadata (stream position,
time) lives in its `$JS.ACK.…` reply subject, so each test publishes with one it makes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast
from uuid import uuid4

import pytest
import structlog
from faststream.nats import NatsBroker, TestNatsBroker
from structlog.testing import capture_logs

from schemas import subjects
from schemas.events import CrisisOpened
from schemas.wire import encode
from services.picture import app as picture_app
from services.picture.app import register
from services.picture.live import LivePictures
from services.picture.snapshots import SnapshotStore
from services.runtime.topology import CRISIS_STREAM
from tests.service.fakes import FakeSnapshots, delivered_by_jetstream
from tests.unit.samples import incident_reported, sample_event

pytestmark = pytest.mark.service

RECORDED = datetime(2020, 10, 2, 12, 34, 56, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_logger(monkeypatch: pytest.MonkeyPatch) -> None:
    """A logger not yet cached: an earlier test's use would hide it from `capture_logs`."""
    monkeypatch.setattr(picture_app, "log", structlog.get_logger(picture_app.__name__))


def live_pictures(broker: NatsBroker, snapshots: FakeSnapshots | None = None) -> LivePictures:
    """Live pictures over fake snapshots, registered as the service registers them."""
    live = LivePictures(cast("SnapshotStore", snapshots or FakeSnapshots()), snapshot_every=0)
    register(broker, live, start=1)
    return live


def crisis_opened() -> CrisisOpened:
    """A fresh crisis opening."""
    return sample_event(CrisisOpened, event_id=uuid4())


async def test_a_live_event_is_folded_into_its_crisis_picture_at_its_stream_position() -> None:
    broker = NatsBroker()
    live = live_pictures(broker)
    event = crisis_opened()
    async with TestNatsBroker(broker) as test_broker:
        await test_broker.publish(
            encode(event),
            subjects.live(event.crisis_id, event.type),
            reply_to=delivered_by_jetstream(CRISIS_STREAM, 7, RECORDED),
        )
    picture = live.pictures[event.crisis_id]
    assert (picture["state"], picture["name"]) == ("open", "Tempête Alex")
    assert (picture["position"], picture["recorded_at"]) == (7, "2020-10-02T12:34:56Z")


async def test_each_folded_event_is_pushed_to_the_live_clients_of_its_crisis() -> None:
    broker = NatsBroker()
    live = live_pictures(broker)
    listener = live.listen(crisis_opened().crisis_id)
    events = [crisis_opened(), incident_reported()]
    async with TestNatsBroker(broker) as test_broker:
        for position, event in enumerate(events, start=1):
            await test_broker.publish(
                encode(event),
                subjects.live(event.crisis_id, event.type),
                reply_to=delivered_by_jetstream(CRISIS_STREAM, position, RECORDED),
            )
    changes = [listener.get_nowait() for _ in events]
    assert [(c["type"], c["position"]) for c in changes if c] == [
        ("crisis.opened", 1),
        ("incident.reported", 2),
    ]


async def test_every_snapshot_due_is_taken_as_events_are_folded() -> None:
    broker = NatsBroker()
    snapshots = FakeSnapshots()
    live = LivePictures(cast("SnapshotStore", snapshots), snapshot_every=2)
    register(broker, live, start=1)
    async with TestNatsBroker(broker) as test_broker:
        for position, event in enumerate([crisis_opened(), incident_reported()], start=1):
            await test_broker.publish(
                encode(event),
                subjects.live(event.crisis_id, event.type),
                reply_to=delivered_by_jetstream(CRISIS_STREAM, position, RECORDED),
            )
        await live.writer.flush()  # written off the hot path, by the live picture's writer
    assert [(s.crisis_id, s.position) for s in snapshots.saved] == [("alex-06-2020", 2)]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b'{"crisis_id": "alex-06-2020"}', id="no-type"),
        pytest.param(b'{"type": "no.such_event", "crisis_id": "alex-06-2020"}', id="unknown-type"),
    ],
)
async def test_an_undecodable_body_is_skipped_without_raising_and_the_next_event_folds(
    body: bytes,
) -> None:
    broker = NatsBroker()
    live = live_pictures(broker)
    event = crisis_opened()
    with capture_logs() as logs:
        async with TestNatsBroker(broker) as test_broker:
            await test_broker.publish(
                body,
                subjects.live(event.crisis_id, event.type),
                reply_to=delivered_by_jetstream(CRISIS_STREAM, 3, RECORDED),
            )
            assert live.pictures == {}
            await test_broker.publish(
                encode(event),
                subjects.live(event.crisis_id, event.type),
                reply_to=delivered_by_jetstream(CRISIS_STREAM, 4, RECORDED),
            )
    skipped = [e for e in logs if e["event"] == "picture.undecodable"]
    assert [e["position"] for e in skipped] == [3]
    assert live.pictures[event.crisis_id]["position"] == 4


async def test_the_picture_does_not_fold_replays_or_dead_letters() -> None:
    broker = NatsBroker()
    live = live_pictures(broker)
    event = crisis_opened()
    async with TestNatsBroker(broker) as test_broker:
        for subject in (
            subjects.replay("retex", event.crisis_id, event.type),
            subjects.deadletter("meteo-france"),
        ):
            await test_broker.publish(
                encode(event),
                subject,
                reply_to=delivered_by_jetstream(CRISIS_STREAM, 1, RECORDED),
            )
    assert live.pictures == {}
