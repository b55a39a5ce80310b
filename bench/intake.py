"""The intake: CAP alerts parsed and mapped, a large EDXL-DE envelope, and the path to the bus.

1. `Intake.take` over BENCH_INTAKE_ALERTS distinct typical alerts (default 5,000): the Vigicrues
   red vigilance of the corpus (`cap12_vigicrues_rouge_vesubie.xml`) grown to about 5 KB, the
   size of a real vigilance message (a longer description and a third area with a 40-point
   polygon), each with its own identifier so that each one is a new incident. A fresh
   `CorrelationIndex` per run, which learns each outcome's keys as the callers do; median of
   RUNS runs. Measured in a fresh process, so that its peak RSS is its own.
2. In the same process, `Intake.take` on `edxl_de_large.xml` (about 330 KB, 60 CAP alerts of two
   languages each), a fresh index each time so that every alert is new; median of ENVELOPE_RUNS.
3. `LiveIntake.submit` of BENCH_INTAKE_SUBMITS distinct typical alerts (default 2,000), one after
   the other, on a fresh nats-server: each stores the input in the object store and publishes its
   event, and returns once JetStream acked them; latency of each submit.
4. The same with FEEDS feeds submitting at once (each its share of the alerts, one after the
   other), on another fresh nats-server: what several feeds get from the one live intake.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import os
import resource
import statistics
import tempfile
import tracemalloc
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from bench.clock import now
from bench.procs import ROOT, BenchError, cpu_seconds
from bench.report import Reporter, Row, Update, failure
from services.intake.app import LiveIntake
from services.intake.core import Intake, IntakeConfig, Outcome
from services.intake.correlation import CorrelationIndex
from services.intake.mapping import OBJECT_BUCKET
from services.runtime.bus import connect
from services.runtime.embedded import EmbeddedNatsServer
from services.runtime.logging import configure_logging
from services.runtime.memory import tune_for_services
from services.runtime.settings import Settings
from services.runtime.topology import CRISIS_STREAM, topology

ALERTS = 5000
LEAST_ALERTS = 100
SUBMITS = 2000
LEAST_SUBMITS = 100
RUNS = 3
ENVELOPE_RUNS = 10
WARMUP = 20
FEEDS = 4
ALERT_BYTES = 5000
POLYGON_POINTS = 40
FEED = "vigicrues"

CORPUS = ROOT / "tests" / "data" / "intake"
SOURCE = CORPUS / "cap12_vigicrues_rouge_vesubie.xml"
ENVELOPE_FILE = CORPUS / "edxl_de_large.xml"
IDENTIFIER = "FR-VIGICRUES-SPC-MEDEST-20201002T160000-VESUBIE"

PARSE = "intake: Intake.take, typical 5 KB CAP 1.2 alerts (parse + map)"
ENVELOPE = "intake: Intake.take, 330 KB EDXL-DE envelope of 60 alerts"
BUS = "intake: LiveIntake.submit → object store + event acked by JetStream"
BUS_FEEDS = f"intake: LiveIntake.submit, {FEEDS} feeds at once → object store + event acked"

# What a Vigicrues message says besides the corpus' description: enough of it, in turn, to
# bring the alert to about ALERT_BYTES.
_SITUATION = (
    "Situation à 16h00 : la station de Saint-Martin-Vésubie a cessé d'émettre vers 15h10 après "
    "une montée de plus de trois mètres en deux heures.",
    "À Roquebillière et à Lantosque, les observateurs de terrain signalent des débordements "
    "généralisés, l'effondrement partiel de plusieurs ouvrages et l'érosion des remblais de la "
    "route métropolitaine M2565.",
    "Les apports de la Gordolasque et du Boréon restent très importants ; des embâcles se forment "
    "au droit des ponts et peuvent céder brutalement.",
    "Les cumuls prévus d'ici 22h00 atteignent encore 80 à 120 mm sur le haut bassin : aucune "
    "amélioration n'est attendue avant la fin de la nuit.",
    "En aval, la confluence avec le Var à Saint-Jean-la-Rivière et Plan-du-Var est sous "
    "surveillance renforcée ; la vigilance orange est maintenue sur le Var moyen.",
    "Les hauteurs observées dépassent celles de novembre 1926 et de novembre 2000 sur l'ensemble "
    "du tronçon.",
    "Prochain bulletin à 20h00, ou plus tôt en cas d'évolution significative.",
)


def _count(variable: str, default: int, least: int) -> int:
    given = os.environ.get(variable, "").replace("_", "").replace(",", "").strip()
    if not given:
        return default
    count = int(given)
    if count < least:
        raise SystemExit(f"{variable} must be at least {least}")
    return count


def counts() -> tuple[int, int]:
    """Alerts parsed and mapped, and alerts submitted to the bus: the variables, or defaults."""
    return (
        _count("BENCH_INTAKE_ALERTS", ALERTS, LEAST_ALERTS),
        _count("BENCH_INTAKE_SUBMITS", SUBMITS, LEAST_SUBMITS),
    )


def polygon(number: int) -> str:
    """A closed CAP polygon ("lat,lon …", POLYGON_POINTS points, the first repeated last).

    Around Roquebillière, star-shaped about its centre (so never self-intersecting), a little
    different for each alert.
    """
    lat0, lon0 = 44.0120, 7.3050
    sides = POLYGON_POINTS - 1
    phase = (number % 97) * 0.061
    points = []
    for k in range(sides):
        angle = 2 * math.pi * k / sides
        radius_km = 2.0 + 0.45 * math.sin(3 * angle + phase) + 0.2 * math.cos(5 * angle - phase)
        lat = lat0 + radius_km / 111.2 * math.sin(angle)
        lon = lon0 + radius_km / (111.2 * math.cos(math.radians(lat0))) * math.cos(angle)
        points.append(f"{lat:.4f},{lon:.4f}")
    return " ".join([*points, points[0]])


def _template() -> str:
    """The corpus alert with {identifier} and {polygon} to fill, grown to about ALERT_BYTES."""
    text = SOURCE.read_text(encoding="utf-8")
    if text.count(IDENTIFIER) != 1:
        raise BenchError(f"{SOURCE.name} no longer holds the identifier {IDENTIFIER}")
    text = text.replace("{", "{{").replace("}", "}}")
    text = text.replace(IDENTIFIER, IDENTIFIER + "-{identifier}")
    area = (
        "    <area>\n"
        "      <areaDesc>Roquebillière et Lantosque, lit majeur de la Vésubie</areaDesc>\n"
        "      <polygon>{polygon}</polygon>\n"
        "      <geocode>\n"
        "        <valueName>INSEE</valueName>\n"
        "        <value>06105</value>\n"
        "      </geocode>\n"
        "    </area>\n"
        "  </info>"
    )
    text = text.replace("  </info>", area, 1)
    sample = len(text.format(identifier="BENCH-000000", polygon=polygon(0)).encode())
    padding = ""
    index = 0
    while sample + len(padding.encode()) < ALERT_BYTES:
        padding += " " + _SITUATION[index % len(_SITUATION)]
        index += 1
    return text.replace("</description>", padding + "</description>", 1)


def typical_alerts(count: int, tag: str) -> list[bytes]:
    """`count` distinct alerts of about ALERT_BYTES: one identifier each, `tag` in it."""
    template = _template()
    return [
        template.format(identifier=f"BENCH-{tag}-{n:06d}", polygon=polygon(n)).encode()
        for n in range(count)
    ]


def _checked(outcomes: Sequence[Outcome], expected: int, what: str) -> int:
    """The events of `outcomes`, once sure that each of the `expected` alerts was accepted."""
    refused = [o for o in outcomes if not o.accepted]
    if refused or len(outcomes) != expected:
        reason = refused[0].error if refused else f"{len(outcomes)} outcomes"
        raise BenchError(f"{what}: {len(refused)} of {len(outcomes)} refused ({reason})")
    return sum(len(o.events) for o in outcomes)


# -- 1, 2 and 4: in a fresh process ------------------------------------------------------------


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


async def _take_all(alerts: Sequence[bytes]) -> tuple[float, int]:
    """Every alert through `Intake.take` with a fresh index; the seconds it took and the events."""
    index = CorrelationIndex()
    intake = Intake(index, IntakeConfig(max_bytes=Settings().intake_max_bytes))
    events = accepted = 0
    started = now()
    for number, raw in enumerate(alerts):
        outcomes = await intake.take(raw, name=f"bench-{number}.xml", feed=FEED)
        for outcome in outcomes:
            accepted += outcome.accepted
            events += len(outcome.events)
            # What the callers do once the events are published: the index learns their keys.
            for keys, ref in outcome.learnt:
                index.remember(keys, ref)
    seconds = now() - started
    if accepted != len(alerts) or len(index) < len(alerts):
        raise BenchError(f"{accepted:,} of {len(alerts):,} typical alerts accepted")
    return seconds, events


async def _envelopes(runs: int) -> dict[str, Any]:
    raw = ENVELOPE_FILE.read_bytes()
    config = IntakeConfig(max_bytes=Settings().intake_max_bytes)
    # Once untimed: the first reading warms what every later one uses.
    alerts = len(await Intake(CorrelationIndex(), config).take(raw, name="warm", feed=FEED))
    seconds, events = [], 0
    for run in range(runs):
        intake = Intake(CorrelationIndex(), config)
        started = now()
        outcomes = await intake.take(raw, name=f"envelope-{run}.xml", feed=FEED)
        seconds.append(now() - started)
        events = _checked(outcomes, alerts, ENVELOPE_FILE.name)
    return {"seconds": seconds, "alerts": alerts, "events": events, "bytes": len(raw)}


async def _probe(count: int, runs: int, envelope_runs: int) -> dict[str, Any]:
    alerts = typical_alerts(count, "take")
    sizes = [len(raw) for raw in alerts]
    # Like the intake service once started (`crisis up` tunes the collector of its process).
    tune_for_services()
    rss_before = _status_kib("VmRSS")
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    seconds, events = [], 0
    for _ in range(runs):
        took, events = await _take_all(alerts)
        seconds.append(took)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Once more, untimed and traced: the most the run itself held at once (the alerts excluded).
    tracemalloc.start()
    await _take_all(alerts)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "seconds": seconds,
        "events": events,
        "bytes": sum(sizes),
        "size_min": min(sizes),
        "size_max": max(sizes),
        "rss_before_kib": rss_before,
        "peak_before_kib": peak_before,
        "peak_rss_kib": peak,
        "traced_peak_bytes": traced_peak,
        "envelope": await _envelopes(envelope_runs),
    }


def probe(count: int, runs: int, envelope_runs: int) -> dict[str, Any]:
    """Parts 1, 2 and 4, in the fresh process that runs this; what they measured."""
    configure_logging("WARNING", "console")
    return asyncio.run(_probe(count, runs, envelope_runs))


async def _in_fresh_process(count: int) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        result: dict[str, Any] = await loop.run_in_executor(pool, probe, count, RUNS, ENVELOPE_RUNS)
    return result


@dataclass(frozen=True, slots=True)
class Figure:
    """One line of the intake's own table on the terminal."""

    label: str
    alerts: int
    alerts_per_s: float
    mb_per_s: float
    per_input: str
    p50_ms: float | None = None
    p99_ms: float | None = None
    memory: str = ""


