"""`python -m bench` (`make bench`): run every benchmark and write `bench/results.md`.

`python -m bench picture reading` runs only the benchmarks named (raw, recording, reading,
eventsourcing, picture, intake, replay, shape), and results.md says which ran. BENCH_EVENTS sets
how many events the first four move (default: 100,000 recorded, 200,000 read);
BENCH_PICTURE_EVENTS the length of the picture's crisis (default 1,000,000); BENCH_INTAKE_ALERTS
the typical alerts the intake parses and maps (default 5,000) and BENCH_INTAKE_SUBMITS those it
submits to the bus (default 2,000); BENCH_REPLAY_EVENTS the length of the crisis the replay
publishes and seeks in (default 100,000); BENCH_SHAPE_EVENTS the length of the crisis the
picture's two shapes fold (default 150,000); CRISIS_BENCH_POSTGRES_URL (or
CRISIS_TEST_POSTGRES_URL) says where PostgreSQL is.
"""

from __future__ import annotations

import asyncio
import gc
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

from bench import (
    eventsourcing_baseline,
    intake,
    machine,
    picture,
    picture_shape,
    raw_jetstream,
    reading,
    recording,
    replay,
)
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
# The benchmarks by the short names `python -m bench NAME…` takes, in the order they run.
NAMES = ("raw", "recording", "reading", "eventsourcing", "picture", "intake", "replay", "shape")


def selected(argv: Sequence[str]) -> tuple[str, ...]:
    """The benchmarks to run: those named, in their usual order; all of them if none is."""
    unknown = sorted(set(argv) - set(NAMES))
    if unknown:
        raise SystemExit(
            f"bench: no benchmark {', '.join(unknown)}; choose among {', '.join(NAMES)}"
        )
    return tuple(name for name in NAMES if name in argv) if argv else NAMES


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


async def frozen(
    name: str, reporter: Reporter, call: Callable[[], Awaitable[dict[str, Any]]]
) -> dict[str, Any]:
    """`attempt`, with what the earlier benchmarks keep out of the collector's scans."""
    gc.collect()
    gc.freeze()
    try:
        return await attempt(name, reporter, call)
    finally:
        gc.unfreeze()


def _targets(ran: Sequence[str], picture_events: int) -> str:
    parts = []
    if "recording" in ran:
        parts.append(f"≥ {TARGET_RECORDED:,} events/s recorded end to end through NATS")
    if "reading" in ran:
        parts.append(f"≥ {TARGET_READ:,} events/s read back")
    if "picture" in ran:
        parts.append(
            f"picture of a {picture_events:,}-event crisis rebuilt in ≤ "
            f"{picture.TARGET_REBUILD_S:g} s and ≤ {picture.TARGET_REBUILD_RATIO:g}x the "
            f"decode-only baseline; as-of p99 < {picture.TARGET_AS_OF_P99_MS:g} ms; peak memory "
            f"< {picture.TARGET_PEAK_MB:g} MB; publish-to-client p99 < "
            f"{picture.TARGET_LIVE_P99_MS:g} ms"
        )
    return "Targets on this 2-core machine: " + ("; ".join(parts) or "none judged") + "."


def _rate_verdicts(rows: Sequence[Row], ran: Sequence[str]) -> list[str]:
    lines = []
    for label, key, goal in (
        ("recorded end to end through NATS", "recorded", TARGET_RECORDED),
        ("read back", "read", TARGET_READ),
    ):
        if {"recorded": "recording", "read": "reading"}[key] not in ran:
            continue
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


# The picture's targets: (label, the rows judged, the figure, its unit, the limit, inclusive).
_PICTURE_TARGETS: tuple[
    tuple[str, Callable[[Row], bool], Callable[[Row], float | None], str, float, bool], ...
] = (
    (
        "picture rebuilt",
        lambda row: row.target == "rebuild",
        lambda row: row.seconds,
        "s",
        picture.TARGET_REBUILD_S,
        True,
    ),
    (
        "picture rebuild over the decode-only baseline",
        lambda row: row.target == "rebuild",
        lambda row: row.ratio,
        "x",
        picture.TARGET_REBUILD_RATIO,
        True,
    ),
    (
        "picture as-of p99",
        lambda row: row.target == "as_of",
        lambda row: row.p99_ms,
        "ms",
        picture.TARGET_AS_OF_P99_MS,
        False,
    ),
    (
        "picture peak memory",
        lambda row: row.target in ("rebuild", "snapshots", "as_of"),
        lambda row: None if row.peak_mib is None else row.peak_mib * 1.048576,
        "MB",
        picture.TARGET_PEAK_MB,
        False,
    ),
    (
        "picture publish-to-client p99",
        lambda row: row.target == "live",
        lambda row: row.p99_ms,
        "ms",
        picture.TARGET_LIVE_P99_MS,
        False,
    ),
)


