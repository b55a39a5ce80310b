"""The replay: a long crisis re-published as fast as the bus takes it, and seeking in it.

1. A SQLite log holding one crisis of BENCH_REPLAY_EVENTS events (default 100,000;
   `long_crisis.py`, filled the recorder's way like the picture benchmark's), loaded as a
   `Timeline` the way `crisis replay` loads it (`EventStore.read` + `orjson.loads`), then
   `Replay(js, timeline, session=…, speed=None).run(stop)` (`crisis replay --max`) to a fresh
   nats-server: events/s, and the REPLAY stream checked to hold every event afterwards. The
   runner awaits each publish's ack before the next one, so this is one round trip per event.
2. Seeking: (a) `Timeline.index_at` for LOOKUPS random instants over the crisis, each timed
   alone (µs); (b) the picture as the cell knew it at a random instant, what the console's review
   slider asks for: `picture_at(store, snapshots, crisis, as_of=instant)` on the same log with a
   snapshot every SNAPSHOT_EVERY events (left by a snapshotting pass), for SAMPLES instants, in a
   fresh process (`picture_probe.py`, like the picture benchmark's as-of reads).
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import random
import tempfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from rich.table import Table

from bench import long_crisis, picture
from bench.clock import now
from bench.picture import percentile
from bench.procs import BenchError, cpu_per_event, cpu_seconds, peak_rss_kib
from bench.report import Reporter, Row, Update, failure
from schemas import subjects
from services.eventlog.schema import upgrade
from services.eventlog.store import EventStore
from services.replay.core import Recorded, Timeline
from services.replay.runner import Replay
from services.runtime.bus import connect
from services.runtime.database import make_engine
from services.runtime.embedded import EmbeddedNatsServer
from services.runtime.publish import MSG_ID
from services.runtime.settings import Settings
from services.runtime.topology import REPLAY_STREAM, topology

EVENTS = 100_000
LEAST_EVENTS = 1000
CHUNK = 10_000
SNAPSHOT_EVERY = 5000
LOOKUPS = 1000
SAMPLES = 50
SEED = 20201002
CRISIS = "bench-replay"
SESSION = "bench"
BACKEND = "SQLite"

FILL = "replay: fill the log (generate, decode_delivery + chain, append)"
LOAD = "replay: load the timeline (EventStore.read + orjson.loads, as crisis replay)"
RUN = "replay: Replay.run at --max (speed=None) → REPLAY stream, each publish acked"
INDEX = "replay: seek, Timeline.index_at(random instant)"
SNAPSHOTTING = f"replay: snapshotting pass (fold, a snapshot every {SNAPSHOT_EVERY:,} events)"
AS_OF = "replay: seek, picture_at(as_of=random instant) (review slider)"


def event_count() -> int:
    """BENCH_REPLAY_EVENTS, or the default."""
    given = os.environ.get("BENCH_REPLAY_EVENTS", "").replace("_", "").replace(",", "").strip()
    if not given:
        return EVENTS
    count = int(given)
    if count < LEAST_EVENTS:
        raise SystemExit(f"BENCH_REPLAY_EVENTS must be at least {LEAST_EVENTS}")
    return count


@dataclass(frozen=True, slots=True)
class Figure:
    """One line of the replay's own table on the terminal."""

    label: str
    count: int
    per_s: float
    per_item: str
    p50: str = ""
    p99: str = ""


# -- the log -------------------------------------------------------------------------------------


async def _fill(store: EventStore, count: int, update: Update) -> dict[str, Any]:
    """Fill the log with the crisis, CHUNK events at a time, as the picture benchmark does.

    A worker process generates, decodes and chains the next chunk while this one appends the last.
    """
    loop = asyncio.get_running_loop()
    chunks = [(first, min(first + CHUNK - 1, count)) for first in range(1, count + 1, CHUNK)]
    with ProcessPoolExecutor(
        1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=long_crisis.start_worker,
        initargs=(CRISIS, count, SEED),
    ) as pool:
        ahead = loop.run_in_executor(pool, long_crisis.worker_records, *chunks[0])
        for index, (_, last) in enumerate(chunks):
            records = await ahead
            if index + 1 < len(chunks):
                ahead = loop.run_in_executor(pool, long_crisis.worker_records, *chunks[index + 1])
            await store.append(records)
            del records
            update(last)
        counters = await loop.run_in_executor(pool, long_crisis.worker_counters)
    await store.analyze()
    return counters


