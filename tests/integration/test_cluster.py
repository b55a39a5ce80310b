"""A 3-node JetStream cluster loses no acknowledged event when its stream leader is killed.

Three real nats-servers (services/deploy/cluster.py), the streams at 3 replicas, the event log
on SQLite: a burst of events is published from one connection that knows every node, and in
the middle of it the node leading the CRISIS stream gets SIGKILL. Publishes refused during the
election are counted, then sent again with the same event id; the stream and the log must hold
each acknowledged event exactly once, at its acknowledged position, in stream order.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

import nats
import pytest
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js import JetStreamContext

from schemas.envelope import Envelope
from services.deploy.cluster import LocalCluster, node_config, production_configs
from services.eventlog.app import EventLogService
from services.eventlog.archive import verify_log
from services.eventlog.core import LogRecord
from services.eventlog.schema import upgrade
from services.eventlog.store import EventStore
from services.runtime.database import make_engine
from services.runtime.publish import MSG_ID, PublishError, publish_event
from services.runtime.settings import Settings
from services.runtime.topology import (
    CRISIS_STREAM,
    EVENTLOG_DURABLE,
    ensure_topology,
    topology,
)
from tests.integration.test_eventlog_faults import (
    CRISES,
    burst_events,
    db_url,
    log_holds,
    wait_until,
)

pytestmark = pytest.mark.integration

INFRA = Path(__file__).resolve().parents[2] / "infra" / "nats" / "cluster"
BURST = 3_000
KILL_AT = 1_000  # acknowledged events before the stream leader is killed
AFTER = 30  # events published once the burst is over, on the two nodes left


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    """Three nats-servers in one JetStream cluster, fsyncing as in production; stopped after."""
    nodes = LocalCluster(tmp_path / "cluster", size=3, sync_interval="always")
    nodes.start()
    try:
        nodes.wait_for_meta_leader(timeout=20)
        yield nodes
    finally:
        nodes.stop()


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


async def connect_all(urls: Sequence[str], name: str) -> Client:
    """A connection given every node, tried in the order given, reconnecting for ever."""
    return await nats.connect(
        servers=list(urls),
        name=name,
        connect_timeout=5,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.2,
        dont_randomize=True,
    )


# -- helpers ----------------------------------------------------------------------------------


@dataclass
class Burst:
    """Acks (stream sequence per event id) and refusals of a publishing run, with timings."""

    js: JetStreamContext
    acked: dict[UUID, int] = field(default_factory=dict)
    duplicates: list[UUID] = field(default_factory=list)
    failed: list[Envelope] = field(default_factory=list)
    ack_times: list[float] = field(default_factory=list)
    kill_point: asyncio.Event = field(default_factory=asyncio.Event)

    async def publish(self, events: Sequence[Envelope], concurrency: int = 64) -> None:
        """Publish `events`, at most `concurrency` awaiting their ack at a time."""
        gate = asyncio.Semaphore(concurrency)

        async def one(event: Envelope) -> None:
            async with gate:
                try:
                    published = await publish_event(self.js, event)
                except PublishError:
                    self.failed.append(event)
                    return
            assert event.event_id not in self.acked, f"event {event.event_id} acked twice"
            self.acked[event.event_id] = published.seq
            self.ack_times.append(time.monotonic())
            if published.duplicate:
                self.duplicates.append(event.event_id)
            if len(self.acked) >= KILL_AT:
                self.kill_point.set()

        await asyncio.gather(*(one(event) for event in events))


async def stream_leader(js: JetStreamContext) -> str | None:
    """The node leading the CRISIS stream, or None while there is none (or no answer)."""
    try:
        info = await js.stream_info(CRISIS_STREAM)
    except (TimeoutError, NatsError):
        return None
    return info.cluster.leader if info.cluster else None


async def consumer_leader(js: JetStreamContext) -> str | None:
    """The node leading the event log's durable consumer, if it is known."""
    try:
        info = await js.consumer_info(CRISIS_STREAM, EVENTLOG_DURABLE)
    except (TimeoutError, NatsError):
        return None
    return info.cluster.leader if info.cluster else None


async def read_stream(js: JetStreamContext, last_seq: int) -> list[tuple[int, UUID]]:
    """(sequence, Nats-Msg-Id) of every message of the CRISIS stream, asked of its leader.

    Message by message, not through a new consumer: with a node down, the meta leader may
    place a new one-replica consumer on the dead node, and creating or reading it then fails.
    """
    gate = asyncio.Semaphore(64)

    async def one(seq: int) -> tuple[int, UUID]:
        async with gate:
            msg = await js.get_msg(CRISIS_STREAM, seq)
        headers = msg.headers or {}
        assert MSG_ID in headers, f"stream message {seq} has no {MSG_ID} header"
        return seq, UUID(headers[MSG_ID])

    return list(await asyncio.gather(*(one(seq) for seq in range(1, last_seq + 1))))


