"""Connections to NATS, made in one place so that tests and entrypoints can swap them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from nats.aio.client import DEFAULT_BUFFER_SIZE, Client
from nats.js import JetStreamContext
from nats.protocol.parser import Parser

from services.runtime.topology import Topology, ensure_topology


@dataclass(frozen=True, slots=True)
class Bus:
    """A NATS connection and its JetStream context."""

    nc: Client
    js: JetStreamContext


_HEADER_LINE = b"NATS/1.0\r\n"


def plain_headers(headers: bytes) -> dict[str, str] | None:
    """The `Key: value` lines of a message's headers, as nats-py reads them, or None when they
    need nats-py's own reading: a status line (flow control, heartbeats), a folded line, a line
    that is not `Key: value`, bytes that are not ASCII."""
    if not headers.startswith(_HEADER_LINE):
        return None
    found: dict[str, str] = {}
    for line in headers[len(_HEADER_LINE) :].split(b"\r\n"):
        if not line:
            continue
        key, colon, value = line.partition(b":")
        if not colon or line[0] in b" \t" or not line.isascii():
            return None
        found[key.decode().strip()] = value.decode().strip()
    return found


class PlainHeadersClient(Client):
    """nats-py's client, reading plain headers itself.

    nats-py reads every message's headers with Python's `email` parser: 18 % of the picture
    service's CPU at 5,000 events/s (py-spy). The events' headers are plain `Key: value` lines;
    anything else still goes to nats-py's parser.
    """

    async def _process_headers(self, headers: bytes) -> dict[str, str] | None:
        plain = plain_headers(headers) if headers else None
        if plain is None:
            return await super()._process_headers(headers)
        return plain or None


class PacedParser(Parser):
    """nats-py's parser, resting `pause_s` after it has read all that had arrived.

    Meanwhile the socket is not watched (the asyncio transport's reading is paused) and what
    arrives waits in the kernel: the next read takes all of it at once. At 1,000 events/s that
    is one wake-up, one read and one turn of the subscription's task per pause, not per event.
    A read that filled nats-py's buffer had more behind it and is not followed by a pause.
    """

    def __init__(self, nc: Client, pause_s: float) -> None:
        super().__init__(nc)
        self.pause_s = pause_s

    async def parse(self, data: bytes = b"") -> None:
        await super().parse(data)
        if data and len(data) < DEFAULT_BUFFER_SIZE:
            transport = _socket_transport(self.nc)
            if transport is None:
                await asyncio.sleep(self.pause_s)
                return
            transport.pause_reading()
            try:
                await asyncio.sleep(self.pause_s)
            finally:
                if not transport.is_closing():
                    transport.resume_reading()


def _socket_transport(nc: Client) -> asyncio.ReadTransport | None:
    """The asyncio transport under nats-py's TCP transport, if that is what it uses."""
    writer = getattr(nc._transport, "_io_writer", None)
    transport = getattr(writer, "transport", None)
    return transport if isinstance(transport, asyncio.ReadTransport) else None


def servers(url: str) -> list[str]:
    """The servers of a NATS URL setting: one URL, or several separated by commas (a cluster)."""
    return [part.strip() for part in url.split(",") if part.strip()]


@asynccontextmanager
async def connect(
    url: str, *, name: str = "crisis", plan: Topology | None = None, read_pause_s: float = 0.0
) -> AsyncIterator[Bus]:
    """Connect to `url` (and make sure the streams exist when `plan` is given); drain on exit.

    `read_pause_s`: rest that long after reading all that had arrived (`PacedParser`), for a
    connection that follows a stream and would rather read a few events at once than wake up
    for each.
    """
    nc = PlainHeadersClient()
    if read_pause_s > 0:
        nc._ps = PacedParser(nc, read_pause_s)
    await nc.connect(
        servers(url),
        name=name,
        connect_timeout=5,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,  # type: ignore[arg-type]  # nats-py takes seconds as a float
    )
    try:
        js = nc.jetstream()
        if plan is not None:
            await ensure_topology(js, plan)
        yield Bus(nc=nc, js=js)
    finally:
        # Draining needs the server; a connection still trying to reach it is closed instead.
        if nc.is_connected:
            await nc.drain()
        elif not nc.is_closed:
            await nc.close()
