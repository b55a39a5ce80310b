"""What every service shares when it consumes the bus: where a delivery stands, stream time as
text, and its broker."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from faststream.message import StreamMessage
from faststream.nats import NatsBroker
from nats.aio.client import Client
from nats.aio.msg import Msg

from services.runtime.bus import PlainHeadersClient, servers

# A JetStream delivery's reply subject: $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.
# <consumer seq>.<timestamp ns>.<pending> (v1), or with a domain and an account hash after ACK
# and a random token at the end (v2, indexed as nats-py's Msg.Ack says).
_V1_TOKENS = 9
_V1_DELIVERED, _V1_STREAM_SEQ, _V1_TIMESTAMP = 4, 5, 7
_V2_TOKENS = 11


def delivery_point(msg: Msg) -> tuple[int, datetime, int]:
    """A JetStream delivery's stream position, stream time and delivery count, read from its
    reply subject as nats-py's `Msg.metadata` reads them, without building the rest (that cost
    the picture and the recorder a few microseconds per event)."""
    tokens = (msg.reply or "").split(".")
    if len(tokens) == _V1_TOKENS and tokens[0] == "$JS" and tokens[1] == "ACK":
        position, nanos = int(tokens[_V1_STREAM_SEQ]), int(tokens[_V1_TIMESTAMP])
        delivered = int(tokens[_V1_DELIVERED])
    elif len(tokens) >= _V2_TOKENS and tokens[0] == "$JS" and tokens[1] == "ACK":
        position, nanos = int(tokens[Msg.Ack.StreamSeq]), int(tokens[Msg.Ack.Timestamp])
        delivered = int(tokens[Msg.Ack.NumDelivered])
    else:
        meta = msg.metadata  # raises NotJSMessageError, as nats-py does
        return meta.sequence.stream, meta.timestamp, meta.num_delivered
    # The same float division as nats-py: the log records the time it makes.
    return position, datetime.fromtimestamp(nanos / 1_000_000_000.0, UTC), delivered


def instant_text(moment: datetime) -> str:
    """An instant as UTC ISO text ending in `Z`: how the log stores stream time, and the
    picture shows it; both must write it identically for live and rebuilt pictures to match."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def now_text() -> str:
    """The current instant, as `instant_text` writes it."""
    return instant_text(datetime.now(UTC))


async def raw_body(message: StreamMessage[Any]) -> Any:
    """FastStream decoder that hands bodies through: services decode events themselves against
    the catalogue, and FastStream would otherwise parse every body as JSON first."""
    return message.body


class ServiceBroker(NatsBroker):
    """FastStream's NATS broker on a connection that reads plain headers itself.

    FastStream connects with `nats.connect`, whose client reads every message's headers with
    Python's `email` parser: 9.6 % of the event log's samples under load (py-spy). This makes
    the same connection from `PlainHeadersClient` (`services.runtime.bus`).
    """

    async def _connect(self) -> Client:
        connection = PlainHeadersClient()
        await connection.connect(**self._connection_kwargs)
        self.config.connect(connection)
        return connection


def service_broker(nats_url: str, service: str) -> NatsBroker:
    """The broker of one service: reconnects forever; FastStream's per-message lines at debug."""
    return ServiceBroker(
        servers(nats_url),
        name=f"crisis-{service}",
        max_reconnect_attempts=-1,
        logger=logging.getLogger(f"faststream.{service}"),
        log_level=logging.DEBUG,
    )
