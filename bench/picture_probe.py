"""`python -m bench.picture_probe MODE DB_URL CRISIS_ID [...]`: one picture measurement, alone.

Each measurement of the picture benchmark runs in a fresh process so that its memory is its own:
at the end it prints one JSON line with what it timed and its peak RSS (VmHWM). The process tunes
its garbage collector like the services do (`tune_for_services`), since that is where pictures
are rebuilt (`GET /crises/{id}/picture?as_of=`).

Modes:
- `decode`: `EventStore.read_payloads(crisis, as_bytes=True)` over all the crisis' rows +
  `orjson.loads` of each payload, nothing else (the floor any rebuild stands on; the payloads
  read as bytes, as the fold reads them);
- `rebuild`: `picture_at(store, SnapshotStore(engine), crisis)` with no snapshot in the table:
  read + `wire_event` + `fold` of every event;
- `snapshot EVERY`: on an empty snapshot table, the same rebuild folded event by event, saving a
  snapshot every EVERY events as the live service does;
- `stall COUNT EVERY` (DB_URL: an empty database, migrated here): `LivePictures.apply` of COUNT
  events of a generated long crisis, a snapshot every EVERY events, twice: with the snapshot
  saved inline as before (plain JSON, awaited in `apply`), then handed to the writer's task
  (encoded incrementally, compressed and written off the path); the longest pause between two
  events folded, the pauses at snapshots, and the snapshot bytes each way kept in the table;
- `lag SAMPLES SEED`: SAMPLES as-of reads at random positions of the crisis' last tenth, served
  on the event loop (as before) then off it (as `GET .../picture?position=` does), twice each,
  while a 1 ms ticker on the loop measures how late it wakes: a live client's wait;
- `asof FIRST LAST SAMPLES SEED`: the picture as of SAMPLES instants drawn uniformly between
  FIRST and LAST (ISO), then at SAMPLES positions drawn uniformly over the crisis' positions, as
  served (`stored_picture_at` + the view's JSON bytes) and then made whole (`picture_at`); every
  latency in ms.
"""

from __future__ import annotations

import asyncio
import random
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from bench.clock import now
from bench.long_crisis import LongCrisis
from services.eventlog.schema import upgrade
from services.eventlog.store import EventStore
from services.eventlog.tables import picture_snapshots
from services.picture.fold import Picture, fold, new_picture
from services.picture.live import LivePictures
from services.picture.snapshots import (
    PictureEncoder,
    SnapshotStore,
    StoredPicture,
    picture_at,
    stored_picture_at,
    wire_event,
)
from services.runtime.database import make_engine
from services.runtime.memory import tune_for_services


def status_kib(field: str) -> int:
    """A memory figure of this process from /proc/self/status (VmHWM, VmRSS), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def summary(picture: Picture) -> dict[str, Any]:
    """A few sizes of a picture, to show that it was folded for real."""
    return {
        "position": picture["position"],
        "incidents": len(picture["incidents"]),
        "resources": len(picture["resources"]),
        "tasks": len(picture["tasks"]),
        "decisions": len(picture["decisions"]),
        "main_courante": picture["main_courante"]["count"],
        "json_bytes": len(orjson.dumps(picture)),
    }


async def decode(store: EventStore, crisis_id: str) -> dict[str, Any]:
    """Read every payload of the crisis and parse it; nothing else."""
    seen = 0
    started = now()
    async for rows in store.read_payloads(crisis_id, chunk=5000, as_bytes=True):
        for _, payload in rows:
            orjson.loads(payload)
        seen += len(rows)
    return {"seconds": now() - started, "events": seen}


async def rebuild(store: EventStore, crisis_id: str, every: int = 0) -> dict[str, Any]:
    """The crisis' whole picture from the log, with no snapshot to start from."""
    snapshots = SnapshotStore(store.engine)
    if await snapshots.count(crisis_id):
        raise SystemExit(f"the snapshot table holds snapshots of {crisis_id}: not a full rebuild")
    started = now()
    if every:
        picture = await _laying_snapshots(store, snapshots, crisis_id, every)
    else:
        picture = await picture_at(store, snapshots, crisis_id)
    seconds = now() - started
    return {
        "seconds": seconds,
        "events": picture["events"],
        "snapshots": await snapshots.count(crisis_id),
        "snapshot_bytes": await snapshots.stored_bytes(crisis_id),
        "picture": summary(picture),
    }


async def _laying_snapshots(
    store: EventStore, snapshots: SnapshotStore, crisis_id: str, every: int
) -> Picture:
    """The whole fold, event by event, writing a snapshot every `every` events as the live
    service does (encoded incrementally, packed, thinned): what the as-of reads start from."""
    picture = new_picture(crisis_id)
    encoder = PictureEncoder()
    async for rows in store.read_payloads(crisis_id, chunk=5000):
        for position, payload in rows:
            event = wire_event(payload)
            fold(picture, event, position, event["recorded_at"])
            encoder.touched(event)
            if picture["events"] % every == 0:
                await snapshots.write(encoder.encode(picture))
    return picture


