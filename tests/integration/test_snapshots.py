"""Snapshots in a real database: thinned as they are written, written off the live path."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import orjson
import pytest
import zstandard

from schemas.events import MainCouranteEntryRecorded
from schemas.wire import encode
from services.eventlog.store import EventStore
from services.eventlog.tables import picture_snapshots
from services.picture.fold import Picture, new_picture
from services.picture.live import LivePictures, SnapshotWriter
from services.picture.snapshots import (
    KEEP_LATEST,
    EncodedSnapshot,
    PictureEncoder,
    SnapshotFormatError,
    SnapshotStore,
    encode_snapshot,
    picture_at,
    stored_picture_at,
    unpack,
)
from tests.store_fixtures import BACKENDS, chained, open_store, recorded_at
from tests.unit.samples import sample_event
from tests.unit.test_picture_properties import T0

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

CRISIS = "alex-snapshots"


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventStore]:
    """An empty, migrated store on each database (snapshots are packed bytes: BLOB, bytea)."""
    async with open_store(request.param, tmp_path) as opened:
        yield opened


def _picture_at(position: int, crisis_id: str = CRISIS) -> Picture:
    picture = new_picture(crisis_id)
    picture.update(
        position=position,
        events=position,
        recorded_at=(T0 + timedelta(seconds=position)).isoformat(),
        follow_ups={f"mc-{n}": {"entry_id": f"mc-{n}", "state": "open"} for n in range(50)},
    )
    return picture


async def test_saving_snapshots_thins_the_older_ones_of_that_crisis_only(
    store: EventStore,
) -> None:
    one = len(encode_snapshot(_picture_at(5000)))
    # Room for about twelve: a hundred snapshots are thinned to those, evenly spread.
    snapshots = SnapshotStore(store.engine, budget_bytes=12 * one + one // 2)
    await snapshots.save(_picture_at(7, "another-crisis"))
    for position in range(100, 10_001, 100):
        await snapshots.save(_picture_at(position))

    kept = await snapshots.positions(CRISIS)

    assert kept[-KEEP_LATEST:] == [9800, 9900, 10_000]
    assert 10 <= len(kept) <= 13, kept
    assert await snapshots.stored_bytes(CRISIS) <= snapshots.budget_bytes
    gaps = [newer - older for older, newer in zip([0, *kept], kept, strict=False)]
    assert max(gaps) <= 2 * 10_000 / len(kept), gaps
    assert await snapshots.positions("another-crisis") == [7]
    latest = await snapshots.latest(CRISIS)
    assert latest == orjson.loads(orjson.dumps(_picture_at(10_000)))


async def test_a_snapshot_stored_as_plain_json_before_is_read_and_folded_on(
    store: EventStore,
) -> None:
    old = _picture_at(3)
    async with store.engine.begin() as conn:
        await conn.execute(
            picture_snapshots.insert().values(
                crisis_id=CRISIS,
                position=3,
                recorded_at=datetime(2020, 10, 2, 12, 0, 3, tzinfo=UTC),
                events=3,
                picture=orjson.dumps(old).decode(),
            )
        )
    snapshots = SnapshotStore(store.engine)

    assert await snapshots.latest(CRISIS) == old
    assert (await picture_at(store, snapshots, CRISIS))["position"] == 3
    # Written before sizes were kept: weighed by its length, and thinned like the others.
    assert await snapshots.stored_bytes(CRISIS) == len(orjson.dumps(old))
    tight = SnapshotStore(store.engine, keep_latest=1, budget_bytes=1)
    await tight.save(_picture_at(9))
    assert await tight.positions(CRISIS) == [9]


class SlowStore(SnapshotStore):
    """A store whose writes wait until the test lets them through."""

    def __init__(self, store: SnapshotStore) -> None:
        super().__init__(store.engine)
        self.gate = asyncio.Event()

    async def write(self, snapshot: EncodedSnapshot) -> None:
        """Write once the gate opens."""
        await self.gate.wait()
        await super().write(snapshot)


async def test_the_live_fold_does_not_wait_for_a_snapshot_to_be_written(
    store: EventStore,
) -> None:
    slow = SlowStore(SnapshotStore(store.engine))
    live = LivePictures(slow, snapshot_every=2)
    for position in range(1, 7):
        event = sample_event(
            MainCouranteEntryRecorded, event_id=uuid4(), crisis_id=CRISIS, entry_id=f"mc-{position}"
        )
        wire = orjson.loads(encode(event))
        assert await live.apply(wire, position, recorded_at(position).isoformat()) is not None

    assert live.pictures[CRISIS]["events"] == 6
    assert await slow.count(CRISIS) == 0, "nothing written while the writes are held"

    slow.gate.set()
    await live.checkpoint()

    assert await slow.positions(CRISIS) == [2, 4, 6]
    assert await slow.latest(CRISIS) == orjson.loads(orjson.dumps(live.pictures[CRISIS]))


async def test_a_writer_past_its_backlog_drops_the_oldest_waiting_snapshot(
    store: EventStore,
) -> None:
    slow = SlowStore(SnapshotStore(store.engine))
    writer = SnapshotWriter(slow, backlog=2)
    encoder = PictureEncoder()
    for position in (10, 20, 30, 40):
        writer.submit(encoder.encode(_picture_at(position)))
        await asyncio.sleep(0)

    slow.gate.set()
    await writer.close()

    # 10 was taken by the task before the backlog filled; 20 was dropped for 40.
    assert await slow.positions(CRISIS) == [10, 30, 40]


class FailingStore(SnapshotStore):
    """A database that refuses every snapshot write."""

    async def write(self, snapshot: EncodedSnapshot) -> None:  # noqa: ARG002 (any one fails)
        """Fail, as a full disk would."""
        raise OSError("disk full")


async def test_a_snapshot_lost_on_the_way_is_made_up_at_shutdown(store: EventStore) -> None:
    failing = FailingStore(store.engine)
    live = LivePictures(failing, snapshot_every=2)
    for position in (1, 2):
        event = sample_event(
            MainCouranteEntryRecorded, event_id=uuid4(), crisis_id=CRISIS, entry_id=f"mc-{position}"
        )
        await live.apply(orjson.loads(encode(event)), position, recorded_at(position).isoformat())
    await live.writer.flush()
    # The snapshot at position 2 failed: the crisis is due a snapshot again at shutdown.
    live.snapshots = SnapshotStore(store.engine)
    await live.checkpoint()
    assert await live.snapshots.positions(CRISIS) == [2]


async def test_an_as_of_read_starts_from_a_snapshot_and_writes_none(store: EventStore) -> None:
    snapshots = SnapshotStore(store.engine)
    first = _picture_at(3)
    first["incidents"] = {"inc-1": {"incident_id": "inc-1", "state": "open"}}
    await snapshots.save(first)
    await snapshots.save(_picture_at(9))

    stored = await stored_picture_at(store, snapshots, CRISIS, position=5)

    # The log holds none of these events: all of it comes from the snapshot at 3.
    assert stored.picture["position"] == 3
    assert isinstance(stored.picture["incidents"]["inc-1"], orjson.Fragment)
    assert (
        orjson.loads(orjson.dumps(stored.shown("2020-10-02T12:00:00+00:00")))["open_incidents"] == 1
    )
    assert stored.materialize() == first
    assert await snapshots.positions(CRISIS) == [3, 9]


async def test_a_snapshot_packed_in_another_format_is_treated_as_absent(store: EventStore) -> None:
    snapshots = SnapshotStore(store.engine)
    await snapshots.save(_picture_at(3))
    index = orjson.dumps({"format": 99, "head": {}, "sections": []})
    other = zstandard.ZstdCompressor().compress(len(index).to_bytes(4, "little") + index)
    async with store.engine.begin() as conn:
        await conn.execute(picture_snapshots.update().values(packed=other))

    # Derived data: the picture is folded from the log instead, never read wrong.
    assert await snapshots.stored(CRISIS) is None
    assert await snapshots.latest(CRISIS) is None
    with pytest.raises(SnapshotFormatError, match="format 99; this version reads 2"):
        unpack(other)
    # An as-of read folds the log from its start instead (here it holds nothing).
    assert (await stored_picture_at(store, snapshots, CRISIS)).picture["position"] == 0


def _changed(picture: Picture, position: int, encoder: PictureEncoder, entry: str) -> Picture:
    """`picture` at `position`, with the follow-up `entry` done (told to `encoder`)."""
    later: Picture = orjson.loads(orjson.dumps(picture))
    later.update(position=position, events=position)
    later["follow_ups"][entry]["state"] = "done"
    encoder.touched({"entry_id": entry})
    return later


async def test_partial_snapshots_are_kept_small_and_read_onto_their_whole_one(
    store: EventStore,
) -> None:
    snapshots = SnapshotStore(store.engine)
    encoder = PictureEncoder()
    whole = _picture_at(10)
    await snapshots.write(encoder.encode(whole))
    partial = _changed(whole, 20, encoder, "mc-7")
    encoded = encoder.encode(partial)
    assert [(name, [e.key for e in entries]) for name, entries in encoded.sections] == [
        ("follow_ups", ["mc-7"])
    ]
    await snapshots.write(encoded)

    async with store.engine.connect() as conn:
        rows = (
            await conn.execute(
                picture_snapshots.select()
                .with_only_columns(
                    picture_snapshots.c.position,
                    picture_snapshots.c.base_position,
                    picture_snapshots.c.stored_bytes,
                )
                .order_by(picture_snapshots.c.position)
            )
        ).all()
    assert [(position, base) for position, base, _ in rows] == [(10, None), (20, 10)]
    assert rows[1][2] < rows[0][2], "the partial one holds only what changed"
    assert await snapshots.latest(CRISIS) == orjson.loads(orjson.dumps(partial))
    assert await snapshots.latest(CRISIS, 15) == orjson.loads(orjson.dumps(whole))
    as_of = await stored_picture_at(store, snapshots, CRISIS, position=25)
    assert as_of.materialize() == orjson.loads(orjson.dumps(partial))


async def test_a_partial_snapshot_whose_whole_one_is_gone_gives_way_to_the_last_whole_one(
    store: EventStore,
) -> None:
    snapshots = SnapshotStore(store.engine)
    await snapshots.save(_picture_at(5))
    encoder = PictureEncoder()
    whole = _picture_at(10)
    await snapshots.write(encoder.encode(whole))
    await snapshots.write(encoder.encode(_changed(whole, 20, encoder, "mc-3")))
    async with store.engine.begin() as conn:
        await conn.execute(picture_snapshots.delete().where(picture_snapshots.c.position == 10))

    # Never a partial picture: the one before, whole, and the log folded on from there.
    assert await snapshots.latest(CRISIS) == orjson.loads(orjson.dumps(_picture_at(5)))


async def test_after_a_snapshot_is_lost_the_next_one_is_whole(store: EventStore) -> None:
    live = LivePictures(FailingStore(store.engine), snapshot_every=2)
    for position in range(1, 5):
        if position == 3:
            await live.writer.flush()  # the snapshot at 2 failed
            live.writer.snapshots = live.snapshots = SnapshotStore(store.engine)
        event = sample_event(
            MainCouranteEntryRecorded, event_id=uuid4(), crisis_id=CRISIS, entry_id=f"mc-{position}"
        )
        await live.apply(orjson.loads(encode(event)), position, recorded_at(position).isoformat())
    await live.checkpoint()

    async with store.engine.connect() as conn:
        rows = (
            await conn.execute(
                picture_snapshots.select().with_only_columns(
                    picture_snapshots.c.position, picture_snapshots.c.base_position
                )
            )
        ).all()
    # Partial, it would complete the snapshot at 2, which was never written.
    assert [tuple(row) for row in rows] == [(4, None)]
    assert await live.snapshots.latest(CRISIS) == orjson.loads(orjson.dumps(live.pictures[CRISIS]))


async def test_an_unreadable_snapshot_gives_way_to_the_whole_log(store: EventStore) -> None:
    events = [
        sample_event(
            MainCouranteEntryRecorded, event_id=uuid4(), crisis_id=CRISIS, entry_id=f"mc-{n}"
        )
        for n in range(4)
    ]
    await store.append(chained(events))
    snapshots = SnapshotStore(store.engine)
    folded = (await picture_at(store, snapshots, CRISIS)).copy()
    index = orjson.dumps({"format": 99, "head": {}, "sections": []})
    async with store.engine.begin() as conn:
        await conn.execute(
            picture_snapshots.insert().values(
                crisis_id=CRISIS,
                position=2,
                recorded_at=recorded_at(2),
                events=2,
                packed=zstandard.ZstdCompressor().compress(
                    len(index).to_bytes(4, "little") + index
                ),
            )
        )

    # Read from the log's start, not from position 2 onto an empty picture.
    read = await stored_picture_at(store, snapshots, CRISIS)
    assert orjson.dumps(read.materialize()) == orjson.dumps(folded)
    assert (await picture_at(store, snapshots, CRISIS, position=3))["events"] == 3
