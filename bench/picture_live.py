"""`python -m bench.picture_live`: the picture service's live path, publish → SSE client.

For each rate (BENCH_LIVE_RATES, default 1,000 and 5,000 events/s), on a fresh nats-server and a
fresh `crisis service picture` process (its own SQLite): this process follows
`GET /crises/<crisis>/events` (SSE, with a service token) and, as the floor, an ordered push
consumer on the CRISIS stream (what the picture service itself follows the stream with), while
it publishes the events of one long crisis (`long_crisis.py`), encoded beforehand as
`publish_event` sends them, paced on the monotonic clock in batches per tick. An event's delay
is its arrival (the SSE chunk holding its `data:` line, or the floor's callback) minus its send,
on this process' clock. BENCH_LIVE_EVENTS: the events per rate (one count, or one per rate;
default 5 s of each rate, at least 10,000). Writes `results-picture-live.md`; `picture.py`
measures its live part with `measure` too.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy
from rich.console import Console

from bench import machine
from bench.clock import now
from bench.live_path import (
    GRACE_S,
    TICK_S,
    Arrivals,
    Outgoing,
    Paced,
    floor_receiver,
    follow_sse,
    outgoing,
    publish_paced,
)
from bench.procs import (
    BenchError,
    Process,
    cpu_seconds,
    machine_busy_seconds,
    peak_rss_kib,
    service,
    tail,
)
from bench.report import Reporter, Row, Update, percentile
from schemas import subjects
from services.auth.sessions import SessionStore
from services.cell.people import People, Role
from services.eventlog.schema import upgrade
from services.runtime.bus import connect
from services.runtime.database import make_engine
from services.runtime.embedded import EmbeddedNatsServer, free_port
from services.runtime.logging import configure_logging
from services.runtime.settings import Settings, load_settings
from services.runtime.topology import CRISIS_STREAM, topology

RESULTS = Path(__file__).with_name("results-picture-live.md")
CRISIS = "bench-picture-live"
RATES = (1000, 5000)
SECONDS_PER_RATE = 5
LEAST_EVENTS = 10_000
# The issue's targets: publish → SSE client p99 by rate, and CPU per event in the service.
P99_TARGETS_MS = {1000: 50.0, 5000: 250.0}
TARGET_CPU_US = 100.0
PICTURE, NATS, BENCH = "picture service", "nats-server", "bench process"
BACKEND = "SQLite + JetStream"


def _numbers(name: str) -> list[int]:
    given = os.environ.get(name, "").replace("_", "").strip()
    return [int(part) for part in given.split(",") if part.strip()]


def runs() -> list[tuple[int, int]]:
    """(rate, events) of each run: BENCH_LIVE_RATES and BENCH_LIVE_EVENTS, or the defaults."""
    rates = _numbers("BENCH_LIVE_RATES") or list(RATES)
    counts = _numbers("BENCH_LIVE_EVENTS") or [
        max(LEAST_EVENTS, SECONDS_PER_RATE * rate) for rate in rates
    ]
    if len(counts) == 1:
        counts *= len(rates)
    if len(counts) != len(rates) or min(rates + counts) < 1:
        raise SystemExit("BENCH_LIVE_EVENTS: one positive count, or one per BENCH_LIVE_RATES rate")
    return list(zip(rates, counts, strict=True))


# -- one run: a fresh nats-server and picture service --------------------------------------------


@dataclass(frozen=True, slots=True)
class Live:
    """What one run measured; delays in seconds."""

    rate: float
    events: int
    sse_s: list[float]
    floor_s: list[float]
    # What the picture service adds to each event both receivers got: its SSE minus floor delay.
    added_s: list[float]
    paced: Paced
    last_sse: float
    cpu: dict[str, float]
    # What the machine's other processes used meanwhile, in cores: the noise of the run.
    others_cores: float
    peak_rss_kib: int | None = None
    # The picture service dropped the SSE client (its queue of changes was full).
    dropped: bool = False

    @property
    def kept_up(self) -> bool:
        """Every event reached the SSE client within the grace period."""
        return len(self.sse_s) == self.events

    @property
    def outcome(self) -> str:
        """Kept up, or how it did not."""
        if self.kept_up:
            return "kept up"
        if self.dropped:
            return "dropped by the service, its queue of changes full"
        return f"not all within {GRACE_S:g} s of the last send"

    @property
    def receive_rate(self) -> float:
        """Changes received per second, from the first send to the last change."""
        span = self.last_sse - self.paced.first
        return len(self.sse_s) / span if span > 0 else 0.0

    def cpu_us(self, process: str) -> float:
        """µs of CPU per change received, of one process."""
        return self.cpu[process] / max(len(self.sse_s), 1) * 1e6


def ms(delays_s: Sequence[float], fraction: float) -> float:
    """A percentile of delays in seconds, in ms (NaN when there are none)."""
    return percentile(delays_s, fraction) * 1000 if delays_s else float("nan")


async def wait_serving(client: httpx.AsyncClient, process: Process, log: Path) -> None:
    """Wait until the picture service answers on its HTTP port."""
    deadline = now() + 60
    while True:
        if process.returncode is not None:
            raise BenchError(f"the picture service exited ({process.returncode}):\n{tail(log)}")
        with contextlib.suppress(httpx.TransportError):
            if (await client.get("/health")).status_code == httpx.codes.OK:
                return
        if now() > deadline:
            raise BenchError(f"the picture service did not answer within 60 s:\n{tail(log)}")
        await asyncio.sleep(0.1)


async def reader_token(database: str) -> str:
    """A service token for the benchmark's SSE client, in the picture service's database."""
    engine = make_engine(database)
    try:
        await upgrade(engine)
        token, _ = await SessionStore(engine, People).issue_service(
            "service:bench", Role.OBSERVER, ttl=timedelta(hours=6)
        )
    finally:
        await engine.dispose()
    return token


@contextlib.contextmanager
def _frozen() -> Iterator[None]:
    """What was built before the timed part stays out of the collector's scans during it."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _cpu(pids: dict[str, int | None]) -> dict[str, float]:
    return {name: cpu_seconds(pid) for name, pid in pids.items()}