def _amount(value: float, unit: str, digits: int = 2) -> str:
    return f"{value:,.{digits}f}x" if unit == "x" else f"{value:,.{digits}f} {unit}"


def _picture_verdicts(rows: Sequence[Row]) -> list[str]:
    lines = []
    for label, judges, figure, unit, goal, inclusive in _PICTURE_TARGETS:
        sign = "≤" if inclusive else "<"
        limit = _amount(goal, unit, 0)
        judged = [
            (row, value) for row in rows if judges(row) and (value := figure(row)) is not None
        ]
        if not judged:
            lines.append(f"- {label} {sign} {limit}: not measured (see the failures above)")
            continue
        verdicts = [value <= goal if inclusive else value < goal for _, value in judged]
        met = sum(verdicts)
        overall = "**met**" if met == len(judged) else f"**not met** ({met} of {len(judged)})"
        lines.append(f"- {label} {sign} {limit}: {overall}")
        lines.extend(
            f"  - {row.benchmark} ({row.backend}): {_amount(value, unit)}, {value / goal:.0%} of "
            f"the limit: {'met' if ok else 'not met'}"
            for (row, value), ok in zip(judged, verdicts, strict=True)
        )
    return lines


def verdicts(rows: Sequence[Row], ran: Sequence[str] = NAMES, picture_events: int = 0) -> list[str]:
    """The targets line, then each judged row against its target."""
    lines = [_targets(ran, picture_events or picture.EVENTS), "", *_rate_verdicts(rows, ran)]
    if "picture" in ran:
        lines.extend(_picture_verdicts(rows))
    return lines


