"""What every service shares when it consumes the bus: stream time as text, and its broker."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from faststream.message import StreamMessage
from faststream.nats import NatsBroker

from services.runtime.bus import servers


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


def service_broker(nats_url: str, service: str) -> NatsBroker:
    """The broker of one service: reconnects forever; FastStream's per-message lines at debug."""
    return NatsBroker(
        servers(nats_url),
        name=f"crisis-{service}",
        max_reconnect_attempts=-1,
        logger=logging.getLogger(f"faststream.{service}"),
        log_level=logging.DEBUG,
    )