async def as_of(
    store: EventStore,
    crisis_id: str,
    *,
    first: datetime,
    last: datetime,
    samples: int,
    seed: int,
) -> dict[str, Any]:
    """Latencies of pictures as of random instants, then at random positions, in ms: as served
    (`stored_picture_at`, then the view as JSON bytes, what `GET .../picture?as_of=` sends), and
    made whole (`picture_at`: every entry parsed, what the CLI and the console read)."""
    snapshots = SnapshotStore(store.engine)
    rng = random.Random(seed)
    span = (last - first).total_seconds()
    instants = [first + (last - first) * rng.random() for _ in range(samples)] if span else []
    last_position = await store.last_position()
    positions = [rng.randint(1, last_position) for _ in range(samples)]
    by_instant, by_position, whole_instant, whole_position = [], [], [], []
    folded, body_bytes = 0, 0
    for instant in instants:
        started = now()
        stored = await stored_picture_at(store, snapshots, crisis_id, as_of=instant)
        body = orjson.dumps(stored.shown(instant.isoformat()))
        by_instant.append((now() - started) * 1000)
        folded += stored.picture["events"] > 0
        body_bytes = max(body_bytes, len(body))
    for position in positions:
        started = now()
        stored = await stored_picture_at(store, snapshots, crisis_id, position=position)
        orjson.dumps(stored.shown(stored.picture["recorded_at"] or ""))
        by_position.append((now() - started) * 1000)
        if stored.picture["position"] != position:
            raise SystemExit(f"picture at {position} stands at {stored.picture['position']}")
    for instant in instants:
        started = now()
        await picture_at(store, snapshots, crisis_id, as_of=instant)
        whole_instant.append((now() - started) * 1000)
    for position in positions:
        started = now()
        await picture_at(store, snapshots, crisis_id, position=position)
        whole_position.append((now() - started) * 1000)
    return {
        "instant_ms": by_instant,
        "position_ms": by_position,
        "whole_instant_ms": whole_instant,
        "whole_position_ms": whole_position,
        "non_empty": folded,
        "largest_body_bytes": body_bytes,
    }


async def _ticks(lags: list[float], stop: asyncio.Event) -> None:
    """What a live client's turn waits: how late each 1 ms sleep of the loop wakes, in ms."""
    while not stop.is_set():
        begun = now()
        await asyncio.sleep(0.001)
        lags.append((now() - begun - 0.001) * 1000)


async def _served_inline(
    store: EventStore, snapshots: SnapshotStore, crisis_id: str, at: int
) -> None:
    """An as-of read as served before: folded, shown and encoded on the event loop."""
    stored = await snapshots.stored(crisis_id, at) or StoredPicture.new(crisis_id)
    async for rows in store.read_payloads(
        crisis_id, after=stored.picture["position"], until_position=at, chunk=5000, as_bytes=True
    ):
        stored.fold_run(rows)
    stored.shown_json(stored.picture["recorded_at"] or "")


async def _served(store: EventStore, snapshots: SnapshotStore, crisis_id: str, at: int) -> None:
    """An as-of read as `GET .../picture?position=` serves it: folded, shown and encoded in a
    worker thread."""
    stored = await stored_picture_at(store, snapshots, crisis_id, position=at)
    await asyncio.to_thread(stored.shown_json, stored.picture["recorded_at"] or "")


