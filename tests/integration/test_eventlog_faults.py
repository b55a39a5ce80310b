"""The event log under faults, with real processes: it never loses, duplicates or reorders.

The recorder runs as `crisis service eventlog` in its own OS process (so that it can be killed
like a crash would), against a real nats-server that the test can kill and restart.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from schemas.envelope import Envelope
from schemas.events import IncidentReported, InputRejected, MainCouranteEntryRecorded
from services.eventlog.app import EventLogService
from services.eventlog.archive import verify_log
from services.eventlog.core import MAIN_COURANTE_ENTRY, LogRecord
from services.eventlog.schema import upgrade
from services.eventlog.status import log_status
from services.eventlog.store import EventStore
from services.runtime.bus import Bus
from services.runtime.database import make_engine
from services.runtime.discovery import read_run_info
from services.runtime.embedded import EmbeddedNatsServer, _die_with_parent
from services.runtime.publish import PublishError, publish_event
from services.runtime.settings import Settings
from services.runtime.topology import CRISIS_STREAM, DEADLETTER_STREAM
from tests.unit.samples import incident_reported, sample_event

pytestmark = pytest.mark.integration

CRISIS = [str(Path(sys.executable).parent / "crisis")]
CRISES = ("crue-vesubie", "crue-roya", "feu-esterel")
BURST = 10_000
FAULT_AT = 3_000


# -- helpers ----------------------------------------------------------------------------------


async def wait_until(
    condition: Callable[[], Awaitable[bool]], *, timeout: float, what: str
) -> None:
    """Poll `condition` until it holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout:g}s: {what}")
        await asyncio.sleep(0.2)


