"""`python -m bench` (`make bench`): run every benchmark and write `bench/results.md`.

BENCH_EVENTS sets how many events every benchmark moves (default: 100,000 recorded, 200,000
read); CRISIS_BENCH_POSTGRES_URL (or CRISIS_TEST_POSTGRES_URL) says where PostgreSQL is.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from statistics import mean
from typing import Any

from rich.console import Console

from bench import eventsourcing_baseline, machine, raw_jetstream, reading, recording
from bench.clock import now
from bench.pg import Postgres, find
from bench.report import Reporter, Row, failure, rich_table, write_results
from bench.workload import CRISES
from services.eventlog.core import LogRecord
from services.eventlog.store import EventStore
from services.runtime.logging import configure_logging
from services.runtime.settings import load_settings

RESULTS = Path(__file__).with_name("results.md")
RECORDED_EVENTS = 100_000
READ_EVENTS = 200_000
TARGET_RECORDED = 15_000
TARGET_READ = 500_000
TARGETS = (
    "Targets on this 2-core machine: ≥ 15,000 events/s recorded end to end through NATS; "
    "≥ 500,000 events/s read back."
)


def event_counts() -> tuple[int, int]:
    """Events recorded and events read: BENCH_EVENTS for both, or the defaults."""
    given = os.environ.get("BENCH_EVENTS", "").replace("_", "").replace(",", "").strip()
    if not given:
        return RECORDED_EVENTS, READ_EVENTS
    count = int(given)
    if count < 1000:
        raise SystemExit("BENCH_EVENTS must be at least 1000")
    return count, count


async def attempt(
    name: str, reporter: Reporter, call: Callable[[], Awaitable[dict[str, Any]]]
) -> dict[str, Any]:
    """Run one benchmark; a failure becomes a row saying why, and the next one still runs."""
    try:
        return await call()
    # Whatever went wrong is reported in results.md; the resources were released on the way out.
    except Exception as exc:  # noqa: BLE001
        row = failure(name, "—", exc)
        reporter.result(row)
        return {"rows": [row], "remarks": []}


def verdicts(rows: Sequence[Row]) -> list[str]:
    """The targets line, then each judged row against its target."""
    lines = [TARGETS, ""]
    for label, key, goal in (
        ("recorded end to end through NATS", "recorded", TARGET_RECORDED),
        ("read back", "read", TARGET_READ),
    ):
        judged = [row for row in rows if row.target == key]
        if not judged:
            lines.append(f"- {label} ≥ {goal:,}/s: not measured (see the failures above)")
            continue
        met = sum(row.rate >= goal for row in judged)
        overall = "**met**" if met == len(judged) else f"**not met** ({met} of {len(judged)})"
        lines.append(f"- {label} ≥ {goal:,} events/s: {overall}")
        lines.extend(
            f"  - {row.benchmark} ({row.backend}): {row.rate:,.0f} events/s, "
            f"{row.rate / goal:.0%} of the target: {'met' if row.rate >= goal else 'not met'}"
            for row in judged
        )
    return lines


def parameters(
    recorded: int, read: int, records: Sequence[LogRecord], postgres_note: str
) -> dict[str, str]:
    """What the run was asked to do."""
    chunk = inspect.signature(EventStore.read_rows).parameters["chunk"].default
    size = f"{mean(len(r.payload.encode()) for r in records):,.0f} bytes" if records else "n/a"
    return {
        "BENCH_EVENTS": os.environ.get("BENCH_EVENTS", "(unset)"),
        "events recorded (raw JetStream, end to end)": f"{recorded:,}",
        "events read (direct writes and reads)": f"{read:,}",
        "workload": (
            f"{CRISES} crises; IncidentReported 40 %, MainCouranteEntryRecorded 40 %, "
            f"BilanAssessed 20 %, built with model_validate; mean stored JSON {size}"
        ),
        "publishes in flight": str(recording.CONCURRENCY),
        "raw consumer fetch batch": str(raw_jetstream.FETCH),
        "eventlog batch (CRISIS_EVENTLOG_BATCH)": str(load_settings().eventlog_batch),
        "log count poll": f"{recording.POLL_S * 1000:.0f} ms",
        "direct append batch": str(reading.BATCH),
        "EventStore read chunk (its default)": str(chunk),
        "eventsourcing insert batch / page": (
            f"{eventsourcing_baseline.BATCH} / {eventsourcing_baseline.PAGE}"
        ),
        "PostgreSQL": postgres_note,
    }


async def benchmarks(
    reporter: Reporter, recorded: int, read: int, postgres: Postgres | None
) -> tuple[list[Row], list[str], list[LogRecord]]:
    """Every benchmark in turn; the rows, the remarks, and the records the reads used."""
    rows: list[Row] = []
    remarks: list[str] = []

    def take(result: dict[str, Any]) -> dict[str, Any]:
        rows.extend(result["rows"])
        remarks.extend(result["remarks"])
        return result

    reporter.say(f"[bold]1. raw JetStream[/] ({recorded:,} events)")
    raw = take(
        await attempt(
            raw_jetstream.NAME, reporter, lambda: raw_jetstream.run(recorded, reporter=reporter)
        )
    )
    reporter.say(f"[bold]2. recording, end to end[/] ({recorded:,} events)")
    take(
        await attempt(
            recording.NAME,
            reporter,
            lambda: recording.run(
                recorded, postgres=postgres, baseline=raw.get("rate"), reporter=reporter
            ),
        )
    )
    reporter.say(f"[bold]3. reading[/] ({read:,} events)")
    records: list[LogRecord] = []

    async def build() -> dict[str, Any]:
        built, core = reading.log_records(read, reporter)
        records.extend(built)
        return {"rows": [core], "remarks": []}

    take(await attempt(reading.CORE, reporter, build))
    if not records:
        return rows, remarks, records
    take(
        await attempt(
            "reading", reporter, lambda: reading.run(records, postgres=postgres, reporter=reporter)
        )
    )
    reporter.say(f"[bold]4. eventsourcing baseline[/] ({read:,} events)")
    take(
        await attempt(
            "eventsourcing",
            reporter,
            lambda: eventsourcing_baseline.run(records, postgres=postgres, reporter=reporter),
        )
    )
    return rows, remarks, records


async def main() -> int:
    """Run everything, write results.md, print the table; exit 1 if a benchmark failed."""
    configure_logging("WARNING", "console")
    # SIGTERM, like Ctrl-C, cancels the run: the processes, folders and databases are released.
    task = asyncio.current_task()
    if task is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    console = Console()
    recorded, read = event_counts()
    started_at = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    started = now()
    facts = machine.describe()
    postgres, postgres_note = await find()
    console.print(f"crisis-cell benchmarks: {facts['nproc']} CPUs, {facts['CPU']}; {postgres_note}")
    with Reporter(console) as reporter:
        rows, remarks, records = await benchmarks(reporter, recorded, read, postgres)
    total = now() - started
    facts["load average at end (1, 5, 15 min)"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = verdicts(rows)
    write_results(
        RESULTS,
        started=started_at,
        total_seconds=total,
        machine=facts,
        parameters=parameters(recorded, read, records, postgres_note),
        rows=rows,
        targets=lines,
        remarks=remarks,
    )
    console.print(rich_table(rows))
    for line in lines:
        console.print(line, highlight=False, markup=False)
    console.print(f"wrote {RESULTS} ({total:.0f} s in all)")
    return 1 if any(row.failed for row in rows) else 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except (KeyboardInterrupt, asyncio.CancelledError):
        sys.exit("bench: interrupted; results.md was not written")
