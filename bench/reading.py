"""Read rate of the event log: fill it directly (no broker), then stream it back three ways."""

from __future__ import annotations

import gc
import random
import tempfile
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from bench.clock import now
from bench.pg import Postgres, fresh_schema, search_path
from bench.procs import BenchError
from bench.report import Reporter, Row, failure
from bench.workload import SEED, events
from schemas import subjects
from schemas.wire import encode
from services.eventlog.core import Decoded, Delivery, LogRecord, chain, decode_delivery
from services.eventlog.schema import upgrade
from services.eventlog.store import EventStore
from services.runtime.database import make_engine
from services.runtime.memory import YOUNG_THRESHOLD

APPEND = "EventStore.append, direct (no broker)"
APPEND_V4 = "EventStore.append, random (v4) event ids as before, direct (no broker)"
ROWS = "read: EventStore.read_payloads() (position + stored JSON)"
RECORDS = "read: EventStore.read() (LogRecord)"
DECODED = "read: read() + record.event() (pydantic)"
CORE = "core: decode_delivery + chain (no I/O)"
BATCH = 1000
STREAM_TIME = datetime(2020, 10, 2, 12, 32, tzinfo=UTC)


def log_records(count: int, reporter: Reporter, seed: int = SEED) -> tuple[list[LogRecord], Row]:
    """`count` chained records as the recorder would make them, and the time the core took."""
    with reporter.step("building events", total=count) as update:
        deliveries = []
        for position, event in enumerate(events(count, seed), start=1):
            subject = subjects.live(event.crisis_id, event.type)
            when = STREAM_TIME + timedelta(milliseconds=position)
            deliveries.append(Delivery(position, when, subject, encode(event)))
            if position % BATCH == 0:
                update(position)
    # Timed with the young generation collected as seldom as the services collect it
    # (`tune_for_services`): with Python's default, collections took half of this time.
    threshold = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, *threshold[1:])
    try:
        with reporter.step("decode_delivery + chain", total=count):
            started = now()
            decoded = [decode_delivery(delivery) for delivery in deliveries]
            valid = [d for d in decoded if isinstance(d, Decoded)]
            if len(valid) != count:
                raise BenchError(f"{count - len(valid)} generated events did not decode")
            records, _ = chain(valid, {})
            seconds = now() - started
    finally:
        gc.set_threshold(*threshold)
    row = Row(
        CORE,
        "in memory",
        count,
        seconds,
        "the recorder's CPU work per event, one core, the services' GC threshold",
    )
    reporter.result(row)
    return records, row


