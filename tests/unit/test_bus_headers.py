"""The client that reads plain headers itself reads them as nats-py does, and leaves it the rest."""

from __future__ import annotations

import pytest
from nats.aio.client import Client

from services.runtime.bus import PlainHeadersClient, plain_headers
from services.runtime.publish import headers_for
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