async def loop_lag(store: EventStore, crisis_id: str, samples: int, seed: int) -> dict[str, Any]:
    """The event loop's lag while as-of reads are served one after the other, inline then off
    the loop, twice each, at the same random positions of the crisis' last tenth."""
    snapshots = SnapshotStore(store.engine)
    last = await store.last_position()
    rng = random.Random(seed)
    positions = [rng.randint(last - last // 10, last) for _ in range(samples)]
    result: dict[str, Any] = {}
    for name, serve in (("inline", _served_inline), ("threaded", _served)) * 2:
        lags: list[float] = []
        stop = asyncio.Event()
        ticking = asyncio.create_task(_ticks(lags, stop))
        started = now()
        for position in positions:
            await serve(store, snapshots, crisis_id, position)
        read_ms = (now() - started) / len(positions) * 1000
        stop.set()
        await ticking
        lags.sort()
        runs = result.setdefault(name, [])
        runs.append(
            {
                "mean_read_ms": read_ms,
                "lag_p99_ms": lags[int(len(lags) * 0.99)],
                "lag_max_ms": lags[-1],
            }
        )
    return result


class InlineSnapshots(SnapshotStore):
    """Snapshots as they were saved before: the whole picture as plain JSON, no thinning."""

    async def save(self, picture: Picture) -> None:
        """Insert the plain JSON of `picture` (the former `SnapshotStore.save`)."""
        async with self.engine.begin() as conn:
            await conn.execute(
                picture_snapshots.insert().values(
                    crisis_id=picture["crisis_id"],
                    position=picture["position"],
                    recorded_at=datetime.fromisoformat(picture["recorded_at"]),
                    events=picture["events"],
                    picture=orjson.dumps(picture).decode(),
                )
            )


async def _fold_live(store: EventStore, count: int, every: int, *, inline: bool) -> dict[str, Any]:
    """Fold `count` events as the live service does; each pause between two events, in ms."""
    crisis_id = f"stall-{'inline' if inline else 'background'}"
    crisis = LongCrisis(crisis_id, count)
    snapshots = InlineSnapshots(store.engine) if inline else SnapshotStore(store.engine)
    live = LivePictures(snapshots, snapshot_every=0 if inline else every)
    pauses: list[float] = []
    at_snapshots: list[float] = []
    started = now()
    for position in range(1, count + 1):
        _, event = crisis.wire(position)
        recorded_at = crisis.recorded_at(position).isoformat()
        # Timed: what the loop does between two events (the writer's task gets its turn here).
        begun = now()
        await asyncio.sleep(0)
        await live.apply(event, position, recorded_at)
        picture = live.pictures[crisis_id]
        if inline and picture["events"] % every == 0:
            await snapshots.save(picture)
        pause = (now() - begun) * 1000
        pauses.append(pause)
        if picture["events"] % every == 0:
            at_snapshots.append(pause)
    if not inline:
        await live.checkpoint()  # the writer flushed, as at shutdown
    seconds = now() - started
    pauses.sort()
    return {
        "seconds": seconds,
        "max_pause_ms": pauses[-1],
        "p999_pause_ms": pauses[int(len(pauses) * 0.999)],
        "median_pause_ms": pauses[len(pauses) // 2],
        "mean_snapshot_pause_ms": sum(at_snapshots) / max(len(at_snapshots), 1),
        "snapshots": await snapshots.count(crisis_id),
        "snapshot_bytes": await snapshots.stored_bytes(crisis_id),
        "plain_json_bytes": len(orjson.dumps(live.pictures[crisis_id])),
    }


async def stall(url: str, count: int, every: int) -> dict[str, Any]:
    """The live fold's pauses with the snapshot saved inline, then in the background."""
    engine = make_engine(url)
    await upgrade(engine)
    store = EventStore(engine)
    try:
        tune_for_services()
        inline = await _fold_live(store, count, every, inline=True)
        background = await _fold_live(store, count, every, inline=False)
    finally:
        await store.close()
    return {
        "inline": inline,
        "background": background,
        "max_pause_ratio": inline["max_pause_ms"] / background["max_pause_ms"],
        "snapshot_pause_ratio": inline["mean_snapshot_pause_ms"]
        / background["mean_snapshot_pause_ms"],
        "bytes_ratio": inline["snapshot_bytes"] / max(background["snapshot_bytes"], 1),
        "peak_rss_kib": status_kib("VmHWM"),
    }


async def main(argv: list[str]) -> dict[str, Any]:
    """Run the mode `argv` asks for; its result with this process' memory."""
    if argv[0] == "stall":
        return await stall(argv[1], int(argv[2]), int(argv[3]))
    mode, url, crisis_id, *rest = argv
    store = EventStore(make_engine(url))
    try:
        # Connect and warm the crisis' index before the clock starts, for every mode alike.
        held = await store.count(crisis_id)
        tune_for_services()
        rss_before = status_kib("VmRSS")
        if mode == "decode":
            result = await decode(store, crisis_id)
        elif mode == "rebuild":
            result = await rebuild(store, crisis_id)
        elif mode == "snapshot":
            result = await rebuild(store, crisis_id, int(rest[0]))
        elif mode == "lag":
            result = await loop_lag(store, crisis_id, int(rest[0]), int(rest[1]))
        elif mode == "asof":
            first, last = datetime.fromisoformat(rest[0]), datetime.fromisoformat(rest[1])
            result = await as_of(
                store,
                crisis_id,
                first=first,
                last=last,
                samples=int(rest[2]),
                seed=int(rest[3]),
            )
        else:
            raise SystemExit(f"unknown mode {mode!r}")
    finally:
        await store.close()
    return {
        **result,
        "held": held,
        "rss_before_kib": rss_before,
        "peak_rss_kib": status_kib("VmHWM"),
    }


if __name__ == "__main__":
    sys.stdout.write(orjson.dumps(asyncio.run(main(sys.argv[1:]))).decode() + "\n")