@dataclass
class RecorderProcess:
    """`crisis service eventlog` as its own OS process, on a given server and database."""

    workdir: Path
    nats_url: str
    db_url: str
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CRISIS_")}
        env.update(
            CRISIS_NATS_URL=self.nats_url,
            CRISIS_DB_URL=self.db_url,
            CRISIS_VAR_DIR=str(self.workdir / "var"),
            # Short, so that what a killed recorder held is redelivered soon.
            CRISIS_EVENTLOG_ACK_WAIT_S="2",
            CRISIS_LOG_FORMAT="json",
        )
        return env

    def spawn(self) -> subprocess.Popen[bytes]:
        """Start `crisis service eventlog`, its output going to a file of the test."""
        self.starts += 1
        with (self.workdir / f"recorder-{self.starts}.log").open("wb") as output:
            self.process = subprocess.Popen(
                [*CRISIS, "service", "eventlog"],
                cwd=self.workdir,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                # Should the test process die, the recorder goes with it.
                preexec_fn=_die_with_parent,  # noqa: PLW1509
            )
        return self.process

    async def start(self, timeout: float = 30.0) -> None:
        """Start the service and wait until it announces itself in its run file."""
        process = self.spawn()

        async def announced() -> bool:
            if process.poll() is not None:
                pytest.fail(f"the recorder exited at start: {self.output()}")
            info = read_run_info(self.workdir / "var" / "run.json")
            return info is not None and info.pid == process.pid

        await wait_until(announced, timeout=timeout, what="the recorder announces itself")

    def kill(self) -> None:
        """SIGKILL: the recorder dies wherever it is, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def alive(self) -> bool:
        """Whether the current process still runs."""
        return self.process is not None and self.process.poll() is None

    def output(self) -> str:
        """The end of what the last recorder process wrote, for failure messages."""
        path = self.workdir / f"recorder-{self.starts}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


def burst_events(count: int) -> list[Envelope]:
    """`count` fresh events over three crises, one in seven a main-courante entry."""
    kinds: list[type[Envelope]] = [MainCouranteEntryRecorded, *[IncidentReported] * 6]
    return [
        sample_event(kinds[i % 7], event_id=uuid4(), crisis_id=CRISES[i % 3]) for i in range(count)
    ]


@dataclass
class Burst:
    """What came back from publishing: the ack (stream sequence) of each event, and refusals."""

    acked: dict[UUID, int] = field(default_factory=dict)
    failed: list[Envelope] = field(default_factory=list)
    fault_point: asyncio.Event = field(default_factory=asyncio.Event)

    async def publish(self, bus: Bus, events: Sequence[Envelope], concurrency: int = 100) -> None:
        """Publish `events`, at most `concurrency` awaiting their ack at a time."""
        gate = asyncio.Semaphore(concurrency)

        async def one(event: Envelope) -> None:
            async with gate:
                try:
                    published = await publish_event(bus.js, event)
                except PublishError:
                    self.failed.append(event)
                    return
            self.acked[event.event_id] = published.seq
            if len(self.acked) >= FAULT_AT:
                self.fault_point.set()

        await asyncio.gather(*(one(event) for event in events))


def db_url(tmp_path: Path) -> str:
    """The event log database of a test."""
    return f"sqlite+aiosqlite:///{tmp_path / 'log.db'}"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[EventStore]:
    """The event log database of the test, migrated, read from the test process."""
    engine = make_engine(db_url(tmp_path))
    await upgrade(engine)
    log = EventStore(engine)
    try:
        yield log
    finally:
        await log.close()


async def all_records(store: EventStore) -> list[LogRecord]:
    """Every record of the log, in position order."""
    return [record async for record in store.read()]


async def assert_log_holds_exactly(store: EventStore, bus: Bus, acked: dict[UUID, int]) -> None:
    """Once each acked event, at its acked position, in stream order, chains gapless and intact."""
    records = await all_records(store)
    repeated = [i for i, n in Counter(r.event_id for r in records).items() if n > 1]
    assert not repeated, f"{len(repeated)} events recorded more than once"
    logged = {r.event_id: r.position for r in records}
    missing = acked.keys() - logged.keys()
    assert not missing, f"{len(missing)} acknowledged events are not in the log"
    assert logged == acked, "positions differ from the acknowledged stream sequences"
    stream_order = sorted(acked, key=acked.__getitem__)
    assert [r.event_id for r in records] == stream_order
    stream = await bus.js.stream_info(CRISIS_STREAM)
    assert stream.state.messages == len(acked), "the stream holds a duplicate or a stranger"
    for crisis_id in CRISES:
        chain = [r for r in records if r.crisis_id == crisis_id]
        assert [r.crisis_seq for r in chain] == list(range(1, len(chain) + 1)), crisis_id
        entries = [r.mc_number for r in chain if r.type == MAIN_COURANTE_ENTRY]
        assert entries == list(range(1, len(entries) + 1)), crisis_id
        assert all(r.mc_number is None for r in chain if r.type != MAIN_COURANTE_ENTRY)
    assert await verify_log(store) == []


def log_holds(store: EventStore, count: int) -> Callable[[], Awaitable[bool]]:
    """A condition: the log holds at least `count` events."""

    async def holds() -> bool:
        return await store.count() >= count

    return holds


def caught_up(bus: Bus, store: EventStore) -> Callable[[], Awaitable[bool]]:
    """A condition: no lag, and the log's last position is the stream's last sequence."""

    async def done() -> bool:
        status = await log_status(bus.js, store)
        return status.lag == 0 and status.log_last_position == status.stream_last_seq

    return done


# -- tests ------------------------------------------------------------------------------------


@pytest.mark.timeout(180)
async def test_every_acknowledged_event_is_recorded_once_in_order_when_the_recorder_is_killed_mid_burst(  # noqa: E501
    tmp_path: Path,
    nats_server: EmbeddedNatsServer,
    bus: Bus,
    store: EventStore,
    record_property: Callable[[str, object], None],
) -> None:
    """SIGKILL the recorder process while the burst is published; a new one takes over."""
    recorder = RecorderProcess(tmp_path, nats_server.url, db_url(tmp_path))
    burst = Burst()
    try:
        await recorder.start()

        async def crash_and_restart() -> None:
            await burst.fault_point.wait()
            recorder.kill()
            record_property("logged_when_killed", await store.count())
            await recorder.start()

        async with asyncio.TaskGroup() as group:
            group.create_task(burst.publish(bus, burst_events(BURST)))
            group.create_task(crash_and_restart())
        assert burst.failed == []
        await wait_until(
            log_holds(store, len(burst.acked)),
            timeout=90,
            what=f"the log holds the {len(burst.acked)} acknowledged events",
        )
        await assert_log_holds_exactly(store, bus, burst.acked)
    finally:
        recorder.kill()


@pytest.mark.timeout(180)
async def test_no_acknowledged_event_is_lost_when_nats_server_restarts_mid_burst(
    tmp_path: Path,
    nats_server: EmbeddedNatsServer,
    bus: Bus,
    store: EventStore,
    record_property: Callable[[str, object], None],
) -> None:
    """kill -9 the nats-server mid-burst and restart it on the same port and store after 1 s.

    The stream survives a kill -9: the server writes each message to its file before it acks
    (the operating system keeps what was written; only a power cut needs fsync). The publisher
    retries with the same event id, and the recorder process reconnects on its own.
    """
    recorder = RecorderProcess(tmp_path, nats_server.url, db_url(tmp_path))
    burst = Burst()
    try:
        await recorder.start()

        async def crash_and_restart() -> None:
            await burst.fault_point.wait()
            nats_server.kill()
            record_property("acked_when_server_killed", len(burst.acked))
            await asyncio.sleep(1.0)
            await nats_server.astart()

        async with asyncio.TaskGroup() as group:
            group.create_task(burst.publish(bus, burst_events(BURST)))
            group.create_task(crash_and_restart())
        # Refused events were never acknowledged; sent again with the same id, they are.
        refused, burst.failed = burst.failed, []
        record_property("refused_then_republished", len(refused))
        await burst.publish(bus, refused)
        assert burst.failed == []
        assert len(burst.acked) == BURST
        await wait_until(
            log_holds(store, len(burst.acked)),
            timeout=90,
            what=f"the log holds the {len(burst.acked)} acknowledged events",
        )
        assert recorder.alive(), recorder.output()
        await assert_log_holds_exactly(store, bus, burst.acked)
    finally:
        recorder.kill()


GARBAGE = b"\x00\xff<alert>not json at all"


@pytest.mark.timeout(180)
async def test_an_undecodable_message_is_dead_lettered_with_its_reason_and_the_log_keeps_going(
    tmp_path: Path, nats_server: EmbeddedNatsServer, bus: Bus, store: EventStore, settings: Settings
) -> None:
    """Garbage and an invalid field, between valid events: kept raw with the reason, and told."""
    config = settings.model_copy(
        update={"eventlog_max_deliver": 3, "eventlog_ack_wait_s": 1.0, "db_url": db_url(tmp_path)}
    )
    service = EventLogService(config, store=store)
    before = [incident_reported(crisis_id="c1") for _ in range(5)]
    after = [incident_reported(crisis_id="c1") for _ in range(5)]
    invalid = json.loads(incident_reported(crisis_id="c1").model_dump_json())
    invalid["severity"] = "apocalyptic"
    bad = {"bus": GARBAGE, "console": json.dumps(invalid).encode()}
    try:
        await service.start(nats_server.url)
        for event in before:
            await publish_event(bus.js, event)
        positions = {
            source: (await bus.js.publish("crisis.c1.incident.reported", raw)).seq
            for source, raw in bad.items()
        }
        for event in after:
            await publish_event(bus.js, event)

        await wait_until(
            log_holds(store, len(before) + len(after) + len(bad)),
            timeout=60,
            what="every valid event and one input.rejected per bad message are recorded",
        )
        records = await all_records(store)
        valid = [r.event_id for r in records if r.type != "input.rejected"]
        assert valid == [e.event_id for e in before + after]

        rejected = {r.source: r for r in await store.rejected()}
        assert rejected.keys() == bad.keys()
        assert "not valid JSON" in rejected["bus"].reason
        assert rejected["console"].field == "severity"
        assert "severity" in rejected["console"].reason
        notices = {
            n.input_source: n for n in (r.event() for r in records) if isinstance(n, InputRejected)
        }
        for source, raw in bad.items():
            kept = rejected[source]
            assert (kept.raw, kept.position, kept.stream) == (raw, positions[source], CRISIS_STREAM)
            assert kept.subject == "crisis.c1.incident.reported"
            letter = await bus.js.get_last_msg(DEADLETTER_STREAM, f"deadletter.{source}")
            assert letter.data == raw
            assert letter.headers is not None
            assert letter.headers["Crisis-Reject-Reason"] == kept.reason
            assert letter.headers["Crisis-Original-Position"] == str(positions[source])
            notice = notices[source]
            assert (notice.crisis_id, notice.reason) == ("c1", kept.reason)
            assert notice.raw_sha256 == hashlib.sha256(raw).hexdigest()
        assert len(notices) == len(bad)
        assert [r.crisis_seq for r in records] == list(range(1, len(records) + 1))
        assert await verify_log(store) == []
    finally:
        await service.stop()


@pytest.mark.timeout(180)
async def test_consumer_lag_is_observable(
    tmp_path: Path, nats_server: EmbeddedNatsServer, bus: Bus, store: EventStore, settings: Settings
) -> None:
    """What the log has not recorded yet shows as lag, and the lag drains to nothing."""
    config = settings.model_copy(update={"db_url": db_url(tmp_path)})
    services: list[EventLogService] = []

    async def publish(count: int) -> None:
        for _ in range(count):
            await publish_event(bus.js, incident_reported(crisis_id="c1"))

    try:
        # Before the recorder ever ran, there is no consumer: the whole stream is lag.
        await publish(40)
        status = await log_status(bus.js, store)
        assert (status.consumer_exists, status.lag, status.log_events) == (False, 40, 0)

        services.append(first := EventLogService(config, store=store))
        await first.start(nats_server.url)
        await wait_until(caught_up(bus, store), timeout=30, what="the log catches up")
        await first.stop()

        # The recorder is stopped: what comes now waits in its durable consumer.
        await publish(25)
        status = await log_status(bus.js, store)
        assert status.consumer_exists
        assert (status.pending, status.ack_pending, status.lag) == (25, 0, 25)
        assert (status.log_events, status.log_last_position, status.stream_last_seq) == (40, 40, 65)

        services.append(second := EventLogService(config, store=store))
        await second.start(nats_server.url)
        await wait_until(caught_up(bus, store), timeout=30, what="the log catches up again")
        status = await log_status(bus.js, store)
        assert (status.lag, status.log_events, status.log_last_position) == (0, 65, 65)
    finally:
        for service in services:
            await service.stop()
