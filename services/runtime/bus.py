"""Connections to NATS, made in one place so that tests and entrypoints can swap them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext

from services.runtime.topology import Topology, ensure_topology


@dataclass(frozen=True, slots=True)
class Bus:
    """A NATS connection and its JetStream context."""

    nc: Client
    js: JetStreamContext


def servers(url: str) -> list[str]:
    """The servers of a NATS URL setting: one URL, or several separated by commas (a cluster)."""
    return [part.strip() for part in url.split(",") if part.strip()]


@asynccontextmanager
async def connect(
    url: str, *, name: str = "crisis", plan: Topology | None = None
) -> AsyncIterator[Bus]:
    """Connect to `url` (and make sure the streams exist when `plan` is given); drain on exit."""
    nc = await nats.connect(
        servers(url),
        name=name,
        connect_timeout=5,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
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