def _parse_row(count: int, result: dict[str, Any]) -> tuple[Row, Figure]:
    seconds = statistics.median(result["seconds"])
    runs = ", ".join(f"{s:.2f}" for s in result["seconds"])
    mean_size = result["bytes"] / count
    peak_mib = result["peak_rss_kib"] / 1024
    traced_mib = result["traced_peak_bytes"] / 2**20
    figure = Figure(
        f"parse + map, {mean_size / 1000:.1f} KB CAP",
        count,
        count / seconds,
        result["bytes"] / seconds / 1e6,
        f"{seconds / count * 1e6:,.0f} µs/alert",
        memory=f"{peak_mib:,.0f} / {traced_mib:,.1f} MiB",
    )
    row = Row(
        PARSE,
        "in memory",
        count,
        seconds,
        f"{count / seconds:,.0f} alerts/s, {result['bytes'] / seconds / 1e6:,.1f} MB/s, "
        f"{seconds / count * 1e6:,.0f} µs per alert (median of {len(result['seconds'])} runs: "
        f"{runs} s); alerts of {mean_size:,.0f} bytes on average ({result['size_min']:,} to "
        f"{result['size_max']:,}), {result['events'] / count:g} event each; fresh process, "
        f"peak RSS {peak_mib:,.0f} MiB (before the timed part, alerts built: RSS "
        f"{result['rss_before_kib'] / 1024:,.0f} MiB, peak {result['peak_before_kib'] / 1024:,.0f}"
        f" MiB); tracemalloc peak of one more run, untimed: {traced_mib:,.1f} MiB",
        peak_mib=peak_mib,
    )
    return row, figure


