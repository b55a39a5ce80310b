"""The processes a benchmark starts: the publisher and the recorder, stopped whatever happens."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from bench.clock import now
from services.runtime.topology import CRISIS_STREAM, EVENTLOG_DURABLE

ROOT = Path(__file__).resolve().parent.parent
RECORDER_LOG = "recorder.log"
Process = asyncio.subprocess.Process


class BenchError(RuntimeError):
    """A benchmark could not be run to the end."""


def die_with_parent() -> None:
    """In the child: have Linux stop it if the bench process dies without cleaning up."""
    if sys.platform == "linux":
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def peak_rss_kib(pid: int) -> int | None:
    """Peak resident memory of a live process (VmHWM), in KiB; None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def cpu_seconds(pid: int | None) -> float:
    """User plus system CPU time a live process has used so far (0 when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text() if pid else ""
    except OSError:
        return 0.0
    if not stat:
        return 0.0
    # Fields after the command name, which is in parentheses and may hold spaces.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time every process of the machine has used so far (user, nice, system, interrupts)."""
    try:
        first = Path("/proc/stat").read_text().split("\n", 1)[0]
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq = map(int, first.split()[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def cpu_per_event(seconds: dict[str, float], events: int) -> str:
    """CPU spent per event by each process, for the notes: where the two cores went."""
    parts = ", ".join(f"{name} {cpu / events * 1e6:,.0f}" for name, cpu in seconds.items())
    return f"CPU µs/event: {parts}"


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log file, for an error message."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


async def stop(process: Process, *, timeout: float = 20.0) -> None:
    """SIGTERM (a clean stop), then SIGKILL if the process hangs."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


@dataclass(frozen=True, slots=True)
class PublishReport:
    """What the publisher process measured on the shared clock."""

    first_publish: float
    last_ack: float
    published: int
    duplicates: int
    cpu: float

    @property
    def seconds(self) -> float:
        """From the first publish to the last JetStream ack the publisher received."""
        return self.last_ack - self.first_publish


class Publisher:
    """`python -m bench.publisher`: builds its events, waits for `go`, publishes, reports."""

    def __init__(self, process: Process, log: Path) -> None:
        self.process = process
        self.log = log

    @classmethod
    @asynccontextmanager
    async def started(
        cls, url: str, events: int, *, mode: str, concurrency: int, log: Path
    ) -> AsyncIterator[Publisher]:
        """Start the publisher process; it is stopped on exit if it is still running."""
        args = ["--url", url, "--events", str(events), "--mode", mode]
        with log.open("wb") as err:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.publisher",
                *args,
                "--concurrency",
                str(concurrency),
                cwd=ROOT,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=err,
                # Only a prctl call runs between fork and exec: no lock can be left held.
                preexec_fn=die_with_parent,
            )
        try:
            yield cls(process, log)
        finally:
            await stop(process)

    async def _line(self, timeout: float) -> str:
        if self.process.stdout is None:
            raise BenchError("the publisher was started without a pipe on its stdout")
        raw = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not raw:
            await self.process.wait()
            raise BenchError(f"publisher exited ({self.process.returncode}):\n{tail(self.log)}")
        return raw.decode().strip()

    async def ready(self, *, timeout: float = 300.0) -> None:
        """Wait until the events are built and the connection is up."""
        line = await self._line(timeout)
        if line != "ready":
            raise BenchError(f"publisher said {line!r} instead of 'ready'")

    async def go(self) -> None:
        """Start publishing."""
        if self.process.stdin is None:
            raise BenchError("the publisher was started without a pipe on its stdin")
        self.process.stdin.write(b"go\n")
        await self.process.stdin.drain()

    async def report(self, *, timeout: float) -> PublishReport:
        """The publisher's measurements, once it has published everything."""
        data = json.loads(await self._line(timeout))
        await asyncio.wait_for(self.process.wait(), 30)
        return PublishReport(**data)


def crisis_command() -> Path:
    """The `crisis` command of this environment."""
    return Path(sys.executable).parent / "crisis"


@asynccontextmanager
async def crisis(
    args: Sequence[str], environment: dict[str, str], cwd: Path, log: Path
) -> AsyncIterator[Process]:
    """`crisis ARGS` as its own process, its output in `log`; stopped (SIGTERM) on exit."""
    with log.open("wb") as out:
        # Run from the temporary folder, so that no `.env` of the work tree changes its settings.
        process = await asyncio.create_subprocess_exec(
            str(crisis_command()),
            *args,
            cwd=cwd,
            env=environment,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            # Only a prctl call runs between fork and exec: no lock can be left held.
            preexec_fn=die_with_parent,
        )
    try:
        yield process
    finally:
        await stop(process)


@asynccontextmanager
async def service(
    name: str,
    nats_url: str,
    db_url: str,
    var_dir: Path,
    *,
    env: dict[str, str] | None = None,
    log: Path | None = None,
) -> AsyncIterator[Process]:
    """`crisis service <name>` as its own process; stopped (SIGTERM) on exit."""
    environment = {
        **os.environ,
        "CRISIS_NATS_URL": nats_url,
        "CRISIS_DB_URL": db_url,
        "CRISIS_VAR_DIR": str(var_dir),
        "CRISIS_LOG_LEVEL": "WARNING",
        **(env or {}),
    }
    async with crisis(
        ["service", name], environment, var_dir, log or var_dir / f"{name}.log"
    ) as process:
        yield process


@asynccontextmanager
async def recorder(nats_url: str, db_url: str, var_dir: Path) -> AsyncIterator[Process]:
    """`crisis service eventlog` as its own process; stopped (SIGTERM) on exit."""
    async with service(
        "eventlog", nats_url, db_url, var_dir, log=var_dir / RECORDER_LOG
    ) as process:
        yield process


async def wait_consuming(
    process: Process, js: JetStreamContext, log: Path, *, timeout: float = 60.0
) -> None:
    """Wait until the recorder has migrated its database and made its durable consumer."""
    deadline = now() + timeout
    while True:
        if process.returncode is not None:
            raise BenchError(f"recorder exited ({process.returncode}):\n{tail(log)}")
        with contextlib.suppress(NotFoundError):
            await js.consumer_info(CRISIS_STREAM, EVENTLOG_DURABLE)
            return
        if now() > deadline:
            raise BenchError(f"recorder not consuming after {timeout:.0f} s:\n{tail(log)}")
        await asyncio.sleep(0.1)