def parameters(
    ran: Sequence[str],
    *,
    recorded: int,
    read: int,
    picture_events: int,
    records: Sequence[LogRecord],
    postgres_note: str,
    intake_counts: tuple[int, int] = (intake.ALERTS, intake.SUBMITS),
    replay_events: int = replay.EVENTS,
    shape_events: int = picture_shape.EVENTS,
) -> dict[str, str]:
    """What the run was asked to do."""
    chunk = inspect.signature(EventStore.read_rows).parameters["chunk"].default
    size = f"{mean(len(r.payload.encode()) for r in records):,.0f} bytes" if records else "n/a"
    values = {
        "benchmarks run": ", ".join(ran),
        "BENCH_EVENTS": os.environ.get("BENCH_EVENTS", "(unset)"),
    }
    if {"raw", "recording"} & set(ran):
        values["events recorded (raw JetStream, end to end)"] = f"{recorded:,}"
    if {"reading", "eventsourcing"} & set(ran):
        values["events read (direct writes and reads)"] = f"{read:,}"
        values["workload"] = (
            f"{CRISES} crises; IncidentReported 40 %, MainCouranteEntryRecorded 40 %, "
            f"BilanAssessed 20 %, built with model_validate; mean stored JSON {size}"
        )
    if {"raw", "recording"} & set(ran):
        values["publishes in flight"] = str(recording.CONCURRENCY)
        values["raw consumer fetch batch"] = str(raw_jetstream.FETCH)
        values["eventlog batch (CRISIS_EVENTLOG_BATCH)"] = str(load_settings().eventlog_batch)
        values["log count poll"] = f"{recording.POLL_S * 1000:.0f} ms"
    if {"reading", "eventsourcing"} & set(ran):
        values["direct append batch"] = str(reading.BATCH)
        values["EventStore read chunk (its default)"] = str(chunk)
        values["eventsourcing insert batch / page"] = (
            f"{eventsourcing_baseline.BATCH} / {eventsourcing_baseline.PAGE}"
        )
    if "picture" in ran:
        values["BENCH_PICTURE_EVENTS"] = os.environ.get("BENCH_PICTURE_EVENTS", "(unset)")
        values["picture: events of the crisis"] = f"{picture_events:,}"
        values["picture: fill chunk / snapshot every / as-of samples"] = (
            f"{picture.CHUNK:,} / {picture.SNAPSHOT_EVERY:,} / {picture.SAMPLES} instants + "
            f"{picture.SAMPLES} positions"
        )
        values["picture: live events / rate"] = (
            f"{picture.LIVE_EVENTS:,} at {picture.LIVE_RATE:,} events/s"
        )
    if "intake" in ran:
        alerts, submits = intake_counts
        values["BENCH_INTAKE_ALERTS / BENCH_INTAKE_SUBMITS"] = (
            f"{os.environ.get('BENCH_INTAKE_ALERTS', '(unset)')} / "
            f"{os.environ.get('BENCH_INTAKE_SUBMITS', '(unset)')}"
        )
        values["intake: typical alerts parsed and mapped / runs"] = f"{alerts:,} / {intake.RUNS}"
        values["intake: EDXL-DE envelope runs"] = (
            f"{intake.ENVELOPE_RUNS} of {intake.ENVELOPE_FILE.name} "
            f"({intake.ENVELOPE_FILE.stat().st_size:,} bytes)"
        )
        values["intake: alerts submitted to the bus"] = (
            f"{submits:,}, one at a time, after {intake.WARMUP} untimed"
        )
        values["intake: typical alert"] = (
            f"{intake.SOURCE.name} grown to about {intake.ALERT_BYTES:,} bytes "
            f"({intake.POLYGON_POINTS}-point polygon added), one identifier each"
        )
    if "replay" in ran:
        values["BENCH_REPLAY_EVENTS"] = os.environ.get("BENCH_REPLAY_EVENTS", "(unset)")
        values["replay: events of the crisis"] = f"{replay_events:,}"
        values["replay: speed"] = "--max (speed=None), each publish acked before the next"
        values["replay: seeks timed (index_at / picture_at as of) / snapshot every"] = (
            f"{replay.LOOKUPS:,} / {replay.SAMPLES} instants / {replay.SNAPSHOT_EVERY:,} events"
        )
    if "shape" in ran:
        values["BENCH_SHAPE_EVENTS"] = os.environ.get("BENCH_SHAPE_EVENTS", "(unset)")
        values["picture shape: events of the crisis / runs"] = (
            f"{shape_events:,} / best of {picture_shape.RUNS}"
        )
    values["PostgreSQL"] = postgres_note
    return values


