"""The bus on a real nats-server: acknowledged, deduplicated, durable publishing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sized
from pathlib import Path

import pytest
from faststream import Context
from faststream.nats.message import NatsMessage
from nats.aio.msg import Msg
from nats.js.api import StreamConfig

from schemas import subjects
from schemas.wire import decode
from services.runtime.bus import Bus, PacedParser, PlainHeadersClient, connect
from services.runtime.embedded import EmbeddedNatsServer
from services.runtime.publish import MSG_ID, PublishError, publish_event
from services.runtime.settings import Settings
from services.runtime.streams import service_broker
from services.runtime.topology import CRISIS_STREAM, ensure_topology, topology
from tests.integration.waiting import until
from tests.unit.samples import incident_reported

pytestmark = pytest.mark.integration


async def test_the_same_event_published_twice_is_stored_once(bus: Bus) -> None:
    event = incident_reported()
    first = await publish_event(bus.js, event)
    second = await publish_event(bus.js, event)
    assert not first.duplicate
    assert second.duplicate
    assert second.seq == first.seq
    info = await bus.js.stream_info(CRISIS_STREAM)
    assert info.state.messages == 1


async def test_a_published_event_carries_its_id_type_and_crisis_in_headers(bus: Bus) -> None:
    event = incident_reported()
    stored = await publish_event(bus.js, event)
    msg = await bus.js.get_msg(CRISIS_STREAM, stored.seq)
    assert msg.subject == subjects.live(event.crisis_id, "incident.reported")
    assert msg.headers is not None
    assert msg.headers[MSG_ID] == str(event.event_id)
    assert msg.headers["Crisis-Event-Type"] == "incident.reported"
    assert msg.headers["Crisis-Id"] == event.crisis_id
    assert decode(msg.data or b"") == event


async def test_publish_retries_with_the_same_id_until_the_stream_exists(
    nats_server: EmbeddedNatsServer, settings: Settings
) -> None:
    async with connect(nats_server.url) as bare:
        event = incident_reported()
        publishing = asyncio.create_task(
            publish_event(bare.js, event, timeout=0.5, attempts=8, backoff=0.1)
        )
        await asyncio.sleep(0.3)
        assert not publishing.done(), "no stream yet: the publish must still be retrying"
        await ensure_topology(bare.js, topology(settings))
        stored = await publishing
        assert stored.seq == 1
        assert (await bare.js.stream_info(CRISIS_STREAM)).state.messages == 1


async def test_publish_gives_up_with_a_clear_error_when_nothing_acknowledges(
    nats_server: EmbeddedNatsServer,
) -> None:
    async with connect(nats_server.url) as bare:
        event = incident_reported()
        with pytest.raises(PublishError, match=rf"{event.event_id}.*not acknowledged.*3 attempts"):
            await publish_event(bare.js, event, timeout=0.2, attempts=3, backoff=0.01)


async def test_streams_are_created_once_and_updated_when_their_config_drifts(
    nats_server: EmbeddedNatsServer, settings: Settings
) -> None:
    async with connect(nats_server.url, plan=topology(settings)) as first:
        await ensure_topology(first.js, topology(settings))
        info = await first.js.stream_info(CRISIS_STREAM)
        assert info.config.duplicate_window == settings.duplicate_window_s
        wider = settings.model_copy(update={"duplicate_window_s": 600.0})
        await ensure_topology(first.js, topology(wider))
        info = await first.js.stream_info(CRISIS_STREAM)
        assert info.config.duplicate_window == 600.0
        assert isinstance(info.config, StreamConfig)


async def test_events_survive_a_restart_of_the_server(tmp_path: Path, settings: Settings) -> None:
    store = tmp_path / "js"
    server = EmbeddedNatsServer(store, log_file=tmp_path / "nats.log")
    server.start()
    events = [incident_reported(title=f"Crue de la Vésubie {i}") for i in range(50)]
    try:
        async with connect(server.url, plan=topology(settings)) as bus:
            for event in events:
                await publish_event(bus.js, event)
    finally:
        server.stop()

    again = EmbeddedNatsServer(store, port=server.port, log_file=tmp_path / "nats.log")
    again.start()
    try:
        async with connect(again.url) as bus:
            info = await bus.js.stream_info(CRISIS_STREAM)
            assert info.state.messages == 50
            stored = [
                decode((await bus.js.get_msg(CRISIS_STREAM, seq)).data or b"")
                for seq in range(1, 51)
            ]
            assert stored == events
            # The duplicate window survives the restart too: the same id is still dropped.
            assert (await publish_event(bus.js, events[0])).duplicate
    finally:
        again.stop()


async def test_a_paced_connection_reads_a_trickle_a_few_messages_at_a_time(
    nats_server: EmbeddedNatsServer,
) -> None:
    received: list[bytes] = []
    async with (
        connect(nats_server.url, read_pause_s=0.05) as paced,
        connect(nats_server.url) as sender,
    ):
        parser = paced.nc._ps
        assert isinstance(parser, PacedParser)
        reads = 0
        parse = parser.parse

        async def counted(data: bytes = b"") -> None:
            nonlocal reads
            reads += 1
            await parse(data)

        parser.parse = counted  # type: ignore[method-assign]

        async def got(msg: Msg) -> None:
            received.append(msg.data)

        await paced.nc.subscribe("trickle", cb=got)
        await paced.nc.flush()
        reads = 0
        for number in range(20):
            await sender.nc.publish("trickle", b"%d" % number)
            await sender.nc.flush()
            await asyncio.sleep(0.005)
        await until(_count(received, 20))
    assert received == [b"%d" % n for n in range(20)]
    # Twenty messages 5 ms apart, read with a 50 ms rest between reads: a few reads, not twenty.
    assert reads <= 8, reads


async def test_a_paced_connection_takes_a_burst_bigger_than_its_buffer_whole_and_in_order(
    nats_server: EmbeddedNatsServer,
) -> None:
    received: list[int] = []
    payload = b"x" * 1000
    async with (
        connect(nats_server.url, read_pause_s=0.02) as paced,
        connect(nats_server.url) as sender,
    ):

        async def got(msg: Msg) -> None:
            received.append(int(msg.headers["n"]) if msg.headers else -1)

        await paced.nc.subscribe("burst", cb=got, pending_msgs_limit=10_000)
        await paced.nc.flush()
        for number in range(3000):  # 3 MB: about a hundred of nats-py's 32 KiB reads
            await sender.nc.publish("burst", payload, headers={"n": str(number)})
        await sender.nc.flush()
        await until(_count(received, 3000))
    assert received == list(range(3000))


def _count(received: Sized, wanted: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return len(received) >= wanted

    return check


async def test_a_service_broker_reads_headers_with_the_plain_headers_client(
    nats_server: EmbeddedNatsServer, bus: Bus
) -> None:
    broker = service_broker(nats_server.url, "wiring")
    received: asyncio.Queue[dict[str, str] | None] = asyncio.Queue()

    @broker.subscriber("test.headers")
    async def keep(message: NatsMessage = Context("message")) -> None:
        await received.put(message.raw_message.headers)

    await broker.start()
    try:
        assert isinstance(broker._connection, PlainHeadersClient)
        # Core NATS keeps nothing: the server must hold the broker's subscription before the
        # publish (a round trip on the broker's connection makes sure it does).
        await broker._connection.flush()
        headers = None
        for _ in range(20):  # should FastStream subscribe in a task of its own, later
            await bus.nc.publish("test.headers", b"{}", headers={"Crisis-Id": "alex-06-2020"})
            with contextlib.suppress(TimeoutError):
                headers = await asyncio.wait_for(received.get(), 0.5)
                break
        assert headers == {"Crisis-Id": "alex-06-2020"}
    finally:
        await broker.stop()
