"""Feed a sample crisis into a running system, as if it were happening now."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from nats.js import JetStreamContext

from schemas.envelope import Envelope, utc_now
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