async def _log(database: Path, count: int, reporter: Reporter) -> tuple[Row, Timeline, Row, Figure]:
    """Fill the log, then load the crisis as `crisis replay` does; the rows and the timeline."""
    store = EventStore(make_engine(f"sqlite+aiosqlite:///{database}"))
    try:
        await upgrade(store.engine)
        with reporter.step(f"{FILL} ({BACKEND})", total=count) as update:
            started = now()
            counters = await _fill(store, count, update)
            fill_seconds = now() - started
        held = await store.count(CRISIS)
        size = (await asyncio.to_thread(database.stat)).st_size
        if held != count:
            raise BenchError(f"the log holds {held:,} of the crisis' {count:,} events")
        fill = Row(
            FILL,
            BACKEND,
            count,
            fill_seconds,
            f"one crisis; chunks of {CHUNK:,}, made in a worker process while this one appends; "
            f"{counters['incident']:,} incidents, {counters['entry']:,} main-courante entries; "
            f"log {size / 1e6:,.0f} MB on disk",
        )
        with reporter.step(LOAD):
            started = now()
            events = [
                Recorded(record.position, record.recorded_at, orjson.loads(record.payload))
                async for record in store.read(CRISIS)
            ]
            timeline = Timeline(events)
            seconds = now() - started
    finally:
        await store.close()
    if len(timeline) != count:
        raise BenchError(f"the timeline holds {len(timeline):,} of {count:,} events")
    rss = (peak_rss_kib(os.getpid()) or 0) / 1024
    load = Row(
        LOAD,
        BACKEND,
        count,
        seconds,
        f"{count / seconds:,.0f} events/s: the {count:,} `Recorded` of the crisis in memory, "
        f"as `crisis replay` holds them before it publishes; bench process peak RSS so far "
        f"{rss:,.0f} MiB",
    )
    figure = Figure("load the timeline", count, count / seconds, f"{seconds / count * 1e6:,.1f} µs")
    return fill, timeline, load, figure


# -- 1. replay at --max --------------------------------------------------------------------------


async def _replay(root: Path, timeline: Timeline, reporter: Reporter) -> tuple[Row, Figure]:
    """Replay the timeline at --max on a fresh nats-server; check the REPLAY stream holds it."""
    count = len(timeline)
    settings = Settings(var_dir=root)
    server = EmbeddedNatsServer(
        settings.jetstream_dir, max_payload=settings.max_payload, log_file=root / "nats.log"
    )
    await server.astart()
    try:
        async with connect(server.url, name="bench-replay", plan=topology(settings)) as bus:
            published: list[float] = []
            with reporter.step(f"{RUN}: published", total=count) as update:

                def on_event(index: int, _recorded: Recorded) -> None:
                    published.append(now())
                    if index % 1000 == 0:
                        update(index)

                replay = Replay(bus.js, timeline, session=SESSION, speed=None, on_event=on_event)
                stop = asyncio.Event()
                cpu = {"bench process (Replay)": cpu_seconds(os.getpid())}
                cpu["nats-server"] = cpu_seconds(server.pid)
                started = now()
                done = await replay.run(stop)
                seconds = now() - started
                cpu = {
                    name: cpu_seconds(os.getpid() if name != "nats-server" else server.pid) - before
                    for name, before in cpu.items()
                }
            info = await bus.js.stream_info(REPLAY_STREAM)
            filtered = await bus.js.stream_info(
                REPLAY_STREAM, subjects_filter=subjects.replay_filter(SESSION)
            )
            last = await bus.js.get_msg(REPLAY_STREAM, info.state.last_seq)
    finally:
        await server.astop()
    held = info.state.messages
    last_id = (last.headers or {}).get(MSG_ID)
    expected_id = f"replay-{SESSION}-{timeline.events[-1].event['event_id']}"
    if done != count or held != count:
        raise BenchError(
            f"Replay.run returned {done:,} and the REPLAY stream holds {held:,} of {count:,}"
        )
    if last_id != expected_id:
        raise BenchError(f"the REPLAY stream ends with {last_id}, not {expected_id}")
    subjects_held = len(filtered.state.subjects or {})
    # Each event's time: from the previous event's publish returning to its own.
    gaps_ms = [(b - a) * 1000 for a, b in zip([started, *published], published, strict=False)]
    p50, p99 = percentile(gaps_ms, 0.5), percentile(gaps_ms, 0.99)
    size = info.state.bytes
    figure = Figure(
        "Replay.run --max → REPLAY",
        count,
        count / seconds,
        f"{seconds / count * 1e6:,.0f} µs",
        f"{p50:,.3f} ms",
        f"{p99:,.3f} ms",
    )
    row = Row(
        RUN,
        "JetStream (file)",
        count,
        seconds,
        f"{count / seconds:,.0f} events/s, {seconds:,.1f} s in all, one publish at a time: "
        f"p50 {p50:,.3f} ms, p99 {p99:,.3f} ms, max {max(gaps_ms):,.1f} ms per event; "
        f"afterwards the REPLAY stream holds {held:,} messages ({size / 1e6:,.0f} MB) on "
        f"{subjects_held} subjects under replay.{SESSION}., the last one the last event; "
        f"{cpu_per_event(cpu, count)}",
        p50_ms=p50,
        p99_ms=p99,
    )
    return row, figure


