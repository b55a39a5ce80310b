"""The same log on the `eventsourcing` library's recorders, written and read directly.

No broker here: these figures are a ceiling for a storage layer, not an end-to-end rate.
"""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.persistence import ApplicationRecorder, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

from bench.clock import now
from bench.pg import Postgres, fresh_schema
from bench.procs import BenchError
from bench.reading import APPEND
from bench.report import Reporter, Row, failure
from services.eventlog.core import LogRecord

WRITE = "eventsourcing: insert_events, direct (no broker)"
READ = "read: eventsourcing select_notifications (Notification)"
BATCH = 1000
PAGE = 2000


def _originator(crisis_id: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"crisis-cell:crisis:{crisis_id}")


def stored_events(records: Sequence[LogRecord]) -> list[StoredEvent]:
    """The log's events as eventsourcing stores them: one aggregate per crisis, same JSON."""
    return [
        StoredEvent(
            originator_id=_originator(record.crisis_id),
            originator_version=record.crisis_seq,
            topic=record.type,
            state=record.payload.encode(),
        )
        for record in records
    ]


def _measure(
    recorder: ApplicationRecorder, backend: str, stored: Sequence[StoredEvent], reporter: Reporter
) -> list[Row]:
    count = len(stored)
    with reporter.step(f"{WRITE} ({backend})", total=count) as update:
        started = now()
        for start in range(0, count, BATCH):
            recorder.insert_events(stored[start : start + BATCH])
            update(min(start + BATCH, count))
        write = Row(WRITE, backend, count, now() - started, f"batches of {BATCH}, committed")
    reporter.result(write)
    with reporter.step(f"{READ} ({backend})", total=count) as update:
        started = now()
        seen, last = 0, None
        while page := recorder.select_notifications(last, PAGE, inclusive_of_start=False):
            seen += len(page)
            last = page[-1].id
            update(seen)
        seconds = now() - started
    if seen != count:
        raise BenchError(f"select_notifications gave {seen:,} of {count:,} events")
    read = Row(
        READ, backend, count, seconds, f"pages of {PAGE}, whole table; a baseline, not judged"
    )
    reporter.result(read)
    return [write, read]


def _synchronous(datastore: SQLiteDatastore) -> str:
    with datastore.transaction(commit=False) as cursor:
        cursor.execute("PRAGMA synchronous")
        level = cursor.fetchone()[0]
    return {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(level, str(level))


async def _sqlite(stored: Sequence[StoredEvent], reporter: Reporter) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="crisis-bench-es-") as tmp:
        datastore = SQLiteDatastore(str(Path(tmp) / "eventsourcing.db"))
        try:
            recorder = SQLiteApplicationRecorder(datastore)
            recorder.create_table()
            rows = _measure(recorder, "SQLite", stored, reporter)
            mode = f"WAL, synchronous={_synchronous(datastore)}"
        finally:
            datastore.close()
    return [replace(row, notes=f"{row.notes}; {mode}") for row in rows]


async def _postgres(pg: Postgres, stored: Sequence[StoredEvent], reporter: Reporter) -> list[Row]:
    url = pg.parsed
    async with fresh_schema(pg) as schema:
        datastore = PostgresDatastore(
            dbname=url.database or "postgres",
            host=url.host or "127.0.0.1",
            port=url.port or 5432,
            user=url.username or "postgres",
            password=url.password or "",
            schema=schema,
        )
        try:
            recorder = PostgresApplicationRecorder(datastore)
            recorder.create_table()
            return _measure(recorder, "PostgreSQL", stored, reporter)
        finally:
            datastore.close()


async def run(
    records: Sequence[LogRecord], *, postgres: Postgres | None, reporter: Reporter
) -> dict[str, Any]:
    """Write the records' JSON with eventsourcing's recorders and read it back."""
    stored = stored_events(records)
    rows: list[Row] = []
    backends: list[tuple[str, Callable[[], Awaitable[list[Row]]]]] = [
        ("SQLite", partial(_sqlite, stored, reporter))
    ]
    if postgres is not None:
        backends.append(("PostgreSQL", partial(_postgres, postgres, stored, reporter)))
    for backend, measure in backends:
        try:
            rows.extend(await measure())
        # A backend that fails becomes a row saying why; the others are still measured.
        except Exception as exc:  # noqa: BLE001
            rows.append(failure("eventsourcing", backend, exc))
            reporter.result(rows[-1])
    return {
        "rows": rows,
        "remarks": [
            f"**eventsourcing** (`SQLiteApplicationRecorder`, `PostgresApplicationRecorder`): the "
            "same events' stored JSON as `state`, one originator (a UUID) per crisis with "
            f"`originator_version` = the crisis sequence, `insert_events` in batches of {BATCH}, "
            f"then `select_notifications` in pages of {PAGE}. Measured direct, in this process, "
            "with no broker: its write numbers are a ceiling for a storage layer, not an "
            "end-to-end figure. It stores four columns and no hash chain, so compare its writes "
            f"with **{APPEND}**, not with the end-to-end rows.",
        ],
    }
