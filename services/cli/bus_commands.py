"""`crisis publish` and `crisis tail`: the bus from a terminal."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable

from nats.aio.subscription import Subscription
from nats.js.api import DeliverPolicy

from schemas import subjects
from schemas.envelope import Envelope
from schemas.registry import DecodeError
from schemas.wire import decode
from services.bootstrap import open_bus
from services.cli.credentials import Held, person_connection
from services.cli.render import one_line
from services.runtime.bus import connect
from services.runtime.publish import Published, publish_event
from services.runtime.settings import Settings


def read_event(raw: bytes) -> Envelope:
    """Validate an event given as JSON; DecodeError names the failing field."""
    event = decode(raw)
    if event.recorded_at is not None:
        raise DecodeError("is set by the system when the event is stored", field="recorded_at")
    return event


async def publish_one(settings: Settings, url: str, event: Envelope) -> Published:
    """Publish one validated event and return where the stream stored it."""
    async with open_bus(settings, url=url, name="crisis-publish", with_topology=True) as bus:
        return await publish_event(
            bus.js, event, timeout=settings.publish_timeout_s, attempts=settings.publish_attempts
        )


async def tail(
    url: str,
    *,
    crisis_id: str | None,
    from_start: bool,
    write: Callable[[str], None],
    stop: asyncio.Event | None = None,
    limit: int | None = None,
    person: Held | None = None,
    following: Callable[[], None] = lambda: None,
) -> int:
    """Print live events one line each until `stop` is set or `limit` lines are written;
    `following()` once subscribed.

    With the credential in `url` (a service's or the admin's) it reads the stream, from its start
    if asked. As `person` (their session) it reads the events as they are published: people get
    no JetStream API (docs/security.md), so the past is the log's (`crisis picture`, `crisis log
    export`).
    """
    if person is not None:
        if from_start:
            raise ValueError("--from-start reads the stream: it needs the admin credential")
        async with person_connection(url, person.ident, token=person.token) as nc:
            sub = await nc.subscribe(subjects.live_filter(crisis_id))
            following()
            return await _print(sub, write, stop or asyncio.Event(), limit, stream=False)
    async with connect(url, name="crisis-tail") as bus:
        policy = DeliverPolicy.ALL if from_start else DeliverPolicy.NEW
        sub = await bus.js.subscribe(
            subjects.live_filter(crisis_id), ordered_consumer=True, deliver_policy=policy
        )
        following()
        return await _print(sub, write, stop or asyncio.Event(), limit, stream=True)


async def _print(
    sub: Subscription,
    write: Callable[[str], None],
    stop: asyncio.Event,
    limit: int | None,
    *,
    stream: bool,
) -> int:
    count = 0
    try:
        while not stop.is_set() and (limit is None or count < limit):
            try:
                msg = await sub.next_msg(timeout=0.5)
            except TimeoutError:
                continue
            seq = msg.metadata.sequence.stream if stream else None
            try:
                event = decode(msg.data)
                if stream:
                    event = event.with_recorded_at(msg.metadata.timestamp)
                write(one_line(event, seq=seq))
            except DecodeError as exc:
                write(f"#{seq} {msg.subject} undecodable: {exc}")
            count += 1
    finally:
        await sub.unsubscribe()
    return count


def stdout_line(line: str) -> None:
    """Write one line to standard output at once."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