# -- 2. seeking ----------------------------------------------------------------------------------


def _index_lookups(timeline: Timeline, rng: random.Random) -> tuple[Row, Figure]:
    """`Timeline.index_at` for LOOKUPS random instants, each timed alone, each result checked."""
    first, last = timeline.instants[0], timeline.instants[-1]
    instants = [first + (last - first) * rng.random() for _ in range(LOOKUPS)]
    # The first lookups warm nothing that the others would not find warm: the list is built.
    times_us = []
    for instant in instants:
        started = now()
        index = timeline.index_at(instant)
        times_us.append((now() - started) * 1e6)
        if not (
            0 < index < len(timeline)
            and timeline.instants[index - 1] < instant <= timeline.instants[index]
        ):
            raise BenchError(f"index_at({instant}) = {index}: not the first event at or after it")
    empty = []
    for _ in range(LOOKUPS):
        started = now()
        empty.append((now() - started) * 1e6)
    p50, p99 = percentile(times_us, 0.5), percentile(times_us, 0.99)
    clock = percentile(empty, 0.5)
    seconds = sum(times_us) / 1e6
    figure = Figure(
        "seek: Timeline.index_at",
        LOOKUPS,
        LOOKUPS / seconds,
        "",
        f"{p50:,.2f} µs",
        f"{p99:,.2f} µs",
    )
    row = Row(
        INDEX,
        "in memory",
        LOOKUPS,
        seconds,
        f"{LOOKUPS:,} instants drawn uniformly over the crisis, on a timeline of "
        f"{len(timeline):,} events, one call at a time: p50 {p50:,.2f} µs, p99 {p99:,.2f} µs, "
        f"max {max(times_us):,.1f} µs (two clock reads with nothing between: p50 {clock:,.2f} "
        "µs, included); each result checked",
    )
    return row, figure


async def _pictures(url: str, root: Path, count: int, reporter: Reporter) -> list[tuple[Row, Any]]:
    """The snapshotting pass, then `picture_at(as_of=…)` at SAMPLES random instants."""
    log = root / "probe.log"
    timeout = 120 + count / 10_000
    with reporter.step(f"{SNAPSHOTTING} ({BACKEND}), fresh process"):
        snapped = await picture._probe(
            ["snapshot", url, CRISIS, str(SNAPSHOT_EVERY)], log, timeout=timeout
        )
    snap_row = Row(
        SNAPSHOTTING,
        BACKEND,
        snapped["events"],
        snapped["seconds"],
        f"the setup of the as-of reads: {snapped['snapshots']:,} snapshot(s) saved on the way; "
        f"fresh process, peak RSS {snapped['peak_rss_kib'] / 1024:,.0f} MiB",
    )
    first = long_crisis.LongCrisis.recorded_at(1).isoformat()
    last = long_crisis.LongCrisis.recorded_at(count).isoformat()
    with reporter.step(f"{AS_OF}: {SAMPLES} instants, fresh process"):
        found = await picture._probe(
            ["asof", url, CRISIS, first, last, str(SAMPLES), str(SEED)],
            log,
            timeout=timeout + SAMPLES * 4,
        )
    # The review slider reads whole pictures (`picture_at`), not the API's served bytes.
    values = found["whole_instant_ms"]
    positions = found["whole_position_ms"]
    p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
    figure = Figure(
        "seek: picture_at(as_of=…)",
        len(values),
        len(values) / (sum(values) / 1000),
        "",
        f"{p50:,.1f} ms",
        f"{p99:,.1f} ms",
    )
    row = Row(
        AS_OF,
        BACKEND,
        len(values),
        sum(values) / 1000,
        f"{len(values)} instants drawn uniformly over the crisis, one request at a time: p50 "
        f"{p50:,.1f} ms, p99 {p99:,.1f} ms, max {max(values):,.1f} ms ({found['non_empty']} "
        f"pictures not empty); then {len(positions)} random positions, for comparison: p50 "
        f"{percentile(positions, 0.5):,.1f} ms, p99 {percentile(positions, 0.99):,.1f} ms; "
        f"snapshot every {SNAPSHOT_EVERY:,} events; fresh process, peak RSS "
        f"{found['peak_rss_kib'] / 1024:,.0f} MiB",
        p50_ms=p50,
        p99_ms=p99,
        peak_mib=found["peak_rss_kib"] / 1024,
    )
    return [(snap_row, None), (row, figure)]


# -- the benchmark -------------------------------------------------------------------------------