def _envelope_row(envelope: dict[str, Any]) -> tuple[Row, Figure]:
    seconds = statistics.median(envelope["seconds"])
    alerts = envelope["alerts"]
    figure = Figure(
        f"EDXL-DE envelope, {envelope['bytes'] / 1000:,.0f} KB",
        alerts,
        alerts / seconds,
        envelope["bytes"] / seconds / 1e6,
        f"{1 / seconds:,.1f} envelopes/s",
    )
    row = Row(
        ENVELOPE,
        "in memory",
        alerts,
        seconds,
        f"{1 / seconds:,.1f} envelopes/s, {alerts / seconds:,.0f} alerts/s, "
        f"{envelope['bytes'] / seconds / 1e6:,.1f} MB/s, {seconds * 1000:,.1f} ms per envelope "
        f"(median of {len(envelope['seconds'])} runs, {min(envelope['seconds']) * 1000:,.1f} "
        f"to {max(envelope['seconds']) * 1000:,.1f} ms); {envelope['bytes']:,} bytes, "
        f"{alerts} alerts, {envelope['events']} events; same process as the row above",
    )
    return row, figure


# -- 3. to the bus -----------------------------------------------------------------------------


async def _submit_all(
    live: LiveIntake, alerts: Sequence[bytes], feeds: int, update: Update
) -> list[float]:
    """Every alert submitted, by `feeds` feeds at once, each its share in turn; the latencies."""
    delays: list[float] = []

    async def feed(first: int) -> None:
        for number in range(first, len(alerts), feeds):
            sent = now()
            outcomes = await live.submit(
                alerts[number],
                name=f"bench-{number}.xml",
                feed=FEED if feeds == 1 else f"{FEED}-{first}",
            )
            delays.append(now() - sent)
            _checked(outcomes, 1, f"alert {number}")
            if len(delays) % 200 == 0:
                update(len(delays))

    await asyncio.gather(*(feed(first) for first in range(feeds)))
    return delays


