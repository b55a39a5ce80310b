"""What the bus connections read themselves (plain headers, a delivery's position and time) is
read as nats-py reads it; anything else is left to nats-py."""

from __future__ import annotations

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import NotJSMessageError

from services.picture.follow import stream_point
from services.runtime.bus import PlainHeadersClient, plain_headers
from services.runtime.publish import headers_for
from services.runtime.streams import delivery_point, instant_text
from tests.unit.samples import incident_reported

pytestmark = pytest.mark.unit


def _block(headers: dict[str, str]) -> bytes:
    """Headers as they come over the wire, the way nats-py writes them."""
    return (
        b"NATS/1.0\r\n" + b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items()) + b"\r\n"
    )


EVENT = headers_for(incident_reported())
EVENT_HEADERS = _block(EVENT)
BLOCKS = [
    pytest.param(EVENT_HEADERS, id="an-event"),
    pytest.param(b"NATS/1.0\r\nNats-Msg-Id:  spaced  \r\nA:b\r\n\r\n", id="spacing"),
    pytest.param(b"NATS/1.0\r\nX: 1\r\nX: 2\r\n\r\n", id="the-same-key-twice"),
    pytest.param(b"NATS/1.0\r\nX: a:b:c\r\n\r\n", id="colons-in-a-value"),
    pytest.param(b"NATS/1.0\r\n\r\n", id="none"),
    pytest.param(b"NATS/1.0 100 Idle Heartbeat\r\n\r\n", id="a-heartbeat"),
    pytest.param(b"NATS/1.0 100\r\nIdle Heartbeat\r\nNats-Last-Stream: 12\r\n\r\n", id="status"),
    pytest.param(b"NATS/1.0 404 No Messages\r\n\r\n", id="no-messages"),
    pytest.param(b"NATS/1.0\r\nX: first\r\n  folded\r\n\r\n", id="a-folded-line"),
    pytest.param(b"NATS/1.0\r\nX: first\r\n\tmore: x\r\n\r\n", id="a-folded-line-with-a-colon"),
    pytest.param("NATS/1.0\r\nX: é\r\n\r\n".encode(), id="not-ascii"),
]


@pytest.mark.parametrize("block", BLOCKS)
async def test_headers_are_read_as_nats_py_reads_them(block: bytes) -> None:
    assert await PlainHeadersClient()._process_headers(block) == await Client()._process_headers(
        block
    )


def test_an_events_headers_are_read_without_nats_py_and_a_status_is_left_to_it() -> None:
    assert plain_headers(EVENT_HEADERS) == EVENT
    assert plain_headers(b"NATS/1.0 100 Idle Heartbeat\r\n\r\n") is None
    assert plain_headers(b"NATS/1.0\r\nX: first\r\n  folded\r\n\r\n") is None


REPLIES = [
    pytest.param("$JS.ACK.CRISIS.picture.1.4217.4217.1764680000123456789.3", id="v1"),
    pytest.param("$JS.ACK.CRISIS.picture.1.7.7.1764680000000000000.0", id="v1-whole-second"),
    pytest.param(
        "$JS.ACK.hub.ACC1234.CRISIS.picture.2.918.917.1764680000999999999.12.x7Yq", id="v2"
    ),
    pytest.param("$JS.ACK.CRISIS.picture.1.5.5.1764680000000001000.0", id="v1-a-microsecond"),
]


@pytest.mark.parametrize("reply", REPLIES)
def test_a_deliverys_position_and_time_are_read_as_nats_py_reads_them(reply: str) -> None:
    msg = Msg(Client(), subject="crisis.live.x", reply=reply, data=b"{}")
    position, recorded_at = stream_point(msg)
    meta = Msg(Client(), subject="crisis.live.x", reply=reply, data=b"{}").metadata
    assert (position, recorded_at) == (meta.sequence.stream, instant_text(meta.timestamp))


@pytest.mark.parametrize("reply", REPLIES)
def test_a_deliverys_position_time_and_delivery_count_are_read_as_nats_py_reads_them(
    reply: str,
) -> None:
    msg = Msg(Client(), subject="crisis.live.x", reply=reply, data=b"{}")
    meta = Msg(Client(), subject="crisis.live.x", reply=reply, data=b"{}").metadata
    assert delivery_point(msg) == (meta.sequence.stream, meta.timestamp, meta.num_delivered)


def test_a_message_that_is_not_a_jetstream_delivery_is_refused() -> None:
    with pytest.raises(NotJSMessageError):
        stream_point(Msg(Client(), subject="crisis.live.x", reply="_INBOX.abc", data=b"{}"))