async def _connected(reader: asyncio.Task[None], connected: asyncio.Event) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(connected.wait(), 10)
    if reader.done():
        await reader
        raise BenchError("the SSE stream ended before any event was published")
    if not connected.is_set():
        raise BenchError("the SSE stream sent nothing within 10 s")


async def _timed(
    js: JetStreamContext,
    client: httpx.AsyncClient,
    messages: Sequence[Outgoing],
    *,
    rate: float,
    pids: dict[str, int | None],
    update: Update,
) -> Live:
    """Both receivers on, publish, then wait (to GRACE_S after the last send) for everything."""
    sent: dict[str, float] = {}
    sse, floor = Arrivals(len(messages)), Arrivals(len(messages))
    subscription = await js.subscribe(
        subjects.LIVE_ALL,
        stream=CRISIS_STREAM,
        ordered_consumer=True,
        deliver_policy=DeliverPolicy.ALL,
        cb=floor_receiver(floor),
    )
    connected = asyncio.Event()
    reader = asyncio.create_task(
        follow_sse(client, f"/crises/{CRISIS}/events", sse, connected, update)
    )
    floored = asyncio.create_task(floor.done.wait())
    try:
        await _connected(reader, connected)
        before, busy, started = _cpu(pids), machine_busy_seconds(), now()
        paced = await publish_paced(js, messages, rate, sent)
        await asyncio.wait({reader, floored}, timeout=max(GRACE_S - (now() - paced.last), 0.1))
        cpu = {name: spent - before[name] for name, spent in _cpu(pids).items()}
        others = machine_busy_seconds() - busy - sum(cpu.values())
        others_cores = max(others, 0.0) / (now() - started)
    finally:
        for task in (reader, floored):
            task.cancel()
        await asyncio.gather(reader, floored, return_exceptions=True)
        await subscription.unsubscribe()
    if not reader.cancelled() and (error := reader.exception()) is not None:
        raise BenchError(f"the SSE client failed: {type(error).__name__}: {error}")
    return Live(
        rate,
        len(messages),
        sse.delays_s(sent),
        floor.delays_s(sent),
        [at - floor.at[event_id] for event_id, at in sse.at.items() if event_id in floor.at],
        paced,
        max(sse.at.values(), default=paced.first),
        cpu,
        others_cores,
    )