async def _bus(root: Path, count: int, reporter: Reporter, feeds: int = 1) -> tuple[Row, Figure]:
    settings = Settings(var_dir=root)
    server = EmbeddedNatsServer(
        settings.jetstream_dir, max_payload=settings.max_payload, log_file=root / "nats.log"
    )
    await server.astart()
    try:
        async with connect(server.url, name="bench-intake", plan=topology(settings)) as bus:
            with reporter.step("intake: alerts built, LiveIntake started, warmed up"):
                alerts = typical_alerts(count, "bus")
                size = sum(len(raw) for raw in alerts)
                live = LiveIntake(bus.js, settings)
                await live.start()
                for number, raw in enumerate(typical_alerts(WARMUP, "warmup")):
                    await live.submit(raw, name=f"warmup-{number}.xml", feed=FEED)
            label = BUS if feeds == 1 else BUS_FEEDS
            try:
                with reporter.step(f"{label}: submitted", total=count) as update:
                    cpu = {"bench process (intake + its follower)": cpu_seconds(os.getpid())}
                    cpu["nats-server"] = cpu_seconds(server.pid)
                    started = now()
                    delays = await _submit_all(live, alerts, feeds, update)
                    seconds = now() - started
                    cpu = {
                        name: cpu_seconds(os.getpid() if name != "nats-server" else server.pid)
                        - before
                        for name, before in cpu.items()
                    }
            finally:
                await live.stop()
            held = (await bus.js.stream_info(CRISIS_STREAM)).state.messages
            stored = await (await bus.js.object_store(OBJECT_BUCKET)).status()
    finally:
        await server.astop()
    if held != count + WARMUP:
        raise BenchError(f"the stream holds {held:,} events for {count + WARMUP:,} alerts")
    delays_ms = sorted(delay * 1000 for delay in delays)
    p50 = delays_ms[len(delays_ms) // 2]
    p99 = delays_ms[max(math.ceil(0.99 * len(delays_ms)) - 1, 0)]
    cpu_note = ", ".join(f"{name} {spent / count * 1e6:,.0f}" for name, spent in cpu.items())
    figure = Figure(
        "submit to the bus, acked" + ("" if feeds == 1 else f", {feeds} feeds"),
        count,
        count / seconds,
        size / seconds / 1e6,
        f"{seconds / count * 1000:,.2f} ms/submit",
        p50,
        p99,
    )
    how = "one submit at a time" if feeds == 1 else f"{feeds} feeds submitting at once"
    row = Row(
        label,
        "JetStream (file)",
        count,
        seconds,
        f"{count / seconds:,.0f} alerts/s, {size / seconds / 1e6:,.1f} MB/s, {how}: p50 "
        f"{p50:,.2f} ms, p99 {p99:,.2f} ms, max {delays_ms[-1]:,.1f} ms per submit; "
        "each: take + object store put of the input + publish_event with its ack; the stream "
        f"holds {held:,} events, the object store {stored.size / 1e6:,.1f} MB; CPU µs/alert: "
        f"{cpu_note}",
        p50_ms=p50,
        p99_ms=p99,
    )
    return row, figure


# -- the benchmark -------------------------------------------------------------------------------


def summary(figures: Sequence[Figure]) -> Table:
    """The intake's figures side by side, for the terminal."""
    table = Table(title="intake", title_justify="left")
    table.add_column("measurement")
    for name in (
        "alerts",
        "alerts/s",
        "MB/s",
        "per input",
        "p50 ms",
        "p99 ms",
        "peak RSS / traced",
    ):
        table.add_column(name, justify="right")
    for figure in figures:
        table.add_row(
            figure.label,
            f"{figure.alerts:,}",
            f"{figure.alerts_per_s:,.0f}",
            f"{figure.mb_per_s:,.1f}",
            figure.per_input,
            "" if figure.p50_ms is None else f"{figure.p50_ms:,.2f}",
            "" if figure.p99_ms is None else f"{figure.p99_ms:,.2f}",
            figure.memory,
        )
    return table


async def run(count: int, submits: int, *, reporter: Reporter) -> dict[str, Any]:
    """Parse + map, the envelope, and the bus; a part that fails becomes a row."""
    rows: list[Row] = []
    figures: list[Figure] = []

    def add(row: Row, figure: Figure | None = None) -> None:
        rows.append(row)
        reporter.result(row)
        if figure is not None:
            figures.append(figure)

    try:
        with reporter.step(
            f"{PARSE}: {count:,} alerts x {RUNS}, then the envelope x {ENVELOPE_RUNS}, "
            "fresh process"
        ):
            result = await _in_fresh_process(count)
        add(*_parse_row(count, result))
        add(*_envelope_row(result["envelope"]))
    # A part that fails becomes a row saying why; the bus is still measured.
    except Exception as exc:  # noqa: BLE001
        add(failure("intake: Intake.take (parse + map)", "in memory", exc))
    for feeds, label in ((1, BUS), (FEEDS, BUS_FEEDS)):
        with tempfile.TemporaryDirectory(prefix="crisis-bench-intake-") as tmp:
            try:
                add(*await _bus(Path(tmp), submits, reporter, feeds))
            except Exception as exc:  # noqa: BLE001
                add(failure(label, "JetStream (file)", exc))
    if figures:
        reporter.progress.console.print(summary(figures))
    return {
        "rows": rows,
        "remarks": [
            f"**{PARSE}**: `{SOURCE.name}` grown to about {ALERT_BYTES:,} bytes (its description "
            f"lengthened, a third area with a {POLYGON_POINTS}-point polygon), a new identifier "
            f"per copy so that each alert is a new incident; built before the clock starts. "
            f"`Intake(CorrelationIndex(), IntakeConfig(max_bytes=…)).take(raw, name=…, "
            f"feed=…)` over all of them, one at a time, the index learning each outcome's keys "
            f"as the callers do; a fresh index per run, median of {RUNS} runs. Nothing is "
            "published. In a fresh process with the collector tuned like the services "
            "(`tune_for_services`); peak RSS is its ru_maxrss at the end of the timed runs, "
            "imports and the alerts included; then one more run, untimed, under tracemalloc: its "
            "peak is what the run itself allocated at most (index, outcomes, parse trees).",
            f"**{ENVELOPE}**: `{ENVELOPE_FILE.name}` read once untimed, then {ENVELOPE_RUNS} "
            "times with a fresh index each (every alert new), median. Events counts alerts; "
            "seconds is one envelope.",
            f"**{BUS}**: a fresh nats-server, the streams made from `topology(Settings(var_dir="
            f"tmp))`, `LiveIntake(js, settings)` started (its index follows the stream), "
            f"{WARMUP} alerts submitted untimed, then each alert `await live.submit(raw, ...)` "
            "in turn: read, the input put in the object store under its SHA-256, the "
            "incident.reported event published and acked, the index told. Seconds: first "
            "submit → last one returned; the latency is each submit's. The bench process' CPU "
            "includes LiveIntake's index follower, which receives each incident event back.",
            f"**{BUS_FEEDS}**: the same on another fresh nats-server, by {FEEDS} feeds at once "
            f"(`{FEED}-0` to `{FEED}-{FEEDS - 1}`), each submitting its share of the alerts one "
            "after the other. LiveIntake reads and publishes one input at a time (an alert and "
            "its copy must meet in the index), so what the feeds share is the time outside that "
            "turn: the links looked for before it.",
        ],
    }
