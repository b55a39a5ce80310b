"""Connections to NATS, made in one place so that tests and entrypoints can swap them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from nats.aio.client import Client
from nats.js import JetStreamContext

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


def servers(url: str) -> list[str]:
    """The servers of a NATS URL setting: one URL, or several separated by commas (a cluster)."""
    return [part.strip() for part in url.split(",") if part.strip()]


@asynccontextmanager
async def connect(
    url: str, *, name: str = "crisis", plan: Topology | None = None
) -> AsyncIterator[Bus]:
    """Connect to `url` (and make sure the streams exist when `plan` is given); drain on exit."""
    nc = PlainHeadersClient()
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