async def measure(root: Path, rate: float, count: int, reporter: Reporter) -> Live:
    """One run at `rate` with `count` events, on a fresh nats-server and picture service."""
    server = EmbeddedNatsServer(root / "jetstream")
    await server.astart()
    try:
        # The streams exist before the service starts: its consumer does not declare them.
        plan = topology(load_settings())
        async with connect(server.url, name="bench-picture-live", plan=plan) as bus:
            port = free_port()
            log = root / "picture.log"
            database = f"sqlite+aiosqlite:///{root / 'picture.db'}"
            # Reading the picture needs a token, as anyone's: the benchmark is a service reader.
            token = await reader_token(database)
            async with (
                service(
                    "picture",
                    server.url,
                    database,
                    root,
                    env={"CRISIS_PICTURE_HOST": "127.0.0.1", "CRISIS_PICTURE_PORT": str(port)},
                    log=log,
                ) as process,
                httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{port}",
                    timeout=httpx.Timeout(10.0, read=None),
                    headers={"Authorization": f"Bearer {token}"},
                ) as client,
            ):
                with reporter.step(f"{rate:,.0f}/s: picture service starts; events encoded"):
                    messages = outgoing(CRISIS, count)
                    await wait_serving(client, process, log)
                pids = {PICTURE: process.pid, NATS: server.pid, BENCH: os.getpid()}
                label = f"{rate:,.0f}/s: changes received over SSE"
                with _frozen(), reporter.step(label, total=count) as update:
                    live = await _timed(
                        bus.js, client, messages, rate=rate, pids=pids, update=update
                    )
                # Read before the stop: the peak is of the service's working life.
                rss = peak_rss_kib(process.pid)
    finally:
        await server.astop()
    return replace(live, peak_rss_kib=rss, dropped="picture.listener_dropped" in tail(log, 200))


# -- what a run says ---------------------------------------------------------------------------


def summary(live: Live) -> str:
    """One run in words, for a row's notes."""
    parts = [
        f"received {len(live.sse_s):,} of {live.events:,} over SSE "
        f"({live.outcome}; {live.receive_rate:,.0f}/s), floor {len(live.floor_s):,}",
        f"SSE p50 {ms(live.sse_s, 0.5):,.1f} ms, p99 {ms(live.sse_s, 0.99):,.1f} ms, "
        f"max {ms(live.sse_s, 1):,.0f} ms",
        f"floor (ordered consumer in this process) p50 {ms(live.floor_s, 0.5):,.1f} ms, "
        f"p99 {ms(live.floor_s, 0.99):,.1f} ms",
        f"added by the picture service p50 {ms(live.added_s, 0.5):,.1f} ms, "
        f"p99 {ms(live.added_s, 0.99):,.1f} ms",
        f"sent at {live.paced.rate(live.events):,.0f}/s, at most "
        f"{live.paced.max_lag_s * 1000:,.1f} ms behind schedule, {live.paced.failed} acks failed",
        "CPU µs/event: " + ", ".join(f"{name} {live.cpu_us(name):,.0f}" for name in live.cpu),
        f"other processes of the machine meanwhile {live.others_cores:.2f} cores",
    ]
    if live.peak_rss_kib is not None:
        parts.append(f"picture service peak RSS {live.peak_rss_kib / 1024:,.0f} MiB")
    return "; ".join(parts)


def row(live: Live, name: str) -> Row:
    """One run as a row of results.md, judged against the live target."""
    return Row(
        name,
        BACKEND,
        len(live.sse_s),
        live.last_sse - live.paced.first,
        summary(live),
        target="live",
        p50_ms=ms(live.sse_s, 0.5),
        p99_ms=ms(live.sse_s, 0.99),
    )


