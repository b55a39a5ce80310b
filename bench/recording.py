"""The real path, end to end: publish_event → JetStream → `crisis service eventlog` → committed."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from bench.clock import now
from bench.pg import Postgres, fresh_database
from bench.procs import (
    RECORDER_LOG,
    BenchError,
    Process,
    Publisher,
    cpu_per_event,
    cpu_seconds,
    peak_rss_kib,
    recorder,
    tail,
    wait_consuming,
)
from bench.report import Reporter, Row, Update, failure
from services.eventlog.store import EventStore
from services.runtime.bus import connect
from services.runtime.database import make_engine
from services.runtime.embedded import EmbeddedNatsServer
from services.runtime.settings import load_settings
from services.runtime.topology import topology

NAME = "recorded end to end through NATS"
CONCURRENCY = 512
POLL_S = 0.05


@dataclass(frozen=True, slots=True)
class Measured:
    """What one end-to-end run measured."""

    seconds: float
    publish_seconds: float
    peak_rss_kib: int | None
    cpu: dict[str, float]


def _cpu(recorder_pid: int, server_pid: int | None) -> dict[str, float]:
    return {
        "recorder": cpu_seconds(recorder_pid),
        "nats-server": cpu_seconds(server_pid),
        "bench (poll)": time.process_time(),
    }


async def _wait_committed(
    store: EventStore,
    count: int,
    update: Update,
    *,
    publisher: Publisher,
    recorder: Process,
    recorder_log: Path,
) -> float:
    """Poll the log until it holds `count` events; the clock when it first does."""
    deadline = now() + 60 + count / 500
    held = 0
    while held < count:
        await asyncio.sleep(POLL_S)
        held = await store.count()
        update(held)
        if publisher.process.returncode not in (None, 0):
            raise BenchError(f"publisher failed:\n{tail(publisher.log)}")
        if recorder.returncode is not None:
            raise BenchError(f"recorder exited ({recorder.returncode}):\n{tail(recorder_log)}")
        if now() > deadline:
            raise BenchError(f"the log holds {held:,} of {count:,} events:\n{tail(recorder_log)}")
    return now()


async def _record(
    backend: str, db_url: str, root: Path, count: int, *, reporter: Reporter, concurrency: int
) -> Measured:
    """Time from the first publish to committed; what the publisher, memory and CPU did."""
    server = EmbeddedNatsServer(root / "jetstream")
    await server.astart()
    try:
        async with (
            connect(server.url, name="bench-recording", plan=topology(load_settings())) as bus,
            recorder(server.url, db_url, root) as process,
        ):
            log = root / RECORDER_LOG
            with reporter.step(f"recording ({backend}): recorder starts"):
                await wait_consuming(process, bus.js, log)
            store = EventStore(make_engine(db_url))
            try:
                async with Publisher.started(
                    server.url, count, mode="event", concurrency=concurrency, log=root / "pub.log"
                ) as publisher:
                    with reporter.step(f"recording ({backend}): publisher builds its events"):
                        await publisher.ready()
                    with reporter.step(f"recording ({backend}): committed", total=count) as update:
                        cpu = _cpu(process.pid, server.pid)
                        await publisher.go()
                        done = await _wait_committed(
                            store,
                            count,
                            update,
                            publisher=publisher,
                            recorder=process,
                            recorder_log=log,
                        )
                        cpu = {k: v - cpu[k] for k, v in _cpu(process.pid, server.pid).items()}
                    report = await publisher.report(timeout=60)
                # Read before the stop: the peak is of the recorder's working life.
                rss = peak_rss_kib(process.pid)
            finally:
                await store.close()
    finally:
        await server.astop()
    return Measured(
        done - report.first_publish, report.seconds, rss, {"publisher": report.cpu, **cpu}
    )


def _row(backend: str, count: int, measured: Measured, baseline: float | None) -> Row:
    rate = count / measured.seconds
    notes = [
        "first publish → count() = N",
        f"publisher alone {count / measured.publish_seconds:,.0f} ev/s",
    ]
    if measured.peak_rss_kib is not None:
        notes.append(f"recorder peak RSS {measured.peak_rss_kib / 1024:,.0f} MiB")
    if baseline:
        notes.append(f"{rate / baseline:.0%} of the raw JetStream baseline")
    notes.append(cpu_per_event(measured.cpu, count))
    return Row(NAME, backend, count, measured.seconds, "; ".join(notes), target="recorded")


async def _sqlite(count: int, reporter: Reporter, concurrency: int, baseline: float | None) -> Row:
    with tempfile.TemporaryDirectory(prefix="crisis-bench-rec-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'crisis.db'}"
        measured = await _record(
            "SQLite", url, Path(tmp), count, reporter=reporter, concurrency=concurrency
        )
    return _row("SQLite", count, measured, baseline)


async def _postgres(
    pg: Postgres, count: int, reporter: Reporter, concurrency: int, baseline: float | None
) -> Row:
    async with fresh_database(pg) as url:
        with tempfile.TemporaryDirectory(prefix="crisis-bench-rec-") as tmp:
            measured = await _record(
                "PostgreSQL", url, Path(tmp), count, reporter=reporter, concurrency=concurrency
            )
    return _row("PostgreSQL", count, measured, baseline)


async def run(
    count: int,
    *,
    postgres: Postgres | None,
    baseline: float | None,
    reporter: Reporter,
    concurrency: int = CONCURRENCY,
) -> dict[str, Any]:
    """Publish `count` events and time them into the log, on SQLite and on PostgreSQL."""
    rows: list[Row] = []
    backends: list[tuple[str, Callable[[], Awaitable[Row]]]] = [
        ("SQLite", partial(_sqlite, count, reporter, concurrency, baseline))
    ]
    if postgres is not None:
        backends.append(
            ("PostgreSQL", partial(_postgres, postgres, count, reporter, concurrency, baseline))
        )
    for backend, measure in backends:
        try:
            row = await measure()
        # A backend that fails becomes a row saying why; the others are still measured.
        except Exception as exc:  # noqa: BLE001
            row = failure(NAME, backend, exc)
        reporter.result(row)
        rows.append(row)
    return {
        "rows": rows,
        "remarks": [
            f"**{NAME}**: fresh nats-server; `crisis service eventlog` as its own process "
            "(FastStream pull consumer, batches of `CRISIS_EVENTLOG_BATCH`, one batch in flight, "
            "acked after the commit; SQLite in WAL with `synchronous=FULL`); a publisher process "
            f"calls `publish_event` with {concurrency} in flight. Timed from the first publish "
            f"until `EventStore.count()` (polled every {POLL_S * 1000:.0f} ms from the bench "
            "process) reaches N: publish to committed, durable. The ratio is to the raw "
            "JetStream rate. Peak RSS is the recorder's VmHWM just before it is stopped. "
            "CPU µs/event: the user + system CPU each process spent in the timed window (from "
            "/proc, the publisher's own process time), over N: where the two cores went.",
        ],
    }