async def assert_stream_holds_exactly(js: JetStreamContext, acked: dict[UUID, int]) -> None:
    """Each acknowledged event once in the CRISIS stream, at its acked sequence; nothing else."""
    state = (await js.stream_info(CRISIS_STREAM)).state
    messages = await read_stream(js, state.last_seq)
    ids = Counter(event_id for _, event_id in messages)
    twice = sorted(str(event_id) for event_id, n in ids.items() if n > 1)
    assert not twice, f"{len(twice)} event ids are stored more than once in the stream: {twice[:5]}"
    stored = {event_id: seq for seq, event_id in messages}
    lost = acked.keys() - stored.keys()
    assert not lost, f"{len(lost)} acknowledged events are not in the stream (of {len(acked)})"
    strangers = stored.keys() - acked.keys()
    assert not strangers, f"{len(strangers)} stream messages were never acknowledged to anyone"
    moved = {i: (acked[i], stored[i]) for i in acked if acked[i] != stored[i]}
    assert not moved, f"{len(moved)} events are not at their acked sequence: {list(moved)[:5]}"
    assert state.messages == len(acked), f"stream state says {state.messages} messages"


def assert_log_holds_exactly(records: list[LogRecord], acked: dict[UUID, int]) -> None:
    """Each acknowledged event once in the SQL log, at its stream sequence, in stream order."""
    twice = [i for i, n in Counter(r.event_id for r in records).items() if n > 1]
    assert not twice, f"{len(twice)} events are recorded more than once in the log"
    logged = {r.event_id: r.position for r in records}
    missing = acked.keys() - logged.keys()
    assert not missing, f"{len(missing)} acknowledged events are missing from the log"
    extra = logged.keys() - acked.keys()
    assert not extra, f"{len(extra)} logged events were never acknowledged"
    moved = [i for i in acked if logged[i] != acked[i]]
    assert not moved, f"{len(moved)} logged positions differ from the acked stream sequences"
    in_order = sorted(acked, key=acked.__getitem__)
    assert [r.event_id for r in records] == in_order, "the log is not in stream order"
    for crisis_id in CRISES:
        chain = [r.crisis_seq for r in records if r.crisis_id == crisis_id]
        assert chain == list(range(1, len(chain) + 1)), f"{crisis_id}: crisis_seq has gaps"


# -- tests ------------------------------------------------------------------------------------


def test_the_production_cluster_files_are_what_the_code_writes() -> None:
    """infra/nats/cluster/node-*.conf: three nodes, fsync before ack; regenerate when this fails."""
    expected = production_configs()
    assert sorted(expected) == ["node-1.conf", "node-2.conf", "node-3.conf"]
    for file, text in expected.items():
        path = INFRA / file
        assert path.exists(), f"{path} is missing: python -m services.deploy.cluster {INFRA}"
        assert path.read_text() == text, f"{path} differs from services/deploy/cluster.py"
        assert "sync_interval: always" in text
        assert text.count("nats-route://") == 2, f"{file} routes to the two other nodes"


def test_a_node_config_routes_to_its_peers_only(tmp_path: Path) -> None:
    """The local nodes share a cluster name, each with its own name, store and ports."""
    local = LocalCluster(tmp_path, size=3)
    texts = [node.config_text() for node in local]
    ports = [(n.address.client_port, n.address.cluster_port, n.address.http_port) for n in local]
    assert len({p for triple in ports for p in triple}) == 9, "ports must all differ"
    assert len({str(node.store_dir) for node in local}) == 3
    for node, text in zip(local, texts, strict=True):
        assert f'server_name: "{node.name}"' in text
        assert f'listen: "{node.host}:{node.address.cluster_port}"' in text
        assert node.address.route_url not in text, f"{node.name} routes to itself"
        for peer in local:
            assert (peer.address.route_url in text) is (peer is not node)
    with pytest.raises(ValueError, match="at least two nodes"):
        node_config(local.nodes[0].address, [local.nodes[0].address], store_dir="x")


