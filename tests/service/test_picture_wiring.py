"""Wiring of the picture service's live-event callback, fed JetStream deliveries by hand.

The picture follows with a plain nats-py ordered consumer (its FastStream subscriber cost 4.3
times the CPU per event: bench/results-picture-dispatch.md), so these tests hand its callback
`Msg`s as nats-py delivers them, and check what the follower asks the server for. Ack, redelivery,
dedup, the start position and stream order are the server's: they are tested on a real one
(tests/integration/test_picture_service.py). A delivery's metadata (stream position, time)
lives in its `$JS.ACK.…` reply subject, so each test makes one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast
from uuid import uuid4

import pytest
import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy, StreamInfo
from structlog.testing import capture_logs

from schemas import subjects
from schemas.envelope import Envelope
from schemas.events import CrisisOpened
from schemas.wire import encode
from services.eventlog.store import EventStore
from services.picture import follow as picture_follow
from services.picture.follow import PictureFollower
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
    monkeypatch.setattr(picture_follow, "log", structlog.get_logger(picture_follow.__name__))


def live_pictures(snapshots: FakeSnapshots | None = None, every: int = 0) -> LivePictures:
    """Live pictures over fake snapshots."""
    return LivePictures(cast("SnapshotStore", snapshots or FakeSnapshots()), snapshot_every=every)


def fold_message(live: LivePictures) -> Any:
    """The callback the follower of `live` hands the ordered consumer."""
    return PictureFollower(cast("JetStreamContext", None), live).fold_message


def delivery(body: bytes | Envelope, position: int) -> Msg:
    """A message as the ordered consumer delivers it at `position`."""
    data = encode(body) if isinstance(body, Envelope) else body
    return Msg(
        _client=None,  # type: ignore[arg-type]
        subject="crisis.x.y",
        reply=delivered_by_jetstream(CRISIS_STREAM, position, RECORDED),
        data=data,
    )


def crisis_opened() -> CrisisOpened:
    """A fresh crisis opening."""
    return sample_event(CrisisOpened, event_id=uuid4())


async def test_a_live_event_is_folded_into_its_crisis_picture_at_its_stream_position() -> None:
    live = live_pictures()
    event = crisis_opened()
    await fold_message(live)(delivery(event, 7))
    picture = live.pictures[event.crisis_id]
    assert (picture["state"], picture["name"]) == ("open", "Tempête Alex")
    assert (picture["position"], picture["recorded_at"]) == (7, "2020-10-02T12:34:56Z")


async def test_each_folded_event_is_pushed_to_the_live_clients_of_its_crisis() -> None:
    live = live_pictures()
    listener = live.listen(crisis_opened().crisis_id)
    on_event = fold_message(live)
    for position, event in enumerate([crisis_opened(), incident_reported()], start=1):
        await on_event(delivery(event, position))
    changes = [listener.get_nowait() for _ in range(2)]
    assert [(c["type"], c["position"]) for c in changes if c] == [
        ("crisis.opened", 1),
        ("incident.reported", 2),
    ]


async def test_every_snapshot_due_is_taken_as_events_are_folded() -> None:
    snapshots = FakeSnapshots()
    live = live_pictures(snapshots, every=2)
    on_event = fold_message(live)
    for position, event in enumerate([crisis_opened(), incident_reported()], start=1):
        await on_event(delivery(event, position))
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
    live = live_pictures()
    on_event = fold_message(live)
    event = crisis_opened()
    with capture_logs() as logs:
        await on_event(delivery(body, 3))
        assert live.pictures == {}
        await on_event(delivery(event, 4))
    skipped = [e for e in logs if e["event"] == "picture.undecodable"]
    assert [e["position"] for e in skipped] == [3]
    assert live.pictures[event.crisis_id]["position"] == 4


@dataclass
class _RecordingJetStream:
    """Records what the follower subscribes to; the stream holds `last` events."""

    last: int
    asked: list[dict[str, Any]] = field(default_factory=list)

    async def stream_info(self, name: str) -> Any:
        assert name == CRISIS_STREAM
        return StreamInfo.from_response(
            {"config": {"name": name}, "state": _state(self.last), "created": None}
        )

    async def subscribe(self, subject: str, **options: Any) -> object:
        self.asked.append({"subject": subject, **options})
        return object()


def _state(last: int) -> dict[str, int]:
    return {"messages": last, "bytes": 0, "first_seq": 1, "last_seq": last, "consumer_count": 0}


@dataclass
class _LogAt:
    """A log that holds events up to `last` and no crisis yet."""

    last: int

    async def crises(self) -> list[object]:
        return []

    async def last_position(self) -> int:
        return self.last


async def test_the_picture_follows_the_live_stream_only_from_its_resume_position() -> None:
    js = _RecordingJetStream(last=41)
    follower = PictureFollower(cast("JetStreamContext", js), live_pictures())
    await follower.start(cast("EventStore", _LogAt(41)))
    [asked] = js.asked
    assert asked["subject"] == subjects.LIVE_ALL
    assert asked["stream"] == CRISIS_STREAM
    assert asked["ordered_consumer"] is True
    assert asked["config"].deliver_policy is DeliverPolicy.BY_START_SEQUENCE
    assert asked["config"].opt_start_seq == 42


async def test_a_fold_that_fails_is_logged_and_the_position_still_moves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    live = live_pictures()
    follower = PictureFollower(cast("JetStreamContext", None), live)
    folding = live.apply
    faulty = incident_reported()

    async def apply(event: dict[str, Any], position: int, recorded_at: str) -> Any:
        if event["event_id"] == str(faulty.event_id):
            raise KeyError("a fault of the fold")
        return await folding(event, position, recorded_at)

    monkeypatch.setattr(live, "apply", apply)
    opened = crisis_opened()
    with capture_logs() as logs:
        await follower.fold_message(delivery(opened, 1))
        await follower.fold_message(delivery(faulty, 2))
        await follower.wait_for(2, timeout_s=1)  # an act waiting for it does not hang
        await follower.fold_message(delivery(incident_reported(), 3))
    assert [e["position"] for e in logs if e["event"] == "picture.fold_failed"] == [2]
    assert live.pictures[opened.crisis_id]["position"] == 3
