"""`python -m bench.verify`: `crisis log verify` on a long log, against what it stands on.

Verification reads, with each record's payload, its columns as one text the database writes
(`bulk.columns_expression`), and hashes both: a changed column breaks the hash as a changed
payload does.

It fills a SQLite log with one long crisis (`long_crisis.py`, BENCH_VERIFY_EVENTS events,
default 1,000,000, made by a worker process as the picture benchmark does) and then, each in a
fresh process (`python -m bench.verify probe MODE DB_URL`), times:

- `links`: `EventStore.read_links` alone, every chunk of the crisis read and dropped: the floor;
- `hash`: the same, plus `chain_hash` of every link (its columns and its payload) and nothing
  else;
- `alone`: `verify_log` walking the chain in this process only (before parts);
- `verify`: `verify_log` with the database's URL, what `crisis log verify` runs (its progress bar
  aside): a long crisis in two parts at once, the second in a spawned process;
- `records`: the way verification read the log before: every column through SQLAlchemy
  (`read_rows`, the crisis' position order being its chain order) into `LogRecord`, then
  `verify_chain`.

Writes `results-verify.md`: events/s of each, and its ratio to the floor of the same run.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import orjson
from rich.console import Console

from bench import machine
from bench.clock import now
from bench.picture import CRISIS, _fill
from bench.report import Reporter
from services.eventlog.archive import verify_log
from services.eventlog.core import ChainCursor, LogRecord, verify_chain
from services.eventlog.hashing import chain_hash
from services.eventlog.schema import upgrade
from services.eventlog.store import EventStore
from services.runtime.database import make_engine
from services.runtime.logging import configure_logging

RESULTS = Path(__file__).with_name("results-verify.md")
EVENTS = 1_000_000
TARGET = 200_000
MODES = {
    "links": "read_links only (the floor)",
    "hash": "read_links + chain_hash of every link",
    "alone": "verify_log in this process alone (as before)",
    "verify": "verify_log with the database URL (crisis log verify: in two parts at once)",
    "records": "every column through SQLAlchemy into LogRecord + verify_chain (as before)",
}


def event_count() -> int:
    """BENCH_VERIFY_EVENTS, or the default."""
    return int(os.environ.get("BENCH_VERIFY_EVENTS", EVENTS))


async def probe(mode: str, url: str) -> dict[str, float]:
    """One timed pass over the crisis; what it saw."""
    store = EventStore(make_engine(url))
    seen = 0
    try:
        started = now()
        if mode in ("verify", "alone"):
            faults = await verify_log(store, database_url=url if mode == "verify" else None)
            if faults:
                raise SystemExit(f"the benchmark log does not verify: {faults}")
            seen = await store.count(CRISIS)
        elif mode == "records":
            cursor = ChainCursor()
            async for rows in store.read_rows(CRISIS, chunk=5000):
                _, cursor = verify_chain(CRISIS, [LogRecord(*row) for row in rows], cursor)
                seen += len(rows)
        else:
            async for links in store.read_links(CRISIS):
                if mode == "hash":
                    for link in links:
                        chain_hash(
                            link.prev_hash,
                            link.crisis_seq,
                            link.position,
                            link.columns,
                            link.payload,
                        )
                seen += len(links)
        return {"seconds": now() - started, "events": seen}
    finally:
        await store.close()


async def _run_probe(mode: str, url: str) -> dict[str, float]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.verify",
        "probe",
        mode,
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 600)
    if process.returncode != 0:
        raise RuntimeError(f"probe {mode} failed: {err.decode().strip()[-500:]}")
    result: dict[str, float] = orjson.loads(out.decode().strip().splitlines()[-1])
    return result


async def fill(url: str, count: int, reporter: Reporter) -> None:
    """The log of one crisis of `count` events."""
    store = EventStore(make_engine(url))
    try:
        await upgrade(store.engine)
        with reporter.step(f"fill the log ({count:,} events)", total=count) as update:
            await _fill(store, count, update)
    finally:
        await store.close()


def write(results: dict[str, dict[str, float]], count: int, started: str, seconds: float) -> str:
    """Overwrite results-verify.md; its text."""
    floor = results["links"]["seconds"]
    lines = [
        "# crisis log verify, against its floor",
        "",
        f"Run on {started}, {seconds:.0f} s in all (`python -m bench.verify`; overwritten by "
        "each run).",
        "",
        "## Machine",
        "",
        *(f"- {key}: {value}" for key, value in machine.describe().items()),
        "",
        "## Results",
        "",
        f"One crisis of {count:,} events on SQLite, each pass in a fresh process.",
        "",
        "| pass | seconds | events/s | time over the floor |",
        "|---|--:|--:|--:|",
    ]
    for mode, label in MODES.items():
        result = results[mode]
        rate = result["events"] / result["seconds"]
        lines.append(
            f"| {label} | {result['seconds']:.2f} | {rate:,.0f} | "
            f"{result['seconds'] / floor:.2f}x |"
        )
    verify = results["verify"]
    rate = verify["events"] / verify["seconds"]
    verdict = "met" if rate >= TARGET else "**not met**"
    lines += [
        "",
        "## Target",
        "",
        f"- `crisis log verify` at ≥ {TARGET:,} events/s on a 1M-event log: {verdict} "
        f"({rate:,.0f} events/s on {count:,})",
        "",
    ]
    text = "\n".join(lines)
    RESULTS.write_text(text, encoding="utf-8")
    return text


async def main() -> int:
    """Fill a log, time each pass in its own process, write the results."""
    configure_logging("WARNING", "console")
    count = event_count()
    started_at = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    started = now()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="crisis-bench-verify-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'crisis.db'}"
        with Reporter(Console()) as reporter:
            await fill(url, count, reporter)
            for mode, label in MODES.items():
                with reporter.step(f"{label}, fresh process"):
                    results[mode] = await _run_probe(mode, url)
                reporter.say(
                    f"  {label}: {results[mode]['events'] / results[mode]['seconds']:,.0f} /s"
                )
    print(write(results, count, started_at, now() - started))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["probe"]:
        print(orjson.dumps(asyncio.run(probe(sys.argv[2], sys.argv[3]))).decode())
        sys.exit(0)
    multiprocessing.freeze_support()
    sys.exit(asyncio.run(main()))