@pytest.mark.timeout(120)
async def test_no_acknowledged_event_is_lost_or_doubled_when_the_stream_leader_is_killed(
    tmp_path: Path,
    cluster: LocalCluster,
    store: EventStore,
    settings: Settings,
    record_property: Callable[[str, object], None],
) -> None:
    """kill -9 the CRISIS stream leader mid-burst: publishers and the event log carry on."""
    started = time.monotonic()
    config = settings.model_copy(
        # Short: what the dead consumer leader had delivered comes back soon.
        update={"db_url": db_url(tmp_path), "eventlog_ack_wait_s": 2.0}
    )
    setup = await connect_all(cluster.urls, "crisis-test-setup")
    await ensure_topology(setup.jetstream(), topology(config, replicas=3))
    victim_name = await stream_leader(setup.jetstream())
    assert victim_name is not None, "the CRISIS stream has no leader after creation"
    victim = cluster.node(victim_name)
    others = [node for node in cluster if node is not victim]
    # The publisher is connected to the victim first: it must reconnect *and* wait for the
    # election.
    publisher = await connect_all([victim.url, *(n.url for n in others)], "crisis-test-publisher")
    js = publisher.jetstream()
    # Asks often and briefly who leads the stream, to time the election.
    watcher = publisher.jetstream(timeout=0.5)
    # CRISIS_NATS_URL takes the nodes as a comma-separated list.
    service = EventLogService(config, store=store)
    await service.start(",".join(cluster.urls))  # CRISIS_NATS_URL takes a comma list
    burst = Burst(js)
    timings: dict[str, float] = {}
    killed_at = 0.0

    async def kill_the_leader() -> None:
        nonlocal killed_at
        await burst.kill_point.wait()
        record_property("consumer_leader_before", await consumer_leader(js) or "?")
        record_property("meta_leader_before", cluster.meta_leader() or "?")
        killed_at = time.monotonic()
        cluster.kill(victim.name)
        record_property("acked_when_killed", len(burst.acked))
        record_property("logged_when_killed", await store.count())
        deadline = killed_at + 30
        while (leader := await stream_leader(watcher)) in (None, victim.name):
            assert time.monotonic() < deadline, "no new CRISIS stream leader within 30s"
            await asyncio.sleep(0.05)
        timings["stream_leader_elected_s"] = time.monotonic() - killed_at
        record_property("stream_leader_after", leader)
        await cluster.await_meta_leader(timeout=30)
        timings["meta_leader_known_s"] = time.monotonic() - killed_at

    try:
        burst_started = time.monotonic()
        async with asyncio.TaskGroup() as group:
            group.create_task(burst.publish(burst_events(BURST)))
            group.create_task(kill_the_leader())
        timings["burst_s"] = time.monotonic() - burst_started
        assert not victim.running, "the stream leader was not killed"
        assert burst.kill_point.is_set(), "the burst ended before the kill point"
        after_kill = [t - killed_at for t in burst.ack_times if t > killed_at]
        # The longest stretch without any ack, from the kill on: the outage the publisher saw.
        gaps = [b - a for a, b in zip([0.0, *after_kill], after_kill, strict=False)]
        timings["longest_ack_gap_after_kill_s"] = max(gaps, default=0.0)

        # Refused during the election: never acknowledged; sent again with the same ids,
        # each is stored once (a refusal whose message did get in comes back as a duplicate).
        refused, burst.failed = burst.failed, []
        record_property("refused_then_republished", len(refused))
        record_property("acks_that_were_duplicates", len(burst.duplicates))
        assert not {e.event_id for e in refused} & burst.acked.keys()
        duplicates_before = len(burst.duplicates)
        await burst.publish(refused)
        record_property("republished_were_duplicates", len(burst.duplicates) - duplicates_before)
        assert burst.failed == [], f"{len(burst.failed)} events refused again after the election"
        assert len(burst.acked) == BURST

        # The services keep working on the two nodes left.
        more = burst_events(AFTER)
        await burst.publish(more)
        assert burst.failed == [], f"{len(burst.failed)} events refused after the election"

        await wait_until(
            log_holds(store, len(burst.acked)),
            timeout=45,
            what=f"the log holds the {len(burst.acked)} acknowledged events",
        )
        timings["log_caught_up_s"] = time.monotonic() - killed_at
        await assert_stream_holds_exactly(js, burst.acked)
        records = [record async for record in store.read()]
        assert_log_holds_exactly(records, burst.acked)
        assert {r.event_id for r in records[-AFTER:]} == {e.event_id for e in more}
        assert await verify_log(store) == [], "the log's hash chains are broken"

        # The killed node comes back on its own store and catches up.
        restarted = time.monotonic()
        await victim.astart()

        async def replicas_current() -> bool:
            try:
                info = await js.stream_info(CRISIS_STREAM)
            except (TimeoutError, NatsError):
                return False
            peers = info.cluster.replicas if info.cluster and info.cluster.replicas else []
            return len(peers) == 2 and all(p.current and not p.offline for p in peers)

        await wait_until(replicas_current, timeout=20, what=f"{victim.name} catches up")
        timings["restarted_node_current_s"] = time.monotonic() - restarted
    finally:
        await service.stop()
        for connection in (publisher, setup):
            if connection.is_connected:
                await connection.drain()
            else:
                await connection.close()
        timings["total_s"] = time.monotonic() - started
        for name, value in timings.items():
            record_property(name, round(value, 3))
        record_property("victim", victim_name)
