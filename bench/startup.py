"""How long `crisis up` takes to be ready on a long log: the picture benchmark's last step.

`crisis up` as its own process (embedded, secured nats-server; every service) on the picture
benchmark's log, its snapshots left by the snapshotting pass. Ready is when the run file is
written: after every service has started, the shared picture resumed from the snapshots and
caught up with the stream. Timed from the spawn, the interpreter's start and imports included.
The stream is fresh (the log was filled directly): the picture folds only what its snapshot does
not hold, which is what a restart on a stream that holds the log's events folds too.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import orjson

from bench.clock import now
from bench.procs import BenchError, crisis, peak_rss_kib, tail
from bench.report import Row
from services.runtime.discovery import read_run_info

START_UP = "crisis up: ready on the log (every service, picture resumed)"
READY_WITHIN_S = 5.0


async def ready_row(var_dir: Path, database_url: str, events: int, *, timeout: float) -> Row:
    """Start `crisis up` on `database_url` and time it until ready; stop it."""
    run_file = var_dir / "run.json"
    run_file.unlink(missing_ok=True)
    log = var_dir / "up.log"
    environment = {
        **os.environ,
        "CRISIS_DB_URL": database_url,
        "CRISIS_VAR_DIR": str(var_dir),
        "CRISIS_LOG_LEVEL": "INFO",
        "CRISIS_LOG_FORMAT": "json",
        **{f"CRISIS_{name}_PORT": "0" for name in ("PICTURE", "INTAKE", "CONSOLE", "OPS")},
    }
    environment.pop("CRISIS_NATS_URL", None)  # the embedded server, as a fresh machine has it
    started = now()
    async with crisis(["up"], environment, var_dir, log) as process:
        while read_run_info(run_file) is None:
            if process.returncode is not None:
                raise BenchError(f"crisis up exited ({process.returncode}):\n{tail(log)}")
            if now() - started > timeout:
                raise BenchError(f"crisis up not ready after {timeout:.0f} s:\n{tail(log)}")
            await asyncio.sleep(0.02)
        seconds = now() - started
        rss = peak_rss_kib(process.pid)
    resumed = _resumed_from(log)
    return Row(
        START_UP,
        "SQLite + JetStream",
        events,
        seconds,
        f"spawn to run file written, imports included; {resumed}; "
        f"peak RSS {(rss or 0) / 1024:,.0f} MiB; ready within {READY_WITHIN_S:g} s: "
        f"{'met' if seconds < READY_WITHIN_S else 'not met'}",
        peak_mib=(rss or 0) / 1024,
    )


def _resumed_from(log: Path) -> str:
    """What the log of `crisis up` says the picture resumed from."""
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if '"picture.resumed"' in line:
            said = orjson.loads(line)
            return (
                f"picture resumed from {said['snapshots']} snapshot(s), folding from "
                f"#{said['start']:,}"
            )
    return "no resume line in the log"
