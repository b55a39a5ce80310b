"""Feed a sample crisis into a running system, as if it were happening now."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Protocol

from nats.js import JetStreamContext

from schemas.envelope import Envelope, utc_now
from services.intake.core import Outcome
from services.runtime.publish import Published, publish_event


async def feed(
    js: JetStreamContext,
    events: Sequence[Envelope],
    *,
    interval: float,
    stop: asyncio.Event,
    on_published: Callable[[Envelope, Published], None] = lambda _e, _p: None,
) -> int:
    """Publish `events` one every `interval` seconds (received now) until done or `stop` is set."""
    sent = 0
    for event in events:
        if stop.is_set():
            break
        now_received = event.model_copy(update={"received_at": utc_now()})
        on_published(now_received, await publish_event(js, now_received))
        sent += 1
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            continue
    return sent


class Taker(Protocol):
    """The running intake, as the demo feeds it."""

    async def submit(self, raw: bytes, *, name: str, feed: str) -> list[Outcome]:
        """Take one input in and publish what it gives."""


async def feed_alerts(
    intake: Taker,
    alerts: Sequence[tuple[str, bytes]],
    *,
    ready: Callable[[], bool],
    interval: float,
    stop: asyncio.Event,
    on_taken: Callable[[str, list[Outcome]], None] = lambda _n, _o: None,
    feed_name: str = "vigicrues",
) -> int:
    """Once `ready()` (the crisis is open), submit `alerts` one every `interval` seconds."""
    while not ready():
        if stop.is_set():
            return 0
        await asyncio.sleep(0.1)
    taken = 0
    for name, raw in alerts:
        if stop.is_set():
            break
        on_taken(name, await intake.submit(raw, name=name, feed=feed_name))
        taken += 1
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            continue
    return taken