def summary(figures: Sequence[Figure]) -> Table:
    """The replay's figures side by side, for the terminal."""
    table = Table(title="replay", title_justify="left")
    table.add_column("measurement")
    for name in ("count", "per s", "per event", "p50", "p99"):
        table.add_column(name, justify="right")
    for figure in figures:
        table.add_row(
            figure.label,
            f"{figure.count:,}",
            f"{figure.per_s:,.0f}",
            figure.per_item,
            figure.p50,
            figure.p99,
        )
    return table


async def run(count: int, *, reporter: Reporter) -> dict[str, Any]:
    """The log, the replay at --max, and seeking; a part that fails becomes a row."""
    rows: list[Row] = []
    figures: list[Figure] = []

    def add(row: Row, figure: Figure | None = None) -> None:
        rows.append(row)
        reporter.result(row)
        if figure is not None:
            figures.append(figure)

    with tempfile.TemporaryDirectory(prefix="crisis-bench-replay-") as tmp:
        root = Path(tmp)
        database = root / "crisis.db"
        url = f"sqlite+aiosqlite:///{database}"
        try:
            fill, timeline, load, load_figure = await _log(database, count, reporter)
        except Exception as exc:  # noqa: BLE001
            add(failure("replay: fill and load the log", BACKEND, exc))
        else:
            add(fill)
            add(load, load_figure)
            # The timeline stays out of the collector's scans while it is replayed and sought.
            gc.collect()
            gc.freeze()
            try:
                try:
                    add(*await _replay(root / "nats", timeline, reporter))
                # A part that fails becomes a row saying why; seeking is still measured.
                except Exception as exc:  # noqa: BLE001
                    add(failure(RUN, "JetStream (file)", exc))
                try:
                    add(*_index_lookups(timeline, random.Random(SEED)))
                except Exception as exc:  # noqa: BLE001
                    add(failure(INDEX, "in memory", exc))
            finally:
                del timeline
                gc.unfreeze()
                gc.collect()
            try:
                for row, figure in await _pictures(url, root, count, reporter):
                    add(row, figure)
            except Exception as exc:  # noqa: BLE001
                add(failure(AS_OF, BACKEND, exc))
    if figures:
        reporter.progress.console.print(summary(figures))
    return {
        "rows": rows,
        "remarks": [
            f"**{FILL}**: the picture benchmark's crisis (`long_crisis.py`), {count:,} events "
            f"of one crisis `{CRISIS}`, chunks of {CHUNK:,} made in a worker process while this "
            "one appends them with `EventStore.append`. Not a target: the setup.",
            f"**{LOAD}**: `[Recorded(r.position, r.recorded_at, orjson.loads(r.payload)) async "
            f"for r in store.read(crisis)]` then `Timeline(events)`, what `crisis replay` does "
            "before it publishes anything.",
            f"**{RUN}**: a fresh nats-server, the streams made from `topology(Settings(var_dir="
            f"tmp))`, then `await Replay(js, timeline, session='{SESSION}', speed=None, "
            "on_event=…).run(stop)`: each event `orjson.dumps`-ed and published with "
            "`js.publish` to `replay.<session>.crisis.<crisis>.<agg>.<event>` (message id "
            "`replay-<session>-<event id>`), its ack awaited before the next one, so the rate "
            "is one client-server round trip per event, not what the bus takes with publishes "
            "in flight (compare the raw JetStream baseline, 512 in flight). Seconds: `run` "
            "called → returned; the latency is from one event's publish returning to the next "
            "one's (`on_event` stamps). Afterwards `stream_info('REPLAY')` must count every "
            "event and its last message must carry the last event's message id.",
            f"**{INDEX}**: `Timeline.index_at(instant)` (a bisect over the instants) for "
            f"{LOOKUPS:,} instants drawn uniformly between the first and last event (seeded), "
            "each call timed alone with CLOCK_MONOTONIC, the two clock reads included. This is "
            "what `Replay.seek` and `replayctl seek` compute; the events before the target are "
            "then published at the runner's --max rate. Seconds is the sum; events counts "
            "lookups.",
            f"**{SNAPSHOTTING}** and **{AS_OF}**: like the picture benchmark's, on this crisis: "
            f"a snapshotting pass (the fold writing a snapshot every {SNAPSHOT_EVERY:,} events, "
            "as the live service does), then in a "
            f"fresh process (GC tuned like the services) `picture_at(store, SnapshotStore("
            f"engine), crisis, as_of=instant)` for {SAMPLES} instants drawn uniformly over the "
            "crisis' stream times (seeded), one request at a time: the nearest snapshot at or "
            "before, then the fold of the events after it; what the console's review slider "
            "asks (`GET /api/crises/{id}/as_of?at=…`) without the HTTP. Events counts requests; "
            "seconds is their sum.",
        ],
    }