COLUMNS = (
    "rate /s",
    "received SSE / floor",
    "kept up",
    "received /s",
    "sent /s (max lag)",
    "SSE p50 / p99 / max ms",
    "floor p50 / p99 ms",
    "added p50 / p99 ms",
    f"CPU µs/event: {PICTURE} / {NATS} / {BENCH}",
    "others' CPU",
    "picture peak RSS",
)


def _cells(live: Live) -> list[str]:
    rss = "—" if live.peak_rss_kib is None else f"{live.peak_rss_kib / 1024:,.0f} MiB"
    return [
        f"{live.rate:,.0f}",
        f"{len(live.sse_s):,} / {len(live.floor_s):,} of {live.events:,}",
        "yes" if live.kept_up else f"**no**: {live.outcome}",
        f"{live.receive_rate:,.0f}",
        f"{live.paced.rate(live.events):,.0f} ({live.paced.max_lag_s * 1000:,.1f} ms)",
        f"{ms(live.sse_s, 0.5):,.1f} / {ms(live.sse_s, 0.99):,.1f} / {ms(live.sse_s, 1):,.0f}",
        f"{ms(live.floor_s, 0.5):,.1f} / {ms(live.floor_s, 0.99):,.1f}",
        f"{ms(live.added_s, 0.5):,.1f} / {ms(live.added_s, 0.99):,.1f}",
        " / ".join(f"{live.cpu_us(name):,.0f}" for name in (PICTURE, NATS, BENCH)),
        f"{live.others_cores:.2f} cores",
        rss,
    ]


def table(results: Sequence[tuple[int, int, Live | str]]) -> list[str]:
    """The results as a Markdown table: one line per run, or why it failed."""
    lines = [f"| {' | '.join(COLUMNS)} |", "|" + "--:|" * len(COLUMNS)]
    for rate, count, result in results:
        if isinstance(result, Live):
            lines.append(f"| {' | '.join(_cells(result))} |")
        else:
            failed = [f"{rate:,}", f"0 of {count:,}: FAILED: {result}"]
            lines.append(f"| {' | '.join(failed + [''] * (len(COLUMNS) - 2))} |")
    return lines


def verdicts(lives: Sequence[Live]) -> list[str]:
    """Each target, met or not, from the numbers."""
    lines = []
    for rate, limit in P99_TARGETS_MS.items():
        label = f"at {rate:,} events/s: every event received and publish → SSE client p99 < "
        judged = [live for live in lives if live.rate == rate]
        if not judged:
            lines.append(f"- {label}{limit:g} ms: not measured")
        for live in judged:
            p99 = ms(live.sse_s, 0.99)
            met = live.kept_up and p99 < limit
            lines.append(
                f"- {label}{limit:g} ms: **{'met' if met else 'not met'}** "
                f"({len(live.sse_s):,} of {live.events:,} received, p99 {p99:,.1f} ms, "
                f"{p99 / limit:.0%} of the limit)"
            )
    for live in lives:
        spent = live.cpu_us(PICTURE)
        lines.append(
            f"- under {TARGET_CPU_US:g} µs of CPU per event in the picture service at "
            f"{live.rate:,.0f} events/s: **{'met' if spent < TARGET_CPU_US else 'not met'}** "
            f"({spent:,.0f} µs, {spent / TARGET_CPU_US:.0%} of the limit)"
        )
    return lines


def parameters(plan: Sequence[tuple[int, int]]) -> list[str]:
    """What the run was asked to do."""
    snapshot_every = Settings.model_fields["picture_snapshot_every"].default
    values = {
        "runs": "; ".join(f"{count:,} events at {rate:,}/s" for rate, count in plan),
        "BENCH_LIVE_RATES / BENCH_LIVE_EVENTS": " / ".join(
            os.environ.get(name, "(unset)") for name in ("BENCH_LIVE_RATES", "BENCH_LIVE_EVENTS")
        ),
        "crisis": f"`long_crisis.LongCrisis({CRISIS!r}, events)`, its default seed",
        "publisher": "`js.publish_async` of pre-encoded events, the ones then due, at most every "
        f"{TICK_S * 1000:g} ms; acks awaited after the last send",
        "floor": "ordered push consumer on the CRISIS stream (`crisis.>`), in this process",
        "grace after the last send": f"{GRACE_S:g} s",
        "picture service": f"`crisis service picture`, fresh SQLite, snapshot every "
        f"{snapshot_every:,} events (the default)",
    }
    return [f"- {key}: {value}" for key, value in values.items()]