async def benchmarks(
    reporter: Reporter,
    ran: Sequence[str],
    counts: tuple[int, int, int],
    postgres: Postgres | None,
    intake_counts: tuple[int, int] = (intake.ALERTS, intake.SUBMITS),
    *,
    replay_events: int = replay.EVENTS,
    shape_events: int = picture_shape.EVENTS,
) -> tuple[list[Row], list[str], list[LogRecord]]:
    """The benchmarks in `ran`, in turn; the rows, the remarks, and the records the reads used."""
    recorded, read, picture_events = counts
    rows: list[Row] = []
    remarks: list[str] = []

    def take(result: dict[str, Any]) -> dict[str, Any]:
        rows.extend(result["rows"])
        remarks.extend(result["remarks"])
        return result

    raw: dict[str, Any] = {}
    if "raw" in ran:
        reporter.say(f"[bold]1. raw JetStream[/] ({recorded:,} events)")
        raw = take(
            await attempt(
                raw_jetstream.NAME,
                reporter,
                lambda: raw_jetstream.run(recorded, reporter=reporter),
            )
        )
    if "recording" in ran:
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
    records: list[LogRecord] = []
    if {"reading", "eventsourcing"} & set(ran):
        reporter.say(f"[bold]3. reading[/] ({read:,} events)")

        async def build() -> dict[str, Any]:
            built, core = reading.log_records(read, reporter)
            records.extend(built)
            return {"rows": [core], "remarks": []}

        take(await attempt(reading.CORE, reporter, build))
    if records and "reading" in ran:
        take(
            await attempt(
                "reading",
                reporter,
                lambda: reading.run(records, postgres=postgres, reporter=reporter),
            )
        )
    if records and "eventsourcing" in ran:
        reporter.say(f"[bold]4. eventsourcing baseline[/] ({read:,} events)")
        take(
            await attempt(
                "eventsourcing",
                reporter,
                lambda: eventsourcing_baseline.run(records, postgres=postgres, reporter=reporter),
            )
        )
    if "picture" in ran:
        reporter.say(f"[bold]5. picture[/] (a crisis of {picture_events:,} events)")
        # What the earlier benchmarks keep (the records read) stays out of the collector's scans,
        # which would otherwise pause this process while it times the live stream.
        gc.collect()
        gc.freeze()
        try:
            take(
                await attempt(
                    "picture", reporter, lambda: picture.run(picture_events, reporter=reporter)
                )
            )
        finally:
            gc.unfreeze()
    if "intake" in ran:
        alerts, submits = intake_counts
        reporter.say(
            f"[bold]6. intake[/] ({alerts:,} typical alerts parsed and mapped, the EDXL-DE "
            f"envelope, {submits:,} submitted to the bus)"
        )
        # As for the picture: what the earlier benchmarks keep stays out of the collector's scans.
        gc.collect()
        gc.freeze()
        try:
            take(
                await attempt(
                    "intake",
                    reporter,
                    lambda: intake.run(alerts, submits, reporter=reporter),
                )
            )
        finally:
            gc.unfreeze()
    if "replay" in ran:
        reporter.say(
            f"[bold]7. replay[/] (a crisis of {replay_events:,} events replayed at --max, then "
            "sought)"
        )
        take(await frozen("replay", reporter, lambda: replay.run(replay_events, reporter=reporter)))
    if "shape" in ran:
        take(await frozen("shape", reporter, lambda: _shape(shape_events, reporter)))
    return rows, remarks, records


async def _shape(events: int, reporter: Reporter) -> dict[str, Any]:
    reporter.say(
        f"[bold]8. picture shape[/] (a crisis of {events:,} events folded as dicts, then as "
        "frozen dataclasses)"
    )
    return await picture_shape.run(events, reporter=reporter)


async def main(argv: Sequence[str]) -> int:
    """Run the benchmarks asked for, write results.md, print the table; 1 if one failed."""
    ran = selected(argv)
    configure_logging("WARNING", "console")
    # SIGTERM, like Ctrl-C, cancels the run: the processes, folders and databases are released.
    task = asyncio.current_task()
    if task is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    console = Console()
    recorded, read = event_counts()
    picture_events = picture.event_count()
    intake_counts = intake.counts()
    replay_events = replay.event_count()
    shape_events = picture_shape.event_count()
    started_at = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    started = now()
    facts = machine.describe()
    postgres, postgres_note = await find()
    console.print(
        f"crisis-cell benchmarks ({', '.join(ran)}): {facts['nproc']} CPUs, {facts['CPU']}; "
        f"{postgres_note}"
    )
    with Reporter(console) as reporter:
        rows, remarks, records = await benchmarks(
            reporter,
            ran,
            (recorded, read, picture_events),
            postgres,
            intake_counts,
            replay_events=replay_events,
            shape_events=shape_events,
        )
    total = now() - started
    facts["load average at end (1, 5, 15 min)"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = verdicts(rows, ran, picture_events)
    write_results(
        RESULTS,
        started=started_at,
        total_seconds=total,
        machine=facts,
        parameters=parameters(
            ran,
            recorded=recorded,
            read=read,
            picture_events=picture_events,
            records=records,
            postgres_note=postgres_note,
            intake_counts=intake_counts,
            replay_events=replay_events,
            shape_events=shape_events,
        ),
        rows=rows,
        targets=lines,
        remarks=remarks,
        ran="all" if ran == NAMES else ", ".join(ran) + f" (of {', '.join(NAMES)})",
    )
    console.print(rich_table(rows))
    for line in lines:
        console.print(line, highlight=False, markup=False)
    console.print(f"wrote {RESULTS} ({total:.0f} s in all)")
    return 1 if any(row.failed for row in rows) else 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main(sys.argv[1:])))
    except (KeyboardInterrupt, asyncio.CancelledError):
        sys.exit("bench: interrupted; results.md was not written")