@contextmanager
def _reader_alone() -> Iterator[None]:
    """Time a read as a reading process would run it: the records this bench built to fill the
    log stay in memory, so they are frozen out of the garbage collector's scans meanwhile."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


async def _count(store: EventStore, how: str) -> int:
    seen = 0
    if how == ROWS:
        async for rows in store.read_payloads(chunk=5000):
            seen += len(rows)
    elif how == RECORDS:
        async for _ in store.read():
            seen += 1
    else:
        async for record in store.read():
            record.event()
            seen += 1
    return seen


async def _measure(
    engine: AsyncEngine, backend: str, records: Sequence[LogRecord], reporter: Reporter
) -> list[Row]:
    count = len(records)
    store = EventStore(engine)
    rows: list[Row] = []
    try:
        await upgrade(engine)
        with reporter.step(f"{APPEND} ({backend})", total=count) as update:
            started = now()
            for start in range(0, count, BATCH):
                await store.append(records[start : start + BATCH])
                update(min(start + BATCH, count))
            rows.append(
                Row(APPEND, backend, count, now() - started, f"batches of {BATCH}, committed")
            )
            # A live log is analyzed by autovacuum as it grows; a log filled in one go is not yet.
            await store.analyze()
        reporter.result(rows[-1])
        for how in (ROWS, RECORDS, DECODED):
            with reporter.step(f"{how} ({backend})"), _reader_alone():
                started = now()
                seen = await _count(store, how)
                seconds = now() - started
            if seen != count:
                raise BenchError(f"{how} gave {seen:,} of {count:,} events")
            rows.append(
                Row(how, backend, count, seconds, "whole log, position order", target="read")
            )
            reporter.result(rows[-1])
    finally:
        await store.close()
    return rows


def with_random_ids(records: Sequence[LogRecord], seed: int = SEED) -> list[LogRecord]:
    """The same records with random (version 4) event ids in the indexed column, as publishers
    made them before `schemas.ids`: what the unique index on event ids cost then."""
    rng = random.Random(seed)
    return [r._replace(event_id=UUID(int=rng.getrandbits(128), version=4)) for r in records]


async def _append_only(
    engine: AsyncEngine, backend: str, records: Sequence[LogRecord], reporter: Reporter
) -> Row:
    store = EventStore(engine)
    try:
        await upgrade(engine)
        with reporter.step(f"{APPEND_V4} ({backend})", total=len(records)) as update:
            started = now()
            for start in range(0, len(records), BATCH):
                await store.append(records[start : start + BATCH])
                update(min(start + BATCH, len(records)))
            row = Row(APPEND_V4, backend, len(records), now() - started, "the same batches")
    finally:
        await store.close()
    reporter.result(row)
    return row


async def _sqlite(records: Sequence[LogRecord], reporter: Reporter) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="crisis-bench-read-") as tmp:
        engine = make_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'crisis.db'}")
        before = make_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'random-ids.db'}")
        random_ids = await _append_only(before, "SQLite", with_random_ids(records), reporter)
        return [random_ids, *await _measure(engine, "SQLite", records, reporter)]


async def _postgres(pg: Postgres, records: Sequence[LogRecord], reporter: Reporter) -> list[Row]:
    async with fresh_schema(pg) as schema:
        before = make_engine(pg.url, **search_path(schema))
        random_ids = await _append_only(before, "PostgreSQL", with_random_ids(records), reporter)
    async with fresh_schema(pg) as schema:
        engine = make_engine(pg.url, **search_path(schema))
        return [random_ids, *await _measure(engine, "PostgreSQL", records, reporter)]


async def run(
    records: Sequence[LogRecord], *, postgres: Postgres | None, reporter: Reporter
) -> dict[str, Any]:
    """Fill a log with `records` and read it back, on SQLite and on PostgreSQL."""
    rows: list[Row] = []
    backends: list[tuple[str, Callable[[], Awaitable[list[Row]]]]] = [
        ("SQLite", partial(_sqlite, records, reporter))
    ]
    if postgres is not None:
        backends.append(("PostgreSQL", partial(_postgres, postgres, records, reporter)))
    for backend, measure in backends:
        try:
            rows.extend(await measure())
        # A backend that fails becomes a row saying why; the others are still measured.
        except Exception as exc:  # noqa: BLE001
            rows.append(failure("reading", backend, exc))
            reporter.result(rows[-1])
    return {
        "rows": rows,
        "remarks": [
            f"**{CORE}**: the pure part of the recorder's work (validate each delivery against "
            "the catalogue and its subject, re-serialise with the stream time, hash-chain), "
            "timed in this process; no broker, no database.",
            f"**{APPEND}**: the chained records written with `EventStore.append` in batches of "
            f"{BATCH} (one transaction each, chain heads moved in it), by this process: the "
            "storage layer alone, to compare with the end-to-end figure and with eventsourcing. "
            "Event ids are time-ordered (version 7), as every publisher makes them; "
            f"**{APPEND_V4}** writes the same records with random ids in the indexed column "
            "first, into a database of its own, for the same-run comparison.",
            "**read**: the whole log streamed back in position order with the store's default "
            "chunk (keyset pagination, a pooled connection per chunk): raw SQLAlchemy rows; "
            "`LogRecord` objects; and `LogRecord.event()` decoding each into its pydantic event "
            "(upcasters included). Warm caches: the log was just written.",
        ],
    }