REMARKS = (
    "Each run has its own nats-server and `crisis service picture` process, started before the "
    "events are encoded; the stream is empty when the run starts.",
    "Sent: this process' monotonic clock just before `js.publish_async` for that event, the "
    "event's bytes and headers made beforehand by `encode` and `headers_for` as `publish_event` "
    "makes them, on the subject `subjects.live` gives. Max lag: the latest a batch went out "
    "after its first event was due: how far the publisher fell behind the rate.",
    "SSE: `GET /crises/<crisis>/events` read with httpx (`aiter_bytes`), the clock read once per "
    "chunk, every `data:` line in it parsed with orjson for its `event_id`. Floor: an ordered "
    "push consumer (nats-py, flow control and heartbeats as the picture service's own) on the "
    "same subjects, in this process, timing each message by its `Nats-Msg-Id` header without "
    "decoding it. Added: each event's SSE arrival minus its floor arrival.",
    "Kept up: every change reached the SSE client within the grace period after the last send. "
    "Received /s: changes received over the span from the first send to the last change.",
    "CPU: user + system time of each process (/proc) from just before the first send to the "
    "end of the wait, over the changes the SSE client received. The bench process publishes, "
    "reads the SSE stream and runs the floor: its CPU is shared with the two others on the "
    "machine's cores. Others' CPU: what the rest of the machine used meanwhile (/proc/stat, "
    "less these three), in cores: other work running on the machine skews the delays.",
)


def write(
    plan: Sequence[tuple[int, int]],
    results: Sequence[tuple[int, int, Live | str]],
    facts: dict[str, str],
    *,
    started: str,
    seconds: float,
) -> str:
    """Overwrite results-picture-live.md with this run; its text."""
    lives = [result for _, _, result in results if isinstance(result, Live)]
    lines = [
        "# The picture service's live path: publish → SSE client, with the floor",
        "",
        f"Run on {started}, {seconds:.0f} s in all (`python -m bench.picture_live`; "
        "overwritten by each run).",
        "",
        "## Machine",
        "",
        *(f"- {key}: {value}" for key, value in facts.items()),
        "",
        "## Parameters",
        "",
        *parameters(plan),
        "",
        "## Results",
        "",
        *table(results),
        "",
        "## Targets",
        "",
        *verdicts(lives),
        "",
        "## What each number includes",
        "",
        *(f"- {remark}" for remark in REMARKS),
        "",
    ]
    text = "\n".join(lines)
    RESULTS.write_text(text, encoding="utf-8")
    return text


async def main() -> int:
    """Run each rate in turn, write the results; 1 if a run failed or did not keep up."""
    configure_logging("WARNING", "console")
    task = asyncio.current_task()
    if task is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    plan = runs()
    console = Console()
    started_at = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    started = now()
    facts = machine.describe()
    results: list[tuple[int, int, Live | str]] = []
    with Reporter(console) as reporter:
        for rate, count in plan:
            with tempfile.TemporaryDirectory(prefix="crisis-bench-picture-live-") as tmp:
                try:
                    live = await measure(Path(tmp), rate, count, reporter)
                # A run that fails is a line saying why; the next rate is still measured.
                except Exception as exc:  # noqa: BLE001
                    results.append((rate, count, f"{type(exc).__name__}: {exc}"))
                    reporter.say(f"  [red]✗[/] {rate:,}/s: {results[-1][2]}")
                    continue
            results.append((rate, count, live))
            reporter.say(f"  {rate:,}/s: {summary(live)}")
    facts["load average at end (1, 5, 15 min)"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    text = write(plan, results, facts, started=started_at, seconds=now() - started)
    print(text)
    lives = [result for _, _, result in results if isinstance(result, Live)]
    return 0 if len(lives) == len(plan) and all(live.kept_up for live in lives) else 1


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except (KeyboardInterrupt, asyncio.CancelledError):
        sys.exit("bench.picture_live: interrupted; the results were not written")
