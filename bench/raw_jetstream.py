"""Baseline: JetStream alone, with no log behind it.

A publisher process publishes N encoded events (their subjects and headers too, `Nats-Msg-Id`
included) with acks, pipelined; this process pulls them in batches and acks each one.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from bench.clock import now
from bench.procs import BenchError, Publisher, cpu_per_event, cpu_seconds, tail
from bench.report import Reporter, Row, Update
from schemas import subjects
from services.runtime.bus import connect
from services.runtime.embedded import EmbeddedNatsServer
from services.runtime.settings import load_settings
from services.runtime.topology import CRISIS_STREAM, topology

NAME = "raw JetStream: publish → fetch → ack"
CONCURRENCY = 512
FETCH = 1000
DURABLE = "bench-raw"


async def _pull_all(
    sub: JetStreamContext.PullSubscription,
    nc: Client,
    count: int,
    publisher: Publisher,
    update: Update,
) -> float:
    """Fetch and ack until `count` messages are acked; the clock once the acks are flushed."""
    deadline = now() + 60 + count / 1000
    acked = 0
    while acked < count:
        try:
            batch = await sub.fetch(FETCH, timeout=1.0)
        except NatsTimeoutError:
            if publisher.process.returncode not in (None, 0):
                raise BenchError(f"publisher failed:\n{tail(publisher.log)}") from None
            if now() > deadline:
                raise BenchError(f"only {acked:,} of {count:,} messages came back") from None
            continue
        for msg in batch:
            await msg.ack()
        acked += len(batch)
        update(acked)
    await nc.flush()
    return now()


async def _measure(
    url: str,
    server_pid: int | None,
    count: int,
    root: Path,
    *,
    reporter: Reporter,
    concurrency: int,
) -> Row:
    async with connect(url, name="bench-raw-consumer", plan=topology(load_settings())) as bus:
        sub = await bus.js.pull_subscribe(
            subjects.LIVE_ALL,
            durable=DURABLE,
            stream=CRISIS_STREAM,
            config=ConsumerConfig(
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                max_ack_pending=FETCH * 10,
            ),
        )
        log = root / "publisher.log"
        async with Publisher.started(
            url, count, mode="raw", concurrency=concurrency, log=log
        ) as publisher:
            with reporter.step("raw JetStream: publisher builds its events"):
                await publisher.ready()
            with reporter.step("raw JetStream: publish, fetch, ack", total=count) as update:
                server_cpu, consumer_cpu = cpu_seconds(server_pid), time.process_time()
                await publisher.go()
                last_ack = await _pull_all(sub, bus.nc, count, publisher, update)
                server_cpu = cpu_seconds(server_pid) - server_cpu
                consumer_cpu = time.process_time() - consumer_cpu
            report = await publisher.report(timeout=60)
    if report.duplicates:
        raise BenchError(f"{report.duplicates} publishes were duplicates: the workload is wrong")
    publish_rate = count / report.seconds
    return Row(
        NAME,
        "JetStream (file)",
        count,
        last_ack - report.first_publish,
        f"first publish → last ack of the pull consumer (fetch {FETCH}, ack each); "
        f"publisher alone: {publish_rate:,.0f} events/s acked by JetStream; "
        + cpu_per_event(
            {"publisher": report.cpu, "nats-server": server_cpu, "consumer": consumer_cpu}, count
        ),
    )


async def run(count: int, *, reporter: Reporter, concurrency: int = CONCURRENCY) -> dict[str, Any]:
    """Measure the bus alone on a fresh embedded nats-server; the rate is the baseline."""
    with tempfile.TemporaryDirectory(prefix="crisis-bench-raw-") as tmp:
        server = EmbeddedNatsServer(Path(tmp) / "jetstream")
        await server.astart()
        try:
            row = await _measure(
                server.url, server.pid, count, Path(tmp), reporter=reporter, concurrency=concurrency
            )
        finally:
            await server.astop()
    reporter.result(row)
    return {
        "rows": [row],
        "rate": row.rate,
        "remarks": [
            f"**{NAME}**: a separate publisher process publishes N pre-encoded events "
            f"(subject, JSON bytes, the headers `publish_event` sets, `Nats-Msg-Id` included) "
            f"with JetStream acks, {concurrency} in flight; this process pulls them (durable "
            f"pull consumer, fetch {FETCH}, `max_ack_pending` {FETCH * 10}) and acks each. "
            "Timed from the first publish to the last ack flushed to the server. No database. "
            "CPU µs/event as for the end-to-end rows.",
        ],
    }
